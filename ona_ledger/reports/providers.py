"""Charges, collections and adjustments per provider over a whole period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ona_ledger.ledger import Ledger
from ona_ledger.money import Money
from ona_ledger.reports.revenue import UNASSIGNED, GroupBy, Period, revenue


@dataclass(frozen=True, slots=True)
class ProviderRevenue:
    provider: str
    charges: Money
    collections: Money
    adjustments: Money


def provider_revenue(
    ledger: Ledger, *, start: date | None = None, end: date | None = None
) -> list[ProviderRevenue]:
    """Return each provider's gross charges, collections and adjustments in a period.

    The figures are those of the revenue report grouped by provider, summed
    over the period, so the two reports always agree. Collections are what
    settled a provider's receivable other than adjustments: payments, refunds,
    applied credit, gift cards and payer payments. Postings without a provider
    are left out.
    """
    report = revenue(
        ledger, group_by=GroupBy.PROVIDER, period=Period.MONTH, start=start, end=end
    )
    sums: dict[str, list[int]] = {}
    for row in report.rows:
        if row.group == UNASSIGNED:
            continue
        figures = sums.setdefault(row.group, [0, 0, 0])
        figures[0] += row.charges.cents
        figures[1] += row.collections.cents
        figures[2] += row.adjustments.cents
    return [
        ProviderRevenue(provider, Money(f[0]), Money(f[1]), Money(f[2]))
        for provider, f in sorted(sums.items())
    ]
