"""The ledger: posting, reversing, pending entries, balances, period close and verify.

The rules live here; the storage behind them is a `LedgerStore` (see
ona_ledger.store for the SQL one), so the core contains no SQL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from ona_ledger.accounts import Account, AccountType, account_type
from ona_ledger.entries import (
    DIMENSIONS,
    GENESIS_HASH,
    MAINTAINED_DIMENSIONS,
    Entry,
    EntryKind,
    JournalEntry,
    Posting,
    PostingStatus,
    chain_hash,
    check_balanced,
    content_fingerprint,
)
from ona_ledger.errors import (
    AccountClosedError,
    AlreadyReversedError,
    BalanceLimitError,
    CurrencyMismatchError,
    EntryNotFoundError,
    IdempotencyConflictError,
    InvalidInputError,
    PendingStateError,
    PeriodClosedError,
    UnknownAccountError,
)
from ona_ledger.money import Money

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Return the current UTC time; the default clock of a ledger."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Balance:
    """Posted and pending amounts of one balance, reported apart."""

    posted: Money
    pending: Money

    @property
    def total(self) -> Money:
        return self.posted + self.pending


@dataclass(frozen=True, slots=True)
class BookHead:
    """A book's chain head and close date, read under the book's write lock."""

    seq: int
    hash: str
    closed_through: date | None


@dataclass(frozen=True, slots=True)
class NewJournalRow:
    """An entry ready to insert: numbered, hashed, with its idempotency fingerprint."""

    entry: JournalEntry
    fingerprint: str


@dataclass(frozen=True, slots=True)
class LimitViolation:
    """A never-below-zero balance that a post took below zero."""

    account: str
    dimension: str
    value: str
    balance: Money


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of walking a book's hash chain."""

    ok: bool
    entries_checked: int
    first_bad_seq: int | None = None
    problem: str | None = None


class StoreTransaction(Protocol):
    """The writes and reads a post needs, inside one database transaction."""

    def lock_book(self, book_id: str) -> BookHead: ...

    def find_by_idempotency_keys(
        self, book_id: str, keys: Sequence[str]
    ) -> dict[str, tuple[JournalEntry, str]]: ...

    def find_entry(self, book_id: str, seq: int) -> JournalEntry | None: ...

    def find_referring_entry(self, book_id: str, seq: int) -> JournalEntry | None: ...

    def insert_entries(
        self, rows: Sequence[NewJournalRow], head: tuple[int, str] | None = None
    ) -> None:
        """Insert entries with their postings and balances; with `head`, move the chain head."""

    def check_limits(
        self,
        book_id: str,
        keys: Sequence[tuple[str, str, str]],
        signs: Mapping[str, int],
    ) -> LimitViolation | None: ...

    def set_head(self, book_id: str, seq: int, hash_: str) -> None: ...

    def set_closed_through(self, book_id: str, day: date) -> None: ...


