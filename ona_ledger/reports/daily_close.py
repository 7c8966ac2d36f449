"""The daily close: what was collected by each method against what reached the bank that day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from ona_ledger.billing.common import (
    BANK,
    CLEARING_INSURANCE,
    CLEARING_PROCESSOR,
    CLEARING_UNDEPOSITED,
    PATIENT_CREDIT,
    PROCESSOR_FEES,
    EntryType,
)
from ona_ledger.entries import EntryKind, JournalEntry, PostingStatus
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money

RECEIVABLE_PREFIX: Final = "Assets:Receivable:"
CLEARING_ACCOUNTS: Final = (
    CLEARING_UNDEPOSITED,
    CLEARING_PROCESSOR,
    CLEARING_INSURANCE,
)
_PATIENT_TYPES: Final = frozenset({EntryType.PAYMENT.value, EntryType.REFUND.value})


@dataclass(frozen=True, slots=True)
class DailyClose:
    """A day's collections by method, fees, bank arrivals and clearing balances.

    `collected` is gross: what patients and payers paid, less refunds.
    `reached_bank` is money posted to the bank that day, by entry type (a
    deposit, a payout, an ACH payment). `in_clearing` is each clearing
    account's balance at the end of the day: money collected, not yet banked.
    """

    day: date
    collected: dict[str, Money]
    processor_fees: Money
    reached_bank: dict[str, Money]
    in_clearing: dict[str, Money]

    @property
    def total_collected(self) -> Money:
        return Money(sum(amount.cents for amount in self.collected.values()))

    @property
    def total_reached_bank(self) -> Money:
        return Money(sum(amount.cents for amount in self.reached_bank.values()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "collected": {k: str(v) for k, v in self.collected.items()},
            "total_collected": str(self.total_collected),
            "processor_fees": str(self.processor_fees),
            "reached_bank": {k: str(v) for k, v in self.reached_bank.items()},
            "total_reached_bank": str(self.total_reached_bank),
            "in_clearing": {k: str(v) for k, v in self.in_clearing.items()},
        }


def daily_close(ledger: Ledger, day: date) -> DailyClose:
    """Build the close of one day from that day's entries and the clearing balances."""
    collected: dict[str, int] = {}
    reached: dict[str, int] = {}
    fees = 0
    for entry in ledger.entries(start=day, end=day):
        entry_type = _entry_type(ledger, entry)
        method = _method(ledger, entry, entry_type)
        for posting in entry.postings:
            if posting.status is not PostingStatus.POSTED:
                continue
            cents = posting.amount.cents
            account = posting.account
            if method is not None:
                collected[method] = collected.get(method, 0) + _money_in(
                    entry_type, account, cents
                )
            if account == PROCESSOR_FEES:
                fees += cents
            if account == BANK:
                reason = entry_type or "other"
                reached[reason] = reached.get(reason, 0) + cents
    balances = ledger.account_balances(as_of=day)
    clearing: dict[str, Money] = {
        account: balances[account].posted
        for account in CLEARING_ACCOUNTS
        if account in balances
    }
    return DailyClose(
        day,
        {k: Money(v) for k, v in sorted(collected.items()) if v},
        Money(fees),
        {k: Money(v) for k, v in sorted(reached.items()) if v},
        clearing,
    )


def _money_in(entry_type: str | None, account: str, cents: int) -> int:
    """Return what one posting of a payment, refund or payer payment adds to collections.

    A patient's payment is gross of card fees: the receivable and credit it
    settles. A payer's payment is the money it sent, so the contractual amount
    and the patient's share it moves are left out.
    """
    if entry_type == EntryType.INSURANCE_PAYMENT.value:
        money = account in CLEARING_ACCOUNTS or account == BANK
        return cents if money else 0
    if account.startswith(RECEIVABLE_PREFIX) or account == PATIENT_CREDIT:
        return -cents
    return 0


def _entry_type(ledger: Ledger, entry: JournalEntry) -> str | None:
    if entry.kind is EntryKind.REVERSAL and entry.refers_to is not None:
        return ledger.entry(entry.refers_to).meta.get("type")
    return entry.meta.get("type")


def _method(ledger: Ledger, entry: JournalEntry, entry_type: str | None) -> str | None:
    """Return the collection method of a money-in entry, or None for other entries."""
    if entry_type in _PATIENT_TYPES:
        source = entry
        if entry.kind is EntryKind.REVERSAL and entry.refers_to is not None:
            source = ledger.entry(entry.refers_to)
        return source.meta.get("method", "unknown")
    if entry_type == EntryType.INSURANCE_PAYMENT.value:
        accounts = {posting.account for posting in entry.postings}
        return (
            "insurance check" if CLEARING_UNDEPOSITED in accounts else "insurance EFT"
        )
    return None


def format_daily_close(close: DailyClose) -> str:
    """Render the daily close as labelled sections."""
    lines = [f"Daily close for {close.day}", "", "Collected by method"]
    lines += [
        f"  {method:<24}{amount!s:>12}" for method, amount in close.collected.items()
    ]
    lines.append(f"  {'Total collected':<24}{close.total_collected!s:>12}")
    lines.append(f"  {'Processor fees':<24}{close.processor_fees!s:>12}")
    lines += ["", "Reached the bank"]
    lines += [
        f"  {kind:<24}{amount!s:>12}" for kind, amount in close.reached_bank.items()
    ]
    lines.append(f"  {'Total reached bank':<24}{close.total_reached_bank!s:>12}")
    lines += ["", "Still in clearing at end of day"]
    lines += [
        f"  {account:<30}{amount!s:>12}"
        for account, amount in close.in_clearing.items()
    ]
    return "\n".join(lines)
