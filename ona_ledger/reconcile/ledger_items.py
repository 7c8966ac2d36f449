"""What the ledger expects at the bank, read from the journal, and the entries reconciliation posts.

Payouts, desk deposits and patient ACH transfers are already in the bank account;
insurance EFTs wait in Assets:Clearing:Insurance until a bank line confirms them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from ona_ledger.accounts import chart_account
from ona_ledger.billing.common import BANK, CLEARING_INSURANCE, EntryType
from ona_ledger.entries import (
    Entry,
    EntryKind,
    JournalEntry,
    Posting,
    PostingStatus,
)
from ona_ledger.errors import InvalidInputError
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money
from ona_ledger.reconcile.matching import (
    INTEREST_INCOME_ACCOUNT,
    LedgerItem,
    LedgerItemKind,
    SuggestedEntry,
)
from ona_ledger.reconcile.statements import StatementLine

logger = logging.getLogger(__name__)


class ReconcileEntryType(StrEnum):
    """Entry types reconciliation posts, kept in the entry's metadata under 'type'."""

    # An insurance EFT moved from Assets:Clearing:Insurance into the bank.
    EFT_SETTLEMENT = "eft_settlement"
    # A confirmed bank fee, interest or returned item of one statement line.
    BANK_ADJUSTMENT = "bank_adjustment"


_RECONCILE_TYPES = {t.value for t in ReconcileEntryType}
_TRANSFER_METHODS = {"ach"}


@dataclass(frozen=True, slots=True)
class ExpectedItem:
    """A ledger item with where its money is: already in the bank, or still in clearing.

    `trace_number` is the 835 TRN02 of an insurance EFT, empty for other kinds.
    """

    item: LedgerItem
    entry_ids: tuple[str, ...]
    in_bank: bool
    trace_number: str = ""


@dataclass
class _Group:
    kind: LedgerItemKind
    reference: str
    other_references: set[str] = field(default_factory=set)
    cents: int = 0
    currency: str = ""
    expected_date: date = date.min
    entry_ids: list[str] = field(default_factory=list)
    in_bank: bool = True
    trace_number: str = ""

    def add(self, entry: JournalEntry, amount: Money) -> None:
        self.cents += amount.cents
        self.currency = amount.currency
        self.expected_date = max(self.expected_date, entry.effective_date)
        self.entry_ids.append(entry.id)


def expected_items(
    ledger: Ledger,
    *,
    account: str = BANK,
    start: date | None = None,
    end: date | None = None,
) -> list[ExpectedItem]:
    """Return the items the ledger expects on the bank account's statement, by date.

    Reads entries dated `start` through `end` that touch the bank account, and the
    insurance clearing entries that carry an 835 trace number. A reversed entry and
    its reversal cancel out; entries that reconciliation itself posted are not items.
    """
    groups: dict[str, _Group] = {}
    settled_traces: set[str] = set()
    bank_traces: set[str] = set()

    for entry, source in _entries_with_source(ledger, account, start, end):
        if source.meta.get("type") in _RECONCILE_TYPES:
            if source.meta.get("type") == ReconcileEntryType.EFT_SETTLEMENT:
                settled_traces.add(source.meta["trace_number"])
            continue
        amount = _posted_sum(entry, account)
        if amount is None:
            continue
        item_id, group = _bank_group(source)
        if group.kind is LedgerItemKind.INSURANCE_EFT:
            bank_traces.add(group.trace_number)
        groups.setdefault(item_id, group).add(entry, amount)

    for entry, source in _entries_with_source(ledger, CLEARING_INSURANCE, start, end):
        trace = source.meta.get("trace_number", "")
        if not trace or source.meta.get("type") in _RECONCILE_TYPES:
            continue
        if trace in bank_traces:
            continue
        amount = _posted_sum(entry, CLEARING_INSURANCE)
        if amount is None:
            continue
        group = _eft_group(trace, in_bank=False)
        groups.setdefault(f"eft:{trace}", group).add(entry, amount)

    items = []
    for item_id, group in groups.items():
        if group.cents == 0:
            continue
        if group.kind is LedgerItemKind.INSURANCE_EFT and not group.in_bank:
            if group.cents < 0:
                logger.warning(
                    "trace %s: insurance clearing holds %s, a net takeback; no EFT is "
                    "expected",
                    group.trace_number,
                    Money(group.cents, group.currency),
                )
                continue
            group.in_bank = group.trace_number in settled_traces
        items.append(_expected(item_id, group))
    return sorted(items, key=lambda e: (e.item.expected_date, e.item.item_id))


def _entries_with_source(
    ledger: Ledger, account: str, start: date | None, end: date | None
) -> Iterable[tuple[JournalEntry, JournalEntry]]:
    """Yield posted entries of an account with the entry whose metadata classifies them.

    A reversal is classified as the entry it reverses, so both land in one item and
    cancel out.
    """
    for entry in ledger.entries(start=start, end=end, account=account):
        if entry.kind in (EntryKind.PENDING, EntryKind.PENDING_VOID):
            continue
        source = entry
        if entry.kind is EntryKind.REVERSAL and entry.refers_to is not None:
            source = ledger.entry(entry.refers_to)
        yield entry, source


