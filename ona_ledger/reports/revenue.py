"""Charges, collections and adjustments per provider, code, location or payer, per day, week or month.

Collections are what left the revenue accounts into money or credit: the negated
sum of an entry's Income:Services, Income:Adjustments and receivable postings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from ona_ledger.billing.common import (
    ADJUSTMENTS_PREFIX,
    INCOME_SERVICES,
    RECORD_VISIT,
    EntryType,
)
from ona_ledger.entries import EntryKind, JournalEntry, PostingStatus
from ona_ledger.errors import InvalidInputError
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money, allocate

RECEIVABLE_PREFIX: Final = "Assets:Receivable:"
# The group of postings that name no value of the grouping dimension.
UNASSIGNED: Final = "(none)"
SELF_PAY: Final = "self-pay"


class GroupBy(StrEnum):
    """The dimension revenue is grouped by."""

    PROVIDER = "provider"
    CODE = "code"
    LOCATION = "location"
    PAYER = "payer"


class Period(StrEnum):
    """The length of a revenue period; a week starts on Monday."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"

    def start_of(self, day: date) -> date:
        """Return the first day of the period that holds `day`."""
        if self is Period.WEEK:
            return day - timedelta(days=day.weekday())
        if self is Period.MONTH:
            return day.replace(day=1)
        return day


@dataclass(frozen=True, slots=True)
class RevenueRow:
    """One group's figures in one period; adjustments are positive write-downs."""

    group: str
    period_start: date
    charges: Money
    collections: Money
    adjustments: Money


@dataclass(frozen=True, slots=True)
class RevenueReport:
    group_by: GroupBy
    period: Period
    start: date | None
    end: date | None
    rows: tuple[RevenueRow, ...]

    def totals(self) -> dict[str, Money]:
        """Return the charges, collections and adjustments over every row."""
        return {
            "charges": Money(sum(row.charges.cents for row in self.rows)),
            "collections": Money(sum(row.collections.cents for row in self.rows)),
            "adjustments": Money(sum(row.adjustments.cents for row in self.rows)),
        }

    def by_group(self) -> dict[str, dict[str, Money]]:
        """Return each group's figures over the whole report, by group name."""
        sums: dict[str, list[int]] = {}
        for row in self.rows:
            cents = sums.setdefault(row.group, [0, 0, 0])
            cents[0] += row.charges.cents
            cents[1] += row.collections.cents
            cents[2] += row.adjustments.cents
        return {
            group: {
                "charges": Money(values[0]),
                "collections": Money(values[1]),
                "adjustments": Money(values[2]),
            }
            for group, values in sorted(sums.items())
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "group_by": self.group_by.value,
            "period": self.period.value,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "rows": [
                {
                    "group": row.group,
                    "period_start": row.period_start.isoformat(),
                    "charges": str(row.charges),
                    "collections": str(row.collections),
                    "adjustments": str(row.adjustments),
                }
                for row in self.rows
            ],
            "totals": {name: str(value) for name, value in self.totals().items()},
        }


def revenue(
    ledger: Ledger,
    *,
    group_by: GroupBy | str = GroupBy.PROVIDER,
    period: Period | str = Period.MONTH,
    start: date | None = None,
    end: date | None = None,
) -> RevenueReport:
    """Return charges, collections and adjustments per group and period.

    Provider and location come from the maintained daily balances, so the cost
    grows with days and groups, not with postings. Payer and code read the
    period's journal, because a payer's patient-share transfer and a line's
    code are not in the maintained balances.
    """
    grouping: GroupBy = _parse(GroupBy, group_by, "group_by")
    length: Period = _parse(Period, period, "period")
    if start is not None and end is not None and start > end:
        raise InvalidInputError(
            f"revenue period starts {start} after it ends {end}; swap the dates"
        )
    if grouping in (GroupBy.PROVIDER, GroupBy.LOCATION):
        sums = _sums_from_balances(ledger, grouping.value, length, start, end)
    else:
        sums = _sums_from_journal(ledger, grouping, length, start, end)
    rows = tuple(
        RevenueRow(group, period_start, Money(c[0]), Money(c[1]), Money(c[2]))
        for (group, period_start), c in sorted(sums.items())
        if any(c)
    )
    return RevenueReport(grouping, length, start, end, rows)


