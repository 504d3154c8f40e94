#!/usr/bin/env python3
"""A stand-in for an OpenAI-compatible chat completions API, for tests: it
speaks the documented request and response format exactly, but it is not a
language model. It answers deterministically from the prompt kefu sends
(kefu_bot::rag, docs/bot.md): it reads the knowledge-base entries
("[id]" / "Q: ..." / "A: ..." blocks) and the customer question from the
user message, picks the entry whose question and answer share the most
words with the question (Latin words of 3+ letters, and Han character
pairs), and replies with that entry's answer and a last line
"SOURCES: <id>"; with no shared word it replies "I_DONT_KNOW".

Usage: openai_format_server.py [--api-key KEY]

It listens on a free loopback port and prints its base URL on the first
stdout line ("http://127.0.0.1:PORT/v1"); it exits when stdin closes. With
--api-key, a request without "Authorization: Bearer KEY" gets 401. Each
request prints one JSON line {"model", "messages", "authorized"}.

The request's "model" picks a behaviour, so one server covers every case:
  anything else   the answer as above
  "slow-<ms>"     the same answer after sleeping <ms> milliseconds
  "malformed"     a 200 whose body is not JSON
  "no-choices"    a 200 with "choices": []
  "uncited"       an answer that cites no entry
  "error"         a 500 with an OpenAI-style error object
"""
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ENTRY = re.compile(r"^\[(?P<id>[^\]\n]+)\]\nQ: (?P<q>[^\n]*)\nA: (?P<a>.*?)(?=\n\n)", re.M | re.S)
QUESTION = re.compile(r"Customer question[^\n]*:\n(?P<q>[^\n]*)")
LOCK = threading.Lock()


def emit(obj):
    with LOCK:
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
        sys.stdout.flush()


def words(text):
    """Latin words of three letters or more, and pairs of Han characters."""
    text = text.lower()
    out = set(re.findall(r"[a-z0-9]{3,}", text))
    for run in re.findall(r"[\u4e00-\u9fff]+", text):
        out.update(run[i:i + 2] for i in range(len(run) - 1))
    return out


def answer(user):
    """The reply text for a user message in kefu's prompt format."""
    m = QUESTION.search(user)
    if not m:
        return "I_DONT_KNOW"
    question = words(m.group("q"))
    best, best_shared = None, 0
    for e in ENTRY.finditer(user):
        shared = len(question & words(e.group("q") + " " + e.group("a")))
        if shared > best_shared:
            best, best_shared = e, shared
    if best is None:
        return "I_DONT_KNOW"
    return f"{best.group('a').strip()}\nSOURCES: {best.group('id')}"


def completion(model, text):
    return {
        "id": f"chatcmpl-{time.time_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop",
        }],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def main():
    api_key = None
    if "--api-key" in sys.argv:
        api_key = sys.argv[sys.argv.index("--api-key") + 1]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send_json(self, status, obj=None, raw=None):
            body = raw if raw is not None else json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the timeout tests)

        def do_GET(self):
            if self.path == "/v1/models":
                self.send_json(200, {"object": "list", "data": [{"id": "format-server", "object": "model"}]})
            else:
                self.send_json(404, {"error": {"message": "unknown route", "type": "invalid_request_error"}})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path != "/v1/chat/completions":
                self.send_json(404, {"error": {"message": "unknown route", "type": "invalid_request_error"}})
                return
            authorized = api_key is None or self.headers.get("Authorization") == f"Bearer {api_key}"
            try:
                req = json.loads(raw)
                model = req["model"]
                messages = req["messages"]
                user = next(m["content"] for m in reversed(messages) if m["role"] == "user")
            except (ValueError, KeyError, TypeError, StopIteration):
                self.send_json(400, {"error": {"message": "bad request", "type": "invalid_request_error"}})
                return
            emit({"model": model, "messages": messages, "authorized": authorized})
            if not authorized:
                self.send_json(401, {"error": {"message": "invalid api key", "type": "invalid_request_error"}})
                return
            if model.startswith("slow-"):
                time.sleep(int(model[5:]) / 1000)
            if model == "malformed":
                self.send_json(200, raw=b'{"choices": [{"message": ')
            elif model == "no-choices":
                self.send_json(200, {"object": "chat.completion", "choices": []})
            elif model == "uncited":
                self.send_json(200, completion(model, "Probably within a few days."))
            elif model == "error":
                self.send_json(500, {"error": {"message": "the model is overloaded", "type": "server_error"}})
            else:
                self.send_json(200, completion(model, answer(user)))

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with LOCK:
        sys.stdout.write(f"http://127.0.0.1:{server.server_address[1]}/v1\n")
        sys.stdout.flush()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
