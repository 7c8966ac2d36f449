"""Concurrent writers on PostgreSQL: no lost or doubled entry, no broken balance limit."""

from __future__ import annotations

import multiprocessing
from datetime import date

import pytest

from ona_ledger import BalanceLimitError, JournalEntry, Ledger, open_ledger
from ona_ledger.store import create_engine
from tests.conftest import new_book_id
from tests.core.helpers import (
    CLEARING,
    GIFT_CARDS,
    RECEIVABLE,
    SERVICES,
    journal_problems,
    transfer,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

WORKERS = 8
CARD = "GC-SHARED"
FUNDED_UNITS = 240  # each draw takes one unit of 1.00 from the gift card
DAY = date(2026, 1, 15)


def draw_until_empty(url: str, book_id: str, worker: int) -> tuple[int, int]:
    """Post charges and gift card draws until the card runs out; return both counts."""
    engine = create_engine(url, pool_size=1)
    ledger = open_ledger(engine, book_id, create=False)
    charges = draws = 0
    while True:
        patient = f"P-{worker}"
        ledger.post(transfer(DAY, "1.00", RECEIVABLE, SERVICES, patient=patient))
        charges += 1
        redeem = transfer(DAY, "1.00", GIFT_CARDS, RECEIVABLE, patient=patient,
                          plan=CARD)  # fmt: skip
        try:
            ledger.post(redeem)
        except BalanceLimitError:
            break
        draws += 1
    engine.dispose()
    return charges, draws


def card_balances_in_seq_order(ledger: Ledger) -> list[int]:
    """Return the card's balance after each entry touching it, in journal order."""
    running, history = 0, []
    journal: list[JournalEntry] = ledger.entries(plan=CARD)
    for stored in journal:
        for posting in stored.postings:
            if posting.account == GIFT_CARDS and posting.plan == CARD:
                running -= posting.amount.cents  # a liability grows by credits
        history.append(running)
    return history


def test_shared_gift_card_drawn_by_eight(postgres_server_url: str) -> None:
    book_id = new_book_id()
    ledger = open_ledger(create_engine(postgres_server_url), book_id)
    funding = transfer(DAY, f"{FUNDED_UNITS}.00", CLEARING, GIFT_CARDS, plan=CARD)
    ledger.post(funding)

    context = multiprocessing.get_context("spawn")
    with context.Pool(WORKERS) as pool:
        results = pool.starmap(
            draw_until_empty,
            [(postgres_server_url, book_id, worker) for worker in range(WORKERS)],
        )

    charges = sum(c for c, _ in results)
    draws = sum(d for _, d in results)
    history = card_balances_in_seq_order(ledger)
    assert draws == FUNDED_UNITS
    assert len(ledger.entries()) == 1 + charges + draws
    assert ledger.balance(GIFT_CARDS, plan=CARD).posted.cents == 0
    assert min(history) == 0
    assert history[-1] == 0
    assert journal_problems(ledger) == []
