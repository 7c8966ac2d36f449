"""Smoke run of the benchmark suite at quick sizes: every figure present and well-formed.

No timing is asserted; the figures of a quick run only show that each one is measured.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
EXPECTED = (
    "bulk_post_vs_raw_sqlite",
    "single_post_per_s_sqlite",
    "single_post_per_s_postgres",
    "balance_lookup_ms_1m",
    "balance_lookup_vs_sum",
    "build_1m_s",
    "python_accounting_ratio",
    "peak_rss_mb_1m",
)


@pytest.fixture(scope="module")
def figures() -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("name", EXPECTED)
def test_figure_present(figures: dict[str, Any], name: str) -> None:
    assert name in figures


def test_values_numeric_or_explained(figures: dict[str, Any]) -> None:
    for name, figure in figures.items():
        value = figure["value"]
        if isinstance(value, str):
            assert value.startswith("not measured: "), name
        else:
            assert isinstance(value, int | float), name
            assert math.isfinite(value), name


def test_met_matches_value(figures: dict[str, Any]) -> None:
    for name, figure in figures.items():
        if isinstance(figure["value"], str) or not figure["goal"]:
            assert figure["met"] is None, name
        else:
            assert isinstance(figure["met"], bool), name


def test_figures_carry_units(figures: dict[str, Any]) -> None:
    for name, figure in figures.items():
        assert isinstance(figure["unit"], str), name
