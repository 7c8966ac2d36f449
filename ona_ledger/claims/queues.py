"""Work queues of 835 posting: denials to correct and remittance money not yet matched.

Both queues are records beside the journal. A denial item keeps its amount open
on Assets:Receivable:Insurance until it is resolved. An unmatched item holds its
money in Liabilities:Suspense:Remittances until it is matched to a claim
(`ona_ledger.claims.posting.match_remittance`) or moved to another account here.
"""

from __future__ import annotations

import logging
from datetime import date
from enum import StrEnum
from typing import Any, Final

from ona_ledger.billing.common import (
    ADJUSTMENTS_PREFIX,
    RECEIVABLE_INSURANCE,
    RECEIVABLE_PATIENTS,
    EntryType,
)
from ona_ledger.entries import Entry, JournalEntry, Posting
from ona_ledger.errors import QueueItemError
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money

logger = logging.getLogger(__name__)

RECORD_DENIAL: Final = "era_denial"
RECORD_UNMATCHED: Final = "era_unmatched"
SUSPENSE_REMITTANCES: Final = "Liabilities:Suspense:Remittances"
DENIAL_WRITE_OFF_ACCOUNT: Final = "Income:Adjustments:Administrative"

OPEN: Final = "open"
RESOLVED: Final = "resolved"


class DenialAction(StrEnum):
    """The next step for a denial: the suggestion stored with it, and the resolution taken."""

    CORRECT_AND_RESUBMIT = "correct_and_resubmit"
    APPEAL = "appeal"
    BILL_PATIENT = "bill_patient"
    WRITE_OFF = "write_off"


# CARC reasons that deny a service rather than price it, with the usual next step.
# A non-PR adjustment with one of these reasons is never written off on posting.
DENIAL_REASONS: Final[dict[str, DenialAction]] = {
    "4": DenialAction.CORRECT_AND_RESUBMIT,
    "5": DenialAction.CORRECT_AND_RESUBMIT,
    "6": DenialAction.CORRECT_AND_RESUBMIT,
    "11": DenialAction.CORRECT_AND_RESUBMIT,
    "16": DenialAction.CORRECT_AND_RESUBMIT,
    "18": DenialAction.WRITE_OFF,
    "22": DenialAction.CORRECT_AND_RESUBMIT,
    "26": DenialAction.BILL_PATIENT,
    "27": DenialAction.BILL_PATIENT,
    "29": DenialAction.APPEAL,
    "31": DenialAction.CORRECT_AND_RESUBMIT,
    "50": DenialAction.APPEAL,
    "96": DenialAction.APPEAL,
    "97": DenialAction.CORRECT_AND_RESUBMIT,
    "109": DenialAction.CORRECT_AND_RESUBMIT,
    "119": DenialAction.BILL_PATIENT,
    "167": DenialAction.APPEAL,
    "197": DenialAction.APPEAL,
    "204": DenialAction.BILL_PATIENT,
    "251": DenialAction.CORRECT_AND_RESUBMIT,
}


def is_denial_reason(reason_code: str) -> bool:
    """Return True when a CARC reason denies the service (CO-16, CO-29, CO-197...)."""
    return reason_code in DENIAL_REASONS


def suggested_denial_action(reason_codes: list[str]) -> DenialAction:
    """Return the next step for the first denial reason, or appeal when none is known."""
    for code in reason_codes:
        if code in DENIAL_REASONS:
            return DENIAL_REASONS[code]
    return DenialAction.APPEAL


# --- Listing and working items ----------------------------------------------


def list_denials(ledger: Ledger, *, status: str | None = OPEN) -> list[dict[str, Any]]:
    """Return the correction queue's items, oldest key first; `status=None` lists all."""
    return _list(ledger, RECORD_DENIAL, status)


def list_unmatched(
    ledger: Ledger, *, status: str | None = OPEN
) -> list[dict[str, Any]]:
    """Return the unmatched-remittance queue's items; `status=None` lists all."""
    return _list(ledger, RECORD_UNMATCHED, status)


def _list(ledger: Ledger, kind: str, status: str | None) -> list[dict[str, Any]]:
    items = [body for _key, body in ledger.store.list_records(ledger.book_id, kind)]
    if status is None:
        return items
    return [item for item in items if item["status"] == status]


def get_item(ledger: Ledger, kind: str, key: str) -> dict[str, Any]:
    """Return one queue item, or raise QueueItemError naming the key."""
    item = ledger.store.get_record(ledger.book_id, kind, key)
    if item is None:
        raise QueueItemError(
            f"{_queue_name(kind)} has no item {key!r}; list the queue for the keys"
        )
    return item


