"""The demo's reconciled month: the March statement matches the demo ledger exactly."""

from __future__ import annotations

import pytest

from ona_ledger.demo import DemoResult, run_demo
from ona_ledger.money import Money
from ona_ledger.reconcile.report import reconcile


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(tmp_path_factory.mktemp("demo-reconcile"))


def test_demo_month_clean(demo: DemoResult) -> None:
    report = reconcile(demo.ledger)
    assert report.is_clean is True
    assert len(report.matched) == 5


def test_demo_closing_balance(demo: DemoResult) -> None:
    report = reconcile(demo.ledger)
    assert report.balance.statement_balance == Money.of("1619.32")
    assert report.balance.ledger_balance == Money.of("1619.32")


def test_demo_second_import_adds_nothing(demo: DemoResult) -> None:
    assert "imported again: 0 added, 5 already stored" in demo.reconciliation[0]


def test_demo_summary_clean(demo: DemoResult) -> None:
    assert any(line.endswith(": clean") for line in demo.reconciliation)
