"""Beancount export: bean-check accepts it, balances match, ids not names, period filters."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from ona_ledger import Account, Entry, InvalidInputError, Ledger, Posting
from ona_ledger.billing.charges import void_visit
from ona_ledger.billing.deposits import record_deposit, record_payout
from ona_ledger.billing.fees import FeeSchedule
from ona_ledger.billing.insurance import post_claim_payment
from ona_ledger.billing.payments import (
    AdjustmentReason,
    PaymentMethod,
    adjust_invoice,
    apply_credit,
    collect_payment,
    refund_payment,
)
from ona_ledger.export.beancount import check_with_beancount, write_beancount_file
from ona_ledger.processors.simulator import SimulatorProcessor
from tests.billing.helpers import insured, load_fees, sign, usd
from tests.conftest import FakeClock

BEAN_CHECK = Path(sys.executable).parent / "bean-check"


def bean_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BEAN_CHECK), str(path)], capture_output=True, text=True, check=False
    )


def fill_book(ledger: Ledger, fees: FeeSchedule, clock: FakeClock) -> None:
    """Post one entry of every kind the billing flow makes, over two weeks of March."""
    processor = SimulatorProcessor()
    card = processor.tokenize("4242424242424242")
    hsa = processor.tokenize("4000056655665556")
    sign(ledger, fees, visit_id="V-1", lines=[{"code": "99213"}, {"code": "36415"}])
    sign(
        ledger,
        fees,
        visit_id="V-1",
        lines=[{"code": "99214"}],
        signed_at="2026-03-02T18:00:00Z",
    )
    collect_payment(
        ledger,
        "P-1",
        usd("100.00"),
        PaymentMethod.CARD,
        actor="desk",
        processor=processor,
        card_token=card,
        payment_id="PAY-1",
    )
    collect_payment(
        ledger,
        "P-1",
        usd("60.00"),
        PaymentMethod.CHECK,
        actor="desk",
        check_number="101",
        allow_credit=True,
    )

    sign(ledger, fees, visit_id="V-2", patient_id="P-2", date_of_service="2026-03-03")
    collect_payment(
        ledger,
        "P-2",
        usd("30.00"),
        PaymentMethod.HSA_FSA_CARD,
        actor="desk",
        processor=processor,
        card_token=hsa,
    )
    collect_payment(ledger, "P-2", usd("20.00"), PaymentMethod.ACH, actor="web")
    collect_payment(ledger, "P-2", usd("10.00"), PaymentMethod.CASH, actor="desk")

    adjust_invoice(
        ledger,
        "INV-V-2",
        usd("15.00"),
        AdjustmentReason.COURTESY,
        actor="manager",
        reason='courtesy "discount"',
    )
    seq = adjust_invoice(
        ledger,
        "INV-V-2",
        usd("5.00"),
        AdjustmentReason.SMALL_BALANCE,
        actor="manager",
        reason="small",
    ).seq
    ledger.reverse(seq, actor="manager", reason="entered by mistake")

    refund_payment(
        ledger,
        "PAY-1",
        usd("7.50"),
        actor="manager",
        reason="goodwill",
        processor=processor,
    )

    sign(
        ledger,
        fees,
        visit_id="V-3",
        patient_id="P-3",
        coverage=insured(),
        date_of_service="2026-03-09",
    )
    post_claim_payment(
        ledger,
        "V-3",
        paid=usd("60.00"),
        contractual=usd("20.00"),
        patient_responsibility=usd("20.00"),
        actor="era",
        effective_date=date(2026, 3, 12),
        trace_number="EFT-1",
    )
    sign(
        ledger,
        fees,
        visit_id="V-4",
        patient_id="P-1",
        lines=[{"code": "36415"}],
        date_of_service="2026-03-10",
    )
    apply_credit(ledger, "P-1", actor="billing", effective_date=date(2026, 3, 10))
    sign(ledger, fees, visit_id="V-5", patient_id="P-4", date_of_service="2026-03-11")
    collect_payment(
        ledger,
        "P-4",
        usd("100.00"),
        PaymentMethod.CASH,
        actor="desk",
        effective_date=date(2026, 3, 11),
    )
    void_visit(ledger, "V-5", actor="billing", reason="wrong chart")

    record_deposit(ledger, "DEP-1", usd("170.00"), date(2026, 3, 12), actor="desk")
    payout = processor.payout(date(2026, 3, 13))
    assert payout is not None
    record_payout(
        ledger, payout.payout_id, payout.amount, date(2026, 3, 13), actor="proc"
    )

    pending = ledger.post_pending(
        Entry(
            date(2026, 3, 13),
            "card hold",
            (
                Posting("Assets:Clearing:Processor", usd("12.00"), patient="P-1"),
                Posting("Assets:Receivable:Patients", usd("-12.00"), patient="P-1"),
            ),
            actor="desk",
        )
    )
    del pending
    clock.advance(days=14)


@pytest.fixture
def filled(ledger: Ledger, tmp_path: Path, clock: FakeClock) -> Ledger:
    fill_book(ledger, load_fees(tmp_path), clock)
    return ledger


def test_bean_check_accepts(filled: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "book.beancount"
    write_beancount_file(filled, path)
    result = bean_check(path)
    assert result.stderr == ""
    assert result.stdout == ""
    assert result.returncode == 0


def test_balances_match_ledger(filled: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "book.beancount"
    write_beancount_file(filled, path)
    errors, balances = check_with_beancount(path)
    assert errors == []
    ledger_balances = {
        name: balance.posted.to_decimal()
        for name, balance in filled.account_balances().items()
        if balance.posted.cents
    }
    exported = {name: amount for name, amount in balances.items() if amount != 0}
    assert exported == ledger_balances


def test_patient_ids_not_names(filled: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "book.beancount"
    write_beancount_file(filled, path)
    text = path.read_text(encoding="utf-8")
    assert 'patient: "P-1"' in text
    assert "4242" not in text


def test_invoice_links(filled: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "book.beancount"
    write_beancount_file(filled, path)
    text = path.read_text(encoding="utf-8")
    assert '"Charges for visit V-1" ^INV-V-1' in text


def test_pending_left_out(filled: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "book.beancount"
    write_beancount_file(filled, path)
    assert "card hold" not in path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2026, 3, 4), None),
        (None, date(2026, 3, 5)),
        (date(2026, 3, 4), date(2026, 3, 10)),
    ],
)
def test_period_passes_bean_check(
    filled: Ledger, tmp_path: Path, start: date | None, end: date | None
) -> None:
    path = tmp_path / "period.beancount"
    closing = write_beancount_file(filled, path, start=start, end=end)
    result = bean_check(path)
    assert result.stderr == ""
    assert result.returncode == 0
    as_of = {n: b.posted for n, b in filled.account_balances(as_of=end).items()}
    in_period = filled.account_balances(as_of=end, since=start)
    earlier_income = usd("0.00")
    if start is not None:
        before = filled.account_balances(as_of=start - timedelta(days=1))
        for name, balance in before.items():
            if name.startswith(("Income:", "Expenses:")):
                earlier_income = earlier_income + balance.posted
    for name, amount in closing.items():
        if start is not None and name.startswith(("Income:", "Expenses:")):
            # Income and expenses before the period are closed into equity.
            assert amount == in_period[name].posted
        elif start is not None and name == "Equity:OpeningBalances":
            assert amount == as_of.get(name, usd("0.00")) + earlier_income
        else:
            assert amount == as_of.get(name, usd("0.00"))


def test_period_backwards_raises(filled: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "bad.beancount"
    with pytest.raises(InvalidInputError, match="swap the dates"):
        write_beancount_file(filled, path, start=date(2026, 3, 5), end=date(2026, 3, 1))


def test_subaccount_assertion(memory_ledger: Ledger, tmp_path: Path) -> None:
    memory_ledger.open_account(Account("Income:Services:Lab"))
    memory_ledger.post(
        Entry(
            date(2026, 3, 2),
            "lab",
            (
                Posting("Assets:Bank:Operating", usd("10.00")),
                Posting("Income:Services:Lab", usd("-10.00")),
            ),
            actor="test",
        )
    )
    path = tmp_path / "sub.beancount"
    write_beancount_file(memory_ledger, path)
    result = bean_check(path)
    assert result.stderr == ""
    errors, balances = check_with_beancount(path)
    assert errors == []
    assert balances["Income:Services:Lab"] == Decimal("-10.00")


def test_odd_metadata_keys_pass_bean_check(
    memory_ledger: Ledger, tmp_path: Path
) -> None:
    meta = {"entry": "clash", "a": "short", "a b": "space", "a.b": "dot", "Up": "caps"}
    memory_ledger.post(
        Entry(
            date(2026, 3, 2),
            'narration with "quotes" and \\ backslash',
            (
                Posting("Assets:Bank:Operating", usd("10.00")),
                Posting("Income:Services", usd("-10.00")),
            ),
            actor="test",
            links=("INV 1", "inv/2"),
            meta=meta,
        )
    )
    path = tmp_path / "meta.beancount"
    write_beancount_file(memory_ledger, path)
    result = bean_check(path)
    assert result.stderr == ""
    assert result.returncode == 0
