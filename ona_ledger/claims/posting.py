"""Posting of X12 835 remittances to the ledger: claim payments, adjustments, reversals, PLB.

OA and PI adjustments are write-offs to Income:Adjustments:Contractual, like CO,
unless their reason is a denial (see queues.DENIAL_REASONS): then nothing is
written off, the amount stays open with the payer and goes to the correction queue.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, Final

from ona_ledger.accounts import chart_account
from ona_ledger.billing.common import (
    CLEARING_INSURANCE,
    CLEARING_UNDEPOSITED,
    CONTRACTUAL,
    RECEIVABLE_INSURANCE,
    RECEIVABLE_PATIENTS,
    RECORD_VISIT,
    EntryType,
)
from ona_ledger.billing.insurance import claim_lines
from ona_ledger.claims import queues
from ona_ledger.claims.claim import ClaimStatus
from ona_ledger.claims.codes import (
    describe_adjustment,
    describe_remark,
    suggested_action,
)
from ona_ledger.claims.era import (
    Adjustment,
    ClaimPayment,
    ProviderAdjustment,
    Remittance,
    RemittanceFile,
    ServiceLine,
)
from ona_ledger.claims.era_balance import check_balanced
from ona_ledger.claims.lifecycle import mark_claim_adjudicated
from ona_ledger.entries import Entry, EntryKind, JournalEntry, Posting
from ona_ledger.errors import ClaimStateError, RemittancePostingError
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money, allocate
from ona_ledger.reconcile.ledger_items import ReconcileEntryType

logger = logging.getLogger(__name__)

RECORD_REMITTANCE: Final = "remittance"
INTEREST_INCOME: Final = "Income:Interest"
SUSPENSE: Final = queues.SUSPENSE_REMITTANCES
STATUS_DENIED: Final = "4"
STATUS_REVERSAL: Final = "22"
# BPR01 "H" is a notification only: the remittance moves no money.
_NOTIFICATION_ONLY: Final = "H"
_SETTLEMENT_LOOKBACK: Final = timedelta(days=31)
_PATIENT_DIMENSIONS: Final = (
    "patient",
    "invoice",
    "invoice_line",
    "visit",
    "provider",
    "location",
)


# --- Remittance data, normalised for posting -----------------------------------


@dataclass(frozen=True, slots=True)
class RemittanceLine:
    """One SVC loop as posting uses it: the code billed (SVC06, else SVC01) and amounts."""

    number: int
    code: str
    modifiers: tuple[str, ...]
    charge: Money
    paid: Money
    service_date: date | None
    adjustments: tuple[Adjustment, ...]
    remarks: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        """True for a line that moves no money, such as an informational SVC."""
        return self.charge.is_zero() and self.paid.is_zero() and not self.adjustments


@dataclass(frozen=True, slots=True)
class RemittanceClaim:
    """One CLP loop as posting uses it. `occurrence` counts repeats of its id in the file."""

    claim_id: str
    occurrence: int
    status_code: str
    charge: Money
    paid: Money
    payer_claim_control_number: str
    adjustments: tuple[Adjustment, ...]
    lines: tuple[RemittanceLine, ...]
    remarks: tuple[str, ...]


# --- Results -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClaimOutcome:
    """The result of posting one CLP: entries posted, denials queued, money held unmatched."""

    claim_id: str
    status_code: str
    paid: Money
    result: str
    entries: tuple[str, ...] = ()
    denials: tuple[str, ...] = ()
    unmatched: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    decision: str | None = None
    """The payer's decision on the claim as its lifecycle records it: "paid" or
    "denied"; None for a reversal or money held unmatched."""


@dataclass(frozen=True, slots=True)
class RemittanceOutcome:
    """The result of posting one 835 transaction set, or the record that it was posted before."""

    trace_number: str
    payer_id: str
    amount: Money
    method: str
    payment_date: date | None
    effective_date: date
    deposit_account: str
    already_posted: bool
    claims: tuple[ClaimOutcome, ...]
    provider_adjustments: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ExpectedDeposit:
    """A remittance whose money the bank statement should show: trace, amount, date."""

    trace_number: str
    payer_id: str
    amount: Money
    payment_date: date | None
    method: str
    account: str


@dataclass
class _Context:
    """One posting run's fixed facts: the remittance keys, funding account and date."""

    ledger: Ledger
    payer_id: str
    trace_number: str
    funding_account: str
    effective_date: date
    actor: str
    key_prefix: str
    used_lines: dict[str, set[str]] = field(default_factory=dict)

    def key(self, claim: RemittanceClaim, part: str) -> str:
        return (
            f"{self.key_prefix}:{self.payer_id}:{self.trace_number}:"
            f"{claim.claim_id}:{claim.occurrence}:{part}"
        )

    def meta(self, claim: RemittanceClaim, part: str) -> dict[str, str]:
        return {
            "type": EntryType.INSURANCE_PAYMENT.value,
            "trace_number": self.trace_number,
            "era_payer": self.payer_id,
            "era_claim": claim.claim_id,
            "era_part": part,
            "era_funding": self.funding_account,
            "payer_claim_control_number": claim.payer_claim_control_number,
        }


@dataclass(frozen=True, slots=True)
class _BilledLine:
    invoice_line: str
    code: str
    modifiers: tuple[str, ...]
    amount: Money
    dimensions: dict[str, str]


# --- Entry points --------------------------------------------------------------


def post_remittance_file(
    ledger: Ledger, remittance_file: RemittanceFile, *, actor: str = "era"
) -> list[RemittanceOutcome]:
    """Post every transaction set of a parsed 835 file, all or nothing.

    Every set is balance-checked first, so a file with one set off raises
    RemittanceBalanceError naming the line or claim and the difference, and
    posts nothing. A set whose trace number and payer id were posted before
    posts nothing again.
    """
    for remittance in remittance_file.remittances:
        check_balanced(remittance)
    with ledger.atomic() as tx:
        outcomes = [
            _post_remittance(tx, remittance, actor)
            for remittance in remittance_file.remittances
        ]
    for outcome in outcomes:
        logger.info(
            "remittance %s from payer %s: %s, %d claims",
            outcome.trace_number,
            outcome.payer_id,
            "already posted" if outcome.already_posted else "posted",
            len(outcome.claims),
        )
    return outcomes


