"""Opening a history file of schema 4 (the first start after the update to schema 5 rebuilds the
summaries, captions, forecasts and runs tables with AUTOINCREMENT ids and their word indexes), against
opening the same file once it is at schema 5 (the peer, every later start), on a generated history:
5,000 summaries of ~500 words, 5,000 captions, 2,000 forecasts and 300 runs with 2,000-point curves.

    python tests/bench/bench_history_migration.py [--runs 3]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

WORDS = [
    "the",
    "a",
    "market",
    "rates",
    "growth",
    "bank",
    "said",
    "year",
    "percent",
    "government",
    "new",
    "minister",
    "people",
    "company",
]


def _text(n: int) -> str:
    return " ".join(random.choice(WORDS) for _ in range(n))


def _schema4(path: Path) -> None:
    from sqlite_utils import Database

    from engine import history

    db = Database(sqlite3.connect(path))
    for v in range(4):
        history.MIGRATIONS[v](db)
        db.execute(f"PRAGMA user_version = {v + 1}")
    meta, curve = '{"mean": [' + ",".join(["1.0"] * 200) + "]}", ",".join(["[1, 2.0, 0.1]"] * 2000)
    with db.conn:
        db["summaries"].insert_all(
            (
                {"source": _text(500), "summary": _text(60), "method": "textrank"}
                | {"meta": "{}", "created_at": "t", "origin": "a.txt"}
                for _ in range(5000)
            ),
            batch_size=500,
        )
        db["captions"].insert_all(
            (
                {"file_name": f"{i}.jpg", "file_hash": "h", "caption": _text(10), "scenes": ""}
                | {"meta": "{}", "created_at": "t"}
                for i in range(5000)
            ),
            batch_size=500,
        )
        db["forecasts"].insert_all(
            (
                {"name": "sales", "method": "ets", "horizon": 3, "meta": meta, "created_at": "t"}
                for _ in range(2000)
            ),
            batch_size=500,
        )
        db["runs"].insert_all(
            (
                {"task": "lm", "config": "{}", "data": "d", "device": "cpu", "checkpoint": None}
                | {"status": "complete", "metrics": "{}", "curves": '{"train_loss": [' + curve + "]}"}
                | {"started_at": "t"}
                for _ in range(300)
            ),
            batch_size=50,
        )
    db.conn.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    from engine.history import HistoryStore

    random.seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "v4.db"
        _schema4(src)
        print(f"schema-4 history: {src.stat().st_size / 1e6:.1f} MB")
        upgrade, plain = [], []
        for r in range(args.runs):
            copy = Path(tmp) / f"run{r}.db"
            shutil.copy(src, copy)
            t0 = time.perf_counter()
            store = HistoryStore(copy)  # upgrades 4 -> 5
            upgrade.append(time.perf_counter() - t0)
            assert store.schema_version == 5
            store.close()
            t0 = time.perf_counter()
            HistoryStore(copy).close()  # the peer: the same file, already at schema 5
            plain.append(time.perf_counter() - t0)
        print(f"open with the upgrade to schema 5, median of {args.runs}: {statistics.median(upgrade):.2f} s")
        print(f"open at schema 5 (every later start), same files:   {statistics.median(plain):.3f} s")


if __name__ == "__main__":
    main()
