#!/usr/bin/env python3
"""What SQLite's synchronous=FULL costs over NORMAL on this disk, in WAL mode:
2,000 commits of a 1 KB insert and update each, twice per setting, in a
temporary directory under the current one (the same disk as ./data)."""
import os
import sqlite3
import tempfile
import time


def run(mode, commits=2000):
    with tempfile.TemporaryDirectory(dir=".") as directory:
        db = sqlite3.connect(os.path.join(directory, "cost.db"), isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={mode}")
        db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, body TEXT)")
        body = "x" * 1000
        seconds = []
        for i in range(commits):
            started = time.perf_counter()
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO t(body) VALUES (?)", (body,))
            db.execute("UPDATE t SET body = ? WHERE id = ?", (body, i))
            db.execute("COMMIT")
            seconds.append(time.perf_counter() - started)
        db.close()
    seconds.sort()
    mean = sum(seconds) / commits
    return mean * 1000, seconds[commits // 2] * 1000, seconds[int(commits * 0.99)] * 1000


for mode in ["NORMAL", "FULL", "NORMAL", "FULL"]:
    mean, p50, p99 = run(mode)
    print(f"{mode:6} p50 {p50:.3f} ms  p99 {p99:.3f} ms  mean {mean:.3f} ms  ({1000 / mean:.0f} commits/s)")
