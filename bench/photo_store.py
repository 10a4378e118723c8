"""Complaints with a photo, by where photos are kept (issue 26), side by side in one run:

  files       photo files under the data dir: Mend before the photo store (OLD_BIN, a build
              of the commit before it), SQLite
  sqlite      the photo store in SQLite (the default)
  postgresql  the photo store in PostgreSQL (BENCH_POSTGRES_URL, a schema of its own)
  s3          SQLite for the rest, photos moved to s3s-fs (an S3 server process) by the worker

For each: POST throughput and p50/p99 with CLIENTS clients each posting phone photos (a
1600 x 1200 JPEG, different for every post: photos are stored by content) for DURATION
seconds; then SINGLE complaints one at a time, each timed from its 303 to the SMTP server
accepting the alert that carries the photo (checked: the alert has an image part).

usage: python3 bench/photo_store.py    (run by bench/photo_store.sh)
"""
import concurrent.futures
import email
import email.policy
import http.client
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from aiosmtpd.controller import Controller

sys.path.insert(0, os.path.dirname(__file__))
from alert_latency import free_port, percentile as pct  # noqa: E402

BIN = os.environ.get("MEND_BIN", "target/release/mend-server")
OLD_BIN = os.environ.get("OLD_BIN", "")
PG = os.environ.get("BENCH_POSTGRES_URL", "")
S3S = shutil.which("s3s-fs") or os.path.expanduser("~/.cargo/bin/s3s-fs")
CLIENTS = int(os.environ.get("CLIENTS", "16"))
DURATION = float(os.environ.get("DURATION", "10"))
# Photos per client, each different (posts beyond this repeat the client's own, one at a
# time: the same photo posted twice at once made Mend before the photo store answer 500).
PER_CLIENT = int(os.environ.get("PER_CLIENT", "30"))
SINGLE = int(os.environ.get("SINGLE", "50"))
REF = re.compile(r"\(([A-Z0-9]{3}-[A-Z0-9]{3})\)")
STAMP = re.compile(rb'name="stamp" value="([^"]+)"')


def photo(n):
    """A 1600 x 1200 JPEG of its own (a real camera's noise would make it larger)."""
    from PIL import Image  # noqa: PLC0415

    img = Image.new("RGB", (1600, 1200))
    px = img.load()
    for x in range(0, 1600, 8):
        for y in range(0, 1200, 8):
            px[x, y] = ((x * 7 + n) % 256, (y * 5 + n // 256) % 256, (x ^ y) % 256)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


class Sink:
    def __init__(self):
        self.accepted = {}
        self.with_photo = set()
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)

    async def handle_DATA(self, server, session, envelope):
        now = time.time()
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        m = REF.search(str(message["subject"]))
        has_image = any(p.get_content_type() == "image/jpeg" for p in message.walk())
        with self.lock:
            if m:
                self.accepted.setdefault(m.group(1), now)
                if has_image:
                    self.with_photo.add(m.group(1))
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, ref, timeout=60):
        deadline = time.time() + timeout
        with self.lock:
            while ref not in self.accepted:
                left = deadline - time.time()
                if left <= 0:
                    raise SystemExit(f"the alert of {ref} never arrived")
                self.arrived.wait(left)


def stamp(conn, code):
    conn.request("GET", f"/t/{code}")
    return STAMP.search(conn.getresponse().read()).group(1).decode()


