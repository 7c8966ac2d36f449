"""Entry rules: balance, posting count, accounts, currencies, dimensions and amounts."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from ona_ledger import (
    CurrencyMismatchError,
    Entry,
    InvalidAmountError,
    InvalidInputError,
    Ledger,
    Money,
    Posting,
    UnbalancedEntryError,
    UnknownAccountError,
)
from tests.core.helpers import BANK, SERVICES, table_snapshot, transfer

DAY = date(2026, 1, 5)


def test_unbalanced_entry_raises() -> None:
    with pytest.raises(
        UnbalancedEntryError, match=r"postings sum to 0.01 USD \(posted\)"
    ):
        Entry(
            DAY,
            "visit",
            (Posting(BANK, Money.of("10.01")), Posting(SERVICES, Money.of("-10.00"))),
            "tester",
        )


def test_one_posting_raises() -> None:
    with pytest.raises(UnbalancedEntryError, match="has 1 posting"):
        Entry(DAY, "visit", (Posting(BANK, Money.zero()),), "tester")


def test_no_postings_raises() -> None:
    with pytest.raises(UnbalancedEntryError, match="has 0 posting"):
        Entry(DAY, "visit", (), "tester")


def test_balanced_per_currency_required() -> None:
    with pytest.raises(UnbalancedEntryError, match="EUR"):
        Entry(
            DAY,
            "fx",
            (
                Posting(BANK, Money.of("10.00")),
                Posting(SERVICES, Money.of("-10.00", "EUR")),
            ),
            "tester",
        )


def test_datetime_as_date_raises() -> None:
    with pytest.raises(InvalidInputError, match=r"must be a datetime\.date"):
        Entry(datetime(2026, 1, 5, 12), "visit", (), "tester")


def test_empty_actor_raises() -> None:
    with pytest.raises(InvalidInputError, match="name who posts it"):
        Entry(
            DAY,
            "visit",
            (Posting(BANK, Money.of("1.00")), Posting(SERVICES, Money.of("-1.00"))),
            "",
        )


def test_non_string_meta_raises() -> None:
    with pytest.raises(InvalidInputError, match="must map strings to strings"):
        Entry(
            DAY,
            "visit",
            (Posting(BANK, Money.of("1.00")), Posting(SERVICES, Money.of("-1.00"))),
            "tester",
            meta={"count": 3},  # type: ignore[dict-item]
        )


def test_float_posting_amount_raises() -> None:
    with pytest.raises(TypeError, match="must be Money"):
        Posting(BANK, 10.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["", "x" * 201])
def test_bad_dimension_raises(value: str) -> None:
    with pytest.raises(InvalidInputError, match="dimension patient="):
        Posting(BANK, Money.of("1.00"), patient=value)


def test_huge_posting_raises() -> None:
    with pytest.raises(InvalidAmountError, match="larger than the limit"):
        Posting(BANK, Money.from_minor(10**19))


def test_huge_posting_writes_nothing(memory_ledger: Ledger) -> None:
    # Before the bound, SQLite raised OverflowError from the driver.
    before = table_snapshot(memory_ledger)
    with pytest.raises(InvalidAmountError):
        memory_ledger.post(transfer(DAY, "100000000000000000.00"))
    assert table_snapshot(memory_ledger) == before


def test_unknown_account_writes_nothing(ledger: Ledger) -> None:
    before = table_snapshot(ledger)
    with pytest.raises(UnknownAccountError, match="Assets:Petty is not open"):
        ledger.post(transfer(DAY, "1.00", "Assets:Petty", SERVICES))
    assert table_snapshot(ledger) == before


def test_account_currency_mismatch_raises(ledger: Ledger) -> None:
    entry = Entry(
        DAY,
        "euro visit",
        (
            Posting(BANK, Money.of("5.00", "EUR")),
            Posting(SERVICES, Money.of("-5.00", "EUR")),
        ),
        "tester",
    )
    with pytest.raises(CurrencyMismatchError, match="account's currency USD"):
        ledger.post(entry)


def test_stored_entry_round_trips(ledger: Ledger) -> None:
    entry = Entry(
        DAY,
        "visit V-1",
        (
            Posting(BANK, Money.of("80.00"), patient="P-1", provider="DR-1"),
            Posting(SERVICES, Money.of("-80.00"), patient="P-1", visit="V-1"),
        ),
        "tester",
        reason="charge",
        links=("INV-1",),
        meta={"source": "chart"},
        idempotency_key="visit-V-1",
    )
    posted = ledger.post(entry)
    stored = ledger.entry(posted.seq)
    assert stored == posted
    assert stored.postings == entry.postings
    assert stored.id == f"{ledger.book_id}/1"
