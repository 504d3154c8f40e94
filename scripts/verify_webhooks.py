"""Verifies webhook requests with the PyPI package `standardwebhooks` (an
implementation of the Standard Webhooks spec independent of kefu's).

Reads a JSON list of {"secret", "body", "headers"} on stdin and prints a JSON
list of results: true when the signature verifies, else the error message.
Used by crates/kefu-server/tests/webhooks.rs (run scripts/py-venv.sh first).
"""
import json
import sys

from standardwebhooks.webhooks import Webhook


def check(item):
    try:
        Webhook(item["secret"]).verify(item["body"], item["headers"])
        return True
    except Exception as e:  # noqa: BLE001 - report any failure to the test
        return f"{type(e).__name__}: {e}"


print(json.dumps([check(i) for i in json.load(sys.stdin)]))
