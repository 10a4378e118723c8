"""Time from the customer's 303 to the SMTP server accepting the staff alert (DATA 250),
with a real SMTP server (aiosmtpd, in this process) and a release mend-server on SQLite.

  single: complaints one at a time, each alert awaited before the next   -> p50/p99
  burst:  N complaints posted at once by 64 clients (stamps fetched first) -> p50/p99,
          alerts per second from the first 303 to the last DATA accepted

usage: python3 bench/alert_latency.py [SINGLE=200] [BURST=1000]   (run by bench/alerts.sh)
"""
import concurrent.futures
import email
import email.policy
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

from aiosmtpd.controller import Controller

SINGLE = int(sys.argv[1]) if len(sys.argv) > 1 else 200
BURST = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
BIN = os.path.join(os.path.dirname(__file__), "..", "target", "release", "mend-server")
REF = re.compile(r"\(([A-Z0-9]{3}-[A-Z0-9]{3})\)")
STAMP = re.compile(rb'name="stamp" value="([^"]+)"')


class Sink:
    """Records when each alert's DATA was accepted, by the case reference in its subject."""

    def __init__(self):
        self.accepted = {}
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)

    async def handle_DATA(self, server, session, envelope):
        now = time.time()
        # The subject is RFC 2047 encoded (the store's name is not ASCII): decode it.
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        m = REF.search(str(message["subject"]))
        with self.lock:
            if m:
                self.accepted.setdefault(m.group(1), now)
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, refs, timeout=120):
        deadline = time.time() + timeout
        with self.lock:
            while not all(r in self.accepted for r in refs):
                left = deadline - time.time()
                if left <= 0:
                    missing = [r for r in refs if r not in self.accepted]
                    raise SystemExit(f"{len(missing)} alerts never arrived")
                self.arrived.wait(left)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def stamp(port, code):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", f"/t/{code}")
    return STAMP.search(conn.getresponse().read()).group(1).decode()


def post(conn, code, stamp_value, n):
    boundary = "mendbench"
    fields = {"stamp": stamp_value, "category": "other", "body": f"Bench complaint {n}"}
    body = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields.items()
    ) + f"--{boundary}--\r\n"
    conn.request("POST", f"/t/{code}", body.encode(),
                 {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    res = conn.getresponse()
    res.read()
    done = time.time()
    assert res.status == 303, res.status
    ref = res.getheader("Location").split("/c/")[1].split("?")[0]
    return ref, done


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def report(label, latencies, extra=""):
    ms = [x * 1000 for x in latencies]
    print(f"{label}: n={len(ms)} p50={percentile(ms, 50):.1f} ms p99={percentile(ms, 99):.1f} ms "
          f"max={max(ms):.1f} ms{extra}", flush=True)


def main():
    sink = Sink()
    smtp_port, http_port = free_port(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    work = tempfile.mkdtemp()
    env = dict(os.environ, MEND_DATA_DIR=work, MEND_BIND=f"127.0.0.1:{http_port}",
               MEND_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}", MEND_FORM_MIN_SECONDS="0",
               MEND_FORM_RATE_LIMIT="0", RUST_LOG="warn")
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
        print(f"machine: {os.cpu_count()} cores; SQLite; SMTP: aiosmtpd in the load process",
              flush=True)

        conn = http.client.HTTPConnection("127.0.0.1", http_port)
        single = []
        for n in range(SINGLE):
            ref, at = post(conn, code, stamp(http_port, code), n)
            sink.wait_for([ref])
            single.append(sink.accepted[ref] - at)
        report("single complaint, 303 -> DATA accepted", single)

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            stamps = list(pool.map(lambda _: stamp(http_port, code), range(BURST)))

        def worker(chunk):
            c = http.client.HTTPConnection("127.0.0.1", http_port)
            return [post(c, code, s, n) for n, s in chunk]

        chunks = [list(enumerate(stamps))[i::64] for i in range(64)]
        started = time.time()
        with concurrent.futures.ThreadPoolExecutor(64) as pool:
            results = [r for chunk in pool.map(worker, chunks) for r in chunk]
        posted = time.time()
        refs = [r for r, _ in results]
        sink.wait_for(refs)
        last = max(sink.accepted[r] for r in refs)
        first = min(at for _, at in results)
        report(f"burst of {BURST}, 303 -> DATA accepted",
               [sink.accepted[r] - at for r, at in results],
               f"; posts took {posted - started:.2f} s ({BURST / (posted - started):.0f}/s); "
               f"alerts delivered at {BURST / (last - first):.0f}/s "
               f"(first 303 to last DATA {last - first:.2f} s)")
    finally:
        server.terminate()
        server.wait()
        controller.stop()


if __name__ == "__main__":
    main()