def assign(ledger: Ledger, kind: str, key: str, assignee: str, *, actor: str) -> None:
    """Give an open item to a person of the billing office."""
    if not assignee:
        raise QueueItemError(f"assigning item {key!r} needs an assignee")
    with ledger.atomic() as tx:
        item = _open_item(tx, kind, key)
        item["assignee"] = assignee
        _add_history(tx, item, actor, f"assigned to {assignee}")
        tx.store.put_record(tx.book_id, kind, key, item)


def add_note(ledger: Ledger, kind: str, key: str, note: str, *, actor: str) -> None:
    """Add a working note to an item, such as the date an appeal was sent."""
    if not note.strip():
        raise QueueItemError(f"the note on item {key!r} is empty; write what was done")
    with ledger.atomic() as tx:
        item = tx.store.get_record(tx.book_id, kind, key)
        if item is None:
            get_item(tx, kind, key)
            return
        _add_history(tx, item, actor, note.strip())
        tx.store.put_record(tx.book_id, kind, key, item)


def resolve_denial(
    ledger: Ledger,
    key: str,
    action: DenialAction,
    *,
    actor: str,
    reason: str,
    write_off_account: str = DENIAL_WRITE_OFF_ACCOUNT,
) -> JournalEntry | None:
    """Close a denial with the action taken; write-off and bill-patient post an entry.

    A write-off moves the open amount from the payer's receivable to an
    Income:Adjustments account (Administrative unless `write_off_account` names
    another) with `reason`. Billing the patient moves it to Assets:Receivable:
    Patients. A resubmitted or appealed claim stays open with the payer, and the
    payer's next 835 posts against it.
    """
    if not reason.strip():
        raise QueueItemError(f"resolving denial {key!r} needs a reason")
    if not write_off_account.startswith(ADJUSTMENTS_PREFIX):
        raise QueueItemError(
            f"write-off account {write_off_account} is not under {ADJUSTMENTS_PREFIX}; "
            "write denials off to an adjustment account"
        )
    with ledger.atomic() as tx:
        item = _open_item(tx, RECORD_DENIAL, key)
        entry = None
        if action in (DenialAction.WRITE_OFF, DenialAction.BILL_PATIENT):
            entry = _post_denial_resolution(
                tx, item, action, actor, reason, write_off_account
            )
        item["status"] = RESOLVED
        item["resolution"] = {
            "action": action.value,
            "reason": reason,
            "entry": entry.id if entry else None,
        }
        _add_history(tx, item, actor, f"resolved: {action.value} ({reason})")
        tx.store.put_record(tx.book_id, RECORD_DENIAL, key, item)
    logger.info("denial %s resolved by %s: %s", key, actor, action.value)
    return entry


def resolve_unmatched(
    ledger: Ledger, key: str, account: str, *, actor: str, reason: str
) -> JournalEntry | None:
    """Move an unmatched item's money out of suspense to `account`, and close it.

    For money that belongs to no claim: a provider-level recovery matched to a
    refund the clinic sent, or an amount the payer confirms is not the clinic's.
    Use `match_remittance` to post a claim's money against the claim instead.
    """
    if not reason.strip():
        raise QueueItemError(f"resolving unmatched item {key!r} needs a reason")
    with ledger.atomic() as tx:
        item = _open_item(tx, RECORD_UNMATCHED, key)
        held = Money.of(item["held"])
        entry = None
        if held.cents:
            entry = tx.post(
                Entry(
                    effective_date=tx.clock().date(),
                    narration=f"Unmatched remittance {key} moved to {account}",
                    postings=(
                        Posting(SUSPENSE_REMITTANCES, held),
                        Posting(account, -held),
                    ),
                    actor=actor,
                    reason=reason,
                    meta={
                        "type": EntryType.ADJUSTMENT.value,
                        "era_unmatched": key,
                        "trace_number": item["trace_number"],
                    },
                    idempotency_key=f"era-unmatched-resolve:{key}",
                )
            )
        entries = [entry.id] if entry else []
        close_unmatched(tx, item, actor, f"moved to {account} ({reason})", entries)
    return entry


def close_unmatched(
    ledger: Ledger,
    item: dict[str, Any],
    actor: str,
    note: str,
    entries: list[str],
) -> None:
    """Mark an unmatched item resolved; called inside the caller's atomic block."""
    item["status"] = RESOLVED
    item["resolution"] = {"note": note, "entries": entries}
    _add_history(ledger, item, actor, f"resolved: {note}")
    ledger.store.put_record(ledger.book_id, RECORD_UNMATCHED, item["key"], item)


