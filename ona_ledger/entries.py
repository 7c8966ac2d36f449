"""Entries and postings: what a caller posts, what the journal stores, and their hashes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Final

from ona_ledger.errors import (
    InvalidAmountError,
    InvalidInputError,
    UnbalancedEntryError,
)
from ona_ledger.money import Money

# The dimensions a posting can carry. The core treats them as opaque ids.
DIMENSIONS: Final = (
    "patient",
    "invoice",
    "invoice_line",
    "visit",
    "claim",
    "provider",
    "payer",
    "location",
    "plan",
)
# The dimensions whose balances the store maintains per value, so per-value
# balances and balance limits are read without scanning postings.
MAINTAINED_DIMENSIONS: Final = ("patient", "provider", "payer", "location", "plan")
_MAX_ID_LENGTH: Final = 200
# Largest posting amount in minor units (10 trillion dollars in cents). The
# store keeps amounts and their running sums in signed 64-bit columns, whose
# limit is about 9.2e18, so this leaves room for many postings per balance.
MAX_POSTING_MINOR_UNITS: Final = 10**15


class PostingStatus(StrEnum):
    """Posted money counts in balances; pending money is a hold reported apart."""

    POSTED = "posted"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class Posting:
    """One leg of an entry: a signed amount (debit positive) on one account.

    Dimensions are opaque ids such as a patient id or an invoice number; they
    never hold names or other demographics.
    """

    account: str
    amount: Money
    patient: str | None = None
    invoice: str | None = None
    invoice_line: str | None = None
    visit: str | None = None
    claim: str | None = None
    provider: str | None = None
    payer: str | None = None
    location: str | None = None
    plan: str | None = None
    status: PostingStatus = PostingStatus.POSTED

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Money):
            raise TypeError(
                f"posting amount on {self.account} must be Money, not "
                f"{type(self.amount).__name__} {self.amount!r}; use Money.of('12.34')"
            )
        if abs(self.amount.cents) > MAX_POSTING_MINOR_UNITS:
            raise InvalidAmountError(
                f"posting of {self.amount} {self.amount.currency} on {self.account} is "
                f"larger than the limit of {MAX_POSTING_MINOR_UNITS} minor units; "
                "split it into smaller entries"
            )
        for name in DIMENSIONS:
            value = getattr(self, name)
            if value is None:
                continue
            if (
                not isinstance(value, str)
                or not value.strip()
                or len(value) > _MAX_ID_LENGTH
                or not value.isprintable()
            ):
                raise InvalidInputError(
                    f"dimension {name}={value!r} on {self.account} must be a non-empty "
                    f"string id of at most {_MAX_ID_LENGTH} printable characters"
                )

    @classmethod
    def with_dimensions(
        cls,
        account: str,
        amount: Money,
        dimensions: Mapping[str, str | None],
        status: PostingStatus = PostingStatus.POSTED,
    ) -> Posting:
        """Build a posting from a mapping of dimension names to ids."""
        unknown = set(dimensions) - set(DIMENSIONS)
        if unknown:
            raise InvalidInputError(
                f"unknown dimension(s) {sorted(unknown)}; use {', '.join(DIMENSIONS)}"
            )
        return cls(account, amount, status=status, **dimensions)

    def dimensions(self) -> dict[str, str]:
        """Return the dimensions that are set, by name."""
        result: dict[str, str] = {}
        for name in DIMENSIONS:
            value = getattr(self, name)
            if value is not None:
                result[name] = value
        return result

    def negated(self) -> Posting:
        """Return the same posting with the opposite amount."""
        return Posting(
            self.account, -self.amount, status=self.status, **self.dimensions()
        )


@dataclass(frozen=True, slots=True)
class Entry:
    """A balanced journal entry as a caller posts it.

    `effective_date` is the accounting date; the ledger stamps the recorded-at
    time from its clock. Postings must sum to zero per currency and status.
    """

    effective_date: date
    narration: str
    postings: tuple[Posting, ...]
    actor: str
    reason: str | None = None
    links: tuple[str, ...] = ()
    meta: Mapping[str, str] = field(default_factory=dict)
    idempotency_key: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.effective_date, datetime) or not isinstance(
            self.effective_date, date
        ):
            raise InvalidInputError(
                f"effective_date {self.effective_date!r} must be a datetime.date, "
                "the accounting day, without a time"
            )
        if not isinstance(self.postings, tuple):
            object.__setattr__(self, "postings", tuple(self.postings))
        if not isinstance(self.links, tuple):
            object.__setattr__(self, "links", tuple(self.links))
        _check_text("narration", self.narration, required=False)
        if not isinstance(self.actor, str) or not self.actor.strip():
            raise InvalidInputError(
                f"entry {self.narration!r} has actor {self.actor!r}; name who posts it, "
                "such as a user id or 'system'"
            )
        _check_text("actor", self.actor)
        if self.reason is not None:
            _check_text("reason", self.reason)
        if self.idempotency_key is not None:
            _check_text("idempotency_key", self.idempotency_key)
        for link in self.links:
            _check_text("link", link)
        for key, value in self.meta.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise InvalidInputError(
                    f"metadata {key!r}: {value!r} must map strings to strings"
                )
            _check_text("metadata key", key)
            _check_text(f"metadata {key}", value, required=False)
        for posting in self.postings:
            if not isinstance(posting, Posting):
                raise InvalidInputError(
                    f"entry {self.narration!r} has {posting!r} among its postings; "
                    "pass Posting values"
                )
        check_balanced(self.postings, self.narration)


def _check_text(field_name: str, value: object, *, required: bool = True) -> None:
    """Raise unless `value` is a string without NUL characters (and not blank if required).

    Every text of an entry is hashed and stored as text, so other types would
    be stored in a form that no longer matches the hash.
    """
    if not isinstance(value, str):
        raise InvalidInputError(
            f"{field_name} {value!r} is a {type(value).__name__}; pass a string"
        )
    if required and not value.strip():
        raise InvalidInputError(f"{field_name} is empty; pass a non-blank string")
    if "\x00" in value:
        raise InvalidInputError(
            f"{field_name} {value!r} contains a NUL character; remove it"
        )


def check_balanced(postings: tuple[Posting, ...], narration: str = "") -> None:
    """Raise UnbalancedEntryError unless postings sum to zero per currency and status."""
    if len(postings) < 2:
        raise UnbalancedEntryError(
            f"entry {narration!r} has {len(postings)} posting(s); an entry needs at "
            "least two"
        )
    sums: dict[tuple[str, str], int] = {}
    for posting in postings:
        key = (posting.amount.currency, posting.status.value)
        sums[key] = sums.get(key, 0) + posting.amount.cents
    off = {key: cents for key, cents in sums.items() if cents != 0}
    if off:
        detail = ", ".join(
            f"{Money(cents, currency)} {currency} ({status})"
            for (currency, status), cents in sorted(off.items())
        )
        raise UnbalancedEntryError(
            f"entry {narration!r} does not balance: postings sum to {detail}; "
            "add or correct a posting so debits equal credits"
        )


class EntryKind(StrEnum):
    """How an entry came to be: posted directly, or as a correction of another."""

    STANDARD = "standard"
    REVERSAL = "reversal"
    PENDING = "pending"
    PENDING_POST = "pending_post"
    PENDING_VOID = "pending_void"


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """An entry as the journal stores it: numbered, timestamped and hashed."""

    book_id: str
    seq: int
    kind: EntryKind
    effective_date: date
    recorded_at: datetime
    narration: str
    postings: tuple[Posting, ...]
    actor: str
    reason: str | None
    links: tuple[str, ...]
    meta: Mapping[str, str]
    idempotency_key: str | None
    refers_to: int | None
    prev_hash: str
    hash: str

    @property
    def id(self) -> str:
        """The entry's id, unique across books: 'BOOK/SEQ'."""
        return f"{self.book_id}/{self.seq}"


