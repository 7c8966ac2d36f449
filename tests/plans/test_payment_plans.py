"""Payment plans: schedules, splitting, re-spreading, states and autopay with retries."""

from __future__ import annotations

from datetime import date

import pytest

from ona_ledger import Ledger, Money
from ona_ledger.billing.fees import FeeSchedule
from ona_ledger.billing.payments import (
    AdjustmentReason,
    PaymentMethod,
    adjust_invoice,
    collect_payment,
)
from ona_ledger.errors import PlanError
from ona_ledger.plans.autopay import run_autopay
from ona_ledger.plans.events import EventBus, EventType, poll_events
from ona_ledger.plans.payment_plans import (
    Frequency,
    PlanState,
    add_invoices,
    create_plan,
    get_plan,
    refresh_plan,
    update_card,
)
from ona_ledger.plans.schedule import RetryPolicy, due_dates
from ona_ledger.processors.simulator import SimulatorProcessor
from tests.billing.helpers import journal_length, sign, usd
from tests.conftest import FakeClock
from tests.plans.conftest import EXPIRED_CARD, GOOD_CARD, INSUFFICIENT_FUNDS


def long_visit(ledger: Ledger, fees: FeeSchedule, visit_id: str = "V-1") -> str:
    """Sign a 3,500.00 self-pay visit and return its invoice id."""
    sign(ledger, fees, visit_id, lines=[{"code": "99215"}])
    return f"INV-{visit_id}"


def test_monthly_dates_from_31_january() -> None:
    days = due_dates(date(2026, 1, 31), Frequency.MONTHLY, 4)
    assert days == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
    ]


def test_leap_february_last_day() -> None:
    days = due_dates(date(2028, 1, 31), Frequency.MONTHLY, 2)
    assert days[1] == date(2028, 2, 29)


def test_biweekly_dates() -> None:
    days = due_dates(date(2026, 3, 2), Frequency.BIWEEKLY, 3)
    assert days == [date(2026, 3, 2), date(2026, 3, 16), date(2026, 3, 30)]