def expected_deposits(ledger: Ledger) -> list[ExpectedDeposit]:
    """List posted remittances whose money should reach the bank, by payment date.

    Bank reconciliation matches a deposit to one of these by trace number
    (TRN02) and amount (BPR02). Notification-only and zero remittances are left
    out. So is an EFT that reconciliation moved into the bank (its
    `eft-settlement` entry), and a remittance whose record has `deposit` set.
    """
    pending = [
        record
        for _key, record in ledger.store.list_records(ledger.book_id, RECORD_REMITTANCE)
        if record["expected_at_bank"] and not record.get("deposit")
    ]
    settled = settled_eft_traces(ledger, pending)
    found = []
    for record in pending:
        if record["trace_number"] in settled:
            continue
        found.append(
            ExpectedDeposit(
                trace_number=record["trace_number"],
                payer_id=record["payer_id"],
                amount=Money.of(record["amount"]),
                payment_date=_date_or_none(record["payment_date"]),
                method=record["method"],
                account=record["deposit_account"],
            )
        )
    return sorted(found, key=lambda d: (d.payment_date or date.min, d.trace_number))


def settled_eft_traces(
    ledger: Ledger, records: Sequence[dict[str, Any]]
) -> dict[str, str]:
    """Return the trace numbers of these remittance records that reached the bank.

    Maps each to the id of the entry bank reconciliation posted when it matched
    the EFT on a statement and moved it out of Assets:Clearing:Insurance
    (entry type eft_settlement). Checks are deposited with the desk's deposit
    batch, not by trace number, so they never appear here.
    """
    traces = {
        record["trace_number"]
        for record in records
        if record["deposit_account"] == CLEARING_INSURANCE
    }
    if not traces:
        return {}
    days = [
        date.fromisoformat(record["payment_date"] or record["effective_date"])
        for record in records
        if record["trace_number"] in traces
    ]
    # NOTE: a settlement dated more than this before the 835's payment date is
    # missed; bank matching looks only a few days either side of it.
    start = min(days) - _SETTLEMENT_LOOKBACK
    settled = {}
    for entry in ledger.entries(start=start, account=CLEARING_INSURANCE):
        if entry.meta.get("type") != ReconcileEntryType.EFT_SETTLEMENT.value:
            continue
        trace = entry.meta.get("trace_number", "")
        if trace in traces and ledger.reversal_of(entry.seq) is None:
            settled[trace] = entry.id
    return settled


def match_remittance(
    ledger: Ledger, key: str, claim_id: str, *, actor: str
) -> ClaimOutcome:
    """Post an unmatched claim's money from suspense against a claim of the ledger.

    The held CLP posts as if it had named `claim_id`: its lines must match that
    claim's lines, else RemittancePostingError names the lines that did not and nothing is
    written. Denials found on the way go to the correction queue.
    """
    with ledger.atomic() as tx:
        item = queues.open_unmatched_item(tx, key)
        if item.get("claim") is None:
            raise RemittancePostingError(
                f"unmatched item {key!r} is a provider-level adjustment, not a claim; "
                "move it with resolve_unmatched instead"
            )
        claim = claim_from_record(item["claim"])
        visit = _insured_visit(tx, claim_id)
        if visit is None:
            raise RemittancePostingError(
                f"claim {claim_id} is not an insured visit in book {tx.book_id}; "
                "match the remittance to a signed insured visit's claim id"
            )
        context = _Context(
            tx,
            item["payer_id"],
            item["trace_number"],
            SUSPENSE,
            _open_date(tx, tx.clock().date()),
            actor,
            f"era-match:{claim_id}",
        )
        outcome = _post_known_claim(context, claim, claim_id, visit, hold=False)
        queues.close_unmatched(
            tx, item, actor, f"matched to claim {claim_id}", list(outcome.entries)
        )
    logger.info("unmatched remittance %s matched to claim %s", key, claim_id)
    return outcome


# --- One remittance -------------------------------------------------------------


def format_outcome(outcome: RemittanceOutcome) -> list[str]:
    """Describe what posting one remittance did, one claim a line."""
    when = outcome.payment_date.isoformat() if outcome.payment_date else "no date"
    head = (
        f"remittance {outcome.trace_number} from payer {outcome.payer_id}: "
        f"{outcome.amount} by {outcome.method or 'unknown method'} on {when} "
        f"to {outcome.deposit_account}"
    )
    if outcome.already_posted:
        return [head + ": posted before, nothing new"]
    lines = [head]
    for claim in outcome.claims:
        count = len(claim.entries)
        detail = f"paid {claim.paid}, {count} {'entry' if count == 1 else 'entries'}"
        if claim.denials:
            detail += f", {len(claim.denials)} denial(s) queued"
        if claim.unmatched:
            detail += ", held in suspense"
        lines.append(f"  claim {claim.claim_id}: {claim.result} ({detail})")
        lines += [f"    note: {note}" for note in claim.notes]
    for entry_id in outcome.provider_adjustments:
        lines.append(f"  provider-level adjustment: entry {entry_id}")
    return lines


def outcome_document(outcome: RemittanceOutcome) -> dict[str, Any]:
    """Return what posting one remittance did as JSON-ready data."""
    record = _outcome_record_fields(outcome)
    record["already_posted"] = outcome.already_posted
    return record


def remittance_key(payer_id: str, trace_number: str) -> str:
    """Return the key of a remittance record: TRN03 payer id and TRN02 trace number."""
    return f"{payer_id}:{trace_number}"


