"""The demo's plans step: a payment plan with a declined card, memberships and a gift card."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from ona_ledger.billing.statements import patient_balance
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money
from ona_ledger.plans.autopay import run_autopay
from ona_ledger.plans.events import poll_events
from ona_ledger.plans.gift_cards import (
    gift_card_balance,
    redeem_gift_card,
    sell_gift_card,
)
from ona_ledger.plans.memberships import Member, MembershipInterval, enrol
from ona_ledger.plans.payment_plans import create_plan, get_plan, update_card
from ona_ledger.plans.schedule import Frequency
from ona_ledger.processors.simulator import SimulatorProcessor


class DayClock(Protocol):
    day: date


def run_plans_demo(
    ledger: Ledger, processor: SimulatorProcessor, clock: DayClock
) -> list[str]:
    """Run the plans step after the demo week and return one line per event."""
    lines: list[str] = []

    def at(day: date, text: str) -> None:
        lines.append(f"{day.isoformat()}  {text}")

    clock.day = date(2026, 3, 6)
    plan = create_plan(
        ledger, "P-1007", ["INV-V-2026-0307"], frequency=Frequency.MONTHLY,
        first_date=date(2026, 3, 9), card_token=processor.tokenize("4000000000009995"),
        instalments=2,
    )  # fmt: skip
    at(
        clock.day,
        f"plan {plan.plan_id} for P-1007: 2 monthly instalments of 25.00, no entry posted",
    )

    clock.day = date(2026, 3, 9)
    report = run_autopay(ledger, processor, clock.day)
    at(
        clock.day,
        f"autopay: {report.declined} declined (insufficient_funds), retry tomorrow",
    )
    clock.day = date(2026, 3, 10)
    update_card(ledger, plan.plan_id, processor.tokenize("4242424242424242"))
    report = run_autopay(ledger, processor, clock.day)
    at(clock.day, f"new card on file; autopay charged {report.charged_amount}")

    clock.day = date(2026, 3, 16)
    family = enrol(
        ledger, "P-2001",
        [Member("P-2001", Money.of("100.00")), Member("P-2002", Money.of("50.00"))],
        MembershipInterval.MONTHLY, start=clock.day, card_token=processor.tokenize("4242424242424242"),
    )  # fmt: skip
    annual = enrol(
        ledger, "P-2003", [Member("P-2003", Money.of("1200.00"))], MembershipInterval.ANNUAL,
        start=clock.day, card_token=processor.tokenize("4242424242424242"),
    )  # fmt: skip
    hsa = "HSA-eligible" if family.hsa_eligible else "not HSA-eligible"
    at(clock.day, f"family membership {family.membership_id} (150.00 a month, {hsa})")
    at(
        clock.day,
        f"annual membership {annual.membership_id} (1200.00 a year, paid up front)",
    )
    report = run_autopay(ledger, processor, clock.day)
    at(
        clock.day,
        f"autopay: {report.memberships_billed} fees billed (first month prorated 16/31 days), "
        f"{report.recognised_amount} of the annual fee earned",
    )

    card = sell_gift_card(ledger, Money.of("100.00"), actor="desk")
    at(
        clock.day,
        f"gift card {card.card_id} sold for 100.00 cash; its code is shown once, only a hash is kept",
    )
    owed = min(patient_balance(ledger, "P-1008").owes_now, Money.of("25.00"))
    if owed.cents > 0:
        redeem_gift_card(ledger, card.code, "P-1008", owed, actor="desk")
    left = gift_card_balance(ledger, card.card_id)
    at(clock.day, f"gift card {card.card_id} paid {owed} for P-1008; {left} left on it")

    clock.day = date(2026, 4, 16)
    report = run_autopay(ledger, processor, clock.day)
    state = get_plan(ledger, plan.plan_id).state.value
    at(
        clock.day,
        f"autopay: plan instalment {report.charged_amount}, {report.memberships_billed} "
        f"membership fee, {report.recognised_amount} earned; plan {plan.plan_id} is {state}",
    )
    kinds = sorted({event.type.value for event in poll_events(ledger, limit=1000)})
    at(clock.day, f"notification outbox holds: {', '.join(kinds)}")
    return lines
