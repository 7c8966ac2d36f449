"""The benchmark suite: the Figure type every group module returns, and shared helpers.

Each module of the suite exposes `run(quick: bool) -> list[Figure]`, and
bench/__main__.py runs every such module. docs/benchmarks.md describes the figures.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from ona_ledger import Entry, Money, Posting

# The recorded-at time of every benchmark entry, so runs hash the same content.
BENCH_TIME = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FIRST_DAY = date(2025, 1, 1)


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure, with its goal and whether this run met it.

    `value` is a string when the figure could not be measured, and then states
    why. `met` is None when the figure has no goal or was not measured.
    """

    name: str
    value: float | int | str
    unit: str
    goal: str = ""
    met: bool | None = None
    note: str = ""

    def as_json(self) -> dict[str, object]:
        return {
            "value": self.value,
            "unit": self.unit,
            "goal": self.goal,
            "met": self.met,
            "note": self.note,
        }


def at_least(name: str, value: float, unit: str, goal: float, note: str = "") -> Figure:
    """Return a figure whose goal is a minimum."""
    return Figure(name, value, unit, f">= {goal:g}", value >= goal, note)


def at_most(name: str, value: float, unit: str, goal: float, note: str = "") -> Figure:
    """Return a figure whose goal is a maximum."""
    return Figure(name, value, unit, f"<= {goal:g}", value <= goal, note)


def bench_clock() -> datetime:
    """Return the fixed benchmark time; the ledger clock of every benchmark book."""
    return BENCH_TIME


def seconds(action: Callable[[], object]) -> float:
    """Run `action` once and return the wall time it took, in seconds."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def remove_sqlite(path: Path) -> None:
    """Delete a SQLite database file with its write-ahead log and shared memory."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        candidate = Path(f"{path}{suffix}")
        if candidate.exists():
            os.remove(candidate)


def patient_id(index: int, patients: int) -> str:
    """Return an opaque patient id; consecutive entries go to scattered patients."""
    return f"PT{(index * 7919) % patients:06d}"


def clinic_entry(index: int, patients: int) -> Entry:
    """Build entry number `index` of the benchmark workload: 2, 3 or 4 postings.

    The workload cycles through a one-line charge (2 postings), a card payment
    net of the processor fee (3 postings) and a two-line charge (4 postings),
    so an entry has 3 postings on average. Every posting carries the patient,
    invoice, provider and location; charges also carry the visit and line.
    """
    patient = patient_id(index, patients)
    invoice = f"INV-{index // 3:07d}"
    day = FIRST_DAY + timedelta(days=(index // 50) % 365)
    common = {
        "patient": patient,
        "invoice": invoice,
        "provider": f"PR{index % 12:02d}",
        "location": f"LOC{index % 3}",
    }
    cents = 4_000 + (index * 37) % 16_000
    kind = index % 3
    if kind == 0:
        amount = Money.from_minor(cents)
        line = {"invoice_line": f"{invoice}-1", "visit": f"V{index:07d}"}
        postings = (
            Posting("Assets:Receivable:Patients", amount, **common, **line),
            Posting("Income:Services", -amount, **common, **line),
        )
        narration = "Visit charge"
    elif kind == 1:
        amount = Money.from_minor(cents)
        fee = Money.from_minor(30 + cents * 29 // 1000)
        postings = (
            Posting("Assets:Clearing:Processor", amount - fee, **common),
            Posting("Expenses:ProcessorFees", fee, **common),
            Posting("Assets:Receivable:Patients", -amount, **common),
        )
        narration = "Card payment"
    else:
        first = Money.from_minor(cents)
        second = Money.from_minor(2_500 + cents // 3)
        visit = f"V{index:07d}"
        first_line = {"invoice_line": f"{invoice}-1", "visit": visit}
        second_line = {"invoice_line": f"{invoice}-2", "visit": visit}
        postings = (
            Posting("Assets:Receivable:Patients", first, **common, **first_line),
            Posting("Income:Services", -first, **common, **first_line),
            Posting("Assets:Receivable:Patients", second, **common, **second_line),
            Posting("Income:Services", -second, **common, **second_line),
        )
        narration = "Visit charge, two lines"
    return Entry(day, narration, postings, actor="bench")


def clinic_batches(
    count: int, batch_size: int, patients: int, start: int = 0
) -> Iterator[list[Entry]]:
    """Yield the workload entries `start` .. `start + count - 1` in batches."""
    for first in range(start, start + count, batch_size):
        last = min(first + batch_size, start + count)
        yield [clinic_entry(index, patients) for index in range(first, last)]


def charge_entry(index: int) -> Entry:
    """Build a two-line charge: the receivable of one patient against income."""
    amount = Money.from_minor(12_000 + index % 500)
    patient = patient_id(index, 500)
    return Entry(
        FIRST_DAY + timedelta(days=index % 365),
        "Visit charge",
        (
            Posting("Assets:Receivable:Patients", amount, patient=patient),
            Posting("Income:Services", -amount, patient=patient),
        ),
        actor="bench",
    )
