#!/usr/bin/env python3
"""A push service endpoint for tests: speaks the receiving side of Web Push
and checks everything with libraries that are not kefu's.

Usage: webpush_endpoint.py [--gone N] [--fail N]

It makes a browser's keys (a P-256 key pair and a 16-byte auth secret, as
`pushManager.subscribe` would), listens on a free loopback port, and prints
on its first stdout line the subscription JSON a browser would post:
  {"endpoint": "http://127.0.0.1:PORT/push/0", "keys": {"p256dh": ..., "auth": ...},
   "gone": ["http://127.0.0.1:PORT/push/gone/1", ...], "fail": [...]}
`gone` lists N more subscriptions (--gone N) whose endpoints answer 410
Gone, as a push service does for a browser that unsubscribed; `fail` lists
N (--fail N) that answer 503, a push service having a bad moment. Both
print {"path", "status"} per POST.

For each POST it checks (RFC 8030/8291/8292):
- `Content-Encoding: aes128gcm` and a `TTL` header;
- `Authorization: vapid t=<JWT>, k=<public key>`: the ES256 signature of the
  JWT verified with `cryptography` against k, `aud` equal to the endpoint's
  origin, `exp` in the future and at most 24 h away, `sub` present;
- the body decrypted with `http_ece` (aes128gcm) with the browser's keys.
Then it prints one JSON line: {"path", "ttl", "sub", "payload": <decrypted
JSON>} and answers 201 Created; a check that fails prints {"path", "error"}
and answers 400. Prints nothing else; exits when stdin closes.
"""
import base64
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class Browser:
    """One subscription's keys, as a browser keeps them."""

    def __init__(self):
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.p256dh = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )


def check_vapid(header: str, origin: str) -> str:
    """Verifies the VAPID Authorization header; returns the `sub` claim."""
    if not header.startswith("vapid "):
        raise ValueError(f"Authorization is not vapid: {header[:40]!r}")
    params = dict(
        part.strip().split("=", 1) for part in header[len("vapid "):].split(",")
    )
    token, k = params["t"], params["k"]
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64u(k))
    head_b64, claims_b64, sig_b64 = token.split(".")
    head = json.loads(unb64u(head_b64))
    if head.get("alg") != "ES256":
        raise ValueError(f"JWT alg is {head.get('alg')!r}, not ES256")
    raw = unb64u(sig_b64)
    if len(raw) != 64:
        raise ValueError("ES256 signature is not 64 bytes (r || s)")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        public.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise ValueError("the VAPID JWT signature does not verify with k")
    claims = json.loads(unb64u(claims_b64))
    if claims.get("aud") != origin:
        raise ValueError(f"aud is {claims.get('aud')!r}, not {origin!r}")
    now = time.time()
    exp = claims.get("exp")
    if not isinstance(exp, int) or not now < exp <= now + 24 * 3600:
        raise ValueError(f"exp {exp!r} is not within the next 24 hours")
    if not claims.get("sub"):
        raise ValueError("no sub claim")
    return claims["sub"]


def main():
    counts = {"--gone": 0, "--fail": 0}
    args = sys.argv[1:]
    while len(args) >= 2 and args[0] in counts:
        counts[args[0]] = int(args[1])
        args = args[2:]
    if args:
        sys.exit(__doc__)
    gone, fail = counts["--gone"], counts["--fail"]
    browser = Browser()
    out_lock = threading.Lock()

    def emit(obj):
        with out_lock:
            print(json.dumps(obj), flush=True)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet: stdout is the protocol
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            for prefix, status in (("/push/gone/", 410), ("/push/fail/", 503)):
                if self.path.startswith(prefix):
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    emit({"path": self.path, "status": status})
                    return
            try:
                if self.headers.get("Content-Encoding") != "aes128gcm":
                    raise ValueError(f"Content-Encoding is {self.headers.get('Content-Encoding')!r}")
                ttl = self.headers.get("TTL")
                if ttl is None or not ttl.isdigit():
                    raise ValueError(f"TTL header is {ttl!r}")
                origin = f"http://{self.server.server_address[0]}:{self.server.server_address[1]}"
                sub = check_vapid(self.headers.get("Authorization", ""), origin)
                plain = http_ece.decrypt(
                    body,
                    private_key=browser.private_key,
                    auth_secret=browser.auth,
                    version="aes128gcm",
                )
                payload = json.loads(plain)
            except Exception as e:  # noqa: BLE001 - every failure is reported
                emit({"path": self.path, "error": f"{type(e).__name__}: {e}"})
                self.send_response(400)
                self.end_headers()
                return
            emit({"path": self.path, "ttl": int(ttl), "sub": sub, "payload": payload})
            self.send_response(201)
            self.send_header("Location", f"/message/{time.time_ns()}")
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    emit({
        "endpoint": f"{base}/push/0",
        "keys": {"p256dh": b64u(browser.p256dh), "auth": b64u(browser.auth)},
        "gone": [f"{base}/push/gone/{i}" for i in range(1, gone + 1)],
        "fail": [f"{base}/push/fail/{i}" for i in range(1, fail + 1)],
    })
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # The test holds stdin; when it closes (the test ended), stop.
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
