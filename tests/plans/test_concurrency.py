"""Two autopay runners and concurrent gift card redemptions, as processes on PostgreSQL."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from ona_ledger import Money, open_ledger
from ona_ledger.billing.charges import sign_visit
from ona_ledger.errors import PlanError
from ona_ledger.plans.autopay import run_autopay
from ona_ledger.plans.gift_cards import (
    gift_card_balance,
    redeem_gift_card,
    sell_gift_card,
)
from ona_ledger.plans.payment_plans import Frequency, create_plan
from ona_ledger.processors.simulator import SimulatorProcessor
from ona_ledger.store import create_engine
from tests.billing.helpers import load_fees, make_visit
from tests.conftest import new_book_id
from tests.plans.conftest import GOOD_CARD

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PLANS = 12
DUE = date(2026, 3, 2)


def fixed_clock() -> datetime:
    return datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def autopay_worker(url: str, book_id: str, runner: str) -> int:
    ledger = open_ledger(
        create_engine(url, pool_size=2), book_id, create=False, clock=fixed_clock
    )
    processor = SimulatorProcessor()
    processor.tokenize(GOOD_CARD)
    return run_autopay(ledger, processor, DUE, runner_id=runner).charged


def redeem_worker(url: str, book_id: str, code: str, worker: int) -> int:
    ledger = open_ledger(
        create_engine(url, pool_size=2), book_id, create=False, clock=fixed_clock
    )
    redeemed = 0
    while True:
        try:
            redeem_gift_card(ledger, code, "P-1", Money.of("1.00"), actor=f"w{worker}")
        except PlanError:
            return redeemed
        redeemed += 1


def test_two_runners_charge_once(postgres_server_url: str, tmp_path: Path) -> None:
    book_id = new_book_id()
    ledger = open_ledger(create_engine(postgres_server_url), book_id, clock=fixed_clock)
    fees = load_fees(tmp_path)
    token = SimulatorProcessor().tokenize(GOOD_CARD)
    for index in range(PLANS):
        visit = make_visit(
            book_id, f"V-{index}", f"P-{index}", lines=[{"code": "99215"}]
        )
        sign_visit(ledger, visit, fees, actor="DR-A")
        create_plan(
            ledger, f"P-{index}", [f"INV-V-{index}"], frequency=Frequency.MONTHLY,
            first_date=DUE, card_token=token, instalments=5,
        )  # fmt: skip

    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        charged = pool.starmap(
            autopay_worker,
            [
                (postgres_server_url, book_id, "runner-a"),
                (postgres_server_url, book_id, "runner-b"),
            ],
        )

    payments = [e for e in ledger.entries() if e.meta.get("type") == "payment"]
    assert sum(charged) == PLANS
    assert len(payments) == PLANS
    assert ledger.verify().ok


def test_gift_card_never_below_zero(postgres_server_url: str, tmp_path: Path) -> None:
    book_id = new_book_id()
    ledger = open_ledger(create_engine(postgres_server_url), book_id, clock=fixed_clock)
    fees = load_fees(tmp_path)
    sign_visit(
        ledger,
        make_visit(book_id, "V-1", "P-1", lines=[{"code": "99215"}]),
        fees,
        actor="DR-A",
    )
    card = sell_gift_card(ledger, Money.of("40.00"), actor="desk")

    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        counts = pool.starmap(
            redeem_worker,
            [(postgres_server_url, book_id, card.code, w) for w in range(4)],
        )

    assert sum(counts) == 40
    assert gift_card_balance(ledger, card.card_id).cents == 0
