"""Gift cards: hashed codes, redemption as a payment, the five-year rule and breakage."""

from __future__ import annotations

from datetime import date

import pytest

from ona_ledger import Ledger, Money
from ona_ledger.billing.fees import FeeSchedule
from ona_ledger.errors import PlanError
from ona_ledger.plans.common import DEFERRED_GIFT_CARDS
from ona_ledger.plans.gift_cards import (
    code_hash,
    gift_card_balance,
    record_gift_card_breakage,
    redeem_gift_card,
    sell_gift_card,
)
from ona_ledger.processors.simulator import SimulatorProcessor
from tests.billing.helpers import sign
from tests.plans.conftest import GOOD_CARD


def test_code_not_stored(memory_ledger: Ledger) -> None:
    card = sell_gift_card(memory_ledger, Money.of("50.00"), actor="desk")
    stored = [
        body
        for _, body in memory_ledger.store.list_records(
            memory_ledger.book_id, "gift_card"
        )
    ]
    normal = card.code.replace("-", "")
    assert all(normal not in str(body) for body in stored)
    assert all(normal not in str(e) for e in memory_ledger.entries())
    assert stored[0]["code_hash"] == code_hash(card.code)
    assert card.card_id.startswith("GC-")


def test_codes_differ(memory_ledger: Ledger) -> None:
    codes = {
        sell_gift_card(memory_ledger, Money.of("5.00"), actor="desk").code
        for _ in range(5)
    }
    assert len(codes) == 5


def test_sale_by_card_is_liability(
    memory_ledger: Ledger, processor: SimulatorProcessor
) -> None:
    card = sell_gift_card(
        memory_ledger, Money.of("80.00"), actor="desk", processor=processor,
        card_token=processor.tokenize(GOOD_CARD),
    )  # fmt: skip
    assert memory_ledger.balance(
        DEFERRED_GIFT_CARDS, plan=card.card_id
    ).posted == Money.of("80.00")


def test_redeem_pays_invoice(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    sign(memory_ledger, fees, "V-1")
    card = sell_gift_card(memory_ledger, Money.of("150.00"), actor="desk")
    redeem_gift_card(memory_ledger, card.code, "P-1", Money.of("100.00"), actor="desk")
    assert gift_card_balance(memory_ledger, card.card_id) == Money.of("50.00")
    owed = memory_ledger.balance("Assets:Receivable:Patients", invoice="INV-V-1").posted
    assert owed.cents == 0


def test_redeem_beyond_balance_rejected(
    memory_ledger: Ledger, fees: FeeSchedule
) -> None:
    sign(memory_ledger, fees, "V-1")
    card = sell_gift_card(memory_ledger, Money.of("30.00"), actor="desk")
    with pytest.raises(PlanError, match=r"30\.00 left"):
        redeem_gift_card(
            memory_ledger, card.code, "P-1", Money.of("40.00"), actor="desk"
        )
    assert gift_card_balance(memory_ledger, card.card_id) == Money.of("30.00")


def test_wrong_code_rejected(memory_ledger: Ledger) -> None:
    sell_gift_card(memory_ledger, Money.of("30.00"), actor="desk")
    with pytest.raises(PlanError, match="not valid"):
        redeem_gift_card(
            memory_ledger, "AAAAA-BBBBB", "P-1", Money.of("1.00"), actor="desk"
        )


def test_expiry_under_five_years_rejected(memory_ledger: Ledger) -> None:
    with pytest.raises(PlanError, match="5 years"):
        sell_gift_card(
            memory_ledger, Money.of("30.00"), actor="desk", expires_on=date(2030, 1, 1)
        )


def test_breakage_after_expiry(memory_ledger: Ledger) -> None:
    card = sell_gift_card(
        memory_ledger, Money.of("30.00"), actor="desk", expires_on=date(2031, 3, 2)
    )
    assert record_gift_card_breakage(memory_ledger, date(2031, 3, 2)).cents == 0
    broken = record_gift_card_breakage(memory_ledger, date(2031, 3, 3))
    assert broken == Money.of("30.00")
    assert gift_card_balance(memory_ledger, card.card_id).cents == 0
