"""Ledger rules: idempotency, batches, reversals, pending entries, balances, periods,
balance limits and books that share a database."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from ona_ledger import (
    AlreadyReversedError,
    BalanceLimitError,
    BookNotFoundError,
    Entry,
    EntryKind,
    EntryNotFoundError,
    IdempotencyConflictError,
    InvalidInputError,
    Ledger,
    Money,
    PendingStateError,
    PeriodClosedError,
    Posting,
    PostingStatus,
    UnknownAccountError,
    open_ledger,
)
from tests.conftest import FakeClock, new_book_id
from tests.core.helpers import (
    BANK,
    CLEARING,
    CREDIT,
    GIFT_CARDS,
    RECEIVABLE,
    SERVICES,
    engine_of,
    journal_problems,
    table_snapshot,
    transfer,
    usd,
)

JAN_5 = date(2026, 1, 5)
JAN_20 = date(2026, 1, 20)
FEB_10 = date(2026, 2, 10)


# Idempotency ------------------------------------------------------------------


def test_replay_returns_first_entry(ledger: Ledger) -> None:
    first = ledger.post(transfer(JAN_5, "10.00", key="charge-1"))
    before = table_snapshot(ledger)
    again = ledger.post(transfer(JAN_5, "10.00", key="charge-1"))
    assert again == first
    assert table_snapshot(ledger) == before


def test_replay_other_content_raises(ledger: Ledger) -> None:
    ledger.post(transfer(JAN_5, "10.00", key="charge-1"))
    before = table_snapshot(ledger)
    with pytest.raises(
        IdempotencyConflictError, match=r"'charge-1' was used for entry .*/1"
    ):
        ledger.post(transfer(JAN_5, "10.01", key="charge-1"))
    assert table_snapshot(ledger) == before


def test_replay_in_batch_posts_once(ledger: Ledger) -> None:
    entry = transfer(JAN_5, "10.00", key="charge-1")
    first, second = ledger.post_many([entry, entry])
    assert first == second
    assert table_snapshot(ledger)["entries"] == 1


def test_batch_key_conflict_writes_nothing(ledger: Ledger) -> None:
    before = table_snapshot(ledger)
    with pytest.raises(IdempotencyConflictError):
        ledger.post_many(
            [
                transfer(JAN_5, "10.00", key="charge-1"),
                transfer(JAN_5, "20.00", key="charge-1"),
            ]
        )
    assert table_snapshot(ledger) == before


def test_replay_after_period_close(ledger: Ledger) -> None:
    first = ledger.post(transfer(JAN_5, "10.00", key="charge-1"))
    ledger.close_period(date(2026, 1, 31), actor="tester")
    assert ledger.post(transfer(JAN_5, "10.00", key="charge-1")) == first


# Batches ----------------------------------------------------------------------


def test_post_many_numbers_in_order(ledger: Ledger) -> None:
    stored = ledger.post_many([transfer(JAN_5, f"{n}.00") for n in range(1, 6)])
    assert [e.seq for e in stored] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("bad_index", [0, 2, 4])
def test_post_many_one_bad_writes_nothing(ledger: Ledger, bad_index: int) -> None:
    ledger.post(transfer(JAN_5, "1.00"))
    before = table_snapshot(ledger)
    batch = [transfer(JAN_20, "5.00") for _ in range(5)]
    batch[bad_index] = transfer(JAN_20, "5.00", "Assets:Nowhere", SERVICES)
    with pytest.raises(UnknownAccountError):
        ledger.post_many(batch)
    assert table_snapshot(ledger) == before


def test_post_many_limit_break_writes_nothing(ledger: Ledger) -> None:
    before = table_snapshot(ledger)
    batch = [
        transfer(JAN_5, "5.00", BANK, CREDIT, patient="P-1"),
        transfer(JAN_5, "6.00", CREDIT, RECEIVABLE, patient="P-1"),
    ]
    with pytest.raises(BalanceLimitError):
        ledger.post_many(batch)
    assert table_snapshot(ledger) == before


def test_post_many_empty_writes_nothing(ledger: Ledger) -> None:
    assert ledger.post_many([]) == []


# Reversals --------------------------------------------------------------------


def test_reverse_negates_postings(ledger: Ledger) -> None:
    original = ledger.post(transfer(JAN_5, "10.00", patient="P-1"))
    reversal = ledger.reverse(original.seq, actor="tester", reason="wrong code")
    assert reversal.postings == tuple(p.negated() for p in original.postings)
    assert reversal.kind is EntryKind.REVERSAL
    assert reversal.refers_to == original.seq
    assert ledger.balance(BANK).posted == Money.zero()


def test_reverse_keeps_date_in_open_period(ledger: Ledger) -> None:
    original = ledger.post(transfer(JAN_5, "10.00"))
    reversal = ledger.reverse(original.seq, actor="tester", reason="duplicate")
    assert reversal.effective_date == JAN_5
    assert "corrects_period" not in reversal.meta


def test_reverse_twice_raises(ledger: Ledger) -> None:
    original = ledger.post(transfer(JAN_5, "10.00"))
    first = ledger.reverse(original.seq, actor="tester", reason="duplicate")
    with pytest.raises(AlreadyReversedError, match=f"by entry {first.seq}"):
        ledger.reverse(original.seq, actor="tester", reason="duplicate")


def test_reverse_without_reason_raises(ledger: Ledger) -> None:
    original = ledger.post(transfer(JAN_5, "10.00"))
    with pytest.raises(InvalidInputError, match="needs a reason"):
        ledger.reverse(original.seq, actor="tester", reason="")


def test_reverse_unknown_entry_raises(ledger: Ledger) -> None:
    with pytest.raises(EntryNotFoundError, match="entry 99 does not exist"):
        ledger.reverse(99, actor="tester", reason="typo")


def test_reverse_in_closed_period_lands_today(ledger: Ledger, clock: FakeClock) -> None:
    original = ledger.post(transfer(JAN_5, "10.00"))
    ledger.close_period(date(2026, 1, 31), actor="tester")
    reversal = ledger.reverse(original.seq, actor="tester", reason="late")
    assert reversal.effective_date == clock.today()
    assert reversal.meta["corrects_period"] == "2026-01-05"
    assert ledger.balance(BANK, as_of=date(2026, 1, 31)).posted == usd("10.00")
    assert ledger.balance(BANK).posted == Money.zero()


def test_reverse_pending_raises(ledger: Ledger) -> None:
    hold = ledger.post_pending(transfer(JAN_5, "10.00", CLEARING, RECEIVABLE))
    with pytest.raises(PendingStateError, match="void_pending instead"):
        ledger.reverse(hold.seq, actor="tester", reason="no")


def test_reversal_of_entry_found(ledger: Ledger) -> None:
    original = ledger.post(transfer(JAN_5, "10.00"))
    reversal = ledger.reverse(original.seq, actor="tester", reason="duplicate")
    assert ledger.reversal_of(original.seq) == reversal


# Pending entries --------------------------------------------------------------


def card_hold(ledger: Ledger, amount: str = "100.00") -> int:
    entry = transfer(JAN_5, amount, CLEARING, RECEIVABLE, patient="P-1")
    return ledger.post_pending(entry).seq


def test_pending_reported_apart(ledger: Ledger) -> None:
    card_hold(ledger)
    balance = ledger.balance(CLEARING)
    assert balance.posted == Money.zero()
    assert balance.pending == usd("100.00")
    assert balance.total == usd("100.00")


def test_post_pending_in_full(ledger: Ledger) -> None:
    seq = card_hold(ledger)
    resolution = ledger.post_pending_entry(seq, actor="tester")
    balance = ledger.balance(CLEARING)
    assert resolution.kind is EntryKind.PENDING_POST
    assert balance.posted == usd("100.00")
    assert balance.pending == Money.zero()


def test_post_pending_in_part(ledger: Ledger) -> None:
    seq = card_hold(ledger)
    captured = [
        Posting(CLEARING, usd("60.00"), patient="P-1"),
        Posting(RECEIVABLE, usd("-60.00"), patient="P-1"),
    ]
    ledger.post_pending_entry(seq, actor="tester", postings=captured)
    balance = ledger.balance(CLEARING)
    assert balance.posted == usd("60.00")
    assert balance.pending == Money.zero()


def test_capture_over_hold_raises(ledger: Ledger) -> None:
    seq = card_hold(ledger)
    before = table_snapshot(ledger)
    captured = [
        Posting(CLEARING, usd("100.01"), patient="P-1"),
        Posting(RECEIVABLE, usd("-100.01"), patient="P-1"),
    ]
    with pytest.raises(PendingStateError, match="exceeds or reverses the pending"):
        ledger.post_pending_entry(seq, actor="tester", postings=captured)
    assert table_snapshot(ledger) == before


def test_capture_reversed_sign_raises(ledger: Ledger) -> None:
    seq = card_hold(ledger)
    captured = [
        Posting(CLEARING, usd("-1.00"), patient="P-1"),
        Posting(RECEIVABLE, usd("1.00"), patient="P-1"),
    ]
    with pytest.raises(PendingStateError, match="exceeds or reverses"):
        ledger.post_pending_entry(seq, actor="tester", postings=captured)


def test_capture_other_account_raises(ledger: Ledger) -> None:
    seq = card_hold(ledger)
    captured = [Posting(BANK, usd("1.00")), Posting(RECEIVABLE, usd("-1.00"))]
    with pytest.raises(PendingStateError, match="not part of pending entry"):
        ledger.post_pending_entry(seq, actor="tester", postings=captured)


def test_capture_other_patient_raises(ledger: Ledger) -> None:
    seq = card_hold(ledger)
    captured = [
        Posting(CLEARING, usd("10.00"), patient="P-2"),
        Posting(RECEIVABLE, usd("-10.00"), patient="P-2"),
    ]
    with pytest.raises(PendingStateError, match="with the same dimensions"):
        ledger.post_pending_entry(seq, actor="tester", postings=captured)


def test_post_with_pending_postings_raises(ledger: Ledger) -> None:
    entry = transfer(JAN_5, "5.00", CLEARING, RECEIVABLE, patient="P-1")
    held = replace(
        entry,
        postings=tuple(
            replace(p, status=PostingStatus.PENDING) for p in entry.postings
        ),
    )
    with pytest.raises(
        PendingStateError, match=r"post holds with Ledger\.post_pending"
    ):
        ledger.post(held)


def test_void_pending_releases_hold(ledger: Ledger) -> None:
    seq = card_hold(ledger)
    void = ledger.void_pending(seq, actor="tester", reason="customer left")
    balance = ledger.balance(CLEARING)
    assert void.kind is EntryKind.PENDING_VOID
    assert balance.posted == Money.zero()
    assert balance.pending == Money.zero()


def test_resolve_twice_raises(ledger: Ledger) -> None:
    seq = card_hold(ledger)
    ledger.post_pending_entry(seq, actor="tester")
    with pytest.raises(PendingStateError, match="already resolved"):
        ledger.void_pending(seq, actor="tester", reason="late void")
    with pytest.raises(PendingStateError, match="already resolved"):
        ledger.post_pending_entry(seq, actor="tester")


def test_post_standard_as_pending_raises(ledger: Ledger) -> None:
    posted = ledger.post(transfer(JAN_5, "1.00"))
    with pytest.raises(PendingStateError, match="not a pending one"):
        ledger.post_pending_entry(posted.seq, actor="tester")


def test_pending_hold_counts_against_limit(ledger: Ledger) -> None:
    ledger.post(transfer(JAN_5, "50.00", BANK, CREDIT, patient="P-1"))
    use = transfer(JAN_5, "30.00", CREDIT, RECEIVABLE, patient="P-1")
    ledger.post_pending(use)
    with pytest.raises(BalanceLimitError, match="for patient P-1"):
        ledger.post(replace(use, narration="second use"))


# Balances ---------------------------------------------------------------------


def seed_balances(ledger: Ledger) -> None:
    ledger.post_many(
        [
            transfer(JAN_5, "100.00", RECEIVABLE, SERVICES, patient="P-1",
                     provider="DR-A", invoice="INV-1"),
            transfer(JAN_20, "40.00", RECEIVABLE, SERVICES, patient="P-2",
                     provider="DR-B", invoice="INV-2"),
            transfer(FEB_10, "25.00", RECEIVABLE, SERVICES, patient="P-1",
                     provider="DR-B", invoice="INV-3"),
            transfer(FEB_10, "30.00", CLEARING, RECEIVABLE, patient="P-1",
                     invoice="INV-1"),
        ]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, "135.00"),
        ({"patient": "P-1"}, "95.00"),
        ({"patient": "P-2"}, "40.00"),
        ({"patient": "P-9"}, "0.00"),
        ({"provider": "DR-B"}, "65.00"),
        ({"invoice": "INV-1"}, "70.00"),
        ({"patient": "P-1", "provider": "DR-B"}, "25.00"),
    ],
)
def test_balance_by_dimension(
    ledger: Ledger, filters: dict[str, Any], expected: str
) -> None:
    seed_balances(ledger)
    assert ledger.balance(RECEIVABLE, **filters).posted == usd(expected)


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [(date(2026, 1, 4), "0.00"), (JAN_5, "100.00"), (date(2026, 1, 31), "140.00")],
)
def test_balance_as_of(ledger: Ledger, as_of: date, expected: str) -> None:
    seed_balances(ledger)
    assert ledger.balance(RECEIVABLE, as_of=as_of).posted == usd(expected)


def test_balance_as_of_with_dimension(ledger: Ledger) -> None:
    seed_balances(ledger)
    balance = ledger.balance(RECEIVABLE, as_of=date(2026, 1, 31), patient="P-1")
    assert balance.posted == usd("100.00")


def test_income_in_normal_sign(ledger: Ledger) -> None:
    seed_balances(ledger)
    assert ledger.balance(SERVICES).posted == usd("165.00")


def test_include_subaccounts(ledger: Ledger) -> None:
    seed_balances(ledger)
    assets = ledger.balance("Assets", include_subaccounts=True)
    receivable = ledger.balance("Assets:Receivable", include_subaccounts=True)
    assert assets.posted == usd("165.00")
    assert receivable.posted == usd("135.00")
    assert ledger.balance("Assets:Receivable").posted == Money.zero()


def test_subaccounts_need_colon_boundary(ledger: Ledger) -> None:
    ledger.open_account(replace(ledger.account(BANK), name="Assets:BankExtra"))
    ledger.post(transfer(JAN_5, "7.00", "Assets:BankExtra", SERVICES))
    assert (
        ledger.balance("Assets:Bank", include_subaccounts=True).posted == Money.zero()
    )


def test_unknown_dimension_raises(ledger: Ledger) -> None:
    with pytest.raises(InvalidInputError, match=r"unknown dimension\(s\) \['doctor'\]"):
        ledger.balance(RECEIVABLE, doctor="DR-A")


def test_dimension_balances_per_patient(ledger: Ledger) -> None:
    seed_balances(ledger)
    per_patient = ledger.dimension_balances(RECEIVABLE, "patient")
    assert {k: v.posted for k, v in per_patient.items()} == {
        "P-1": usd("95.00"),
        "P-2": usd("40.00"),
    }


def test_dimension_balances_unmaintained_raises(ledger: Ledger) -> None:
    # It used to return an empty dict, which reads as "no balances".
    with pytest.raises(InvalidInputError, match="'invoice' has no maintained balances"):
        ledger.dimension_balances(RECEIVABLE, "invoice")


def test_account_balances_sum_to_zero(ledger: Ledger) -> None:
    seed_balances(ledger)
    balances = ledger.account_balances()
    assert sum(b.posted.cents for b in balances.values()) == 0


def test_account_balances_since(ledger: Ledger) -> None:
    seed_balances(ledger)
    balances = ledger.account_balances(since=date(2026, 2, 1))
    assert balances[SERVICES].posted == usd("-25.00")


# Entries by dimension and date --------------------------------------------------


def test_entries_by_patient(ledger: Ledger) -> None:
    seed_balances(ledger)
    assert [e.seq for e in ledger.entries(patient="P-1")] == [1, 3, 4]


def test_entries_by_date_range(ledger: Ledger) -> None:
    seed_balances(ledger)
    found = ledger.entries(start=date(2026, 1, 6), end=date(2026, 1, 31))
    assert [e.seq for e in found] == [2]


def test_entries_by_account_and_invoice(ledger: Ledger) -> None:
    seed_balances(ledger)
    found = ledger.entries(account=CLEARING, invoice="INV-1")
    assert [e.seq for e in found] == [4]


def test_entries_unknown_dimension_raises(ledger: Ledger) -> None:
    with pytest.raises(InvalidInputError, match="unknown dimension"):
        ledger.entries(doctor="DR-A")


# Period close -----------------------------------------------------------------


def test_post_in_closed_period_raises(ledger: Ledger) -> None:
    ledger.close_period(date(2026, 1, 31), actor="tester")
    before = table_snapshot(ledger)
    with pytest.raises(PeriodClosedError, match="closed through 2026-01-31"):
        ledger.post(transfer(date(2026, 1, 31), "1.00"))
    assert table_snapshot(ledger) == before


def test_post_after_close_date_allowed(ledger: Ledger) -> None:
    ledger.close_period(date(2026, 1, 31), actor="tester")
    assert ledger.post(transfer(date(2026, 2, 1), "1.00")).seq == 1


def test_close_never_moves_back(ledger: Ledger) -> None:
    ledger.close_period(date(2026, 1, 31), actor="tester")
    with pytest.raises(PeriodClosedError, match="would reopen days"):
        ledger.close_period(date(2026, 1, 15), actor="tester")
    assert ledger.closed_through() == date(2026, 1, 31)


def test_close_same_day_again_is_noop(ledger: Ledger) -> None:
    ledger.close_period(date(2026, 1, 31), actor="tester")
    ledger.close_period(date(2026, 1, 31), actor="tester")
    assert ledger.closed_through() == date(2026, 1, 31)


def test_void_in_closed_period_raises(ledger: Ledger) -> None:
    seq = card_hold(ledger)
    ledger.close_period(date(2026, 1, 31), actor="tester")
    with pytest.raises(PeriodClosedError):
        ledger.void_pending(seq, actor="tester", reason="late")
    void = ledger.void_pending(
        seq, actor="tester", reason="late", effective_date=FEB_10
    )
    assert void.effective_date == FEB_10


# Balance limits ---------------------------------------------------------------


def test_patient_credit_limit_preset(ledger: Ledger) -> None:
    ledger.post(transfer(JAN_5, "20.00", BANK, CREDIT, patient="P-1"))
    before = table_snapshot(ledger)
    with pytest.raises(
        BalanceLimitError,
        match=r"Liabilities:PatientCredit for patient P-1 may not go below zero; "
        r"this post would leave it at -0.01",
    ):
        ledger.post(transfer(JAN_5, "20.01", CREDIT, RECEIVABLE, patient="P-1"))
    assert table_snapshot(ledger) == before


def test_limit_is_per_patient(ledger: Ledger) -> None:
    ledger.post(transfer(JAN_5, "20.00", BANK, CREDIT, patient="P-1"))
    with pytest.raises(BalanceLimitError, match="patient P-2"):
        ledger.post(transfer(JAN_5, "1.00", CREDIT, RECEIVABLE, patient="P-2"))


def test_limit_allows_exact_zero(ledger: Ledger) -> None:
    ledger.post(transfer(JAN_5, "20.00", BANK, CREDIT, patient="P-1"))
    ledger.post(transfer(JAN_5, "20.00", CREDIT, RECEIVABLE, patient="P-1"))
    assert ledger.balance(CREDIT, patient="P-1").posted == Money.zero()


def test_account_level_limit(ledger: Ledger) -> None:
    ledger.set_balance_limit(BANK)
    ledger.post(transfer(JAN_5, "10.00", BANK, SERVICES))
    with pytest.raises(BalanceLimitError, match="Assets:Bank:Operating may not go"):
        ledger.post(transfer(JAN_5, "10.01", "Expenses:BankFees", BANK))


def test_gift_card_limit_per_plan(ledger: Ledger) -> None:
    ledger.post(transfer(JAN_5, "50.00", CLEARING, GIFT_CARDS, plan="GC-1"))
    ledger.post(transfer(JAN_5, "50.00", GIFT_CARDS, RECEIVABLE, plan="GC-1"))
    with pytest.raises(BalanceLimitError, match="for plan GC-1"):
        ledger.post(transfer(JAN_5, "0.01", GIFT_CARDS, RECEIVABLE, plan="GC-1"))


def test_reversal_that_breaks_limit_raises(ledger: Ledger) -> None:
    funding = ledger.post(transfer(JAN_5, "20.00", BANK, CREDIT, patient="P-1"))
    ledger.post(transfer(JAN_5, "15.00", CREDIT, RECEIVABLE, patient="P-1"))
    with pytest.raises(BalanceLimitError):
        ledger.reverse(funding.seq, actor="tester", reason="bounced")


def test_limit_on_unmaintained_dimension_raises(ledger: Ledger) -> None:
    with pytest.raises(InvalidInputError, match="'invoice' is not maintained"):
        ledger.set_balance_limit(CREDIT, "invoice")


def test_limit_survives_reopen(ledger: Ledger, clock: FakeClock) -> None:
    reopened = Ledger(ledger.store, ledger.book_id, clock)
    with pytest.raises(BalanceLimitError):
        reopened.post(transfer(JAN_5, "1.00", CREDIT, RECEIVABLE, patient="P-1"))


# Books ------------------------------------------------------------------------


def test_books_do_not_share_entries(ledger: Ledger, clock: FakeClock) -> None:
    other = open_ledger(engine_of(ledger), new_book_id(), clock=clock)
    ledger.post(transfer(JAN_5, "10.00", patient="P-1", key="same-key"))
    other.post(transfer(JAN_5, "99.00", patient="P-1", key="same-key"))
    assert [e.narration for e in other.entries()] == ["test entry"]
    assert ledger.balance(BANK).posted == usd("10.00")
    assert other.balance(BANK).posted == usd("99.00")
    assert other.balance(BANK, patient="P-1").posted == usd("99.00")
    assert other.entry(1).postings[0].amount == usd("99.00")
    assert other.account_balances()[BANK].posted == usd("99.00")
    assert journal_problems(ledger) == []
    assert journal_problems(other) == []


def test_missing_book_raises(ledger: Ledger, clock: FakeClock) -> None:
    stranger = Ledger(ledger.store, "no-such-book", clock)
    with pytest.raises(BookNotFoundError, match="book no-such-book does not exist"):
        stranger.close_period(JAN_5, actor="tester")


def test_entry_with_two_currencies(ledger: Ledger) -> None:
    ledger.open_account(replace(ledger.account(BANK), name="Assets:Bank:Euro",
                                currency="EUR"))  # fmt: skip
    ledger.open_account(replace(ledger.account(SERVICES), name="Income:Euro",
                                currency="EUR"))  # fmt: skip
    entry = Entry(
        JAN_5,
        "two currencies",
        (
            Posting(BANK, usd("1.00")),
            Posting(SERVICES, usd("-1.00")),
            Posting("Assets:Bank:Euro", Money.of("2.00", "EUR")),
            Posting("Income:Euro", Money.of("-2.00", "EUR")),
        ),
        "tester",
    )
    ledger.post(entry)
    assert ledger.balance("Assets:Bank:Euro").posted == Money.of("2.00", "EUR")
    assert journal_problems(ledger) == []


def test_credit_without_patient_limited(ledger: Ledger) -> None:
    ledger.post(transfer(JAN_5, "50.00", BANK, CREDIT, patient="P-1"))
    with pytest.raises(BalanceLimitError, match="Liabilities:PatientCredit may not go"):
        ledger.post(transfer(JAN_5, "60.00", CREDIT, BANK))
    assert ledger.balance(CREDIT).posted == usd("50.00")


def test_close_today_or_later_raises(ledger: Ledger, clock: FakeClock) -> None:
    with pytest.raises(PeriodClosedError, match="only days before today"):
        ledger.close_period(clock.today(), actor="tester")
    assert ledger.closed_through() is None


def test_reopen_later_raises(ledger: Ledger) -> None:
    account = ledger.account(BANK)
    later = replace(account, opened=JAN_20)
    with pytest.raises(InvalidInputError, match="cannot move later"):
        ledger.open_account(later)
    assert ledger.account(BANK).opened == account.opened


def test_close_before_entries_raises(ledger: Ledger) -> None:
    ledger.post(transfer(JAN_20, "10.00"))
    with pytest.raises(InvalidInputError, match="has entries after 2026-01-05"):
        ledger.close_account(BANK, JAN_5)
    assert ledger.account(BANK).closed is None


def test_entry_number_must_be_int(ledger: Ledger) -> None:
    with pytest.raises(InvalidInputError, match="must be an int"):
        ledger.reverse("1", actor="tester", reason="typo")  # type: ignore[arg-type]
