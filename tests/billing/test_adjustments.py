"""Adjustments with reason codes, their reversal, the provider report and the audit trail."""

from __future__ import annotations

import pytest

from ona_ledger import Ledger
from ona_ledger.billing.common import RECEIVABLE_PATIENTS
from ona_ledger.billing.fees import FeeSchedule
from ona_ledger.billing.payments import (
    AdjustmentReason,
    PaymentMethod,
    adjust_invoice,
    collect_payment,
    refund_payment,
)
from ona_ledger.billing.statements import audit_trail
from ona_ledger.errors import InvalidInputError, PaymentError
from ona_ledger.reports.providers import provider_revenue
from tests.billing.helpers import journal_length, sign, usd

ACCOUNTS = {
    AdjustmentReason.COURTESY: "Income:Adjustments:Courtesy",
    AdjustmentReason.SMALL_BALANCE: "Income:Adjustments:SmallBalance",
    AdjustmentReason.BAD_DEBT: "Income:Adjustments:BadDebt",
    AdjustmentReason.ADMINISTRATIVE: "Income:Adjustments:Administrative",
}


def adjust(ledger: Ledger, amount: str, reason_code: AdjustmentReason) -> int:
    entry = adjust_invoice(
        ledger, "INV-V-1", usd(amount), reason_code, actor="manager", reason="approved"
    )
    return entry.seq


@pytest.mark.parametrize("reason_code", list(AdjustmentReason))
def test_adjustment_account(
    ledger: Ledger, fees: FeeSchedule, reason_code: AdjustmentReason
) -> None:
    sign(ledger, fees)
    seq = adjust(ledger, "10.00", reason_code)
    entry = ledger.entry(seq)
    assert ledger.balance(ACCOUNTS[reason_code]).posted == usd("-10.00")
    assert entry.actor == "manager"
    assert entry.reason == "approved"
    assert entry.meta["reason_code"] == reason_code.value


def test_adjustment_reduces_receivable(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees)
    adjust(ledger, "10.00", AdjustmentReason.COURTESY)
    assert ledger.balance(RECEIVABLE_PATIENTS, patient="P-1").posted == usd("90.00")


def test_adjustment_reversed(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees)
    seq = adjust(ledger, "10.00", AdjustmentReason.BAD_DEBT)
    ledger.reverse(seq, actor="manager", reason="patient paid after all")
    assert ledger.balance("Income:Adjustments:BadDebt").posted == usd("0.00")
    assert ledger.balance(RECEIVABLE_PATIENTS, patient="P-1").posted == usd("100.00")


def test_adjustment_in_provider_report(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees)
    adjust(ledger, "10.00", AdjustmentReason.COURTESY)
    row = provider_revenue(ledger)[0]
    assert row.provider == "DR-A"
    assert row.adjustments == usd("10.00")
    assert row.charges == usd("100.00")


def test_reversed_adjustment_in_report(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees)
    seq = adjust(ledger, "10.00", AdjustmentReason.COURTESY)
    ledger.reverse(seq, actor="manager", reason="entered twice")
    assert provider_revenue(ledger)[0].adjustments == usd("0.00")


def test_reversed_payment_in_report(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees)
    payment = collect_payment(
        ledger, "P-1", usd("40.00"), PaymentMethod.CHECK, actor="d", check_number="9"
    )
    ledger.reverse(payment.entry.seq, actor="manager", reason="check bounced")
    assert provider_revenue(ledger)[0].collections == usd("0.00")


def test_adjustment_beyond_open(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    sign(memory_ledger, fees)
    with pytest.raises(
        PaymentError, match=r"has 100.00 open for the patient; an adjustment of 150.00"
    ):
        adjust(memory_ledger, "150.00", AdjustmentReason.COURTESY)
    assert journal_length(memory_ledger) == 1


def test_adjustment_needs_reason(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    sign(memory_ledger, fees)
    with pytest.raises(PaymentError, match="needs a reason"):
        adjust_invoice(
            memory_ledger,
            "INV-V-1",
            usd("1.00"),
            AdjustmentReason.COURTESY,
            actor="m",
            reason="",
        )
    assert journal_length(memory_ledger) == 1


def test_journal_only_grows(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees)
    first = ledger.entries()
    payment = collect_payment(
        ledger, "P-1", usd("40.00"), PaymentMethod.CASH, actor="d"
    )
    seq = adjust(ledger, "10.00", AdjustmentReason.COURTESY)
    ledger.reverse(seq, actor="manager", reason="entered twice")
    refund_payment(ledger, payment.payment_id, usd("5.00"), actor="m", reason="x")
    sign(ledger, fees, lines=[{"code": "99214"}], signed_at="2026-03-02T18:00:00Z")
    after = ledger.entries()
    assert after[: len(first)] == first
    assert len(after) == 6
    assert ledger.verify().ok


def test_audit_trail_invoice(ledger: Ledger, fees: FeeSchedule, clock: object) -> None:
    sign(ledger, fees)
    collect_payment(ledger, "P-1", usd("40.00"), PaymentMethod.CASH, actor="front-desk")
    adjust(ledger, "10.00", AdjustmentReason.COURTESY)
    events = audit_trail(ledger, invoice="INV-V-1")
    assert [(e.actor, e.action, e.reason) for e in events] == [
        ("DR-A", "charge", None),
        ("front-desk", "payment", None),
        ("manager", "adjustment", "approved"),
    ]
    assert str(events[0].recorded_at) == "2026-03-02 09:00:00+00:00"


def test_audit_trail_patient(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, visit_id="V-1")
    sign(ledger, fees, visit_id="V-2", patient_id="P-2")
    collect_payment(ledger, "P-1", usd("40.00"), PaymentMethod.CASH, actor="front-desk")
    events = audit_trail(ledger, patient="P-1")
    assert [e.action for e in events] == ["charge", "payment"]
    assert [str(e.amount) for e in events] == ["100.00", "40.00"]


def test_audit_trail_needs_one_filter(memory_ledger: Ledger) -> None:
    with pytest.raises(InvalidInputError, match="exactly one of invoice= or patient="):
        audit_trail(memory_ledger)
