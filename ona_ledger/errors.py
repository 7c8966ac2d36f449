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


class FeeScheduleError(InvalidInputError):
    """A code with no price in the fee schedule, or a bad fee schedule file."""


class InvalidVisitError(InvalidInputError):
    """A visit from the chart that fails validation."""


class InvoiceStateError(InvalidInputError):
    """An operation the invoice's current state does not allow."""


class PaymentError(InvalidInputError):
    """A payment, refund or adjustment that breaks a billing rule."""


class PlanError(InvalidInputError):
    """A payment plan, membership, package or gift card request that breaks a rule."""


class PaymentDeclinedError(LedgerError):
    """A card the processor declined; carries the decline code and its category."""

    def __init__(self, message: str, decline_code: str, category: str):
        super().__init__(message)
        self.decline_code = decline_code
        self.category = category


class ProcessorError(LedgerError):
    """A card processor that could not be reached or rejected a request; retry with the same idempotency key."""


class WebhookSignatureError(InvalidInputError):
    """A webhook whose signature header does not verify over its raw body."""


class WebhookEventError(InvalidInputError):
    """A verified webhook event with a missing field, or a field of the wrong type or shape."""


class InvalidCodeError(InvalidInputError):
    """An NPI, tax id, diagnosis, procedure or modifier code of the wrong format."""


class InvalidClaimError(InvalidInputError):
    """A claim, or a claim file setting, that cannot be built or written as given."""


class ClaimStateError(InvalidInputError):
    """A claim status change that the claim lifecycle does not allow."""


class PayerRulesError(InvalidInputError):
    """A payer rules table row that cannot be read."""


class StatementFormatError(InvalidInputError):
    """A bank statement file (OFX or CSV) with no readable statement in it."""


class RemittanceFormatError(InvalidInputError):
    """An X12 835 file that breaks the syntax or the 005010X221A1 structure.

    `segment_number` counts segments from 1 at the first segment of the file, and
    `segment_id` is that segment's id. Both are None for a problem with the file
    as a whole, such as text that is not UTF-8.
    """

    def __init__(
        self,
        message: str,
        segment_number: int | None = None,
        segment_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.segment_number = segment_number
        self.segment_id = segment_id


class RemittanceBalanceError(InvalidInputError):
    """An 835 remittance whose amounts do not balance: a line, a claim or the payment."""


class RemittancePostingError(InvalidInputError):
    """An 835 remittance that parses and balances but cannot be posted as given."""


class QueueItemError(InvalidInputError):
    """A correction or unmatched-remittance queue action on a missing or closed item."""


class ExportMappingError(InvalidInputError):
    """An export format needs an account code or name the account map lacks."""