def post(conn, code, jpeg, n):
    boundary = "mendbench"
    fields = {"stamp": stamp(conn, code), "category": "other", "body": f"Bench complaint {n}"}
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; '
                 f'filename="p.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode() + jpeg + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    started = time.time()
    conn.request("POST", f"/t/{code}", b"".join(parts),
                 {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    res = conn.getresponse()
    res.read()
    done = time.time()
    assert res.status == 303, res.status
    ref = res.getheader("Location").split("/c/")[1].split("?")[0]
    return ref, started, done


def run(label, binary, extra_env, photos):
    sink = Sink()
    smtp_port, http_port = free_port(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    work = tempfile.mkdtemp()
    env = dict(os.environ, MEND_DATA_DIR=work, MEND_BIND=f"127.0.0.1:{http_port}",
               MEND_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}", MEND_FORM_MIN_SECONDS="0",
               MEND_FORM_RATE_LIMIT="0", MEND_MAX_REQUESTS_PER_CLIENT="100000",
               RUST_LOG="warn", **extra_env)
    seeded = subprocess.run([binary, "seed-demo"], env=env, capture_output=True, text=True,
                            check=True)
    code = next(l.split()[1] for l in seeded.stdout.splitlines() if l.startswith("touchpoint"))
    server = subprocess.Popen([binary], env=env, stderr=open(os.path.join(work, "mend.log"), "w"))
    try:
        for _ in range(200):
            try:
                c = http.client.HTTPConnection("127.0.0.1", http_port)
                c.request("GET", "/healthz")
                c.getresponse().read()
                break
            except OSError:
                time.sleep(0.05)
        stop = time.time() + DURATION

        def client(k):
            c = http.client.HTTPConnection("127.0.0.1", http_port)
            out, n = [], 0
            while time.time() < stop:
                out.append(post(c, code, photos[k * PER_CLIENT + n % PER_CLIENT], n))
                n += 1
            return out

        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
            results = [r for rs in pool.map(client, range(CLIENTS)) for r in rs]
        took = max(d for _, _, d in results) - min(s for _, s, _ in results)
        lat = [(d - s) * 1000 for _, s, d in results]

        conn = http.client.HTTPConnection("127.0.0.1", http_port)
        single = []
        for n in range(SINGLE):
            ref, _, at = post(conn, code, photos[n % len(photos)], 100_000 + n)
            sink.wait_for(ref)
            single.append((sink.accepted[ref] - at) * 1000)
            if ref not in sink.with_photo:
                raise SystemExit(f"{label}: the alert of {ref} has no photo")
        print(f"| {label} | {len(results) / took:.1f}/s | {pct(lat, 50):.0f} / {pct(lat, 99):.0f} ms "
              f"| {pct(single, 50):.0f} / {pct(single, 99):.0f} ms |", flush=True)
    finally:
        server.terminate()
        server.wait()
        controller.stop()
        shutil.rmtree(work, ignore_errors=True)


def main():
    photos = [photo(n) for n in range(CLIENTS * PER_CLIENT)]
    print(f"machine: {os.cpu_count()} cores; {CLIENTS} clients for {DURATION:.0f} s, each post a "
          f"1600 x 1200 JPEG of ~{sum(map(len, photos)) // len(photos) // 1024} KB; then {SINGLE} "
          f"single complaints, 303 -> alert with photo accepted by SMTP", flush=True)
    print("| photos in | POST with photo | POST p50 / p99 | alert with photo p50 / p99 |")
    print("|---|---|---|---|")
    if OLD_BIN:
        run("files under the data dir (before)", OLD_BIN, {}, photos)
    run("SQLite (photo store)", BIN, {}, photos)
    if PG:
        schema = f"bench_photos_{os.getpid()}"
        subprocess.run(["psql", "-q", PG, "-c", f"CREATE SCHEMA {schema}"], check=True)
        sep = "&" if "?" in PG else "?"
        try:
            run("PostgreSQL (photo store)", BIN,
                {"MEND_DATABASE_URL": f"{PG}{sep}options=-csearch_path%3D{schema}"}, photos)
        finally:
            subprocess.run(["psql", "-q", PG, "-c", f"DROP SCHEMA {schema} CASCADE"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if os.path.exists(S3S):
        root = tempfile.mkdtemp()
        os.mkdir(os.path.join(root, "photos"))
        port = free_port()
        s3 = subprocess.Popen([S3S, "--host", "127.0.0.1", "--port", str(port), "--access-key",
                               "bench", "--secret-key", "bench-secret", root],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            run("S3 (s3s-fs), SQLite for the rest", BIN,
                {"MEND_PHOTO_STORE": "s3://photos/bench", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
                 "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret",
                 "AWS_ALLOW_HTTP": "true"}, photos)
            moved = sum(len(f) for _, _, f in os.walk(os.path.join(root, "photos")))
            print(f"objects in the bucket after the S3 run: {moved}", flush=True)
        finally:
            s3.terminate()
            shutil.rmtree(root, ignore_errors=True)
    else:
        print("s3s-fs not found: no S3 row (cargo install --locked s3s-fs@0.14.1 --features binary)")


if __name__ == "__main__":
    sys.exit(main())
