"""Balance lookups on a ledger of 1,000,000 postings, its build time and peak memory.

The ledger is built and queried in a child process (`python -m bench.balances
--child ...`), so the peak memory reported is that run's alone.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import (
    Figure,
    at_most,
    bench_clock,
    clinic_batches,
    patient_id,
    seconds,
    sqlite_url,
)
from ona_ledger import open_ledger
from ona_ledger.store import create_engine

logger = logging.getLogger(__name__)

ACCOUNT = "Assets:Receivable:Patients"
BATCH_SIZE = 10_000
# The plain SUM a ledger without maintained balances would run for the same result.
PLAIN_SUM = sa.text(
    "SELECT COALESCE(SUM(amount_cents), 0) FROM postings WHERE book_id = :book "
    "AND account = :account AND patient = :patient AND currency = 'USD' "
    "AND status = 'posted'"
)


def run(quick: bool) -> list[Figure]:
    postings = 20_000 if quick else 1_000_000
    patients = 1_000 if quick else 20_000
    lookups = 50 if quick else 500
    with tempfile.TemporaryDirectory(prefix="ona-bench-") as folder:
        command = [
            sys.executable,
            "-m",
            "bench.balances",
            "--child",
            str(Path(folder) / "ledger.db"),
            str(postings),
            str(patients),
            str(lookups),
        ]
        logger.info("building a ledger of %d postings in a child process", postings)
        done = subprocess.run(command, check=True, stdout=subprocess.PIPE)
    result = json.loads(done.stdout)
    return _figures(result, postings, patients, lookups)


def _figures(
    result: dict[str, Any], postings: int, patients: int, lookups: int
) -> list[Figure]:
    size = f"{result['postings']} postings, {result['entries']} entries, {patients} patients"
    figures = [
        Figure(
            "build_1m_s",
            round(result["build_s"], 1),
            "s",
            note=f"post_many in batches of {BATCH_SIZE} into a new SQLite file; {size}",
        ),
        Figure(
            "build_1m_postings_per_s",
            round(result["postings"] / result["build_s"]),
            "postings/s",
            note=size,
        ),
        Figure("db_size_mb_1m", round(result["db_mb"], 1), "MB", note=size),
        Figure(
            "peak_rss_mb_1m",
            round(result["peak_rss_mb"], 1),
            "MB",
            note=f"peak resident memory of the process that built and queried; {size}",
        ),
    ]
    if result["mismatch"]:
        text = (
            f"not measured: balances differ from the plain SUM ({result['mismatch']})"
        )
        figures.append(Figure("balance_lookup_ms_1m", text, "ms", "<= 1"))
        figures.append(Figure("balance_lookup_vs_sum", text, "ratio"))
        return figures
    ours_ms = result["balance_ms"]
    figures.append(
        at_most(
            "balance_lookup_ms_1m",
            round(ours_ms, 4),
            "ms",
            1,
            f"median of {lookups} Ledger.balance({ACCOUNT}, patient=...) calls; {size}",
        )
    )
    figures.append(
        Figure(
            "balance_lookup_vs_sum",
            round(result["sum_ms"] / ours_ms, 2),
            "ratio",
            note=(
                f"median plain SUM over postings ({result['sum_ms']:.4f} ms, using the "
                "postings (book_id, patient) index) / median Ledger.balance"
            ),
        )
    )
    return figures


def build_and_query(
    path: Path, postings: int, patients: int, lookups: int
) -> dict[str, Any]:
    """Build a ledger of at least `postings` postings, then time balance lookups."""
    engine = create_engine(sqlite_url(path))
    ledger = open_ledger(engine, "bench", clock=bench_clock)
    # Entries cycle through 2, 3 and 4 postings: 9 postings every 3 entries.
    entries = -(-postings * 3 // 9)
    start = time.perf_counter()
    for number, batch in enumerate(clinic_batches(entries, BATCH_SIZE, patients)):
        ledger.post_many(batch)
        if number % 20 == 19:
            logger.info("posted %d of %d entries", (number + 1) * BATCH_SIZE, entries)
    build_s = time.perf_counter() - start

    with engine.connect() as connection:
        stored = connection.execute(
            sa.text("SELECT COUNT(*) FROM postings")
        ).scalar_one()
    chosen = [patient_id(index * 7, patients) for index in range(lookups)]
    ours_ms: list[float] = []
    sum_ms: list[float] = []
    mismatch = ""
    with engine.connect() as connection:
        for patient in chosen:
            balance_cents = 0

            def ours(patient: str = patient) -> None:
                nonlocal balance_cents
                balance_cents = ledger.balance(ACCOUNT, patient=patient).posted.cents

            ours_ms.append(seconds(ours) * 1000)
            parameters = {"book": "bench", "account": ACCOUNT, "patient": patient}
            sum_cents = 0

            def plain_sum(parameters: dict[str, str] = parameters) -> None:
                nonlocal sum_cents
                sum_cents = connection.execute(PLAIN_SUM, parameters).scalar_one()

            sum_ms.append(seconds(plain_sum) * 1000)
            if balance_cents != sum_cents and not mismatch:
                mismatch = f"patient {patient}: {balance_cents} != {sum_cents} cents"
    engine.dispose()
    return {
        "entries": entries,
        "postings": int(stored),
        "build_s": build_s,
        "db_mb": path.stat().st_size / 1e6,
        "balance_ms": statistics.median(ours_ms),
        "sum_ms": statistics.median(sum_ms),
        "mismatch": mismatch,
        "peak_rss_mb": peak_rss_mb(),
    }


def peak_rss_mb() -> float:
    """Return this process's peak resident memory in MB.

    Linux's VmHWM covers this process image only. ru_maxrss, the fallback,
    can include the parent's memory when the child was started by vfork.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child_main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.balances")
    parser.add_argument("--child", metavar="PATH", required=True, type=Path)
    parser.add_argument("postings", type=int)
    parser.add_argument("patients", type=int)
    parser.add_argument("lookups", type=int)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="bench: %(message)s")
    logging.getLogger("ona_ledger").setLevel(logging.WARNING)
    result = build_and_query(args.child, args.postings, args.patients, args.lookups)
    print(json.dumps(result))


if __name__ == "__main__":
    _child_main()
