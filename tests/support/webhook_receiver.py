"""A webhook receiver for the tests, in its own process: every POST is checked with the
`standardwebhooks` package (PyPI), an implementation of the Standard Webhooks
specification independent of Mend's, and recorded.

    python3 webhook_receiver.py PORT DIR

Prints "ready" once listening. Control (JSON), for the test:
    POST /_control  {"secrets": ["whsec_..."], "status": 200}   (what to answer)
    GET  /_control  -> every message received, in order
A message is recorded with its path, headers, body (JSON when it parses) and whether a
secret verified it ("verified"), or why not ("error").
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

lock = threading.Lock()
config = {"secrets": [], "status": 200}
received = []


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body=b"{}"):
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/_control":
            with lock:
                self.reply(200, json.dumps(received).encode())
        else:
            self.reply(404)

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        raw = self.rfile.read(length)
        if self.path == "/_control":
            with lock:
                config.update(json.loads(raw))
            self.reply(200)
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        verified, error = False, None
        with lock:
            secrets, status = list(config["secrets"]), config["status"]
        for secret in secrets:
            try:
                Webhook(secret).verify(raw, headers)
                verified, error = True, None
                break
            except Exception as e:  # noqa: BLE001 - the reason is what the test reads
                error = f"{type(e).__name__}: {e}"
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        with lock:
            received.append({
                "path": self.path,
                "headers": {k: headers[k] for k in headers if k.startswith("webhook-") or k == "content-type"},
                "body": body,
                "verified": verified,
                "error": error,
            })
        self.reply(status)


def main():
    port = int(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