def _post_remittance(
    ledger: Ledger, remittance: Remittance, actor: str
) -> RemittanceOutcome:
    payment, trace = remittance.payment, remittance.trace
    payer_id = trace.payer_id or remittance.payer.id
    record_key = remittance_key(payer_id, trace.trace_number)
    funding = CLEARING_UNDEPOSITED if payment.method == "CHK" else CLEARING_INSURANCE
    payment_date = payment.payment_date or _production_date(remittance)
    effective_date = _open_date(ledger, payment_date or ledger.clock().date())
    existing = ledger.store.get_record(ledger.book_id, RECORD_REMITTANCE, record_key)
    if existing is not None:
        return _outcome_from_record(existing)

    context = _Context(
        ledger,
        payer_id,
        trace.trace_number,
        funding,
        effective_date,
        actor,
        "era",
    )
    occurrences: dict[str, int] = {}
    claims = []
    for claim_payment in remittance.claims:
        occurrence = occurrences.get(claim_payment.claim_id, 0) + 1
        occurrences[claim_payment.claim_id] = occurrence
        claim = claim_from_era(claim_payment, occurrence)
        claims.append(_post_claim(context, claim))
    provider = [
        _post_provider_adjustment(context, adjustment, number)
        for number, adjustment in enumerate(remittance.provider_adjustments, 1)
    ]

    outcome = RemittanceOutcome(
        trace_number=trace.trace_number,
        payer_id=payer_id,
        amount=payment.total_paid,
        method=payment.method,
        payment_date=payment_date,
        effective_date=effective_date,
        deposit_account=funding,
        already_posted=False,
        claims=tuple(claims),
        provider_adjustments=tuple(provider),
    )
    ledger.store.put_record(
        ledger.book_id,
        RECORD_REMITTANCE,
        record_key,
        _outcome_record(outcome, remittance),
    )
    return outcome


def _post_claim(context: _Context, claim: RemittanceClaim) -> ClaimOutcome:
    visit = _insured_visit(context.ledger, claim.claim_id)
    if visit is None:
        key = _hold(
            context,
            claim,
            claim.paid,
            "claim",
            f"claim id {claim.claim_id} is not an insured visit in this book",
        )
        return ClaimOutcome(
            claim.claim_id, claim.status_code, claim.paid, "unmatched", unmatched=key
        )
    return _post_known_claim(context, claim, claim.claim_id, visit, hold=True)


def _post_known_claim(
    context: _Context,
    claim: RemittanceClaim,
    ledger_claim_id: str,
    visit: dict[str, Any],
    *,
    hold: bool,
) -> ClaimOutcome:
    """Post a claim of the ledger, then record the payer's decision in its lifecycle."""
    if claim.status_code == STATUS_REVERSAL:
        # NOTE: a reversal leaves the lifecycle status as it is; the payer's
        # corrected claim payment that usually follows records the new decision.
        return _reverse_claim(context, claim, ledger_claim_id)
    settled = _already_settled(context, claim, ledger_claim_id)
    if settled is not None:
        if not hold:
            raise RemittancePostingError(f"{settled}; nothing was posted")
        key = _hold(context, claim, claim.paid, "claim", settled)
        return ClaimOutcome(
            claim.claim_id,
            claim.status_code,
            claim.paid,
            "unmatched",
            unmatched=key,
            notes=(settled,),
        )
    outcome = _post_claim_lines(context, claim, ledger_claim_id, visit, hold=hold)
    if outcome.result == "unmatched":
        return outcome
    return _record_decision(context.ledger, claim, ledger_claim_id, outcome)


def _already_settled(
    context: _Context, claim: RemittanceClaim, ledger_claim_id: str
) -> str | None:
    """Return why a claim payment repeats one posted before, or None when it does not.

    A payer that re-sends an 835 under a new trace number (TRN02) repeats claims
    it already paid. Such a claim settles more than is still open with the payer,
    or repeats the payer claim number (CLP07), status and payment of an earlier
    remittance that was not reversed. A corrected remittance reverses the earlier
    one first (CLP02 22), which reopens the receivable, so it still posts.
    """
    ledger = context.ledger
    earlier = _earlier_receivable_entries(ledger, ledger_claim_id)
    if not earlier:
        return None
    traces = ", ".join(dict.fromkeys(e.meta["trace_number"] for e in earlier))
    settles = _receivable_settled(claim)
    open_amount = ledger.balance(RECEIVABLE_INSURANCE, claim=ledger_claim_id).posted
    if settles.cents > 0 and settles > open_amount:
        return (
            f"claim {ledger_claim_id} has {open_amount} open with the payer, but "
            f"remittance {context.trace_number} settles {settles} of it; remittance "
            f"{traces} already settled it. A corrected payment must first reverse the "
            "earlier one (CLP02 22)"
        )
    control = claim.payer_claim_control_number
    if not control or claim.paid.is_zero():
        return None
    for entry in earlier:
        if entry.meta.get("payer_claim_control_number") != control:
            continue
        if _remittance_paid_claim(ledger, entry, claim):
            return (
                f"claim {ledger_claim_id} with payer claim number {control} and "
                f"payment {claim.paid} was already posted from remittance "
                f"{entry.meta['trace_number']}; a corrected payment must first "
                "reverse it (CLP02 22)"
            )
    return None


def _earlier_receivable_entries(
    ledger: Ledger, ledger_claim_id: str
) -> list[JournalEntry]:
    """Return the claim's remittance entries on the payer's receivable not reversed since."""
    return [
        entry
        for entry in ledger.entries(claim=ledger_claim_id)
        if entry.kind is EntryKind.STANDARD
        and "era_part" in entry.meta
        and not entry.meta["era_part"].startswith("reversal")
        and any(p.account == RECEIVABLE_INSURANCE for p in entry.postings)
        and ledger.reversal_of(entry.seq) is None
    ]


def _remittance_paid_claim(
    ledger: Ledger, entry: JournalEntry, claim: RemittanceClaim
) -> bool:
    """True when the remittance that posted `entry` paid this CLP with the same status and amount."""
    key = remittance_key(entry.meta["era_payer"], entry.meta["trace_number"])
    record = ledger.store.get_record(ledger.book_id, RECORD_REMITTANCE, key)
    if record is None:
        return False
    return any(
        earlier["claim_id"] == claim.claim_id
        and earlier["status_code"] == claim.status_code
        and Money.of(earlier["paid"], claim.paid.currency) == claim.paid
        for earlier in record["claims"]
    )


def _receivable_settled(claim: RemittanceClaim) -> Money:
    """Return how much of the payer's receivable posting this claim would settle.

    It mirrors _post_line: line payments and line adjustments that post settle
    the receivable, and denied claim-level adjustments reopen it.
    """
    lines = [line for line in claim.lines if not line.is_empty]
    if not lines:
        lines = [
            RemittanceLine(
                0, "", (), claim.charge, claim.paid, None, claim.adjustments, ()
            )
        ]
        claim_level: tuple[Adjustment, ...] = ()
    else:
        claim_level = claim.adjustments
    settled = Money.zero(claim.paid.currency)
    for line in lines:
        settled = settled + line.paid
        denied = _line_denied(claim, line)
        for adjustment in line.adjustments:
            if _adjustment_account(adjustment, denied) is not None:
                settled = settled + adjustment.amount
    for adjustment in claim_level:
        if _adjustment_account(adjustment, claim.status_code == STATUS_DENIED) is None:
            settled = settled - adjustment.amount
    return settled


