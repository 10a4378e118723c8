"""Webhooks under load: the time from the customer's 303 to a real HTTP receiver getting
the signed `case.created`, one complaint at a time and in a burst, and what the burst does
to the complaint POST beside it (the same burst without a subscription, in the same run).

  single:   complaints one at a time, each webhook awaited before the next -> p50/p99
  baseline: a burst of N complaints (CLIENTS clients) with no subscription      -> POST p50/p99
  burst:    the same burst with a subscription to case.created            -> POST p50/p99,
            303 -> receiver p50/p99, webhooks per second (first 303 to last arrival)

The receiver is a threaded HTTP server in this process that checks each signature with
the `standardwebhooks` package and answers 204.

usage: [CLIENTS=64] python3 bench/webhook_latency.py [SINGLE=200] [BURST=1000]   (run by bench/webhooks.sh)
"""
import concurrent.futures
import http.client
import http.server
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

from standardwebhooks.webhooks import Webhook

sys.path.insert(0, os.path.dirname(__file__))
from alert_latency import free_port, percentile, post, stamp  # noqa: E402

SINGLE = int(sys.argv[1]) if len(sys.argv) > 1 else 200
BURST = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
CLIENTS = int(os.environ.get("CLIENTS", "64"))
BIN = os.environ.get("MEND_BIN", os.path.join(os.path.dirname(__file__), "..", "target", "dist", "mend-server"))


class Receiver(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port):
        super().__init__(("127.0.0.1", port), Handler)
        self.secret = None
        self.arrived_at = {}
        self.bad = 0
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)

    def wait_for(self, refs, timeout=180):
        deadline = time.time() + timeout
        with self.lock:
            while not all(r in self.arrived_at for r in refs):
                left = deadline - time.time()
                if left <= 0:
                    missing = [r for r in refs if r not in self.arrived_at]
                    raise SystemExit(f"{len(missing)} webhooks never arrived")
                self.arrived.wait(left)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        now = time.time()
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        try:
            Webhook(self.server.secret).verify(body, dict(self.headers.items()))
            ref = json.loads(body)["data"]["case"]["reference"]
        except Exception:  # noqa: BLE001 - a bad message is counted, not fatal
            ref = None
        with self.server.lock:
            if ref:
                self.server.arrived_at.setdefault(ref, now)
            else:
                self.server.bad += 1
            self.server.arrived.notify_all()
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def report(label, seconds, extra=""):
    ms = [x * 1000 for x in seconds]
    print(f"{label}: n={len(ms)} p50={percentile(ms, 50):.1f} ms p99={percentile(ms, 99):.1f} ms "
          f"max={max(ms):.1f} ms{extra}", flush=True)


def burst(port, code, label):
    """Posts BURST complaints from CLIENTS clients; each post's duration and its 303 time."""
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        stamps = list(pool.map(lambda _: stamp(port, code), range(BURST)))

    def worker(chunk):
        c = http.client.HTTPConnection("127.0.0.1", port)
        out = []
        for n, s in chunk:
            began = time.time()
            ref, done = post(c, code, s, n)
            out.append((ref, done, done - began))
        return out

    chunks = [list(enumerate(stamps))[i::CLIENTS] for i in range(CLIENTS)]
    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        results = [r for chunk in pool.map(worker, chunks) for r in chunk]
    took = time.time() - started
    report(f"{label}: complaint POST", [d for _, _, d in results],
           f"; {BURST} posts in {took:.2f} s ({BURST / took:.0f}/s)")
    return results


def main():
    receiver_port, http_port = free_port(), free_port()
    receiver = Receiver(receiver_port)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    work = tempfile.mkdtemp()
    env = dict(os.environ, MEND_DATA_DIR=work, MEND_BIND=f"127.0.0.1:{http_port}",
               MEND_FORM_MIN_SECONDS="0", MEND_FORM_RATE_LIMIT="0", RUST_LOG="warn",
               MEND_WEBHOOK_ALLOW_PRIVATE="1", MEND_MAX_REQUESTS_PER_CLIENT="100000")
    seeded = subprocess.run([BIN, "seed-demo"], env=env, capture_output=True, text=True, check=True)
    code = next(l.split()[1] for l in seeded.stdout.splitlines() if l.startswith("touchpoint"))
    server = subprocess.Popen([BIN], env=env, stderr=open(os.path.join(work, "mend.log"), "w"))
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", http_port).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.05)
        print(f"machine: {os.cpu_count()} cores; SQLite; {CLIENTS} clients; mail as .eml files; receiver: "
              "Python ThreadingHTTPServer checking signatures with standardwebhooks", flush=True)

        burst(http_port, code, f"baseline burst of {BURST}, no subscription")

        added = subprocess.run(
            [BIN, "webhook", "add", "--url", f"http://127.0.0.1:{receiver_port}/hook",
             "--events", "case.created"], env=env, capture_output=True, text=True, check=True)
        receiver.secret = added.stdout.split()[2]

        conn = http.client.HTTPConnection("127.0.0.1", http_port)
        single = []
        for n in range(SINGLE):
            ref, at = post(conn, code, stamp(http_port, code), n)
            receiver.wait_for([ref])
            single.append(receiver.arrived_at[ref] - at)
        report("single complaint, 303 -> receiver", single)

        results = burst(http_port, code, f"burst of {BURST} with a subscription")
        refs = [r for r, _, _ in results]
        receiver.wait_for(refs)
        last = max(receiver.arrived_at[r] for r in refs)
        first = min(at for _, at, _ in results)
        report(f"burst of {BURST}, 303 -> receiver",
               [receiver.arrived_at[r] - at for r, at, _ in results],
               f"; webhooks delivered at {BURST / (last - first):.0f}/s "
               f"(first 303 to last arrival {last - first:.2f} s)")
        print(f"unverified or unreadable messages: {receiver.bad}", flush=True)
    finally:
        server.terminate()
        server.wait()
        receiver.shutdown()


if __name__ == "__main__":
    main()
