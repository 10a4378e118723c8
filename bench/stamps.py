"""Fetches N fresh form stamps (one GET of the form each), so every benchmarked POST is a
new complaint rather than a repeat of an earlier render. Usage: stamps.py URL N OUT"""
import concurrent.futures
import http.client
import re
import sys
import urllib.parse

url, count, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
parts = urllib.parse.urlsplit(url)
pattern = re.compile(rb'name="stamp" value="([^"]+)"')


def fetch(n):
    conn = http.client.HTTPConnection(parts.hostname, parts.port)
    got = []
    for _ in range(n):
        conn.request("GET", parts.path)
        got.append(pattern.search(conn.getresponse().read()).group(1).decode())
    return got


workers = 8
with concurrent.futures.ThreadPoolExecutor(workers) as pool:
    chunks = pool.map(fetch, [count // workers + 1] * workers)
with open(out, "w") as f:
    for chunk in chunks:
        f.write("\n".join(chunk) + "\n")