class LedgerStore(Protocol):
    """Storage of one database: transactions, accounts and read queries."""

    def transaction(self) -> AbstractContextManager[StoreTransaction]: ...

    def load_accounts(self, book_id: str) -> dict[str, Account]: ...

    def load_limits(self, book_id: str) -> dict[str, str]: ...

    def save_account(self, book_id: str, account: Account) -> None: ...

    def save_limit(self, book_id: str, account: str, dimension: str) -> None: ...

    def ensure_book(
        self, book_id: str, name: str, currency: str, created_at: datetime
    ) -> bool: ...

    def closed_through(self, book_id: str) -> date | None: ...

    def head(self, book_id: str) -> BookHead: ...

    def balance(
        self,
        book_id: str,
        account: str,
        currency: str,
        as_of: date | None,
        dimensions: Mapping[str, str],
        include_subaccounts: bool,
    ) -> tuple[int, int]: ...

    def account_balances(
        self, book_id: str, as_of: date | None, since: date | None
    ) -> dict[tuple[str, str], tuple[int, int]]: ...

    def dimension_balances(
        self, book_id: str, account: str, dimension: str, as_of: date | None
    ) -> dict[str, tuple[int, int]]: ...

    def entries(
        self,
        book_id: str,
        dimensions: Mapping[str, str],
        start: date | None,
        end: date | None,
        account: str | None,
    ) -> list[JournalEntry]: ...

    def get_entry(self, book_id: str, seq: int) -> JournalEntry | None: ...

    def line_postings(
        self,
        book_id: str,
        account: str,
        patient: str,
        invoices: Sequence[str] | None,
    ) -> list[tuple[date, Posting]]: ...

    def iter_chain(self, book_id: str) -> Iterator[tuple[JournalEntry, str]]: ...

    def unit_of_work(self) -> AbstractContextManager[LedgerStore]: ...

    def put_record(
        self, book_id: str, kind: str, key: str, body: Mapping[str, Any]
    ) -> None: ...

    def get_record(
        self, book_id: str, kind: str, key: str
    ) -> dict[str, Any] | None: ...

    def list_records(
        self, book_id: str, kind: str
    ) -> list[tuple[str, dict[str, Any]]]: ...

    def next_sequence(self, book_id: str, name: str, count: int = 1) -> int: ...

    def referring_entries(
        self, book_id: str, seqs: Sequence[int]
    ) -> dict[int, JournalEntry]: ...

    def daily_activity(
        self,
        book_id: str,
        accounts: Sequence[str],
        dimension: str,
        start: date | None,
        end: date | None,
    ) -> list[tuple[str, str, str, date, int]]: ...

    def receivable_aging(
        self,
        book_id: str,
        as_of: date,
        bucket_starts: Sequence[date],
        accounts: Sequence[str],
    ) -> list[tuple[str, str, str, tuple[list[int], ...]]]: ...


