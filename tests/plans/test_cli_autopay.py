"""The `ona-ledger run-autopay` command against a SQLite file."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from ona_ledger.cli import main
from ona_ledger.plans.payment_plans import Frequency, create_plan
from ona_ledger.processors.simulator import SimulatorProcessor
from ona_ledger.store import open_ledger
from tests.billing.helpers import load_fees, sign
from tests.plans.conftest import GOOD_CARD


def test_run_autopay_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    ledger = open_ledger(url, "main")
    sign(ledger, load_fees(tmp_path), "V-1", lines=[{"code": "99215"}])
    create_plan(
        ledger, "P-1", ["INV-V-1"], frequency=Frequency.MONTHLY, first_date=date(2026, 3, 2),
        card_token=SimulatorProcessor().tokenize(GOOD_CARD), instalments=5,
    )  # fmt: skip
    argv = [
        "run-autopay",
        "--db",
        url,
        "--as-of",
        "2026-03-02",
        "--test-card",
        GOOD_CARD,
        "--json",
    ]
    first = main(argv)
    document = json.loads(capsys.readouterr().out)
    second = main(argv)
    again = json.loads(capsys.readouterr().out)
    assert first == 0
    assert document["charged"] == 1
    assert document["charged_amount"] == "700.00"
    assert second == 0
    assert again["charged"] == 0


def test_run_autopay_bad_date(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run-autopay", "--as-of", "2026-13-01"])
    assert exit_info.value.code == 2
