"""Charts of the reports for notebooks and PNG files; needs the optional `charts` extra (matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ona_ledger.errors import InvalidInputError
from ona_ledger.reports.aging import BUCKET_LABELS, AgingReport
from ona_ledger.reports.revenue import RevenueReport

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _new_figure() -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise InvalidInputError(
            "charts need matplotlib, which is not installed; install the extra "
            "with `pip install 'ona-ledger[charts]'`"
        ) from None
    # A Figure without pyplot draws on the Agg canvas and keeps no global state.
    return Figure(figsize=(8, 4.5), layout="constrained")


def revenue_over_time(report: RevenueReport, measure: str = "collections") -> Figure:
    """Plot one measure (charges, collections or adjustments) per period, a line per group."""
    if measure not in ("charges", "collections", "adjustments"):
        raise InvalidInputError(
            f"measure {measure!r} is not valid; use charges, collections or adjustments"
        )
    figure = _new_figure()
    axes: Any = figure.add_subplot()
    groups = sorted({row.group for row in report.rows})
    for group in groups:
        rows = [row for row in report.rows if row.group == group]
        axes.plot(
            [row.period_start for row in rows],
            [getattr(row, measure).to_decimal() for row in rows],
            marker="o",
            label=group,
        )
    axes.set_title(
        f"{measure.capitalize()} by {report.group_by.value}, per {report.period.value}"
    )
    axes.set_ylabel("amount")
    if groups:
        axes.legend(fontsize="small")
    figure.autofmt_xdate()
    return figure


def aging_buckets(report: AgingReport) -> Figure:
    """Plot the patient and insurance receivable in each aging bucket, side by side."""
    figure = _new_figure()
    axes: Any = figure.add_subplot()
    positions = list(range(len(BUCKET_LABELS)))
    patients = [a.to_decimal() for a in AgingReport.bucket_totals(report.patients)]
    payers = [a.to_decimal() for a in AgingReport.bucket_totals(report.payers)]
    axes.bar([p - 0.2 for p in positions], patients, width=0.4, label="patients")
    axes.bar([p + 0.2 for p in positions], payers, width=0.4, label="insurance")
    axes.set_xticks(positions, BUCKET_LABELS)
    axes.set_xlabel("days since date of service")
    axes.set_ylabel("open receivable")
    axes.set_title(f"A/R aging as of {report.as_of}")
    axes.legend()
    return figure


def collections_vs_charges(report: RevenueReport) -> Figure:
    """Plot total charges and collections per period as paired bars."""
    totals: dict[Any, list[Any]] = {}
    for row in report.rows:
        pair = totals.setdefault(row.period_start, [0, 0])
        pair[0] += row.charges.to_decimal()
        pair[1] += row.collections.to_decimal()
    figure = _new_figure()
    axes: Any = figure.add_subplot()
    periods = sorted(totals)
    positions = list(range(len(periods)))
    axes.bar(
        [p - 0.2 for p in positions],
        [totals[k][0] for k in periods],
        width=0.4,
        label="charges",
    )
    axes.bar(
        [p + 0.2 for p in positions],
        [totals[k][1] for k in periods],
        width=0.4,
        label="collections",
    )
    axes.set_xticks(positions, [period.isoformat() for period in periods], rotation=45)
    axes.set_title(f"Collections against charges, per {report.period.value}")
    axes.legend()
    return figure


def save_png(figure: Figure, path: Path) -> Path:
    """Write a figure to a PNG file and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=100)
    return path
