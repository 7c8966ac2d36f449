"""Accounts receivable aging by date of service, per patient and per payer.

Reads the store's maintained receivable per invoice line, whose first day is
the charge's effective date, which billing sets to the date of service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

from ona_ledger.billing.common import RECEIVABLE_INSURANCE, RECEIVABLE_PATIENTS
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money

# Upper bounds in days of every bucket but the last, which is "over 120".
BUCKET_DAYS: Final = (30, 60, 90, 120)
BUCKET_LABELS: Final = ("0-30", "31-60", "61-90", "91-120", "over 120")
NO_PAYER: Final = "(no payer)"


@dataclass(frozen=True, slots=True)
class AgingRow:
    """One patient's or payer's open receivable in each bucket, oldest last."""

    name: str
    buckets: tuple[Money, ...]

    @property
    def total(self) -> Money:
        return Money(sum(amount.cents for amount in self.buckets))


@dataclass(frozen=True, slots=True)
class AgingReport:
    as_of: date
    patients: tuple[AgingRow, ...]
    payers: tuple[AgingRow, ...]

    @staticmethod
    def bucket_totals(rows: tuple[AgingRow, ...]) -> tuple[Money, ...]:
        """Return each bucket's sum over `rows`."""
        return tuple(
            Money(sum(row.buckets[index].cents for row in rows))
            for index in range(len(BUCKET_LABELS))
        )

    def to_dict(self) -> dict[str, Any]:
        def section(rows: tuple[AgingRow, ...]) -> dict[str, Any]:
            return {
                "rows": [
                    {
                        "name": row.name,
                        **{
                            label: str(amount)
                            for label, amount in zip(
                                BUCKET_LABELS, row.buckets, strict=True
                            )
                        },
                        "total": str(row.total),
                    }
                    for row in rows
                ],
                "totals": {
                    label: str(amount)
                    for label, amount in zip(
                        BUCKET_LABELS, self.bucket_totals(rows), strict=True
                    )
                },
            }

        return {
            "as_of": self.as_of.isoformat(),
            "buckets": list(BUCKET_LABELS),
            "patients": section(self.patients),
            "insurance": section(self.payers),
        }


def ar_aging(ledger: Ledger, *, as_of: date) -> AgingReport:
    """Age the open patient and insurance receivable as of a day by date of service.

    Each invoice line is aged from its service date: 0-30 days old means a
    service date no more than 30 days before `as_of`. Patient receivable is
    grouped by patient, insurance receivable by payer.
    """
    # NOTE: the store reads its open receivable summary, one row per patient,
    # payer and service date still open, plus the lines posted after `as_of`.
    starts = [as_of - timedelta(days=days) for days in BUCKET_DAYS]
    patients: dict[str, list[int]] = {}
    payers: dict[str, list[int]] = {}
    rows = ledger.store.receivable_aging(
        ledger.book_id, as_of, starts, [RECEIVABLE_PATIENTS, RECEIVABLE_INSURANCE]
    )
    for _currency, patient, payer, (patient_cents, payer_cents) in rows:
        if any(patient_cents):
            _add(patients, patient, patient_cents)
        if any(payer_cents):
            _add(payers, payer or NO_PAYER, payer_cents)
    return AgingReport(as_of, _rows(patients), _rows(payers))


def _add(sums: dict[str, list[int]], name: str, cents: list[int]) -> None:
    total = sums.get(name)
    if total is None:
        sums[name] = list(cents)
        return
    for bucket, amount in enumerate(cents):
        total[bucket] += amount


def _rows(sums: dict[str, list[int]]) -> tuple[AgingRow, ...]:
    zero = Money.zero()
    rows = []
    for name in sorted(sums):
        buckets = sums[name]
        if any(buckets):
            amounts = tuple([Money(cents) if cents else zero for cents in buckets])
            rows.append(AgingRow(name, amounts))
    return tuple(rows)


def format_aging(report: AgingReport, *, limit: int | None = None) -> str:
    """Render both aging tables; `limit` keeps the largest rows of each."""
    lines = [f"A/R aging by date of service as of {report.as_of}"]
    for title, rows in (("Patient", report.patients), ("Payer", report.payers)):
        shown = rows
        if limit is not None:
            shown = tuple(sorted(rows, key=lambda r: -r.total.cents)[:limit])
        lines.append("")
        lines.append(
            f"{title:<14}"
            + "".join(f"{label:>12}" for label in BUCKET_LABELS)
            + f"{'Total':>12}"
        )
        for row in shown:
            lines.append(
                f"{row.name:<14}"
                + "".join(f"{amount!s:>12}" for amount in row.buckets)
                + f"{row.total!s:>12}"
            )
        if len(shown) < len(rows):
            lines.append(f"  ... {len(rows) - len(shown)} more")
        totals = AgingReport.bucket_totals(rows)
        lines.append(
            f"{'Total':<14}"
            + "".join(f"{amount!s:>12}" for amount in totals)
            + f"{Money(sum(a.cents for a in totals))!s:>12}"
        )
    return "\n".join(lines)