def _record_decision(
    ledger: Ledger, claim: RemittanceClaim, ledger_claim_id: str, outcome: ClaimOutcome
) -> ClaimOutcome:
    """Mark the stored claim paid or denied, with the payer's claim number (CLP07).

    A claim is denied when CLP02 is 4 or every line the remittance matched was
    denied. A claim with some lines paid is paid, and its denied lines are
    queued. A stored claim that cannot move to the decision (a draft, or a paid
    claim the payer now denies) keeps its status and the outcome notes why, so
    the money still posts.
    """
    status = ClaimStatus.DENIED if outcome.decision == "denied" else ClaimStatus.PAID
    reason = None
    if status is ClaimStatus.DENIED:
        reason = _denial_reason(claim)
    try:
        mark_claim_adjudicated(
            ledger,
            ledger_claim_id,
            status,
            payer_claim_number=claim.payer_claim_control_number or None,
            reason=reason,
        )
    except ClaimStateError as error:
        logger.warning("claim %s: status not recorded: %s", ledger_claim_id, error)
        note = f"claim status not recorded: {error}"
        return replace(outcome, notes=(*outcome.notes, note))
    return outcome


def _denial_reason(claim: RemittanceClaim) -> str:
    """Return the denial's CARC codes (CO-16, ...), else CLP02 4."""
    adjustments = [*claim.adjustments]
    for line in claim.lines:
        adjustments += line.adjustments
    codes = [
        f"{a.group_code}-{a.reason_code}"
        for a in adjustments
        if a.group_code != "PR" and queues.is_denial_reason(a.reason_code)
    ]
    if codes:
        return "denied by the payer: " + " ".join(dict.fromkeys(codes))
    return "denied by the payer (CLP02 4)"


def _line_denied(claim: RemittanceClaim, line: RemittanceLine) -> bool:
    """True when the payer denied a line: CLP02 4, or nothing paid for a denial reason."""
    return claim.status_code == STATUS_DENIED or (
        line.paid.is_zero()
        and any(
            a.group_code != "PR" and queues.is_denial_reason(a.reason_code)
            for a in line.adjustments
        )
    )


def _post_claim_lines(
    context: _Context,
    claim: RemittanceClaim,
    ledger_claim_id: str,
    visit: dict[str, Any],
    *,
    hold: bool,
) -> ClaimOutcome:

    billed = _billed_lines(context.ledger, ledger_claim_id, visit)
    lines = [line for line in claim.lines if not line.is_empty]
    if not lines:
        return _post_claim_without_lines(context, claim, billed)
    _check_line_totals(claim, lines)

    used = context.used_lines.setdefault(ledger_claim_id, set())
    matches, unmatched, notes = _match_lines(
        lines, billed, used, date.fromisoformat(visit["date_of_service"])
    )
    if not matches:
        if not hold:
            raise _no_match_error(claim, ledger_claim_id, unmatched)
        key = _hold(
            context,
            claim,
            claim.paid,
            "claim",
            f"no service line matches a line billed on claim {ledger_claim_id}",
        )
        return ClaimOutcome(
            claim.claim_id, claim.status_code, claim.paid, "unmatched", unmatched=key
        )
    if unmatched and not hold:
        raise _no_match_error(claim, ledger_claim_id, unmatched)

    weights = [line.charge.cents for line, _billed in matches]
    if not any(weights):
        weights = [1] * len(matches)
    shares = [
        (adjustment, allocate(adjustment.amount, weights))
        for adjustment in claim.adjustments
    ]
    entries: list[str] = []
    denials: list[str] = []
    for index, (line, billed_line) in enumerate(matches):
        claim_level = [
            _with_amount(adjustment, parts[index]) for adjustment, parts in shares
        ]
        entry, denial = _post_line(
            context, claim, str(line.number), billed_line, line, claim_level
        )
        entries += [entry.id] if entry else []
        denials += [denial] if denial else []

    held: tuple[str, ...] = ()
    if unmatched:
        partial = _subset(claim, unmatched)
        held = _hold(
            context,
            partial,
            partial.paid,
            "lines",
            "service line(s) "
            + ", ".join(
                f"{line.number} ({line.code} {line.charge})" for line in unmatched
            )
            + f" match no line billed on claim {ledger_claim_id}",
        )
    result = "denied" if denials and not entries else "posted"
    if held:
        result = "partly unmatched"
    denied = all(_line_denied(claim, line) for line, _billed in matches)
    return ClaimOutcome(
        claim.claim_id,
        claim.status_code,
        claim.paid,
        result,
        tuple(entries),
        tuple(denials),
        held,
        tuple(notes),
        "denied" if denied else "paid",
    )


def _post_claim_without_lines(
    context: _Context, claim: RemittanceClaim, billed: list[_BilledLine]
) -> ClaimOutcome:
    """Spread a claim-level decision over the claim's billed lines, by what is open on each."""
    open_by_line = {
        line.invoice_line: line.open
        for line in claim_lines(context.ledger, claim.claim_id)
    }
    weights = [
        max(open_by_line.get(b.invoice_line, Money.zero()).cents, 0) for b in billed
    ]
    if not any(weights):
        weights = [b.amount.cents for b in billed]
    paid_parts = allocate(claim.paid, weights)
    adjustment_parts = [
        (adjustment, allocate(adjustment.amount, weights))
        for adjustment in claim.adjustments
    ]
    entries: list[str] = []
    denials: list[str] = []
    denied = bool(billed)
    for index, billed_line in enumerate(billed):
        line = RemittanceLine(
            number=index + 1,
            code=billed_line.code,
            modifiers=billed_line.modifiers,
            charge=billed_line.amount,
            paid=paid_parts[index],
            service_date=None,
            adjustments=tuple(
                _with_amount(adjustment, parts[index])
                for adjustment, parts in adjustment_parts
            ),
            remarks=claim.remarks,
        )
        entry, denial = _post_line(
            context, claim, f"claim-{index + 1}", billed_line, line, []
        )
        entries += [entry.id] if entry else []
        denials += [denial] if denial else []
        denied = denied and _line_denied(claim, line)
    result = "denied" if denials and not entries else "posted"
    return ClaimOutcome(
        claim.claim_id,
        claim.status_code,
        claim.paid,
        result,
        tuple(entries),
        tuple(denials),
        decision="denied" if denied else "paid",
    )