def _posted_sum(entry: JournalEntry, account: str) -> Money | None:
    postings = [
        p
        for p in entry.postings
        if p.account == account and p.status is PostingStatus.POSTED
    ]
    if not postings:
        return None
    total = Money.zero(postings[0].amount.currency)
    for posting in postings:
        total = total + posting.amount
    return total


def _bank_group(source: JournalEntry) -> tuple[str, _Group]:
    meta = source.meta
    entry_type = meta.get("type", "")
    if meta.get("trace_number"):
        trace = meta["trace_number"]
        return f"eft:{trace}", _eft_group(trace, in_bank=True)
    if entry_type == EntryType.PAYOUT and meta.get("payout_id"):
        payout_id = meta["payout_id"]
        return f"payout:{payout_id}", _Group(LedgerItemKind.PAYOUT, payout_id)
    if entry_type == EntryType.DEPOSIT and meta.get("deposit_batch"):
        batch = meta["deposit_batch"]
        return f"deposit:{batch}", _Group(LedgerItemKind.DESK_DEPOSIT, batch)
    if (
        entry_type in (EntryType.PAYMENT, EntryType.REFUND)
        and meta.get("method") in _TRANSFER_METHODS
    ):
        # Patients name the invoice in the transfer's memo; the payment id is a fallback.
        payment_id = meta.get("payment_id", "")
        references = [*source.links, payment_id]
        group = _Group(
            LedgerItemKind.PATIENT_TRANSFER,
            references[0],
            {r for r in references[1:] if r},
        )
        if entry_type == EntryType.PAYMENT and payment_id:
            return f"payment:{payment_id}", group
        return f"{entry_type}:{source.id}", group
    return f"entry:{source.id}", _Group(LedgerItemKind.OTHER, "")


def _eft_group(trace: str, *, in_bank: bool) -> _Group:
    return _Group(
        LedgerItemKind.INSURANCE_EFT, trace, in_bank=in_bank, trace_number=trace
    )


def _expected(item_id: str, group: _Group) -> ExpectedItem:
    item = LedgerItem(
        item_id,
        group.kind,
        Money(group.cents, group.currency),
        group.expected_date,
        group.reference,
        tuple(sorted(group.other_references)),
    )
    return ExpectedItem(item, tuple(group.entry_ids), group.in_bank, group.trace_number)


# Entries reconciliation posts ---------------------------------------------------


def settle_eft(
    ledger: Ledger,
    expected: ExpectedItem,
    line: StatementLine,
    *,
    account: str = BANK,
    actor: str,
) -> JournalEntry:
    """Post an insurance EFT's move from clearing into the bank, once per trace number.

    The entry is dated on the bank line's posted date. Posting it again for the same
    line returns the first entry and writes nothing; `expected_items` reports a settled
    EFT as in the bank, so reconciliation never settles a trace number twice.
    """
    if expected.item.kind is not LedgerItemKind.INSURANCE_EFT or expected.in_bank:
        raise InvalidInputError(
            f"ledger item {expected.item.item_id} is not an insurance EFT waiting in "
            f"{CLEARING_INSURANCE}; only those are moved into the bank"
        )
    trace = expected.trace_number
    # NOTE: a bank line dated in a closed period makes this post raise PeriodClosedError.
    amount = expected.item.amount
    return ledger.post(
        Entry(
            effective_date=line.posted_date,
            narration=f"Insurance EFT {trace} reached the bank",
            postings=(Posting(account, amount), Posting(CLEARING_INSURANCE, -amount)),
            actor=actor,
            meta={
                "type": ReconcileEntryType.EFT_SETTLEMENT.value,
                "trace_number": trace,
            },
            idempotency_key=f"eft-settlement:{trace}",
        )
    )


def post_suggested_entry(
    ledger: Ledger,
    line: StatementLine,
    suggestion: SuggestedEntry,
    *,
    actor: str,
) -> JournalEntry:
    """Post a confirmed fee, interest or returned-item entry for one statement line.

    The idempotency key is the line's (bank account, FITID), so confirming twice posts once.
    """
    if INTEREST_INCOME_ACCOUNT in (
        suggestion.credit_account,
        suggestion.debit_account,
    ) and all(account.name != INTEREST_INCOME_ACCOUNT for account in ledger.accounts()):
        ledger.open_account(
            chart_account(INTEREST_INCOME_ACCOUNT, suggestion.amount.currency)
        )
    amount = suggestion.amount
    return ledger.post(
        Entry(
            effective_date=line.posted_date,
            narration=suggestion.description,
            postings=(
                Posting(suggestion.debit_account, amount),
                Posting(suggestion.credit_account, -amount),
            ),
            actor=actor,
            meta={
                "type": ReconcileEntryType.BANK_ADJUSTMENT.value,
                "bank_account_id": line.account_id,
                "fitid": line.fitid,
            },
            idempotency_key=f"bank-line:{line.account_id}:{line.fitid}",
        )
    )


def expected_by_id(items: Iterable[ExpectedItem]) -> dict[str, ExpectedItem]:
    """Index expected items by item id."""
    return {expected.item.item_id: expected for expected in items}
