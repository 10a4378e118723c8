"""Fetches N fresh form stamps (one GET of the form each), so every benchmarked POST is a
new complaint rather than a repeat of an earlier render. Usage: stamps.py URL N OUT"""
import http.client
import re
import sys
import urllib.parse

url, count, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
parts = urllib.parse.urlsplit(url)
conn = http.client.HTTPConnection(parts.hostname, parts.port)
pattern = re.compile(rb'name="stamp" value="([^"]+)"')
with open(out, "w") as f:
    for _ in range(count):
        conn.request("GET", parts.path)
        body = conn.getresponse().read()
        f.write(pattern.search(body).group(1).decode() + "\n")