# --- One line ---------------------------------------------------------------------


def _post_line(
    context: _Context,
    claim: RemittanceClaim,
    part: str,
    billed: _BilledLine,
    line: RemittanceLine,
    claim_level: list[Adjustment],
) -> tuple[JournalEntry | None, str | None]:
    """Post one line's payment and adjustments; queue what a denial leaves open.

    Line adjustments settle the payer's receivable. Claim-level adjustments of
    a claim with service lines reduce the money instead, since the line
    payments already settled the receivable; a denied one reopens it.
    """
    dimensions = billed.dimensions
    patient_dimensions = {
        name: value for name, value in dimensions.items() if name in _PATIENT_DIMENSIONS
    }
    funding_dimensions: dict[str, str] = {
        name: dimensions[name] for name in ("payer", "claim") if name in dimensions
    }
    line_denied = _line_denied(claim, line)
    amounts: dict[str, Money] = {}

    def add(account: str, amount: Money) -> None:
        amounts[account] = amounts.get(account, Money.zero()) + amount

    add(context.funding_account, line.paid)
    add(RECEIVABLE_INSURANCE, -line.paid)
    left_open: list[Adjustment] = []
    for adjustment in line.adjustments:
        target = _adjustment_account(adjustment, line_denied)
        if target is None:
            left_open.append(adjustment)
            continue
        add(target, adjustment.amount)
        add(RECEIVABLE_INSURANCE, -adjustment.amount)
    for adjustment in claim_level:
        target = _adjustment_account(adjustment, claim.status_code == STATUS_DENIED)
        if target is None:
            left_open.append(adjustment)
            target = RECEIVABLE_INSURANCE
        add(target, adjustment.amount)
        add(context.funding_account, -adjustment.amount)

    postings = []
    for account, amount in amounts.items():
        if amount.is_zero():
            continue
        if account == RECEIVABLE_PATIENTS:
            dims = patient_dimensions
        elif account == context.funding_account:
            dims = funding_dimensions
        else:
            dims = dimensions
        postings.append(Posting.with_dimensions(account, amount, dims))
    entry = None
    if len(postings) >= 2:
        entry = context.ledger.post(
            Entry(
                effective_date=context.effective_date,
                narration=(
                    f"Payer remittance on claim {dimensions.get('claim')} line "
                    f"{billed.code}, trace {context.trace_number}"
                ),
                postings=tuple(postings),
                actor=context.actor,
                links=(dimensions["invoice"],),
                meta=context.meta(claim, part),
                idempotency_key=context.key(claim, part),
            )
        )
    denial = None
    if left_open:
        denial = _queue_denial(context, claim, part, billed, line, left_open)
    return entry, denial


def _adjustment_account(adjustment: Adjustment, line_denied: bool) -> str | None:
    """Return where an adjustment posts, or None when a denial leaves it open."""
    if adjustment.group_code == "PR":
        return RECEIVABLE_PATIENTS
    if line_denied or queues.is_denial_reason(adjustment.reason_code):
        return None
    # CO, OA, PI and CR: a write-off the clinic absorbs.
    return CONTRACTUAL


def _queue_denial(
    context: _Context,
    claim: RemittanceClaim,
    part: str,
    billed: _BilledLine,
    line: RemittanceLine,
    left_open: list[Adjustment],
) -> str:
    key = context.key(claim, part).removeprefix(f"{context.key_prefix}:")
    amount = Money(sum(a.amount.cents for a in left_open))
    reason_codes = [a.reason_code for a in left_open]
    remarks = list(dict.fromkeys([*line.remarks, *claim.remarks]))
    action = queues.suggested_denial_action(reason_codes)
    queues.queue_item(
        context.ledger,
        queues.RECORD_DENIAL,
        key,
        {
            "claim": billed.dimensions.get("claim"),
            "era_claim": claim.claim_id,
            "claim_status": claim.status_code,
            "line": part,
            "invoice_line": billed.invoice_line,
            "code": billed.code,
            "modifiers": list(billed.modifiers),
            "service_date": line.service_date.isoformat()
            if line.service_date
            else None,
            "charge": str(line.charge),
            "paid": str(line.paid),
            "amount": str(amount),
            "reason_codes": reason_codes,
            "adjustments": [
                {
                    "group": a.group_code,
                    "reason": a.reason_code,
                    "amount": str(a.amount),
                    "meaning": describe_adjustment(a.group_code, a.reason_code),
                    "next_step": suggested_action(a.group_code, a.reason_code),
                }
                for a in left_open
            ],
            "remarks": [
                {"code": code, "meaning": describe_remark(code)} for code in remarks
            ],
            "suggested_action": action.value,
            "dimensions": billed.dimensions,
            "trace_number": context.trace_number,
            "payer_id": context.payer_id,
            "effective_date": context.effective_date.isoformat(),
        },
    )
    logger.info("claim %s line %s: denial queued as %s", claim.claim_id, part, key)
    return key


# --- Reversals ------------------------------------------------------------------


