"""Visit signing throughput: visits of three lines signed per second into a SQLite file."""

from __future__ import annotations

import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bench import Figure, bench_clock, remove_sqlite, sqlite_url
from ona_ledger import Money, create_engine, open_ledger
from ona_ledger.billing.charges import sign_visit
from ona_ledger.billing.fees import Fee, FeeSchedule
from ona_ledger.billing.visits import Visit

_CODES = ("99213", "36415", "87880")
_NPI = "1234567893"


def _fees() -> FeeSchedule:
    start = date(2025, 1, 1)
    prices = ("135.00", "18.00", "32.00")
    return FeeSchedule(
        Fee("self-pay", code, "", Money.of(price), start)
        for code, price in zip(_CODES, prices, strict=True)
    )


def _visit(index: int) -> Visit:
    day = date(2026, 1, 5) + timedelta(days=index % 300)
    return Visit.model_validate(
        {
            "visit_id": f"V{index:07d}",
            "book_id": "bench",
            "patient_id": f"PT{(index * 7919) % 5000:06d}",
            "provider": {"provider_id": f"PR{index % 8:02d}", "npi": _NPI},
            "location": "MAIN",
            "date_of_service": day.isoformat(),
            "signed_at": f"{day.isoformat()}T17:00:00Z",
            "diagnoses": ["J02.9"],
            "lines": [{"code": code} for code in _CODES],
        }
    )


def run(quick: bool) -> list[Figure]:
    count = 200 if quick else 2_000
    visits = [_visit(index) for index in range(count)]
    fees = _fees()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "visits.db"
        engine = create_engine(sqlite_url(path))
        ledger = open_ledger(engine, "bench", clock=bench_clock)
        start = time.perf_counter()
        for visit in visits:
            sign_visit(ledger, visit, fees, actor="bench")
        elapsed = time.perf_counter() - start
        engine.dispose()
        remove_sqlite(path)
    rate = count / elapsed
    return [
        Figure(
            "visit_sign_per_s",
            round(rate, 1),
            "visits/s",
            note=f"{count} visits of 3 lines, each signed in its own transaction",
        )
    ]
