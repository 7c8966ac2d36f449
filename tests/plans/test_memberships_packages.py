"""Memberships (proration, HSA caps, declines) and packages (sessions, refunds)."""

from __future__ import annotations

from datetime import date

import pytest

from ona_ledger import Ledger, Money
from ona_ledger.errors import PlanError
from ona_ledger.plans.autopay import run_autopay
from ona_ledger.plans.memberships import (
    Member,
    MembershipInterval,
    MembershipState,
    enrol,
    get_membership,
    hsa_eligible,
    pause_membership,
    prorated_first_fee,
    resume_membership,
)
from ona_ledger.plans.packages import refund_unused, sell_package, use_session
from ona_ledger.processors.simulator import SimulatorProcessor
from tests.plans.conftest import GOOD_CARD, INSUFFICIENT_FUNDS


@pytest.mark.parametrize(
    ("fee", "interval", "members", "year", "eligible"),
    [
        ("150.00", MembershipInterval.MONTHLY, 1, 2026, True),
        ("150.01", MembershipInterval.MONTHLY, 1, 2026, False),
        ("300.00", MembershipInterval.MONTHLY, 3, 2026, True),
        ("1800.00", MembershipInterval.ANNUAL, 1, 2026, True),
        ("1800.12", MembershipInterval.ANNUAL, 1, 2026, False),
        ("100.00", MembershipInterval.MONTHLY, 1, 2025, False),
    ],
)
def test_hsa_cap(
    fee: str, interval: MembershipInterval, members: int, year: int, eligible: bool
) -> None:
    assert hsa_eligible(Money.of(fee), interval, members, year) is eligible


def test_proration_rule() -> None:
    assert prorated_first_fee(Money.of("100.00"), date(2026, 4, 16)) == Money.of(
        "50.00"
    )
    assert prorated_first_fee(Money.of("100.00"), date(2026, 4, 1)) == Money.of(
        "100.00"
    )


def test_membership_decline_retries(
    memory_ledger: Ledger, processor: SimulatorProcessor
) -> None:
    membership = enrol(
        memory_ledger, "P-1", [Member("P-1", Money.of("80.00"))], MembershipInterval.MONTHLY,
        start=date(2026, 3, 1), card_token=processor.tokenize(INSUFFICIENT_FUNDS),
    )  # fmt: skip
    for day in range(1, 12):
        run_autopay(memory_ledger, processor, date(2026, 3, day))
    stored = get_membership(memory_ledger, membership.membership_id)
    assert len(stored.periods[0]["attempts"]) == 4
    assert stored.state is MembershipState.PAST_DUE


def test_paused_months_not_billed(
    memory_ledger: Ledger, processor: SimulatorProcessor
) -> None:
    membership = enrol(
        memory_ledger, "P-1", [Member("P-1", Money.of("80.00"))], MembershipInterval.MONTHLY,
        start=date(2026, 3, 1), card_token=processor.tokenize(GOOD_CARD),
    )  # fmt: skip
    run_autopay(memory_ledger, processor, date(2026, 3, 1))
    pause_membership(memory_ledger, membership.membership_id)
    run_autopay(memory_ledger, processor, date(2026, 4, 1))
    resume_membership(memory_ledger, membership.membership_id, date(2026, 4, 10))
    run_autopay(memory_ledger, processor, date(2026, 5, 1))
    starts = [
        p["start"]
        for p in get_membership(memory_ledger, membership.membership_id).periods
    ]
    assert starts == ["2026-03-01", "2026-05-01"]


def test_package_refund_unused(
    memory_ledger: Ledger, processor: SimulatorProcessor
) -> None:
    package = sell_package(
        memory_ledger, "P-1", name="six for five", sessions=6, price=Money.of("500.00"),
        processor=processor, card_token=processor.tokenize(GOOD_CARD),
    )  # fmt: skip
    use_session(memory_ledger, package.package_id, visit="V-1", actor="DR-A")
    use_session(memory_ledger, package.package_id, visit="V-1", actor="DR-A")
    refunded = refund_unused(
        memory_ledger,
        package.package_id,
        actor="desk",
        reason="moved away",
        processor=processor,
    )
    assert refunded == Money.of("416.66")
    assert memory_ledger.balance(
        "Income:Packages", plan=package.package_id
    ).posted == Money.of("83.34")
    with pytest.raises(PlanError, match="no sessions left"):
        use_session(memory_ledger, package.package_id, visit="V-2", actor="DR-A")
