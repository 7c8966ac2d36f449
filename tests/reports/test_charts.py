"""Charts: each one renders to a PNG file that starts with the PNG signature."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ona_ledger import Ledger
from ona_ledger.reports.aging import ar_aging
from ona_ledger.reports.revenue import revenue
from tests.reports.helpers import fill_clinic

pytest.importorskip("matplotlib")

from ona_ledger.reports import charts

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def clinic(memory_ledger: Ledger) -> Ledger:
    fill_clinic(memory_ledger)
    return memory_ledger


def test_charts_write_png(clinic: Ledger, tmp_path: Path) -> None:
    report = revenue(clinic, group_by="provider", period="month")
    aging = ar_aging(clinic, as_of=date(2026, 3, 31))
    figures = {
        "revenue.png": charts.revenue_over_time(report),
        "aging.png": charts.aging_buckets(aging),
        "collections.png": charts.collections_vs_charges(report),
    }
    for name, figure in figures.items():
        path = charts.save_png(figure, tmp_path / name)
        assert path.read_bytes().startswith(PNG_SIGNATURE), name


def test_revenue_chart_lines_per_provider(clinic: Ledger) -> None:
    figure = charts.revenue_over_time(revenue(clinic, group_by="provider"))
    # One line for DR-A and one for DR-B.
    assert len(figure.axes[0].get_lines()) == 2
