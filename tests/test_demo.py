"""The demo: `ona-ledger demo` replays examples/clinic/week.json; figures checked by hand."""

from __future__ import annotations

import subprocess
import sys

import pytest
from beancount import loader

from ona_ledger.demo import DemoResult, run_demo


@pytest.fixture(scope="module")
def demo_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> subprocess.CompletedProcess[str]:
    out = tmp_path_factory.mktemp("demo")
    return subprocess.run(
        [sys.executable, "-m", "ona_ledger.cli", "demo", "--out", str(out)],
        cwd=out,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(tmp_path_factory.mktemp("demo-lib"))


def test_demo_exits_zero(demo_run: subprocess.CompletedProcess[str]) -> None:
    assert demo_run.returncode == 0
    assert demo_run.stderr == ""


def test_demo_chain_verified(demo_run: subprocess.CompletedProcess[str]) -> None:
    assert "Hash chain: verified, " in demo_run.stdout


def test_demo_beancount_loads(demo: DemoResult) -> None:
    assert demo.beancount_path is not None
    assert demo.beancount_path.name == "demo.beancount"
    _entries, errors, _options = loader.load_file(str(demo.beancount_path))
    assert errors == []


def test_demo_balances_match(demo: DemoResult) -> None:
    assert demo.beancount_matches


def invoice(demo: DemoResult, invoice_id: str) -> tuple[str, str, str]:
    found = next(i for i in demo.invoices if i.invoice_id == invoice_id)
    return (found.status.value, str(found.charged), str(found.patient_due))


def test_demo_amended_visit(demo: DemoResult) -> None:
    # V-2026-0305 amended to 99214 195.00 + 96372 35.00 + J1885 1 x 14.00
    # = 244.00; the 260.00 check pays it and leaves 260.00 - 244.00 = 16.00.
    assert invoice(demo, "INV-V-2026-0305") == ("paid", "244.00", "0.00")
    credit = demo.ledger.balance("Liabilities:PatientCredit", patient="P-1005")
    assert str(credit.posted) == "16.00"


def test_demo_partial_refunds(demo: DemoResult) -> None:
    # PAY-0008 paid 450.00 by card; refunds of 20.00 and 30.00 make 50.00.
    refunds = [
        entry
        for entry in demo.ledger.entries()
        if entry.meta.get("type") == "refund"
        and entry.meta.get("payment_id") == "PAY-0008"
    ]
    refunded = sum(
        -posting.amount.cents
        for entry in refunds
        for posting in entry.postings
        if posting.account == "Assets:Clearing:Processor"
    )
    assert len(refunds) == 2
    assert refunded == 5000


def test_demo_voided_visit(demo: DemoResult) -> None:
    # V-2026-0306 (99202 120.00 + 81002 12.00) voided after a 50.00 ACH
    # payment: charges gone, the 50.00 becomes credit.
    assert invoice(demo, "INV-V-2026-0306") == ("void", "0.00", "0.00")
    credit = demo.ledger.balance("Liabilities:PatientCredit", patient="P-1006")
    assert str(credit.posted) == "50.00"


def test_demo_insured_claim(demo: DemoResult) -> None:
    # 99214 195.00 + 93000 68.00 + 36415 18.00 = 281.00; the payer pays 152.00,
    # writes off 89.00 and leaves 40.00, which the 40.00 copay credit pays.
    assert invoice(demo, "INV-V-2026-0302") == ("paid", "281.00", "0.00")


def test_demo_card_fees(demo_run: subprocess.CompletedProcess[str]) -> None:
    # Simulator fee: 2.9% rounded half up, plus 0.30.
    # PAY-0001 167.00: 4.843 -> 4.84 + 0.30 = 5.14.
    # PAY-0002 40.00: 1.16 + 0.30 = 1.46.
    # PAY-0008 450.00: 13.05 + 0.30 = 13.35.
    assert "payment PAY-0001 167.00 by card from P-1001, fee 5.14" in demo_run.stdout
    assert "40.00 to credit, fee 1.46" in demo_run.stdout
    assert "payment PAY-0008 450.00 by card from P-1007, fee 13.35" in demo_run.stdout


def test_demo_desk_deposit(demo_run: subprocess.CompletedProcess[str]) -> None:
    # Cash 70.00 (PAY-0003) + cash 100.00 (CHK-0004) + check 260.00 (PAY-0005)
    # + cash 100.00 (PAY-0009) = 530.00 taken to the bank on 2026-03-06.
    assert "deposited 530.00 of cash and checks as DEP-2026-03-06" in demo_run.stdout


def test_demo_gross_charges(demo: DemoResult) -> None:
    # The nine visits of 2026-03-02 to 2026-03-06 charge 167.00 + 281.00 + 70.00
    # + 425.00 + 244.00 + 0.00 (void) + 450.00 + 135.00 + 283.00 = 2,055.00.
    first_nine = [f"INV-V-2026-030{n}" for n in range(1, 10)]
    charged = sum(
        invoice.charged.cents
        for invoice in demo.invoices
        if invoice.invoice_id in first_nine
    )
    assert charged == 205500


def test_demo_output_names_decline(demo_run: subprocess.CompletedProcess[str]) -> None:
    assert "PAY-0006 declined: insufficient_funds (retry_later)" in demo_run.stdout


def test_demo_beancount_verdict(demo_run: subprocess.CompletedProcess[str]) -> None:
    assert "beancount loader: no errors; balances match the ledger" in demo_run.stdout