class Ledger:
    """One book's ledger: the only way entries enter the journal.

    Every public write validates its input first and then runs in one
    transaction, so a rejected call writes nothing.
    """

    def __init__(self, store: LedgerStore, book_id: str, clock: Clock = system_clock):
        if not book_id or not isinstance(book_id, str):
            raise InvalidInputError(
                f"book id {book_id!r} is empty; pass the clinic's book id"
            )
        self.store = store
        self.book_id = book_id
        self.clock = clock
        self._accounts: dict[str, Account] = {}
        self._limit_dimensions: dict[str, set[str]] = {}
        self.reload_accounts()

    @contextmanager
    def atomic(self) -> Iterator[Ledger]:
        """Yield a ledger whose posts and records commit together, or not at all.

        The book is locked for the whole block, so billing steps that read and
        then post (a refund checking what is left to refund) see no concurrent
        change in between.
        """
        with self.store.unit_of_work() as store:
            inner = Ledger.__new__(Ledger)
            inner.store = store
            inner.book_id = self.book_id
            inner.clock = self.clock
            inner._accounts = self._accounts
            inner._limit_dimensions = self._limit_dimensions
            with store.transaction() as tx:
                tx.lock_book(self.book_id)
            yield inner

    # Accounts ---------------------------------------------------------------

    def reload_accounts(self) -> None:
        """Read the book's accounts and balance limits again from the store."""
        self._accounts = self.store.load_accounts(self.book_id)
        limits = self.store.load_limits(self.book_id)
        self._limit_dimensions = {}
        for key in limits:
            account, _, dimension = key.partition("|")
            self._limit_dimensions.setdefault(account, set()).add(dimension)

    def open_account(self, account: Account) -> Account:
        """Open an account in this book; opening it again with the same fields is a no-op.

        Opening an open account again may move its open date earlier, never later,
        so no posted entry ever falls before its account's open date.
        """
        existing = self._accounts.get(account.name)
        if existing == account:
            return existing
        if existing is not None and existing.currency != account.currency:
            raise CurrencyMismatchError(
                f"account {account.name} is already open in {existing.currency}; it "
                f"cannot be reopened in {account.currency}"
            )
        if existing is not None and account.opened > existing.opened:
            raise InvalidInputError(
                f"account {account.name} is open since {existing.opened}; its open date "
                f"cannot move later to {account.opened}, as entries may predate it"
            )
        self.store.save_account(self.book_id, account)
        self._accounts[account.name] = account
        return account

    def close_account(self, name: str, closed: date) -> Account:
        """Set an account's close date; later posts to it raise AccountClosedError.

        Raises InvalidInputError when entries already post to it after that date.
        """
        account = self.account(name)
        if closed < account.opened:
            raise InvalidInputError(
                f"account {name} opens on {account.opened}; it cannot close before that, "
                f"on {closed}"
            )
        later = self.entries(account=name, start=closed + timedelta(days=1))
        if any(p.account == name for e in later for p in e.postings):
            raise InvalidInputError(
                f"account {name} has entries after {closed}; close it on or after the "
                "last of them, or reverse them first"
            )
        closed_account = replace(account, closed=closed)
        self.store.save_account(self.book_id, closed_account)
        self._accounts[name] = closed_account
        return closed_account

    def account(self, name: str) -> Account:
        """Return an open account of this book, or raise UnknownAccountError."""
        found = self._accounts.get(name)
        if found is None:
            self.reload_accounts()
            found = self._accounts.get(name)
        if found is None:
            account_type(name)
            raise UnknownAccountError(
                f"account {name} is not open in book {self.book_id}; open it with "
                "Ledger.open_account first"
            )
        return found

    def accounts(self) -> list[Account]:
        return sorted(self._accounts.values(), key=lambda a: a.name)

    def set_balance_limit(self, account: str, dimension: str = "") -> None:
        """Require a balance never to go below zero: for the account, or per dimension value.

        "Below zero" is in the account's normal direction, so a liability such as
        patient credit may not turn into a debit. The dimension must be one of
        the maintained balances: patient, provider, payer, location or plan.
        """
        self.account(account)
        from_store = ("", *MAINTAINED_DIMENSIONS)
        if dimension not in from_store:
            raise InvalidInputError(
                f"balance limit dimension {dimension!r} is not maintained; use one of "
                f"{', '.join(repr(d) for d in from_store)}"
            )
        self.store.save_limit(self.book_id, account, dimension)
        self._limit_dimensions.setdefault(account, set()).add(dimension)

    # Posting ------------------------------------------------------------------

    def post(self, entry: Entry) -> JournalEntry:
        """Post one entry and return it as the journal stores it."""
        return self.post_many([entry])[0]

    def post_many(self, entries: Sequence[Entry]) -> list[JournalEntry]:
        """Post entries in one transaction: all of them, or none if any is rejected.

        An entry whose idempotency key was posted before with the same content
        returns the stored entry and writes nothing new.
        """
        for entry in entries:
            if any(p.status is PostingStatus.PENDING for p in entry.postings):
                raise PendingStateError(
                    f"entry {entry.narration!r} has pending postings; post holds with "
                    "Ledger.post_pending so they can later be posted or voided"
                )
        items = [(entry, EntryKind.STANDARD, None) for entry in entries]
        return self._append(items)

    def post_pending(self, entry: Entry) -> JournalEntry:
        """Post an entry as pending: a hold reported apart from posted balances."""
        pending = replace(
            entry,
            postings=tuple(
                replace(p, status=PostingStatus.PENDING) for p in entry.postings
            ),
        )
        return self._append([(pending, EntryKind.PENDING, None)])[0]

    def reverse(
        self,
        seq: int,
        *,
        actor: str,
        reason: str,
        effective_date: date | None = None,
        idempotency_key: str | None = None,
    ) -> JournalEntry:
        """Post the reversal of entry `seq`; an entry is reversed at most once.

        The reversal is dated like the original while its period is open. When
        the original's period has closed, it is dated today by the ledger's
        clock and its metadata names the date it corrects.
        """
        if not reason:
            raise InvalidInputError(f"reversal of entry {seq} needs a reason")
        original = self._require_entry(seq)
        if original.kind in (EntryKind.PENDING, EntryKind.PENDING_VOID):
            raise PendingStateError(
                f"entry {seq} is {original.kind.value}; void a pending entry with "
                "void_pending instead of reversing it"
            )
        posted = tuple(
            p.negated() for p in original.postings if p.status is PostingStatus.POSTED
        )
        meta = {"reverses": str(seq)}
        day = effective_date
        if day is None:
            closed = self.store.closed_through(self.book_id)
            day = original.effective_date
            if closed is not None and day <= closed:
                day = self.clock().date()
                meta["corrects_period"] = original.effective_date.isoformat()
        reversal = Entry(
            effective_date=day,
            narration=f"Reversal of {original.id}: {original.narration}",
            postings=posted,
            actor=actor,
            reason=reason,
            links=original.links,
            meta=meta,
            idempotency_key=idempotency_key,
        )
        return self._append([(reversal, EntryKind.REVERSAL, seq)])[0]

    def post_pending_entry(
        self,
        seq: int,
        *,
        actor: str,
        postings: Sequence[Posting] | None = None,
        effective_date: date | None = None,
        narration: str | None = None,
    ) -> JournalEntry:
        """Post a pending entry, in full or in part, releasing its whole hold.

        `postings` (posted amounts) may be smaller than the pending amounts for a
        partial capture; each account may receive at most what was pending, with
        the same sign.
        """
        pending = self._require_pending(seq)
        released = tuple(p.negated() for p in pending.postings)
        if postings is None:
            captured = tuple(
                replace(p, status=PostingStatus.POSTED) for p in pending.postings
            )
        else:
            captured = tuple(replace(p, status=PostingStatus.POSTED) for p in postings)
            _check_partial_capture(pending, captured)
        resolution = Entry(
            effective_date=effective_date or pending.effective_date,
            narration=narration or f"Posted pending {pending.id}: {pending.narration}",
            postings=released + captured,
            actor=actor,
            links=pending.links,
            meta={"posts_pending": str(seq)},
        )
        return self._append([(resolution, EntryKind.PENDING_POST, seq)])[0]

    def void_pending(
        self, seq: int, *, actor: str, reason: str, effective_date: date | None = None
    ) -> JournalEntry:
        """Void a pending entry: its hold is released and nothing is posted."""
        pending = self._require_pending(seq)
        void = Entry(
            effective_date=effective_date or pending.effective_date,
            narration=f"Voided pending {pending.id}: {pending.narration}",
            postings=tuple(p.negated() for p in pending.postings),
            actor=actor,
            reason=reason,
            links=pending.links,
            meta={"voids_pending": str(seq)},
        )
        return self._append([(void, EntryKind.PENDING_VOID, seq)])[0]

    def close_period(self, through: date, *, actor: str) -> None:
        """Close every day up to and including `through`; a close never moves back."""
        if isinstance(through, datetime) or not isinstance(through, date):
            raise InvalidInputError(
                f"close date {through!r} must be a datetime.date, the last day closed"
            )
        today = self.clock().date()
        if through >= today:
            raise PeriodClosedError(
                f"cannot close book {self.book_id} through {through}: only days before "
                f"today ({today}) can be closed"
            )
        with self.store.transaction() as tx:
            head = tx.lock_book(self.book_id)
            if head.closed_through is not None and through < head.closed_through:
                raise PeriodClosedError(
                    f"book {self.book_id} is closed through {head.closed_through}; a close "
                    f"date of {through} would reopen days, which is not allowed"
                )
            tx.set_closed_through(self.book_id, through)
        logger.info("book %s closed through %s by %s", self.book_id, through, actor)

    def _require_entry(self, seq: int) -> JournalEntry:
        if isinstance(seq, bool) or not isinstance(seq, int):
            raise InvalidInputError(
                f"entry number {seq!r} must be an int, the entry's seq in book "
                f"{self.book_id}"
            )
        found = self.store.get_entry(self.book_id, seq)
        if found is None:
            raise EntryNotFoundError(
                f"entry {seq} does not exist in book {self.book_id}"
            )
        return found

    def _require_pending(self, seq: int) -> JournalEntry:
        pending = self._require_entry(seq)
        if pending.kind is not EntryKind.PENDING:
            raise PendingStateError(
                f"entry {seq} is a {pending.kind.value} entry, not a pending one"
            )
        return pending

    def _check_entry(self, entry: Entry) -> None:
        for posting in entry.postings:
            account = self.account(posting.account)
            if posting.amount.currency != account.currency:
                raise CurrencyMismatchError(
                    f"posting of {posting.amount} {posting.amount.currency} to "
                    f"{account.name} does not match the account's currency "
                    f"{account.currency}"
                )
            if not account.is_open_on(entry.effective_date):
                raise AccountClosedError(
                    f"account {account.name} is open from {account.opened}"
                    f"{f' to {account.closed}' if account.closed else ''}; an entry dated "
                    f"{entry.effective_date} cannot post to it"
                )

    def _append(
        self, items: Sequence[tuple[Entry, EntryKind, int | None]]
    ) -> list[JournalEntry]:
        for entry, _, _ in items:
            check_balanced(entry.postings, entry.narration)
            self._check_entry(entry)
        fingerprints = [content_fingerprint(e, kind, ref) for e, kind, ref in items]
        keys = [e.idempotency_key for e, _, _ in items if e.idempotency_key is not None]

        with self.store.transaction() as tx:
            head = tx.lock_book(self.book_id)
            replayed = tx.find_by_idempotency_keys(self.book_id, keys) if keys else {}
            results: list[JournalEntry] = []
            new_rows: list[NewJournalRow] = []
            batch_keys: dict[str, tuple[JournalEntry, str]] = {}
            seq, prev_hash = head.seq, head.hash
            recorded_at = self.clock()

            for (entry, kind, refers_to), fingerprint in zip(
                items, fingerprints, strict=True
            ):
                key = entry.idempotency_key
                earlier = None
                if key is not None:
                    earlier = replayed.get(key) or batch_keys.get(key)
                if earlier is not None:
                    if earlier[1] != fingerprint:
                        raise IdempotencyConflictError(
                            f"idempotency key {key!r} was used for entry {earlier[0].id} "
                            "with different content; use a new key for a new entry"
                        )
                    results.append(earlier[0])
                    continue
                self._check_open_period(entry, head.closed_through)
                if refers_to is not None:
                    self._check_not_resolved(tx, refers_to, kind)
                seq += 1
                entry_hash = chain_hash(
                    self.book_id, seq, recorded_at, fingerprint, prev_hash
                )
                stored = _journal_entry(
                    self.book_id,
                    seq,
                    kind,
                    recorded_at,
                    entry,
                    refers_to,
                    prev_hash,
                    entry_hash,
                )
                new_rows.append(NewJournalRow(stored, fingerprint))
                if key is not None:
                    batch_keys[key] = (stored, fingerprint)
                results.append(stored)
                prev_hash = entry_hash

            if new_rows:
                tx.insert_entries(new_rows, head=(seq, prev_hash))
                self._enforce_limits(tx, new_rows)
        if new_rows:
            logger.debug(
                "book %s posted %d entries up to seq %d",
                self.book_id,
                len(new_rows),
                seq,
            )
        return results

    def _check_open_period(self, entry: Entry, closed_through: date | None) -> None:
        if closed_through is not None and entry.effective_date <= closed_through:
            raise PeriodClosedError(
                f"book {self.book_id} is closed through {closed_through}; entry "
                f"{entry.narration!r} dated {entry.effective_date} must be dated after it, "
                "with metadata naming the period it corrects"
            )

    def _check_not_resolved(
        self, tx: StoreTransaction, refers_to: int, kind: EntryKind
    ) -> None:
        earlier = tx.find_referring_entry(self.book_id, refers_to)
        if earlier is None:
            return
        if kind is EntryKind.REVERSAL and earlier.kind is EntryKind.REVERSAL:
            raise AlreadyReversedError(
                f"entry {refers_to} was already reversed by entry {earlier.seq}; an entry "
                "is reversed at most once"
            )
        raise PendingStateError(
            f"entry {refers_to} was already resolved by {earlier.kind.value} entry "
            f"{earlier.seq}; nothing more can be done to it"
        )

    def _enforce_limits(
        self, tx: StoreTransaction, rows: Sequence[NewJournalRow]
    ) -> None:
        if not self._limit_dimensions:
            return
        keys: set[tuple[str, str, str]] = set()
        for row in rows:
            for posting in row.entry.postings:
                dimensions = self._limit_dimensions.get(posting.account)
                if not dimensions:
                    continue
                for dimension in dimensions:
                    value = getattr(posting, dimension) if dimension else ""
                    if value is not None:
                        keys.add((posting.account, dimension, value))
        if not keys:
            return
        signs = {
            account: self.account(account).type.normal_sign for account, _, _ in keys
        }
        # Per-dimension limits first, so the error names the patient or card.
        ordered = sorted(keys, key=lambda key: (key[1] == "", key))
        violation = tx.check_limits(self.book_id, ordered, signs)
        if violation is not None:
            where = (
                f" for {violation.dimension} {violation.value}"
                if violation.dimension
                else ""
            )
            raise BalanceLimitError(
                f"{violation.account}{where} may not go below zero; this post would leave "
                f"it at {violation.balance}. Post less, or add funds first"
            )

    # Reading ------------------------------------------------------------------

    def balance(
        self,
        account: str,
        *,
        as_of: date | None = None,
        include_subaccounts: bool = False,
        currency: str | None = None,
        **dimensions: str,
    ) -> Balance:
        """Return an account's balance, posted and pending apart, in its normal sign.

        Debits are positive on assets and expenses, credits positive on
        liabilities, equity and income. Filter by any dimension, such as
        `patient="P-1"` or `invoice="INV-7"`; `as_of` includes that day.
        """
        unknown = set(dimensions) - set(DIMENSIONS)
        if unknown:
            raise InvalidInputError(
                f"unknown dimension(s) {sorted(unknown)}; use {', '.join(DIMENSIONS)}"
            )
        roots = {t.value for t in AccountType}
        if include_subaccounts and account in roots:
            # A bare root such as "Assets" is a prefix, not an account name.
            kind = AccountType(account)
        else:
            kind = account_type(account)
        if currency is None:
            currency = (
                self._accounts[account].currency
                if account in self._accounts
                else self._default_currency(account)
            )
        posted, pending = self.store.balance(
            self.book_id, account, currency, as_of, dimensions, include_subaccounts
        )
        sign = kind.normal_sign
        return Balance(Money(sign * posted, currency), Money(sign * pending, currency))

    def _default_currency(self, prefix: str) -> str:
        for name, account in self._accounts.items():
            if name.startswith(prefix + ":"):
                return account.currency
        return "USD"

    def account_balances(
        self, *, as_of: date | None = None, since: date | None = None
    ) -> dict[str, Balance]:
        """Return every account's signed balance (debit positive), posted and pending apart.

        With `since`, only activity from that day on counts, as for an income
        statement; with `as_of`, only activity up to that day.
        """
        raw = self.store.account_balances(self.book_id, as_of, since)
        result: dict[str, Balance] = {}
        for (account, currency), (posted, pending) in sorted(raw.items()):
            result[account] = Balance(Money(posted, currency), Money(pending, currency))
        return result

    def dimension_balances(
        self, account: str, dimension: str, *, as_of: date | None = None
    ) -> dict[str, Balance]:
        """Return an account's balance per value of a maintained dimension, in normal sign."""
        if dimension not in MAINTAINED_DIMENSIONS:
            raise InvalidInputError(
                f"dimension {dimension!r} has no maintained balances; use one of "
                f"{', '.join(MAINTAINED_DIMENSIONS)}, or balance(account, "
                f"{dimension}=...) for one value"
            )
        kind = account_type(account)
        currency = self.account(account).currency
        raw = self.store.dimension_balances(self.book_id, account, dimension, as_of)
        sign = kind.normal_sign
        return {
            value: Balance(
                Money(sign * posted, currency), Money(sign * pending, currency)
            )
            for value, (posted, pending) in sorted(raw.items())
        }

    def entries(
        self,
        *,
        start: date | None = None,
        end: date | None = None,
        account: str | None = None,
        **dimensions: str,
    ) -> list[JournalEntry]:
        """Return entries with a posting matching every filter, in journal order."""
        unknown = set(dimensions) - set(DIMENSIONS)
        if unknown:
            raise InvalidInputError(
                f"unknown dimension(s) {sorted(unknown)}; use {', '.join(DIMENSIONS)}"
            )
        return self.store.entries(self.book_id, dimensions, start, end, account)

    def entry(self, seq: int) -> JournalEntry:
        """Return entry `seq` of this book, or raise EntryNotFoundError."""
        return self._require_entry(seq)

    def reversal_of(self, seq: int) -> JournalEntry | None:
        """Return the entry that reversed or resolved entry `seq`, if any."""
        return self.store.referring_entries(self.book_id, [seq]).get(seq)

    def closed_through(self) -> date | None:
        return self.store.closed_through(self.book_id)

    def verify(self) -> VerifyResult:
        """Walk the hash chain from the first entry and name the first that no longer matches.

        The walk ends at the book's head as read when it starts, so entries
        posted meanwhile are left for the next call. A chain that stops short of
        the head means its last entries were deleted.
        """
        head = self.store.head(self.book_id)
        prev_hash = None
        checked = 0
        expected_seq = 1
        for stored, fingerprint in self.store.iter_chain(self.book_id):
            if stored.seq > head.seq:
                break
            problem = _verify_one(stored, fingerprint, expected_seq, prev_hash)
            if problem is not None:
                return self._chain_broken(checked, expected_seq, problem)
            prev_hash = stored.hash
            expected_seq += 1
            checked += 1
        if checked < head.seq:
            problem = (
                f"entry {expected_seq} is missing; the book's head is entry {head.seq} "
                f"but the chain ends at entry {checked}"
            )
            return self._chain_broken(checked, expected_seq, problem)
        if head.seq > 0 and prev_hash != head.hash:
            problem = "its hash does not match the hash stored as the book's head"
            return self._chain_broken(checked - 1, head.seq, problem)
        return VerifyResult(True, checked)

    def _chain_broken(self, checked: int, seq: int, problem: str) -> VerifyResult:
        logger.warning(
            "book %s: chain broken at entry %d: %s", self.book_id, seq, problem
        )
        return VerifyResult(False, checked, seq, problem)


