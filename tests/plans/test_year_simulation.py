"""A year of a plan, a family membership and a package, simulated day by day.

Every invariant is checked after each day: instalments sum to what is open,
no attempt is charged twice, deferred balances match what is unearned, and
the hash chain verifies.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from ona_ledger import Ledger, Money
from ona_ledger.billing.fees import FeeSchedule
from ona_ledger.billing.payments import AdjustmentReason, adjust_invoice
from ona_ledger.plans.autopay import run_autopay
from ona_ledger.plans.common import (
    DEFERRED_MEMBERSHIPS,
    DEFERRED_PACKAGES,
    INCOME_MEMBERSHIPS,
)
from ona_ledger.plans.memberships import (
    Member,
    MembershipInterval,
    enrol,
    get_membership,
)
from ona_ledger.plans.packages import (
    expire_packages,
    get_package,
    sell_package,
    use_session,
)
from ona_ledger.plans.payment_plans import (
    Frequency,
    PlanState,
    add_invoices,
    create_plan,
    get_plan,
    plan_outstanding,
    refresh_plan,
    update_card,
)
from ona_ledger.processors.simulator import SimulatorProcessor
from tests.billing.helpers import sign
from tests.conftest import FakeClock
from tests.plans.conftest import GENERIC_DECLINE, GOOD_CARD, INSUFFICIENT_FUNDS

START = date(2026, 1, 31)


def days_of_year(first: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range(366)]


def set_day(clock: FakeClock, day: date) -> None:
    clock.now = datetime.combine(day, time(9, 0), tzinfo=UTC)


def check_plan_invariants(ledger: Ledger, plan_id: str) -> None:
    plan = get_plan(ledger, plan_id)
    outstanding = plan_outstanding(ledger, plan.patient_id, plan.invoices)
    payments = [
        e for e in ledger.entries(patient=plan.patient_id)
        if e.meta.get("payment_id", "").startswith(plan_id)
    ]  # fmt: skip
    paid_attempts = [
        a for i in plan.instalments for a in i.attempts if a["outcome"] == "paid"
    ]  # fmt: skip
    assert len(payments) == len(paid_attempts)
    assert len({e.meta["payment_id"] for e in payments}) == len(payments)
    if plan.state in (PlanState.ACTIVE, PlanState.DELINQUENT, PlanState.COMPLETED):
        assert plan.remaining == outstanding
    for instalment in plan.instalments:
        assert instalment.paid <= instalment.amount


def test_plan_year(
    memory_ledger: Ledger,
    fees: FeeSchedule,
    processor: SimulatorProcessor,
    clock: FakeClock,
) -> None:
    ledger = memory_ledger
    set_day(clock, START)
    sign(ledger, fees, "V-1", lines=[{"code": "99215"}], date_of_service="2026-01-30")
    plan = create_plan(
        ledger, "P-1", ["INV-V-1"], frequency=Frequency.MONTHLY, first_date=START,
        card_token=processor.tokenize(GOOD_CARD), instalments=12,
    )  # fmt: skip
    charged_days: list[date] = []
    for day in days_of_year(START):
        set_day(clock, day)
        if day == date(2026, 3, 20):
            update_card(ledger, plan.plan_id, processor.tokenize(INSUFFICIENT_FUNDS))
        if day == date(2026, 4, 3):
            update_card(ledger, plan.plan_id, processor.tokenize(GENERIC_DECLINE))
        if day == date(2026, 4, 20):
            update_card(ledger, plan.plan_id, processor.tokenize(GOOD_CARD))
        if day == date(2026, 6, 10):
            sign(
                ledger,
                fees,
                "V-2",
                lines=[{"code": "99214"}],
                date_of_service="2026-06-10",
            )
            add_invoices(ledger, plan.plan_id, ["INV-V-2"])
        if day == date(2026, 8, 5):
            adjust_invoice(ledger, "INV-V-1", Money.of("200.00"), AdjustmentReason.COURTESY,
                           actor="desk", reason="hardship")  # fmt: skip
            refresh_plan(ledger, plan.plan_id)
        report = run_autopay(ledger, processor, day)
        again = run_autopay(ledger, processor, day)
        assert again.charged == 0
        if report.charged:
            charged_days.append(day)
        check_plan_invariants(ledger, plan.plan_id)
    final = get_plan(ledger, plan.plan_id)
    assert final.state is PlanState.COMPLETED
    assert plan_outstanding(ledger, "P-1", ["INV-V-1", "INV-V-2"]).cents == 0
    assert date(2026, 2, 28) in charged_days
    assert date(2026, 4, 30) not in charged_days or date(2026, 4, 20) in charged_days
    assert ledger.verify().ok


def test_family_membership_year(
    memory_ledger: Ledger, processor: SimulatorProcessor, clock: FakeClock
) -> None:
    ledger = memory_ledger
    first = date(2026, 1, 16)
    set_day(clock, first)
    family = enrol(
        ledger, "P-10", [Member("P-10", Money.of("90.00")), Member("P-11", Money.of("60.00"))],
        MembershipInterval.MONTHLY, start=first, card_token=processor.tokenize(GOOD_CARD),
    )  # fmt: skip
    annual = enrol(
        ledger, "P-12", [Member("P-12", Money.of("1000.00"))], MembershipInterval.ANNUAL,
        start=first, card_token=processor.tokenize(GOOD_CARD),
    )  # fmt: skip
    for day in days_of_year(first)[:365]:
        set_day(clock, day)
        run_autopay(ledger, processor, day)
        run_autopay(ledger, processor, day)
        stored = get_membership(ledger, family.membership_id)
        months_billed = (day.year - 2026) * 12 + day.month - first.month + 1
        assert (
            len([p for p in stored.periods if p["status"] == "paid"]) == months_billed
        )
        deferred = ledger.balance(
            DEFERRED_MEMBERSHIPS, plan=annual.membership_id
        ).posted
        earned = ledger.balance(INCOME_MEMBERSHIPS, plan=annual.membership_id).posted
        assert deferred + earned == Money.of("1000.00")
    assert ledger.verify().ok
    first_fee = Money(
        get_membership(ledger, family.membership_id).periods[0]["amount_cents"]
    )
    assert first_fee == Money.of("77.42")
    assert (
        ledger.balance(DEFERRED_MEMBERSHIPS, plan=annual.membership_id).posted.cents
        == 0
    )


def test_package_year(memory_ledger: Ledger, clock: FakeClock) -> None:
    ledger = memory_ledger
    first = date(2026, 1, 5)
    set_day(clock, first)
    package = sell_package(
        ledger, "P-20", name="Physio series", sessions=6, price=Money.of("500.00"),
        expires_on=date(2026, 12, 31),
    )  # fmt: skip
    shares = package.session_shares
    for day in days_of_year(first)[:365]:
        set_day(clock, day)
        if day.day == 5 and day.month in (2, 4, 6, 8):
            use_session(
                ledger, package.package_id, visit=f"V-{day.isoformat()}", actor="DR-A"
            )
        expire_packages(ledger, day)
        stored = get_package(ledger, package.package_id)
        unearned = (
            Money(sum(s.cents for s in shares[stored.used :]))
            if not stored.expired
            else Money.zero()
        )
        assert (
            ledger.balance(DEFERRED_PACKAGES, plan=package.package_id).posted
            == unearned
        )
    final = get_package(ledger, package.package_id)
    assert final.expired
    assert ledger.balance(
        "Income:Breakage", plan=package.package_id
    ).posted == Money.of("166.66")
