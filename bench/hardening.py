"""Attacks of issue 21 against a running server, with a bystander measured meanwhile.

Usage: hardening.py BASE_URL SERVER_PID FORM_CODE STATUS_PATH

1. photo bombs: 20 concurrent posts of a 10,000 x 10,000 PNG (a few hundred KB that
   would expand to 100 megapixels), each with a fresh form stamp;
2. phone photos: 20 concurrent posts of a real 12-megapixel photo (4000 x 3000), which
   are decoded, within the server's pixel budget;
3. slow bodies: 500 connections from 127.0.0.2 that send a post's headers and trickle its
   body; how they end and when;
4. bogus password links: 300 posts to /manage/password/set from one client.

During each, wrk measures the status page (from 127.0.0.1, another client) and the
server's peak memory (VmHWM) is read from /proc. Prints one line per figure.
"""
import concurrent.futures
import http.client
import io
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import zlib
import struct

base, pid, code, status_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
host = urllib.parse.urlsplit(base)
STAMP = re.compile(rb'name="stamp" value="([^"]+)"')


def vm(field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) // 1024
    return -1


def png(width, height, row):
    """A PNG of identical rows, compressed: a bomb when the rows are many."""
    raw = b"".join(b"\x00" + row for _ in range(height))
    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    color = 0 if len(row) == width else 2
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def stamp():
    conn = http.client.HTTPConnection(host.hostname, host.port)
    conn.request("GET", f"/t/{code}")
    return STAMP.search(conn.getresponse().read()).group(1).decode()


def post_photo(photo, name):
    boundary = "mendbench"
    fields = {"stamp": stamp(), "category": "cleanliness", "body": "Benchmark with a photo"}
    body = b""
    for k, v in fields.items():
        body += f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode()
    body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"{name}\"\r\n"
             "Content-Type: image/png\r\n\r\n").encode() + photo + f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=120)
    start = time.time()
    conn.request("POST", f"/t/{code}", body,
                 {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    res = conn.getresponse()
    res.read()
    return res.status, time.time() - start


def bystander(seconds):
    out = subprocess.run(["wrk", "-t1", "-c10", f"-d{seconds}s", "--latency", base + status_path],
                         capture_output=True, text=True).stdout
    p99 = re.search(r"99%\s+(\S+)", out)
    rps = re.search(r"Requests/sec:\s+(\S+)", out)
    return (p99.group(1) if p99 else "?"), (rps.group(1) if rps else "?")


def during(label, attack, seconds=12):
    result = {}
    def run():
        result["p99"], result["rps"] = bystander(seconds)
    t = threading.Thread(target=run)
    before = vm("VmRSS")
    t.start()
    time.sleep(0.5)
    start = time.time()
    outcome = attack()
    took = time.time() - start
    t.join()
    print(f"{label}: {outcome}; attack took {took:.1f} s; status page meanwhile p99 {result['p99']}, "
          f"{result['rps']} req/s; server RSS {before} MB before, peak so far {vm('VmHWM')} MB")


print(f"server RSS at start: {vm('VmRSS')} MB")
print(f"status page alone: p99 {bystander(5)[0]}")

bomb = png(10_000, 10_000, b"\x00" * 10_000)
def bombs():
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        got = list(pool.map(lambda _: post_photo(bomb, "bomb.png"), range(20)))
    return f"{len(bomb) // 1024} KB bombs x20, answers {sorted(set(s for s, _ in got))}"
during("photo bombs (10,000 x 10,000 PNG)", bombs)

# A 12 MP photo with some texture (a flat one compresses to nothing).
row = bytes((x * 7 + (x // 13) * 31) % 256 for x in range(4000 * 3))
photo = png(4000, 3000, row)
def photos():
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        got = list(pool.map(lambda _: post_photo(photo, "photo.png"), range(20)))
    slowest = max(t for _, t in got)
    return (f"{len(photo) // 1024} KB 12 MP photos x20, answers {sorted(set(s for s, _ in got))}, "
            f"slowest answer {slowest:.1f} s")
during("phone photos (4000 x 3000)", photos, seconds=20)


def slow_bodies():
    socks = []
    for _ in range(500):
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        s.connect((host.hostname, host.port))
        s.sendall(b"POST /manage/login HTTP/1.1\r\nHost: mend\r\n"
                  b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nemail=")
        s.settimeout(60)
        socks.append(s)
    codes, closed_at = {}, []
    start = time.time()
    def wait(s):
        try:
            head = s.recv(64).split(b" ")[1].decode() if True else ""
        except Exception:
            head = "reset"
        try:
            while s.recv(4096):
                pass
        except Exception:
            pass
        return head, time.time() - start
    with concurrent.futures.ThreadPoolExecutor(500) as pool:
        for head, at in pool.map(wait, socks):
            codes[head] = codes.get(head, 0) + 1
            closed_at.append(at)
    return f"500 slow bodies: answers {codes}, all closed within {max(closed_at):.1f} s"
during("slow bodies (500 connections from 127.0.0.2)", slow_bodies, seconds=35)


def bogus_links():
    conn = http.client.HTTPConnection(host.hostname, host.port)
    conn.request("GET", "/manage/password/forgot")
    res = conn.getresponse()
    page = res.read()
    cookie = res.getheader("Set-Cookie", "").split(";")[0]
    csrf = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()
    statuses = {}
    for _ in range(300):
        body = urllib.parse.urlencode({"csrf": csrf, "u": "nobody", "exp": "99999999999",
                                       "sig": "00", "password": "a long enough password"})
        conn.request("POST", "/manage/password/set", body,
                     {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
        r = conn.getresponse()
        r.read()
        statuses[r.status] = statuses.get(r.status, 0) + 1
    return f"300 bogus password links: answers {statuses}"
during("bogus password links", bogus_links, seconds=5)
print(f"server peak RSS over the whole run: {vm('VmHWM')} MB")
