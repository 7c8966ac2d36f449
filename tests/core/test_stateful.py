"""Stateful property test: random sequences of ledger calls keep every invariant.

A small model predicts which calls must raise (closed periods, patient credit
limits, resolved entries, reused keys); after every step the stored book must
balance, agree with its postings and verify.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from ona_ledger import (
    AlreadyReversedError,
    BalanceLimitError,
    Entry,
    IdempotencyConflictError,
    Ledger,
    Money,
    PendingStateError,
    PeriodClosedError,
    Posting,
    open_ledger,
)
from ona_ledger.store import create_engine
from tests.conftest import FakeClock, new_book_id
from tests.core.helpers import (
    BANK,
    CLEARING,
    CREDIT,
    RECEIVABLE,
    SERVICES,
    journal_problems,
    table_snapshot,
    transfer,
)

START = date(2026, 1, 1)
PATIENTS = ("P-1", "P-2", "P-3")
# What each kind of entry does: (debit account, credit account, change in the
# patient's credit in cents per cent posted).
KINDS = {
    "charge": (RECEIVABLE, SERVICES, 0),
    "add_credit": (BANK, CREDIT, 1),
    "use_credit": (CREDIT, RECEIVABLE, -1),
}

days = st.integers(min_value=0, max_value=58).map(lambda n: START + timedelta(n))
cents = st.integers(min_value=1, max_value=20_000)
specs = st.tuples(
    st.sampled_from(sorted(KINDS)), cents, days, st.sampled_from(PATIENTS)
)


@dataclass
class Posted:
    """A standard entry the model knows: what it changed and whether it was reversed."""

    seq: int
    day: date
    patient: str
    credit_change: int
    reversed: bool = False


@dataclass
class Model:
    credit: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PATIENTS, 0))
    posted: list[Posted] = field(default_factory=list)
    holds: dict[int, date] = field(default_factory=dict)
    keys: dict[str, tuple[Entry, int]] = field(default_factory=dict)
    closed_through: date | None = None
    entry_count: int = 0

    def is_closed(self, day: date) -> bool:
        return self.closed_through is not None and day <= self.closed_through


def build(spec: tuple[str, int, date, str], key: str | None) -> Entry:
    kind, amount, day, patient = spec
    debit, credit, _ = KINDS[kind]
    money = Money.from_minor(amount)
    return Entry(
        day,
        f"{kind} {amount}",
        (
            Posting(debit, money, patient=patient),
            Posting(credit, -money, patient=patient),
        ),
        "machine",
        idempotency_key=key,
    )


class LedgerMachine(RuleBasedStateMachine):
    url: ClassVar[str] = "sqlite://"

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.engine = create_engine(self.url)
        self.ledger: Ledger = open_ledger(self.engine, new_book_id(), clock=self.clock)
        self.model = Model()
        self.key_counter = 0

    def teardown(self) -> None:
        self.engine.dispose()

    def new_key(self, use_key: bool) -> str | None:
        if not use_key:
            return None
        self.key_counter += 1
        return f"key-{self.key_counter}"

    def expected_error(
        self, batch: list[tuple[str, int, date, str]]
    ) -> type[Exception] | None:
        # Dates are checked entry by entry; limits once, on the balances the
        # whole batch leaves, because the batch is one transaction.
        credit = dict(self.model.credit)
        for kind, amount, day, patient in batch:
            if self.model.is_closed(day):
                return PeriodClosedError
            credit[patient] += KINDS[kind][2] * amount
        if any(value < 0 for value in credit.values()):
            return BalanceLimitError
        return None

    def record(self, spec: tuple[str, int, date, str], seq: int) -> None:
        kind, amount, day, patient = spec
        change = KINDS[kind][2] * amount
        self.model.credit[patient] += change
        self.model.posted.append(Posted(seq, day, patient, change))
        self.model.entry_count += 1

    @rule(spec=specs, use_key=st.booleans())
    def post(self, spec: tuple[str, int, date, str], use_key: bool) -> None:
        self.post_batch([spec], use_key)

    @rule(batch=st.lists(specs, min_size=1, max_size=4), use_key=st.booleans())
    def post_many(self, batch: list[tuple[str, int, date, str]], use_key: bool) -> None:
        self.post_batch(batch, use_key)

    def post_batch(
        self, batch: list[tuple[str, int, date, str]], use_key: bool
    ) -> None:
        entries = [build(spec, self.new_key(use_key)) for spec in batch]
        error = self.expected_error(batch)
        if error is not None:
            before = table_snapshot(self.ledger)
            with pytest.raises(error):
                self.ledger.post_many(entries)
            assert table_snapshot(self.ledger) == before
            return
        stored = self.ledger.post_many(entries)
        for spec, entry, result in zip(batch, entries, stored, strict=True):
            self.record(spec, result.seq)
            if entry.idempotency_key is not None:
                self.model.keys[entry.idempotency_key] = (entry, result.seq)

    @rule(data=st.data())
    def replay_key(self, data: st.DataObject) -> None:
        if not self.model.keys:
            return
        key = data.draw(st.sampled_from(sorted(self.model.keys)))
        entry, seq = self.model.keys[key]
        before = table_snapshot(self.ledger)
        if data.draw(st.booleans()):
            assert self.ledger.post(entry).seq == seq
        else:
            changed = Entry(
                entry.effective_date,
                entry.narration + " (edited)",
                entry.postings,
                entry.actor,
                idempotency_key=key,
            )
            with pytest.raises(IdempotencyConflictError):
                self.ledger.post(changed)
        assert table_snapshot(self.ledger) == before

    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        if not self.model.posted:
            return
        target = data.draw(st.sampled_from(self.model.posted))
        if target.reversed:
            with pytest.raises(AlreadyReversedError):
                self.ledger.reverse(target.seq, actor="machine", reason="again")
            return
        if self.model.credit[target.patient] - target.credit_change < 0:
            with pytest.raises(BalanceLimitError):
                self.ledger.reverse(target.seq, actor="machine", reason="limit")
            return
        reversal = self.ledger.reverse(target.seq, actor="machine", reason="test")
        target.reversed = True
        self.model.credit[target.patient] -= target.credit_change
        self.model.entry_count += 1
        if self.model.is_closed(target.day):
            assert reversal.effective_date == self.clock.today()
            assert reversal.meta["corrects_period"] == target.day.isoformat()
        else:
            assert reversal.effective_date == target.day

    @rule(amount=cents, day=days, patient=st.sampled_from(PATIENTS))
    def hold(self, amount: int, day: date, patient: str) -> None:
        entry = transfer(day, str(Money.from_minor(amount)), CLEARING, RECEIVABLE,
                         patient=patient)  # fmt: skip
        if self.model.is_closed(day):
            with pytest.raises(PeriodClosedError):
                self.ledger.post_pending(entry)
            return
        stored = self.ledger.post_pending(entry)
        self.model.holds[stored.seq] = day
        self.model.entry_count += 1

    @rule(data=st.data(), how=st.sampled_from(["full", "part", "void"]))
    def resolve(self, data: st.DataObject, how: str) -> None:
        if not self.model.holds:
            return
        seq = data.draw(st.sampled_from(sorted(self.model.holds)))
        day = self.model.holds[seq]
        if self.model.is_closed(day):
            with pytest.raises(PeriodClosedError):
                self.ledger.void_pending(seq, actor="machine", reason="closed")
            day = self.clock.today()
        self.resolve_on(seq, day, how)
        del self.model.holds[seq]
        self.model.entry_count += 1
        with pytest.raises(PendingStateError):
            self.ledger.void_pending(
                seq, actor="machine", reason="twice", effective_date=day
            )

    def resolve_on(self, seq: int, day: date, how: str) -> None:
        if how == "void":
            self.ledger.void_pending(
                seq, actor="machine", reason="void", effective_date=day
            )
            return
        postings = None
        if how == "part":
            held = self.ledger.entry(seq).postings
            half = Money.from_minor(held[0].amount.cents // 2)
            patient = held[0].patient
            postings = [
                Posting(CLEARING, half, patient=patient),
                Posting(RECEIVABLE, -half, patient=patient),
            ]
        self.ledger.post_pending_entry(
            seq, actor="machine", postings=postings, effective_date=day
        )

    @rule(day=days)
    def close_period(self, day: date) -> None:
        closed = self.model.closed_through
        if closed is not None and day < closed:
            with pytest.raises(PeriodClosedError):
                self.ledger.close_period(day, actor="machine")
            return
        self.ledger.close_period(day, actor="machine")
        self.model.closed_through = day

    @invariant()
    def book_is_consistent(self) -> None:
        assert journal_problems(self.ledger) == []

    @invariant()
    def credit_matches_model(self) -> None:
        for patient, credit in self.model.credit.items():
            assert self.ledger.balance(CREDIT, patient=patient).posted.cents == credit

    @invariant()
    def entry_count_matches_model(self) -> None:
        assert self.ledger.verify().entries_checked == self.model.entry_count


def test_stateful_sqlite() -> None:
    LedgerMachine.url = "sqlite://"
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=12,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


@pytest.mark.postgres
@pytest.mark.slow
def test_stateful_postgres(postgres_server_url: str) -> None:
    LedgerMachine.url = postgres_server_url
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=6,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
