"""The reports behind `ona-ledger report NAME`: each returns a JSON document, a table and a status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ona_ledger.errors import InvalidInputError
from ona_ledger.ledger import Ledger

REPORT_NAMES = (
    "trial-balance",
    "providers",
    "income-statement",
    "balance-sheet",
    "aging",
    "revenue",
    "splits",
    "kpis",
    "daily-close",
)


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """What the command line passes to a report; unset dates mean the whole book or today."""

    today: date
    as_of: date | None = None
    start: date | None = None
    end: date | None = None
    group_by: str = "provider"
    period: str = "month"
    splits: tuple[str, ...] = ()
    png: Path | None = None
    limit: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReportOutput:
    document: Any
    text: str
    ok: bool = True


def run_report(ledger: Ledger, name: str, options: ReportOptions) -> ReportOutput:
    """Run report `name`, writing its chart to `options.png` when one is asked for."""
    runners: dict[str, Callable[[Ledger, ReportOptions], ReportOutput]] = {
        "income-statement": _income_statement,
        "balance-sheet": _balance_sheet,
        "aging": _aging,
        "revenue": _revenue,
        "splits": _splits,
        "kpis": _kpis,
        "daily-close": _daily_close,
    }
    if name not in runners:
        raise InvalidInputError(
            f"report {name!r} is not valid; use one of {', '.join(REPORT_NAMES)}"
        )
    return runners[name](ledger, options)


def _income_statement(ledger: Ledger, options: ReportOptions) -> ReportOutput:
    from ona_ledger.reports.statements import format_income_statement, income_statement

    report = income_statement(
        ledger, start=options.start, end=options.end or options.as_of
    )
    return ReportOutput(report.to_dict(), format_income_statement(report))


def _balance_sheet(ledger: Ledger, options: ReportOptions) -> ReportOutput:
    from ona_ledger.reports.statements import balance_sheet, format_balance_sheet

    report = balance_sheet(ledger, as_of=options.as_of)
    return ReportOutput(report.to_dict(), format_balance_sheet(report), report.balanced)


def _aging(ledger: Ledger, options: ReportOptions) -> ReportOutput:
    from ona_ledger.reports.aging import ar_aging, format_aging

    report = ar_aging(ledger, as_of=options.as_of or options.today)
    if options.png is not None:
        from ona_ledger.reports import charts

        charts.save_png(charts.aging_buckets(report), options.png)
    return ReportOutput(report.to_dict(), format_aging(report, limit=options.limit))


def _revenue(ledger: Ledger, options: ReportOptions) -> ReportOutput:
    from ona_ledger.reports.revenue import format_revenue, revenue

    report = revenue(
        ledger,
        group_by=options.group_by,
        period=options.period,
        start=options.start,
        end=options.end or options.as_of,
    )
    if options.png is not None:
        from ona_ledger.reports import charts

        charts.save_png(charts.revenue_over_time(report), options.png)
    return ReportOutput(report.to_dict(), format_revenue(report))


def parse_split(text: str) -> Any:
    """Parse PROVIDER=SHARE or PROVIDER=SHARE:charges into a ProviderSplit."""
    from ona_ledger.reports.revenue import ProviderSplit, SplitBasis

    provider, _, rest = text.partition("=")
    share_text, _, basis = rest.partition(":")
    try:
        share = Decimal(share_text)
        split_basis = SplitBasis(basis or "collections")
    except (InvalidOperation, ValueError):
        raise InvalidInputError(
            f"split {text!r} is not valid; write PROVIDER=SHARE or "
            "PROVIDER=SHARE:charges, such as DR-A=0.6"
        ) from None
    if not provider:
        raise InvalidInputError(f"split {text!r} names no provider; write DR-A=0.6")
    return ProviderSplit(provider, share, split_basis)


def _splits(ledger: Ledger, options: ReportOptions) -> ReportOutput:
    from ona_ledger.reports.revenue import format_splits, provider_splits, revenue

    if not options.splits:
        raise InvalidInputError(
            "the splits report needs at least one --split PROVIDER=SHARE, such as DR-A=0.6"
        )
    report = revenue(
        ledger,
        group_by="provider",
        start=options.start,
        end=options.end or options.as_of,
    )
    rows = provider_splits(report, [parse_split(text) for text in options.splits])
    document = [
        {
            "provider": row.provider,
            "basis": row.basis.value,
            "share": str(row.share),
            "basis_amount": str(row.basis_amount),
            "provider_amount": str(row.provider_amount),
            "clinic_amount": str(row.clinic_amount),
        }
        for row in rows
    ]
    return ReportOutput(document, format_splits(rows))


def _kpis(ledger: Ledger, options: ReportOptions) -> ReportOutput:
    from ona_ledger.reports.kpis import format_key_figures, key_figures

    end = options.end or options.as_of or options.today
    start = options.start or end - timedelta(days=89)
    figures = key_figures(ledger, start=start, end=end)
    return ReportOutput(figures.to_dict(), format_key_figures(figures))


def _daily_close(ledger: Ledger, options: ReportOptions) -> ReportOutput:
    from ona_ledger.reports.daily_close import daily_close, format_daily_close

    close = daily_close(ledger, options.as_of or options.today)
    return ReportOutput(close.to_dict(), format_daily_close(close))
