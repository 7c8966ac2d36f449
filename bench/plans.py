"""Autopay speed: plan instalments charged per second by the runner, all due on one day.

Each plan covers one self-pay invoice of 600.00 in six monthly instalments;
the runner charges the first instalment of every plan through the offline
card simulator on a SQLite file.
"""

from __future__ import annotations

import logging
import tempfile
import time
from datetime import date
from pathlib import Path

from bench import BENCH_TIME, Figure, at_least, bench_clock, sqlite_url
from ona_ledger import Entry, Money, Posting
from ona_ledger.billing.common import (
    INCOME_SERVICES,
    RECEIVABLE_PATIENTS,
    RECORD_INVOICE,
)
from ona_ledger.plans.autopay import run_autopay
from ona_ledger.plans.payment_plans import Frequency, create_plan
from ona_ledger.processors.simulator import SimulatorProcessor
from ona_ledger.store import open_ledger

logger = logging.getLogger(__name__)

PLANS_FULL = 10_000
PLANS_QUICK = 50
DUE = date(2026, 3, 2)
# NOTE: a goal this library sets itself: 10,000 plans due on one day charged
# within about eight minutes by one runner. An instalment sends about 66
# statements to SQLite (transactions and savepoints included); each of its
# four reads of the open lines (billing.open_lines) is one indexed query.
GOAL_PER_S = 20.0


def run(quick: bool) -> list[Figure]:
    plans = PLANS_QUICK if quick else PLANS_FULL
    with tempfile.TemporaryDirectory() as folder:
        rate, charged = _measure(Path(folder) / "plans.db", plans)
    note = (
        f"{charged} of {plans} plans charged on one day; SQLite file, simulator "
        "processor, one runner"
    )
    return [
        at_least("autopay_run_per_s", round(rate, 1), "instalments/s", GOAL_PER_S, note)
    ]


def _measure(path: Path, plans: int) -> tuple[float, int]:
    ledger = open_ledger(sqlite_url(path), "bench-plans", clock=bench_clock)
    processor = SimulatorProcessor()
    token = processor.tokenize("4242424242424242")
    day = BENCH_TIME.date()
    amount = Money.of("600.00")
    entries = []
    for index in range(plans):
        patient, invoice = f"PT{index:06d}", f"INV-B{index:06d}"
        dims = {"patient": patient, "invoice": invoice, "invoice_line": f"{invoice}-1"}
        entries.append(
            Entry(
                day,
                "Visit charge",
                (
                    Posting.with_dimensions(RECEIVABLE_PATIENTS, amount, dims),
                    Posting.with_dimensions(INCOME_SERVICES, -amount, dims),
                ),
                actor="bench",
            )
        )
    for start in range(0, plans, 1000):
        ledger.post_many(entries[start : start + 1000])
    for index in range(plans):
        invoice = f"INV-B{index:06d}"
        ledger.store.put_record(
            ledger.book_id,
            RECORD_INVOICE,
            invoice,
            {"invoice_id": invoice, "patient_id": f"PT{index:06d}", "visits": []},
        )
        create_plan(
            ledger, f"PT{index:06d}", [invoice], frequency=Frequency.MONTHLY,
            first_date=DUE, card_token=token, instalments=6,
        )  # fmt: skip
    started = time.perf_counter()
    report = run_autopay(ledger, processor, DUE)
    elapsed = time.perf_counter() - started
    logger.info("autopay bench: %d charged in %.1f s", report.charged, elapsed)
    return report.charged / elapsed, report.charged
