"""A real SMTP server for kefu's mail tests (PyPI aiosmtpd).

Usage: smtp_sink.py PORT OUT_FILE
Every message received is appended to OUT_FILE as one JSON line:
{"mail_from": ..., "rcpt_tos": [...], "data": "<the raw message>"}.
Prints "ready" once it listens.
"""
import asyncio
import json
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out):
        self.out = out

    async def handle_DATA(self, server, session, envelope):
        line = json.dumps({
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", "replace"),
        })
        with open(self.out, "a", encoding="utf-8") as f:
            f.write(line + "\n")
        return "250 OK"


def main():
    port, out = int(sys.argv[1]), sys.argv[2]
    c = Controller(Sink(out), hostname="127.0.0.1", port=port)
    c.start()
    print("ready", flush=True)
    try:
        asyncio.get_event_loop().run_until_complete(asyncio.Event().wait())
    except KeyboardInterrupt:
        pass
    finally:
        c.stop()


if __name__ == "__main__":
    main()
