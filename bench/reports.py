"""Report times on a ledger of 1,000,000 postings: A/R aging and revenue per provider.

The ledger is built with the shared workload (`bench.clinic_batches`) in a
child process (`python -m bench.reports --child ...`), as bench.balances does.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import (
    FIRST_DAY,
    Figure,
    at_most,
    bench_clock,
    clinic_batches,
    seconds,
    sqlite_url,
)
from bench.balances import BATCH_SIZE
from ona_ledger import open_ledger
from ona_ledger.reports.aging import ar_aging
from ona_ledger.reports.revenue import revenue
from ona_ledger.store import create_engine

logger = logging.getLogger(__name__)

AS_OF = date(2025, 12, 31)
RUNS = 5


def run(quick: bool) -> list[Figure]:
    postings = 5_000 if quick else 1_000_000
    patients = 250 if quick else 20_000
    with tempfile.TemporaryDirectory(prefix="ona-bench-") as folder:
        command = [
            sys.executable,
            "-m",
            "bench.reports",
            "--child",
            str(Path(folder) / "ledger.db"),
            str(postings),
            str(patients),
        ]
        logger.info("building a ledger of %d postings for the reports", postings)
        done = subprocess.run(command, check=True, stdout=subprocess.PIPE)
    result = json.loads(done.stdout)
    size = f"{result['postings']} postings, {patients} patients, SQLite file"
    return [
        at_most(
            "report_aging_1m_ms",
            round(result["aging_ms"], 1),
            "ms",
            1000,
            f"median of {RUNS} ar_aging(as_of={AS_OF}) calls, per patient and per "
            f"payer; {result['aging_rows']} patient rows; {size}",
        ),
        at_most(
            "report_revenue_1m_ms",
            round(result["revenue_ms"], 1),
            "ms",
            1000,
            f"median of {RUNS} revenue(group_by='provider', period='month') calls "
            f"over the whole year; {result['revenue_rows']} rows; {size}",
        ),
    ]


def build_and_time(path: Path, postings: int, patients: int) -> dict[str, Any]:
    """Build the workload ledger, then time the aging and revenue reports."""
    engine = create_engine(sqlite_url(path))
    ledger = open_ledger(engine, "bench", clock=bench_clock)
    entries = -(-postings * 3 // 9)
    for batch in clinic_batches(entries, BATCH_SIZE, patients):
        ledger.post_many(batch)
    with engine.connect() as connection:
        stored = connection.execute(
            sa.text("SELECT COUNT(*) FROM postings")
        ).scalar_one()

    aging_rows = revenue_rows = 0

    def aging() -> None:
        nonlocal aging_rows
        aging_rows = len(ar_aging(ledger, as_of=AS_OF).patients)

    def by_provider() -> None:
        nonlocal revenue_rows
        revenue_rows = len(
            revenue(ledger, group_by="provider", period="month", start=FIRST_DAY).rows
        )

    aging()  # a first, untimed call warms SQLite's page cache
    aging_ms = statistics.median(seconds(aging) * 1000 for _ in range(RUNS))
    revenue_ms = statistics.median(seconds(by_provider) * 1000 for _ in range(RUNS))
    engine.dispose()
    return {
        "postings": int(stored),
        "aging_ms": aging_ms,
        "aging_rows": aging_rows,
        "revenue_ms": revenue_ms,
        "revenue_rows": revenue_rows,
    }


def _child_main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reports")
    parser.add_argument("--child", metavar="PATH", required=True, type=Path)
    parser.add_argument("postings", type=int)
    parser.add_argument("patients", type=int)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="bench: %(message)s")
    logging.getLogger("ona_ledger").setLevel(logging.WARNING)
    print(json.dumps(build_and_time(args.child, args.postings, args.patients)))


if __name__ == "__main__":
    _child_main()