def test_plan_sums_to_balance(
    memory_ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    invoice = long_visit(memory_ledger, fees)
    before = journal_length(memory_ledger)
    plan = create_plan(
        memory_ledger, "P-1", [invoice], frequency=Frequency.MONTHLY,
        first_date=date(2026, 4, 1), card_token=processor.tokenize(GOOD_CARD),
        instalments=3, down_payment=usd("100.01"),
    )  # fmt: skip
    amounts = [i.amount for i in plan.instalments]
    assert sum(a.cents for a in amounts) == 350000
    assert amounts == [usd("100.01"), usd("1133.33"), usd("1133.33"), usd("1133.33")]
    assert journal_length(memory_ledger) == before


def test_minimum_instalment_enforced(
    memory_ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    invoice = long_visit(memory_ledger, fees)
    with pytest.raises(PlanError, match="below the minimum"):
        create_plan(
            memory_ledger, "P-1", [invoice], frequency=Frequency.WEEKLY,
            first_date=date(2026, 4, 1), card_token=processor.tokenize(GOOD_CARD),
            instalments=200,
        )  # fmt: skip


def test_instalment_amount_leaves_rest_last(
    memory_ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    invoice = long_visit(memory_ledger, fees)
    plan = create_plan(
        memory_ledger, "P-1", [invoice], frequency=Frequency.MONTHLY,
        first_date=date(2026, 4, 1), card_token=processor.tokenize(GOOD_CARD),
        instalment_amount=usd("1000.00"),
    )  # fmt: skip
    assert [i.amount for i in plan.instalments] == [usd("1000.00")] * 3 + [
        usd("500.00")
    ]


def test_autopay_twice_charges_once(
    memory_ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    invoice = long_visit(memory_ledger, fees)
    plan = create_plan(
        memory_ledger, "P-1", [invoice], frequency=Frequency.MONTHLY,
        first_date=date(2026, 3, 2), card_token=processor.tokenize(GOOD_CARD),
        instalments=5,
    )  # fmt: skip
    first = run_autopay(memory_ledger, processor, date(2026, 3, 2))
    second = run_autopay(memory_ledger, processor, date(2026, 3, 2))
    assert first.charged == 1
    assert second.charged == 0
    assert get_plan(memory_ledger, plan.plan_id).remaining == usd("2800.00")


def test_soft_declines_then_delinquent(
    memory_ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    invoice = long_visit(memory_ledger, fees)
    plan = create_plan(
        memory_ledger, "P-1", [invoice], frequency=Frequency.MONTHLY,
        first_date=date(2026, 3, 2), card_token=processor.tokenize(INSUFFICIENT_FUNDS),
        instalments=5,
    )  # fmt: skip
    seen: list[EventType] = []
    bus = EventBus()
    bus.subscribe(lambda event: seen.append(event.type))
    days = [date(2026, 3, d) for d in range(2, 14)]
    for day in days:
        run_autopay(
            memory_ledger, processor, day, policy=RetryPolicy((1, 3, 5)), bus=bus
        )
    stored = get_plan(memory_ledger, plan.plan_id)
    attempts = stored.instalments[0].attempts
    assert [a["day"] for a in attempts] == [
        "2026-03-02",
        "2026-03-03",
        "2026-03-06",
        "2026-03-11",
    ]
    assert attempts[0]["decline_code"] == "insufficient_funds"
    assert stored.state is PlanState.DELINQUENT
    assert seen.count(EventType.PAYMENT_FAILED) == 4
    assert EventType.PLAN_DELINQUENT in seen


def test_hard_decline_needs_new_card(
    memory_ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    invoice = long_visit(memory_ledger, fees)
    plan = create_plan(
        memory_ledger, "P-1", [invoice], frequency=Frequency.MONTHLY,
        first_date=date(2026, 3, 2), card_token=processor.tokenize(EXPIRED_CARD),
        instalments=5,
    )  # fmt: skip
    run_autopay(memory_ledger, processor, date(2026, 3, 2))
    run_autopay(memory_ledger, processor, date(2026, 3, 3))
    stored = get_plan(memory_ledger, plan.plan_id)
    assert stored.needs_new_card
    assert len(stored.instalments[0].attempts) == 1
    update_card(memory_ledger, plan.plan_id, processor.tokenize(GOOD_CARD))
    report = run_autopay(memory_ledger, processor, date(2026, 3, 4))
    assert report.charged == 1


def test_credit_pays_instalment(
    memory_ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    invoice = long_visit(memory_ledger, fees)
    other = sign(memory_ledger, fees, "V-2", lines=[{"code": "99213"}])
    plan = create_plan(
        memory_ledger, "P-1", [invoice], frequency=Frequency.MONTHLY,
        first_date=date(2026, 3, 2), card_token=processor.tokenize(GOOD_CARD),
        instalments=5,
    )  # fmt: skip
    collect_payment(
        memory_ledger, "P-1", usd("900.00"), PaymentMethod.CASH, actor="desk",
        invoices=["INV-V-2"], allow_credit=True,
    )  # fmt: skip
    report = run_autopay(memory_ledger, processor, date(2026, 3, 2))
    assert other is not None
    assert report.paid_from_credit == 1
    assert report.charged == 0
    assert get_plan(memory_ledger, plan.plan_id).remaining == usd("2800.00")


def test_adjustment_shortens_plan(
    memory_ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    invoice = long_visit(memory_ledger, fees)
    plan = create_plan(
        memory_ledger, "P-1", [invoice], frequency=Frequency.MONTHLY,
        first_date=date(2026, 3, 2), card_token=processor.tokenize(GOOD_CARD),
        instalments=5,
    )  # fmt: skip
    adjust_invoice(memory_ledger, invoice, usd("1000.00"), AdjustmentReason.COURTESY,
                   actor="desk", reason="hardship")  # fmt: skip
    stored = refresh_plan(memory_ledger, plan.plan_id)
    assert [i.amount for i in stored.scheduled] == [usd("700.00")] * 3 + [usd("400.00")]


def test_new_charge_respreads(
    memory_ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    invoice = long_visit(memory_ledger, fees)
    plan = create_plan(
        memory_ledger, "P-1", [invoice], frequency=Frequency.MONTHLY,
        first_date=date(2026, 3, 2), card_token=processor.tokenize(GOOD_CARD),
        instalments=5,
    )  # fmt: skip
    sign(memory_ledger, fees, "V-2", lines=[{"code": "99214"}])
    stored = add_invoices(memory_ledger, plan.plan_id, ["INV-V-2"])
    assert [i.amount for i in stored.scheduled] == [usd("730.00")] * 5


def test_paid_off_completes(
    memory_ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    invoice = long_visit(memory_ledger, fees)
    plan = create_plan(
        memory_ledger, "P-1", [invoice], frequency=Frequency.MONTHLY,
        first_date=date(2026, 3, 2), card_token=processor.tokenize(GOOD_CARD),
        instalments=5,
    )  # fmt: skip
    collect_payment(
        memory_ledger, "P-1", usd("3500.00"), PaymentMethod.CASH, actor="desk"
    )
    refresh_plan(memory_ledger, plan.plan_id)
    events = poll_events(memory_ledger)
    assert get_plan(memory_ledger, plan.plan_id).state is PlanState.COMPLETED
    assert events[-1].type is EventType.PLAN_COMPLETED


def test_instalment_lowers_receivable(
    memory_ledger: Ledger,
    fees: FeeSchedule,
    processor: SimulatorProcessor,
    clock: FakeClock,
) -> None:
    invoice = long_visit(memory_ledger, fees)
    create_plan(
        memory_ledger, "P-1", [invoice], frequency=Frequency.MONTHLY,
        first_date=date(2026, 3, 2), card_token=processor.tokenize(GOOD_CARD),
        instalments=5,
    )  # fmt: skip
    run_autopay(memory_ledger, processor, date(2026, 3, 2))
    paid = memory_ledger.balance("Assets:Receivable:Patients", invoice=invoice).posted
    assert paid == Money.of("2800.00")