def open_unmatched_item(ledger: Ledger, key: str) -> dict[str, Any]:
    """Return an open unmatched item, or raise QueueItemError."""
    return _open_item(ledger, RECORD_UNMATCHED, key)


# --- Adding items (called by the posting module) -----------------------------


def queue_item(ledger: Ledger, kind: str, key: str, body: dict[str, Any]) -> None:
    """Store a new queue item unless one with this key exists (a replayed file)."""
    if ledger.store.get_record(ledger.book_id, kind, key) is not None:
        return
    item = {
        "key": key,
        "status": OPEN,
        "assignee": None,
        "history": [],
        "resolution": None,
        **body,
    }
    ledger.store.put_record(ledger.book_id, kind, key, item)


# --- Helpers -----------------------------------------------------------------


def _open_item(ledger: Ledger, kind: str, key: str) -> dict[str, Any]:
    item = get_item(ledger, kind, key)
    if item["status"] != OPEN:
        raise QueueItemError(
            f"{_queue_name(kind)} item {key!r} is already {item['status']}; "
            "nothing to do"
        )
    return item


def _add_history(ledger: Ledger, item: dict[str, Any], actor: str, text: str) -> None:
    if not actor:
        raise QueueItemError(f"working item {item['key']!r} needs an actor")
    item["history"].append(
        {"at": ledger.clock().isoformat(), "actor": actor, "note": text}
    )


def _queue_name(kind: str) -> str:
    return "the correction queue" if kind == RECORD_DENIAL else "the unmatched queue"


def _post_denial_resolution(
    ledger: Ledger,
    item: dict[str, Any],
    action: DenialAction,
    actor: str,
    reason: str,
    write_off_account: str,
) -> JournalEntry | None:
    dimensions: dict[str, str] = item["dimensions"]
    open_amount = ledger.balance(
        RECEIVABLE_INSURANCE,
        claim=dimensions["claim"],
        invoice_line=dimensions["invoice_line"],
    ).posted
    amount = min(Money.of(item["amount"]), open_amount)
    if amount.cents <= 0:
        logger.info("denial %s: nothing open on the line; nothing posted", item["key"])
        return None
    if action is DenialAction.WRITE_OFF:
        target = Posting.with_dimensions(write_off_account, amount, dimensions)
        narration = f"Denial write-off on claim {dimensions['claim']}"
    else:
        patient_dims = {
            k: v for k, v in dimensions.items() if k not in ("payer", "claim")
        }
        target = Posting.with_dimensions(RECEIVABLE_PATIENTS, amount, patient_dims)
        narration = (
            f"Denied amount on claim {dimensions['claim']} billed to the patient"
        )
    return ledger.post(
        Entry(
            effective_date=_resolution_date(ledger),
            narration=narration,
            postings=(
                target,
                Posting.with_dimensions(RECEIVABLE_INSURANCE, -amount, dimensions),
            ),
            actor=actor,
            reason=reason,
            links=(dimensions["invoice"],),
            meta={
                "type": EntryType.ADJUSTMENT.value,
                "era_denial": item["key"],
                "reason_codes": " ".join(item["reason_codes"]),
            },
            idempotency_key=f"era-denial-resolve:{item['key']}",
        )
    )


def _resolution_date(ledger: Ledger) -> date:
    return ledger.clock().date()


# --- Text for people -------------------------------------------------------------


def format_denial(item: dict[str, Any]) -> list[str]:
    """Describe one correction-queue item in plain words, one fact a line."""
    modifiers = "-".join(item["modifiers"])
    code = f"{item['code']}-{modifiers}" if modifiers else item["code"]
    lines = [
        f"{item['key']}: claim {item['claim']} line {code}, {item['amount']} open "
        f"with the payer ({item['status']})"
    ]
    for adjustment in item["adjustments"]:
        lines.append(f"  {adjustment['amount']} {adjustment['meaning']}")
    for remark in item["remarks"]:
        lines.append(f"  remark {remark['code']}: {remark['meaning']}")
    lines.append(f"  suggested action: {item['suggested_action'].replace('_', ' ')}")
    return lines


def format_unmatched(item: dict[str, Any]) -> list[str]:
    """Describe one unmatched-queue item: what is held in suspense, and why."""
    return [
        f"{item['key']}: {item['held']} held in suspense ({item['status']}): "
        f"{item['reason']}"
    ]