def _reverse_claim(
    context: _Context, claim: RemittanceClaim, ledger_claim_id: str
) -> ClaimOutcome:
    """Reverse the latest remittance posted on a claim (CLP02 22), with Ledger.reverse.

    The payer takes the money back out of this check, so the reversed cash moves
    from the original funding account to this remittance's. A reversal amount
    that differs from what was posted leaves the difference in suspense.
    """
    ledger = context.ledger
    originals = _latest_remittance_entries(context, claim, ledger_claim_id)
    if not originals:
        key = _hold(
            context,
            claim,
            claim.paid,
            "claim",
            f"reversal of claim {ledger_claim_id}: no earlier remittance posted on it",
        )
        return ClaimOutcome(
            claim.claim_id, claim.status_code, claim.paid, "unmatched", unmatched=key
        )

    reason = (
        f"payer reversed claim {ledger_claim_id} (CLP02 22) in remittance "
        f"{context.trace_number}"
    )
    entries = []
    cash_by_account: dict[str, Money] = {}
    for original in originals:
        reversal = ledger.reverse(
            original.seq,
            actor=context.actor,
            reason=reason,
            effective_date=context.effective_date,
            idempotency_key=context.key(claim, f"reverses-{original.seq}"),
        )
        entries.append(reversal.id)
        funding = original.meta["era_funding"]
        cash = Money(
            sum(p.amount.cents for p in original.postings if p.account == funding)
        )
        cash_by_account[funding] = cash_by_account.get(funding, Money.zero()) + cash

    for funding, cash in sorted(cash_by_account.items()):
        if funding == context.funding_account or cash.is_zero():
            continue
        entries.append(
            ledger.post(
                Entry(
                    effective_date=context.effective_date,
                    narration=(
                        f"Reversed payment on claim {ledger_claim_id} taken from "
                        f"remittance {context.trace_number}"
                    ),
                    postings=(
                        Posting(funding, cash),
                        Posting(context.funding_account, -cash),
                    ),
                    actor=context.actor,
                    meta=context.meta(claim, f"reversal-funding-{funding}"),
                    idempotency_key=context.key(claim, f"reversal-funding-{funding}"),
                )
            ).id
        )

    reversed_cash = Money(sum(cash.cents for cash in cash_by_account.values()))
    notes: list[str] = []
    unmatched: tuple[str, ...] = ()
    difference = claim.paid + reversed_cash
    if not difference.is_zero():
        notes.append(
            f"the reversal pays {claim.paid} but {reversed_cash} was posted; "
            f"{difference} held in suspense"
        )
        unmatched = _hold(context, claim, difference, "reversal-difference", notes[0])
    _close_reversed_denials(context, ledger_claim_id, originals)
    return ClaimOutcome(
        claim.claim_id,
        claim.status_code,
        claim.paid,
        "reversed",
        tuple(entries),
        (),
        unmatched,
        tuple(notes),
    )


def _latest_remittance_entries(
    context: _Context, claim: RemittanceClaim, ledger_claim_id: str
) -> list[JournalEntry]:
    ledger = context.ledger
    candidates = [
        entry
        for entry in ledger.entries(claim=ledger_claim_id)
        if entry.kind is EntryKind.STANDARD
        and "era_part" in entry.meta
        and not entry.meta["era_part"].startswith("reversal")
        and (entry.meta["trace_number"], entry.meta["era_payer"])
        != (context.trace_number, context.payer_id)
        and ledger.reversal_of(entry.seq) is None
    ]
    control = claim.payer_claim_control_number
    same_control = [
        e
        for e in candidates
        if control and e.meta.get("payer_claim_control_number") == control
    ]
    pool = same_control or candidates
    if not pool:
        return []
    latest = pool[-1].meta["trace_number"], pool[-1].meta["era_payer"]
    return [e for e in pool if (e.meta["trace_number"], e.meta["era_payer"]) == latest]


def _close_reversed_denials(
    context: _Context, ledger_claim_id: str, originals: list[JournalEntry]
) -> None:
    traces = {entry.meta["trace_number"] for entry in originals}
    for item in queues.list_denials(context.ledger):
        if item["claim"] == ledger_claim_id and item["trace_number"] in traces:
            item["status"] = queues.RESOLVED
            item["resolution"] = {"note": "the payer reversed the claim", "entry": None}
            context.ledger.store.put_record(
                context.ledger.book_id, queues.RECORD_DENIAL, item["key"], item
            )


# --- Unmatched money and provider adjustments -----------------------------------


def _hold(
    context: _Context, claim: RemittanceClaim, amount: Money, part: str, reason: str
) -> tuple[str, ...]:
    """Put money that belongs to no known claim line in suspense, and queue it."""
    key = context.key(claim, part).removeprefix(f"{context.key_prefix}:")
    entry = None
    if not amount.is_zero():
        entry = context.ledger.post(
            Entry(
                effective_date=context.effective_date,
                narration=(
                    f"Unmatched remittance for claim {claim.claim_id}, trace "
                    f"{context.trace_number}, held in suspense"
                ),
                postings=(
                    Posting(context.funding_account, amount),
                    Posting(SUSPENSE, -amount, claim=claim.claim_id),
                ),
                actor=context.actor,
                meta=context.meta(claim, part),
                idempotency_key=context.key(claim, part),
            )
        )
    queues.queue_item(
        context.ledger,
        queues.RECORD_UNMATCHED,
        key,
        {
            "kind": "claim",
            "era_claim": claim.claim_id,
            "claim_status": claim.status_code,
            "reason": reason,
            "held": str(amount),
            "entry": entry.id if entry else None,
            "trace_number": context.trace_number,
            "payer_id": context.payer_id,
            "effective_date": context.effective_date.isoformat(),
            "claim": claim_to_record(claim),
        },
    )
    logger.info("claim %s: %s; queued as %s", claim.claim_id, reason, key)
    return (key,)


def _post_provider_adjustment(
    context: _Context, adjustment: ProviderAdjustment, number: int
) -> str:
    """Post one PLB reason against the money of the check; return the entry id.

    Interest (L6) is income on Income:Interest. Every other reason (WO overpayment
    recovery, 72 authorized return, FB forwarding balance and the rest) goes to
    suspense and the unmatched queue, until someone ties it to its claim or refund.
    """
    ledger = context.ledger
    reason = adjustment.reason_code
    if reason == "L6":
        if all(account.name != INTEREST_INCOME for account in ledger.accounts()):
            ledger.open_account(
                chart_account(INTEREST_INCOME, adjustment.amount.currency)
            )
        target = INTEREST_INCOME
    else:
        target = SUSPENSE
    part = f"plb-{number}"
    key = f"{context.payer_id}:{context.trace_number}:{part}"
    entry = ledger.post(
        Entry(
            effective_date=context.effective_date,
            narration=(
                f"Provider-level adjustment {reason} {adjustment.reference_id} on "
                f"remittance {context.trace_number}"
            ).replace("  ", " "),
            postings=(
                Posting(target, adjustment.amount),
                Posting(context.funding_account, -adjustment.amount),
            ),
            actor=context.actor,
            meta={
                "type": EntryType.INSURANCE_PAYMENT.value,
                "trace_number": context.trace_number,
                "era_payer": context.payer_id,
                "era_plb": reason,
                "era_plb_reference": adjustment.reference_id,
                "era_funding": context.funding_account,
            },
            idempotency_key=f"era:{key}",
        )
    )
    if target == SUSPENSE:
        queues.queue_item(
            ledger,
            queues.RECORD_UNMATCHED,
            key,
            {
                "kind": "provider_adjustment",
                "reason": f"provider-level adjustment {reason} "
                f"{adjustment.reference_id}".strip(),
                "plb_reason": reason,
                "reference_id": adjustment.reference_id,
                "held": str(-adjustment.amount),
                "entry": entry.id,
                "trace_number": context.trace_number,
                "payer_id": context.payer_id,
                "effective_date": context.effective_date.isoformat(),
                "claim": None,
            },
        )
    return entry.id