def _verify_one(
    stored: JournalEntry, fingerprint: str, expected_seq: int, prev_hash: str | None
) -> str | None:
    if stored.seq != expected_seq:
        return f"entry {expected_seq} is missing; the next entry found is {stored.seq}"
    if stored.prev_hash != (prev_hash or GENESIS_HASH):
        return "its previous-hash does not match the hash of the entry before it"
    try:
        entry = Entry(
            effective_date=stored.effective_date,
            narration=stored.narration,
            postings=stored.postings,
            actor=stored.actor,
            reason=stored.reason,
            links=stored.links,
            meta=stored.meta,
            idempotency_key=stored.idempotency_key,
        )
    except InvalidInputError as error:
        return f"its stored postings are no longer a valid entry: {error}"
    content = content_fingerprint(entry, stored.kind, stored.refers_to)
    chained = chain_hash(
        stored.book_id, stored.seq, stored.recorded_at, content, stored.prev_hash
    )
    if chained != stored.hash:
        return "its content no longer matches its stored hash"
    if content != fingerprint:
        return "its content no longer matches its idempotency fingerprint"
    return None


def _journal_entry(
    book_id: str,
    seq: int,
    kind: EntryKind,
    recorded_at: datetime,
    entry: Entry,
    refers_to: int | None,
    prev_hash: str,
    entry_hash: str,
) -> JournalEntry:
    return JournalEntry(
        book_id=book_id,
        seq=seq,
        kind=kind,
        effective_date=entry.effective_date,
        recorded_at=recorded_at,
        narration=entry.narration,
        postings=entry.postings,
        actor=entry.actor,
        reason=entry.reason,
        links=entry.links,
        meta=dict(entry.meta),
        idempotency_key=entry.idempotency_key,
        refers_to=refers_to,
        prev_hash=prev_hash,
        hash=entry_hash,
    )