def content_fingerprint(entry: Entry, kind: EntryKind, refers_to: int | None) -> str:
    """Hash what a caller asked for, to tell a replayed idempotency key from a reuse.

    The canonical form is a JSON array in a fixed field order, with metadata
    sorted by key, so equal content always gives the same fingerprint.
    """
    document = [
        kind.value,
        entry.effective_date.isoformat(),
        entry.narration,
        entry.actor,
        entry.reason,
        list(entry.links),
        sorted(entry.meta.items()),
        entry.idempotency_key,
        refers_to,
        [canonical_posting(p) for p in entry.postings],
    ]
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical_posting(posting: Posting) -> list[Any]:
    """Return a posting as a JSON-ready list in a fixed field order."""
    return [
        posting.account,
        posting.amount.cents,
        posting.amount.currency,
        posting.status.value,
        *(getattr(posting, name) for name in DIMENSIONS),
    ]


def chain_hash(
    book_id: str, seq: int, recorded_at: datetime, fingerprint: str, prev_hash: str
) -> str:
    """Hash an entry's place in the chain: its book, number, time, content and predecessor.

    The content enters through its fingerprint (the SHA-256 of its canonical
    form), so each entry's JSON is serialised and hashed once per post.
    """
    text = f"{book_id}\x1f{seq}\x1f{recorded_at.isoformat()}\x1f{fingerprint}\x1f{prev_hash}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


GENESIS_HASH: Final = "0" * 64