# --- Matching --------------------------------------------------------------------


def _insured_visit(ledger: Ledger, claim_id: str) -> dict[str, Any] | None:
    record = ledger.store.get_record(ledger.book_id, RECORD_VISIT, claim_id)
    if record is None or record.get("voided"):
        return None
    if record["visit"]["coverage"]["kind"] != "insured":
        return None
    return record


def _billed_lines(
    ledger: Ledger, claim_id: str, visit: dict[str, Any]
) -> list[_BilledLine]:
    dimensions = {
        line.invoice_line: line.dimensions for line in claim_lines(ledger, claim_id)
    }
    return [
        _BilledLine(
            line["invoice_line"],
            line["code"],
            tuple(line["modifiers"]),
            Money.of(line["amount"]),
            dimensions[line["invoice_line"]],
        )
        for line in visit["lines"]
        if line["invoice_line"] in dimensions
    ]


def _match_lines(
    lines: Sequence[RemittanceLine],
    billed: list[_BilledLine],
    used: set[str],
    date_of_service: date,
) -> tuple[list[tuple[RemittanceLine, _BilledLine]], list[RemittanceLine], list[str]]:
    """Pair each SVC line with a billed line: same code and charge, same modifiers
    or fewer (a payer may drop one), the date of service breaking ties."""
    matches = []
    unmatched = []
    notes = []
    for line in lines:
        best: tuple[tuple[int, int, int], _BilledLine] | None = None
        for index, candidate in enumerate(billed):
            if candidate.invoice_line in used:
                continue
            if candidate.code != line.code or candidate.amount != line.charge:
                continue
            if set(line.modifiers) == set(candidate.modifiers):
                modifier_rank = 0
            elif set(line.modifiers) < set(candidate.modifiers):
                modifier_rank = 1
            else:
                continue
            date_rank = 0 if line.service_date in (None, date_of_service) else 1
            rank = (modifier_rank, date_rank, index)
            if best is None or rank < best[0]:
                best = (rank, candidate)
        if best is None:
            unmatched.append(line)
            continue
        rank, candidate = best
        used.add(candidate.invoice_line)
        matches.append((line, candidate))
        if rank[1]:
            notes.append(
                f"line {line.number} ({line.code}) is dated {line.service_date}, the "
                f"visit {date_of_service}; matched on code and charge"
            )
        if rank[0]:
            notes.append(
                f"line {line.number} ({line.code}) came back without modifier(s) "
                f"{' '.join(sorted(set(candidate.modifiers) - set(line.modifiers)))}"
            )
    return matches, unmatched, notes


def _check_line_totals(claim: RemittanceClaim, lines: Sequence[RemittanceLine]) -> None:
    line_paid = sum(line.paid.cents for line in lines)
    claim_adjusted = sum(adjustment.amount.cents for adjustment in claim.adjustments)
    if line_paid - claim_adjusted != claim.paid.cents:
        raise RemittancePostingError(
            f"claim {claim.claim_id}: its service lines charge "
            f"{Money(sum(line.charge.cents for line in lines))} but CLP03 is "
            f"{claim.charge}, so the line payments less claim adjustments "
            f"({Money(line_paid - claim_adjusted)}) differ from CLP04 {claim.paid}; "
            "post this claim by hand or ask the payer for an itemised 835"
        )


def _no_match_error(
    claim: RemittanceClaim, claim_id: str, unmatched: Sequence[RemittanceLine]
) -> RemittancePostingError:
    described = ", ".join(
        f"{line.number} ({line.code} {'-'.join(line.modifiers)} {line.charge})"
        for line in unmatched
    )
    return RemittancePostingError(
        f"remittance claim {claim.claim_id}: service line(s) {described} match no "
        f"line billed on claim {claim_id}; match it to the claim that billed them"
    )


# --- Conversions -------------------------------------------------------------------


def claim_from_era(claim: ClaimPayment, occurrence: int) -> RemittanceClaim:
    """Normalise a parsed CLP loop for posting."""
    remarks: tuple[str, ...] = ()
    if claim.outpatient is not None:
        remarks += claim.outpatient.remark_codes
    if claim.inpatient is not None:
        remarks += claim.inpatient.remark_codes
    return RemittanceClaim(
        claim_id=claim.claim_id,
        occurrence=occurrence,
        status_code=claim.status_code,
        charge=claim.charge,
        paid=claim.paid,
        payer_claim_control_number=claim.payer_claim_control_number,
        adjustments=claim.adjustments,
        lines=tuple(
            _line_from_era(number, line)
            for number, line in enumerate(claim.service_lines, 1)
        ),
        remarks=remarks,
    )


def _line_from_era(number: int, line: ServiceLine) -> RemittanceLine:
    billed = line.original_procedure or line.procedure
    service_date = None
    for qualifier in ("472", "150"):
        for reference in line.dates:
            if reference.qualifier == qualifier and reference.value is not None:
                service_date = reference.value
                break
        if service_date is not None:
            break
    return RemittanceLine(
        number=number,
        code=_procedure_code(billed.code),
        modifiers=tuple(m.upper() for m in billed.modifiers),
        charge=line.charge,
        paid=line.paid,
        service_date=service_date,
        adjustments=line.adjustments,
        remarks=tuple(remark.code for remark in line.remarks),
    )


