"""Fills a Mend SQLite database with N resolved cases of the demo store, each with an
answered satisfaction survey, for the export benchmark. Usage: seed_surveys.py DB N"""
import random
import sqlite3
import sys
import uuid
from datetime import datetime, timedelta

db, n = sys.argv[1], int(sys.argv[2])
con = sqlite3.connect(db)
loc, = con.execute("SELECT id FROM locations LIMIT 1").fetchone()
tps = [r[0] for r in con.execute("SELECT id FROM touchpoints WHERE location_id = ?", (loc,))]
start = datetime(2025, 11, 23)
comments = ["Thanks!", "비누가 없었어요", "石けんがありません", "Dziękuję", "=1+2", ""]
rng = random.Random(7)


def uuid7(at):
    """A UUIDv7 for a time, as Mend makes its ids (uuid::Uuid::now_v7): ids sort by
    creation, so rows written together sit together. Random v4 ids here made every
    export read a random page per row, which Mend's own data never does."""
    ms = int((at - datetime(1970, 1, 1)).total_seconds() * 1000)
    n = (ms << 80) | (0x7 << 76) | (rng.getrandbits(12) << 64) | (0b10 << 62) | rng.getrandbits(62)
    return str(uuid.UUID(int=n))


def rows():
    for i in range(n):
        created = start + timedelta(minutes=i // 3)
        case_id = uuid7(created)
        ref = f"{i:07d}"
        ref = f"B{ref[:3]}-{ref[3:6]}"
        yield (
            (case_id, f"{ref}{i}", loc, rng.choice(tps), rng.choice(["cleanliness", "staff", "waiting_time"]),
             f"Bench complaint {i}", "en", "resolved", created, created + timedelta(minutes=7),
             created + timedelta(minutes=40), "Fixed it", "cleaning", "voucher", 500, "EUR"),
            (uuid7(created + timedelta(minutes=40)), case_id, uuid.uuid4().hex, created + timedelta(hours=1),
             created + timedelta(hours=2), rng.randint(1, 5), rng.choice(["yes", "partly", "no"]),
             rng.randint(0, 10), rng.choice(comments), created + timedelta(minutes=40), "satisfaction", None, "en",
             loc, "cleaning", "voucher", 500, "EUR"),
        )


cases, surveys = [], []
with con:
    for c, s in rows():
        cases.append(c)
        surveys.append(s)
        if len(cases) == 50_000:
            con.executemany(
                "INSERT INTO cases (id, reference, location_id, touchpoint_id, category, body, language, status,"
                " created_at, acknowledged_at, resolved_at, resolution, root_cause, compensation_type,"
                " compensation_minor, compensation_currency) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", cases)
            con.executemany(
                "INSERT INTO surveys (id, case_id, token_hash, sent_at, answered_at, csat, fixed, return_likelihood,"
                " comment, created_at, kind, recipient, language, location_id, root_cause, compensation_type,"
                " compensation_minor, compensation_currency) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", surveys)
            cases.clear()
            surveys.clear()
print(f"seeded {n} answered surveys")