def _parse(kind: Any, value: Any, name: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise InvalidInputError(
            f"{name} {value!r} is not valid; use one of {choices}"
        ) from None


def _add(
    sums: dict[tuple[str, date], list[int]],
    key: tuple[str, date],
    account: str,
    cents: int,
) -> None:
    """Add one revenue-cycle amount (debit positive) to its group's figures."""
    figures = sums.setdefault(key, [0, 0, 0])
    if account == INCOME_SERVICES:
        figures[0] -= cents
    elif account.startswith(ADJUSTMENTS_PREFIX):
        figures[2] += cents
    elif not account.startswith(RECEIVABLE_PREFIX):
        return
    figures[1] -= cents


def _sums_from_balances(
    ledger: Ledger,
    dimension: str,
    period: Period,
    start: date | None,
    end: date | None,
) -> dict[tuple[str, date], list[int]]:
    accounts = [INCOME_SERVICES, ADJUSTMENTS_PREFIX, RECEIVABLE_PREFIX]
    sums: dict[tuple[str, date], list[int]] = {}
    for account, _currency, value, day, cents in ledger.store.daily_activity(
        ledger.book_id, accounts, dimension, start, end
    ):
        _add(sums, (value, period.start_of(day)), account, cents)

    # Postings without the dimension: the account totals less the named values.
    for account, _currency, _value, day, cents in ledger.store.daily_activity(
        ledger.book_id, accounts, "", start, end
    ):
        _add(sums, (UNASSIGNED, period.start_of(day)), account, cents)
    named: dict[tuple[str, date], list[int]] = {}
    for key, figures in sums.items():
        if key[0] != UNASSIGNED:
            total = named.setdefault((UNASSIGNED, key[1]), [0, 0, 0])
            for index in range(3):
                total[index] += figures[index]
    for key, figures in named.items():
        unassigned = sums.setdefault(key, [0, 0, 0])
        for index in range(3):
            unassigned[index] -= figures[index]
    return sums


def _sums_from_journal(
    ledger: Ledger,
    group_by: GroupBy,
    period: Period,
    start: date | None,
    end: date | None,
) -> dict[tuple[str, date], list[int]]:
    codes = _line_codes(ledger) if group_by is GroupBy.CODE else {}
    sums: dict[tuple[str, date], list[int]] = {}
    for entry in ledger.entries(start=start, end=end):
        entry_payer = _entry_payer(ledger, entry)
        period_start = period.start_of(entry.effective_date)
        for posting in entry.postings:
            if posting.status is not PostingStatus.POSTED:
                continue
            if group_by is GroupBy.CODE:
                group = codes.get(posting.invoice_line or "", UNASSIGNED)
            else:
                group = posting.payer or entry_payer or SELF_PAY
            _add(sums, (group, period_start), posting.account, posting.amount.cents)
    return sums


def _entry_payer(ledger: Ledger, entry: JournalEntry) -> str | None:
    """Return the payer a payer's payment entry settles, else None.

    A payer payment moves the patient's share to the patient's receivable
    without the payer on it. Booking that posting to the payer nets the share
    out of the payer's collections, so they are what the payer paid.
    """
    original = entry
    if entry.kind is EntryKind.REVERSAL and entry.refers_to is not None:
        original = ledger.entry(entry.refers_to)
    if original.meta.get("type") != EntryType.INSURANCE_PAYMENT.value:
        return None
    return next((p.payer for p in entry.postings if p.payer), None)


def _line_codes(ledger: Ledger) -> dict[str, str]:
    """Return the CPT or HCPCS code of every invoice line, from the visit records."""
    codes: dict[str, str] = {}
    for _key, record in ledger.store.list_records(ledger.book_id, RECORD_VISIT):
        for line in record.get("lines", []):
            if "invoice_line" in line and "code" in line:
                codes[str(line["invoice_line"])] = str(line["code"])
    return codes


def format_revenue(report: RevenueReport) -> str:
    """Render the revenue report as a fixed-width table with a total line."""
    title = report.group_by.value.capitalize()
    width = max([len(row.group) for row in report.rows] + [len(title), 10])
    header = f"{title:<{width}}  {'Period':<10}  {'Charges':>12}  {'Collections':>12}  {'Adjustments':>12}"
    lines = [header]
    for row in report.rows:
        lines.append(
            f"{row.group:<{width}}  {row.period_start.isoformat():<10}  "
            f"{row.charges!s:>12}  {row.collections!s:>12}  {row.adjustments!s:>12}"
        )
    totals = report.totals()
    lines.append(
        f"{'Total':<{width}}  {'':<10}  {totals['charges']!s:>12}  "
        f"{totals['collections']!s:>12}  {totals['adjustments']!s:>12}"
    )
    return "\n".join(lines)


# Provider splits ----------------------------------------------------------------


class SplitBasis(StrEnum):
    """What a provider's split is a share of."""

    COLLECTIONS = "collections"
    CHARGES = "charges"


@dataclass(frozen=True, slots=True)
class ProviderSplit:
    """A provider's contracted share (0 to 1) of their collections or charges."""

    provider: str
    share: Decimal
    basis: SplitBasis = SplitBasis.COLLECTIONS

    def __post_init__(self) -> None:
        if not isinstance(self.share, Decimal) or not 0 <= self.share <= 1:
            raise InvalidInputError(
                f"split share {self.share!r} for provider {self.provider} is not "
                "valid; pass a Decimal from 0 to 1, such as Decimal('0.6')"
            )


@dataclass(frozen=True, slots=True)
class SplitRow:
    """A provider's basis amount, their share of it and what the clinic keeps."""

    provider: str
    basis: SplitBasis
    share: Decimal
    basis_amount: Money
    provider_amount: Money
    clinic_amount: Money


def provider_splits(
    report: RevenueReport, splits: Iterable[ProviderSplit]
) -> list[SplitRow]:
    """Compute each provider's share of their collections or charges, to the cent.

    The basis is split with `allocate` into the provider's and the clinic's
    parts, so the two always sum to the basis and a leftover cent goes to the
    part with the larger remainder (the provider's on a tie).
    """
    if report.group_by is not GroupBy.PROVIDER:
        raise InvalidInputError(
            f"provider splits need a revenue report grouped by provider, not "
            f"{report.group_by.value}; call revenue(ledger, group_by='provider')"
        )
    figures: Mapping[str, dict[str, Money]] = report.by_group()
    rows = []
    for split in sorted(splits, key=lambda item: item.provider):
        found = figures.get(split.provider)
        basis_amount = found[split.basis.value] if found else Money.zero()
        if split.share in (0, 1) or basis_amount.cents == 0:
            provider_amount = basis_amount if split.share == 1 else Money.zero()
            parts = [provider_amount, basis_amount - provider_amount]
        else:
            parts = allocate(basis_amount, [split.share, 1 - split.share])
        rows.append(
            SplitRow(
                split.provider,
                split.basis,
                split.share,
                basis_amount,
                parts[0],
                parts[1],
            )
        )
    return rows


def format_splits(rows: list[SplitRow]) -> str:
    """Render provider splits as a fixed-width table."""
    lines = [
        f"{'Provider':<12}  {'Basis':<11}  {'Share':>6}  {'Amount':>12}  {'Provider':>12}  {'Clinic':>12}"
    ]
    for row in rows:
        lines.append(
            f"{row.provider:<12}  {row.basis.value:<11}  {row.share:>6}  "
            f"{row.basis_amount!s:>12}  {row.provider_amount!s:>12}  {row.clinic_amount!s:>12}"
        )
    return "\n".join(lines)
