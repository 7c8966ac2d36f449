"""Typed errors of ona_ledger: each says what was invalid, on which value, and what to do."""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error the library raises on purpose."""


class InvalidInputError(LedgerError, ValueError):
    """Input that breaks a rule; nothing was written."""


class InvalidAmountError(InvalidInputError):
    """An amount that is not an exact decimal, or has more digits than its currency."""


class CurrencyMismatchError(InvalidInputError):
    """Arithmetic or a posting that mixes two currencies."""


class InvalidAccountNameError(InvalidInputError):
    """An account name that beancount would not accept."""


class UnknownAccountError(InvalidInputError):
    """A posting to an account that was never opened in this book."""


class AccountClosedError(InvalidInputError):
    """A posting dated outside the account's open and close dates."""


class UnbalancedEntryError(InvalidInputError):
    """An entry whose postings do not sum to zero in each currency."""


class PeriodClosedError(InvalidInputError):
    """A post dated on or before the book's close date."""


class IdempotencyConflictError(InvalidInputError):
    """An idempotency key reused with different content."""


class EntryNotFoundError(InvalidInputError):
    """A reference to an entry that does not exist in this book."""


class AlreadyReversedError(InvalidInputError):
    """A second reversal of the same entry."""


class PendingStateError(InvalidInputError):
    """A pending-entry operation that its current state does not allow."""


class BalanceLimitError(InvalidInputError):
    """A post that would take a never-below-zero balance below zero."""


class BookNotFoundError(InvalidInputError):
    """A book id that has no row in the database."""


class SchemaError(LedgerError):
    """A database whose schema is missing or newer than this library."""
