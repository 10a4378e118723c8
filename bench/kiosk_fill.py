"""Puts N taps into a kiosk's outbox file, as N customers would have during an outage
(bench/kiosk.sh). Keys are UUIDv7, as the kiosk makes them; times spread over the last
N seconds, so the server takes them as past taps."""
import os
import sqlite3
import sys
import time


def uuid7(ms: int) -> str:
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (rand >> 68 & 0xFFF) << 64 | 0b10 << 62 | (rand & ((1 << 62) - 1))
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def main() -> None:
    path, n = sys.argv[1], int(sys.argv[2])
    now = int(time.time() * 1000)
    db = sqlite3.connect(path)
    rows = []
    for i in range(n):
        ms = now - (n - i) * 1000 // 10
        rows.append((uuid7(ms), i % 4 + 1, ms))
    with db:
        db.executemany("INSERT INTO taps (key, rating, tapped_at_ms) VALUES (?, ?, ?)", rows)
    print(f"outbox holds {db.execute('SELECT COUNT(*) FROM taps').fetchone()[0]} taps")


if __name__ == "__main__":
    main()
