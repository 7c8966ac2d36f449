"""The demo's revenue view: revenue per provider and week, splits, key figures, aging and charts."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal
from pathlib import Path

from ona_ledger.errors import InvalidInputError
from ona_ledger.ledger import Ledger
from ona_ledger.reports.aging import AgingReport, ar_aging, format_aging
from ona_ledger.reports.daily_close import daily_close, format_daily_close
from ona_ledger.reports.kpis import format_key_figures, key_figures
from ona_ledger.reports.revenue import (
    ProviderSplit,
    RevenueReport,
    SplitBasis,
    format_revenue,
    format_splits,
    provider_splits,
    revenue,
)

logger = logging.getLogger(__name__)

# The example clinic's contracts: a share of collections, and one of charges.
DEMO_SPLITS = (
    ProviderSplit("DR-ADAMS", Decimal("0.45")),
    ProviderSplit("DR-BAKER", Decimal("0.333"), SplitBasis.CHARGES),
)


def run_revenue_step(
    ledger: Ledger, out_dir: Path, *, start: date, as_of: date
) -> list[str]:
    """Return the revenue view's lines and write its PNG charts into `out_dir`."""
    weekly = revenue(ledger, group_by="provider", period="week", start=start, end=as_of)
    by_code = revenue(ledger, group_by="code", period="month", start=start, end=as_of)
    aging = ar_aging(ledger, as_of=as_of)
    lines = ["Revenue per provider and week", *format_revenue(weekly).splitlines()]
    lines += ["", "Revenue per code", *format_revenue(by_code).splitlines()]
    lines += [
        "",
        "Provider splits",
        *format_splits(provider_splits(weekly, DEMO_SPLITS)).splitlines(),
    ]
    lines += [
        "",
        *format_key_figures(key_figures(ledger, start=start, end=as_of)).splitlines(),
    ]
    lines += ["", *format_aging(aging).splitlines()]
    lines += [
        "",
        *format_daily_close(
            daily_close(ledger, _busiest_bank_day(ledger, as_of))
        ).splitlines(),
    ]
    lines += ["", *_write_charts(weekly, aging, out_dir)]
    return lines


def _busiest_bank_day(ledger: Ledger, as_of: date) -> date:
    """Return the day up to `as_of` on which the most money reached the bank, else `as_of`."""
    inflow: dict[date, int] = {}
    for entry in ledger.entries(end=as_of, account="Assets:Bank:Operating"):
        for posting in entry.postings:
            if posting.account == "Assets:Bank:Operating" and posting.amount.cents > 0:
                day = entry.effective_date
                inflow[day] = inflow.get(day, 0) + posting.amount.cents
    return max(inflow, key=lambda day: (inflow[day], day), default=as_of)


def _write_charts(
    weekly: RevenueReport, aging: AgingReport, out_dir: Path
) -> list[str]:
    from ona_ledger.reports import charts

    try:
        figures = {
            "revenue-by-provider.png": charts.revenue_over_time(weekly),
            "aging-buckets.png": charts.aging_buckets(aging),
            "collections-vs-charges.png": charts.collections_vs_charges(weekly),
        }
    except InvalidInputError as error:
        logger.info("charts not written: %s", error)
        return [f"Charts: not written ({error})"]
    paths = [
        charts.save_png(figure, out_dir / name) for name, figure in figures.items()
    ]
    return ["Charts: " + ", ".join(path.name for path in paths)]
