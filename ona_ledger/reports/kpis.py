"""Revenue-cycle key figures: net collection rate, days in A/R, denial rate and payer mix."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from ona_ledger.billing.common import (
    CONTRACTUAL,
    INCOME_SERVICES,
    RECEIVABLE_INSURANCE,
    RECEIVABLE_PATIENTS,
)
from ona_ledger.claims.decisions import first_decisions
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money
from ona_ledger.reports.revenue import SELF_PAY, GroupBy, Period, revenue

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class KeyFigures:
    """Rates are Decimals from 0 to 1 (None when the denominator is zero)."""

    start: date
    end: date
    charges: Money
    collections: Money
    contractual: Money
    net_collection_rate: Decimal | None
    receivable: Money
    days_in_ar: Decimal | None
    claims_adjudicated: int
    claims_denied: int
    denial_rate: Decimal | None
    claims_with_denied_lines: int
    payer_mix: dict[str, Decimal]

    def to_dict(self) -> dict[str, Any]:
        def text(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "charges": str(self.charges),
            "collections": str(self.collections),
            "contractual": str(self.contractual),
            "net_collection_rate": text(self.net_collection_rate),
            "receivable": str(self.receivable),
            "days_in_ar": text(self.days_in_ar),
            "claims_adjudicated": self.claims_adjudicated,
            "claims_denied": self.claims_denied,
            "denial_rate": text(self.denial_rate),
            "claims_with_denied_lines": self.claims_with_denied_lines,
            "payer_mix": {payer: str(share) for payer, share in self.payer_mix.items()},
        }


def key_figures(ledger: Ledger, *, start: date, end: date) -> KeyFigures:
    """Compute the period's key figures.

    - Net collection rate: collections / (charges - contractual adjustments).
    - Days in A/R: patient and insurance receivable at `end` divided by the
      average charges per day over the period.
    - Denial rate: claims denied / claims adjudicated, counting each claim's
      first decision on a posted 835 in the period; a claim with only some
      lines denied is paid, and counted apart in `claims_with_denied_lines`.
    - Payer mix: each payer's share of the period's charges, self-pay included.
    """
    period = ledger.account_balances(as_of=end, since=start)
    charges = _posted(period, INCOME_SERVICES, -1)
    contractual = _posted(period, CONTRACTUAL, 1)
    by_provider = revenue(ledger, group_by=GroupBy.PROVIDER, start=start, end=end)
    collections = by_provider.totals()["collections"]
    net_rate = _ratio(collections.cents, charges.cents - contractual.cents)

    at_end = ledger.account_balances(as_of=end)
    receivable = Money(
        _posted(at_end, RECEIVABLE_PATIENTS, 1).cents
        + _posted(at_end, RECEIVABLE_INSURANCE, 1).cents
    )
    days = (end - start).days + 1
    days_in_ar = None
    if charges.cents > 0:
        per_day = Decimal(charges.cents) / days
        days_in_ar = (Decimal(receivable.cents) / per_day).quantize(Decimal("0.1"))

    adjudicated, denied, partly_denied = _claim_counts(ledger, start, end)
    denial_rate = _ratio(denied, adjudicated)
    return KeyFigures(
        start,
        end,
        charges,
        collections,
        contractual,
        net_rate,
        receivable,
        days_in_ar,
        adjudicated,
        denied,
        denial_rate,
        partly_denied,
        payer_mix(ledger, start=start, end=end),
    )


def payer_mix(ledger: Ledger, *, start: date, end: date) -> dict[str, Decimal]:
    """Return each payer's share of the period's charges, from the maintained balances."""
    charges = revenue(
        ledger, group_by=GroupBy.PROVIDER, period=Period.MONTH, start=start, end=end
    ).totals()["charges"]
    by_payer: dict[str, int] = {}
    for account, _currency, payer, _day, cents in ledger.store.daily_activity(
        ledger.book_id, [INCOME_SERVICES], "payer", start, end
    ):
        if account == INCOME_SERVICES:
            by_payer[payer] = by_payer.get(payer, 0) - cents
    self_pay = charges.cents - sum(by_payer.values())
    if self_pay:
        by_payer[SELF_PAY] = self_pay
    mix = {}
    for payer, cents in sorted(by_payer.items()):
        share = _ratio(cents, charges.cents)
        if share is not None:
            mix[payer] = share
    return mix


def _posted(balances: dict[str, Any], account: str, sign: int) -> Money:
    found = balances.get(account)
    return Money(sign * found.posted.cents) if found else Money.zero()


def _ratio(numerator: int, denominator: int) -> Decimal | None:
    if denominator <= 0:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(
        Decimal("0.0001"), rounding=ROUND_HALF_EVEN
    )


def _claim_counts(ledger: Ledger, start: date, end: date) -> tuple[int, int, int]:
    """Count claims first adjudicated in the period: all, denied, and paid with a denied line.

    A claim is adjudicated when a posted 835 decided it. It is denied when CLP02
    is 4 or the payer denied every line; a paid claim with some lines denied
    counts as paid, and in the third figure.
    """
    decisions = first_decisions(ledger, start=start, end=end)
    denied = sum(1 for decision in decisions if decision.denied)
    partly = sum(
        1 for decision in decisions if not decision.denied and decision.denied_lines
    )
    return len(decisions), denied, partly


def format_key_figures(figures: KeyFigures) -> str:
    """Render the key figures as labelled lines."""

    def percent(value: Decimal | None) -> str:
        return "n/a" if value is None else f"{value * 100:.2f}%"

    denial = (
        f"{percent(figures.denial_rate)} ({figures.claims_denied} of "
        f"{figures.claims_adjudicated} claims)"
    )
    lines = [
        f"Key figures, {figures.start} through {figures.end}",
        f"  Charges                 {figures.charges!s:>12}",
        f"  Collections             {figures.collections!s:>12}",
        f"  Contractual adjustments {figures.contractual!s:>12}",
        f"  Net collection rate     {percent(figures.net_collection_rate):>12}",
        f"  Receivable at end       {figures.receivable!s:>12}",
        f"  Days in A/R             {figures.days_in_ar if figures.days_in_ar is not None else 'n/a'!s:>12}",
        f"  Denial rate             {denial:>12}",
        f"  Paid with a denied line {figures.claims_with_denied_lines:>12}",
        "  Payer mix (share of charges)",
    ]
    lines += [
        f"    {payer:<22}{percent(share):>12}"
        for payer, share in figures.payer_mix.items()
    ]
    return "\n".join(lines)