def _procedure_code(code: str) -> str:
    """Return a procedure code in upper case, without a numeric tail such as '.00'.

    A payer sample writes CPT 24599 as SVC*HC*24599.00; the reader keeps that text.
    """
    head, dot, tail = code.upper().partition(".")
    if dot and head.isdigit() and len(head) == 5 and set(tail) <= {"0"}:
        return head
    return head + dot + tail


def claim_to_record(claim: RemittanceClaim) -> dict[str, Any]:
    """Return a claim as JSON-ready data, for the unmatched queue."""
    return {
        "claim_id": claim.claim_id,
        "occurrence": claim.occurrence,
        "status_code": claim.status_code,
        "charge": str(claim.charge),
        "paid": str(claim.paid),
        "payer_claim_control_number": claim.payer_claim_control_number,
        "adjustments": [_adjustment_record(a) for a in claim.adjustments],
        "remarks": list(claim.remarks),
        "lines": [
            {
                "number": line.number,
                "code": line.code,
                "modifiers": list(line.modifiers),
                "charge": str(line.charge),
                "paid": str(line.paid),
                "service_date": line.service_date.isoformat()
                if line.service_date
                else None,
                "adjustments": [_adjustment_record(a) for a in line.adjustments],
                "remarks": list(line.remarks),
            }
            for line in claim.lines
        ],
    }


def claim_from_record(record: dict[str, Any]) -> RemittanceClaim:
    """Rebuild a claim stored by claim_to_record."""
    return RemittanceClaim(
        claim_id=record["claim_id"],
        occurrence=int(record["occurrence"]),
        status_code=record["status_code"],
        charge=Money.of(record["charge"]),
        paid=Money.of(record["paid"]),
        payer_claim_control_number=record["payer_claim_control_number"],
        adjustments=tuple(_adjustment_from(a) for a in record["adjustments"]),
        lines=tuple(
            RemittanceLine(
                number=int(line["number"]),
                code=line["code"],
                modifiers=tuple(line["modifiers"]),
                charge=Money.of(line["charge"]),
                paid=Money.of(line["paid"]),
                service_date=_date_or_none(line["service_date"]),
                adjustments=tuple(_adjustment_from(a) for a in line["adjustments"]),
                remarks=tuple(line["remarks"]),
            )
            for line in record["lines"]
        ),
        remarks=tuple(record["remarks"]),
    )


def _adjustment_record(adjustment: Adjustment) -> list[str]:
    return [adjustment.group_code, adjustment.reason_code, str(adjustment.amount)]


def _adjustment_from(values: list[str]) -> Adjustment:
    return Adjustment(values[0], values[1], Money.of(values[2]), None)


def _with_amount(adjustment: Adjustment, amount: Money) -> Adjustment:
    return Adjustment(adjustment.group_code, adjustment.reason_code, amount, None)


def _subset(claim: RemittanceClaim, lines: Sequence[RemittanceLine]) -> RemittanceClaim:
    """Return the claim cut down to some of its lines, without claim-level adjustments."""
    return RemittanceClaim(
        claim_id=claim.claim_id,
        occurrence=claim.occurrence,
        status_code=claim.status_code,
        charge=Money(sum(line.charge.cents for line in lines)),
        paid=Money(sum(line.paid.cents for line in lines)),
        payer_claim_control_number=claim.payer_claim_control_number,
        adjustments=(),
        lines=tuple(lines),
        remarks=claim.remarks,
    )


def _production_date(remittance: Remittance) -> date | None:
    for reference in remittance.dates:
        if reference.qualifier == "405" and reference.value is not None:
            return reference.value
    return None


def _open_date(ledger: Ledger, day: date) -> date:
    """Return `day`, or the ledger's today when `day` falls in a closed period."""
    closed = ledger.closed_through()
    if closed is not None and day <= closed:
        return ledger.clock().date()
    return day


def _date_or_none(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _outcome_record(
    outcome: RemittanceOutcome, remittance: Remittance
) -> dict[str, Any]:
    payment = remittance.payment
    expected = (
        payment.handling_code != _NOTIFICATION_ONLY
        and payment.method != "NON"
        and outcome.amount.cents > 0
    )
    record = _outcome_record_fields(outcome)
    record.update(
        {
            "payer_name": remittance.payer.name,
            "control_number": remittance.control_number,
            "credit_debit": payment.credit_debit,
            "expected_at_bank": expected,
            "deposit": None,
        }
    )
    return record


def _outcome_record_fields(outcome: RemittanceOutcome) -> dict[str, Any]:
    return {
        "trace_number": outcome.trace_number,
        "payer_id": outcome.payer_id,
        "amount": str(outcome.amount),
        "method": outcome.method,
        "payment_date": outcome.payment_date.isoformat()
        if outcome.payment_date
        else None,
        "effective_date": outcome.effective_date.isoformat(),
        "deposit_account": outcome.deposit_account,
        "claims": [
            {
                "claim_id": claim.claim_id,
                "status_code": claim.status_code,
                "paid": str(claim.paid),
                "result": claim.result,
                "entries": list(claim.entries),
                "denials": list(claim.denials),
                "unmatched": list(claim.unmatched),
                "notes": list(claim.notes),
                "decision": claim.decision,
            }
            for claim in outcome.claims
        ],
        "provider_adjustments": list(outcome.provider_adjustments),
    }


def _outcome_from_record(record: dict[str, Any]) -> RemittanceOutcome:
    return RemittanceOutcome(
        trace_number=record["trace_number"],
        payer_id=record["payer_id"],
        amount=Money.of(record["amount"]),
        method=record["method"],
        payment_date=_date_or_none(record["payment_date"]),
        effective_date=date.fromisoformat(record["effective_date"]),
        deposit_account=record["deposit_account"],
        already_posted=True,
        claims=tuple(
            ClaimOutcome(
                claim["claim_id"],
                claim["status_code"],
                Money.of(claim["paid"]),
                claim["result"],
                tuple(claim["entries"]),
                tuple(claim["denials"]),
                tuple(claim["unmatched"]),
                tuple(claim["notes"]),
                claim.get("decision"),
            )
            for claim in record["claims"]
        ),
        provider_adjustments=tuple(record["provider_adjustments"]),
    )