def _check_partial_capture(pending: JournalEntry, captured: Sequence[Posting]) -> None:
    """Check that a capture moves at most the held amounts, on the same accounts and ids.

    Each posting is keyed by its account, currency and dimensions, so a capture
    can neither exceed a hold nor move it to another patient or provider.
    """
    held: dict[tuple[str, str, tuple[tuple[str, str], ...]], int] = {}
    for posting in pending.postings:
        key = _capture_key(posting)
        held[key] = held.get(key, 0) + posting.amount.cents
    taken: dict[tuple[str, str, tuple[tuple[str, str], ...]], int] = {}
    for posting in captured:
        key = _capture_key(posting)
        if key not in held:
            raise PendingStateError(
                f"posting to {posting.account} with {posting.dimensions()} is not part "
                f"of pending entry {pending.seq}; a capture may only post to the "
                "pending entry's accounts, with the same dimensions"
            )
        taken[key] = taken.get(key, 0) + posting.amount.cents
    for key, cents in taken.items():
        limit = held[key]
        if cents * limit < 0 or abs(cents) > abs(limit):
            raise PendingStateError(
                f"capture of {Money(cents, key[1])} on {key[0]} exceeds or reverses the "
                f"pending {Money(limit, key[1])}; capture at most the pending amount"
            )


def _capture_key(posting: Posting) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    return (
        posting.account,
        posting.amount.currency,
        tuple(sorted(posting.dimensions().items())),
    )
