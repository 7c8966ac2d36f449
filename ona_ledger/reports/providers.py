"""Charges, collections and adjustments per provider, from the postings' provider dimension."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ona_ledger.entries import EntryKind, JournalEntry
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money

INCOME_SERVICES = "Income:Services"
PATIENT_CREDIT = "Liabilities:PatientCredit"
ADJUSTMENTS = "Income:Adjustments"
RECEIVABLES = ("Assets:Receivable:Patients", "Assets:Receivable:Insurance")
# Entries whose receivable credits are money collected, not a write-down.
_COLLECTION_TYPES = frozenset(
    {"payment", "refund", "credit_applied", "insurance_payment"}
)


@dataclass(frozen=True, slots=True)
class ProviderRevenue:
    provider: str
    charges: Money
    collections: Money
    adjustments: Money


def provider_revenue(
    ledger: Ledger, *, start: date | None = None, end: date | None = None
) -> list[ProviderRevenue]:
    """Return each provider's gross charges, collections and adjustments in a period.

    Collections are the receivable settled by payments, refunds, applied credit
    and payer payments, less any write-down inside those entries. A payer's
    transfer of the patient share nets to zero across the two receivables.
    """
    charges: dict[str, int] = {}
    collections: dict[str, int] = {}
    adjustments: dict[str, int] = {}
    entries = ledger.entries(start=start, end=end)
    types = {entry.seq: entry.meta.get("type") for entry in entries}
    for entry in entries:
        entry_type = _entry_type(ledger, entry, types)
        is_collection = entry_type in _COLLECTION_TYPES
        for posting in entry.postings:
            provider = posting.provider
            if provider is None or posting.status.value != "posted":
                continue
            cents = posting.amount.cents
            if posting.account == INCOME_SERVICES:
                charges[provider] = charges.get(provider, 0) - cents
            elif posting.account.startswith(ADJUSTMENTS + ":"):
                adjustments[provider] = adjustments.get(provider, 0) + cents
                if is_collection:
                    # A payer's contractual write-down settles receivable without
                    # collecting money, so it comes back out of collections.
                    collections[provider] = collections.get(provider, 0) - cents
            elif posting.account in RECEIVABLES and is_collection:
                collections[provider] = collections.get(provider, 0) - cents
            elif posting.account == PATIENT_CREDIT and entry_type == "charge":
                # A voided or reduced line that was already paid turns the payment
                # into patient credit: it is no longer this provider's collection.
                collections[provider] = collections.get(provider, 0) + cents
    providers = sorted(set(charges) | set(collections) | set(adjustments))
    return [
        ProviderRevenue(
            provider,
            Money(charges.get(provider, 0)),
            Money(collections.get(provider, 0)),
            Money(adjustments.get(provider, 0)),
        )
        for provider in providers
    ]


def _entry_type(
    ledger: Ledger, entry: JournalEntry, types: dict[int, str | None]
) -> str | None:
    """Return an entry's billing type; a reversal counts as the type of what it reverses."""
    if entry.kind is not EntryKind.REVERSAL or entry.refers_to is None:
        return entry.meta.get("type")
    if entry.refers_to not in types:
        types[entry.refers_to] = ledger.entry(entry.refers_to).meta.get("type")
    return types[entry.refers_to]
