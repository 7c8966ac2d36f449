"""The claim lifecycle kept in records: drafts from insured visits, scrubbing, submission, adjudication.

Claims live beside the journal as records of kind "claim", keyed by claim id
(the visit id). No step here posts an entry: the charge posted when the visit
was signed, and the payer's money posts from its remittance.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

from ona_ledger.billing.common import RECORD_VISIT
from ona_ledger.billing.insurance import claim_lines
from ona_ledger.claims.claim import Claim, ClaimStatus, Demographics
from ona_ledger.claims.from_visit import ClinicConfig, claim_from_record
from ona_ledger.claims.scrub import Finding, PayerRules, ScrubResult, Severity, scrub
from ona_ledger.claims.x837 import InterchangeSettings, X12File, write_837p
from ona_ledger.errors import ClaimStateError, InvalidClaimError
from ona_ledger.ledger import Ledger

logger = logging.getLogger(__name__)

RECORD_CLAIM: Final = "claim"
UNSENT: Final = frozenset({ClaimStatus.DRAFT, ClaimStatus.SCRUBBED})
# A claim in one of these states reached the payer, so a second claim with
# the same fingerprint is a duplicate. A rejected claim never reached it.
SENT: Final = frozenset(
    {ClaimStatus.SUBMITTED, ClaimStatus.ACCEPTED, ClaimStatus.PAID, ClaimStatus.DENIED}
)
ADJUDICATED: Final = frozenset(
    {ClaimStatus.ACCEPTED, ClaimStatus.REJECTED, ClaimStatus.PAID, ClaimStatus.DENIED}
)


@dataclass(frozen=True, slots=True)
class StoredClaim:
    """A claim as stored: the claim, its fingerprint and the findings of its last scrub."""

    claim: Claim
    fingerprint: str
    findings: tuple[Finding, ...]


def get_claim(ledger: Ledger, claim_id: str) -> StoredClaim:
    """Read a stored claim, or raise InvalidClaimError when there is none."""
    record = ledger.store.get_record(ledger.book_id, RECORD_CLAIM, claim_id)
    if record is None:
        raise InvalidClaimError(
            f"claim {claim_id} does not exist in book {ledger.book_id}; claims are "
            "drafted from signed insured visits by `ona-ledger claims scrub`"
        )
    return _from_record(record)


def list_claims(
    ledger: Ledger, statuses: Collection[ClaimStatus] | None = None
) -> list[StoredClaim]:
    """Return the stored claims in claim id order, optionally only those in `statuses`."""
    stored = [
        _from_record(record)
        for _key, record in ledger.store.list_records(ledger.book_id, RECORD_CLAIM)
    ]
    if statuses is None:
        return stored
    return [item for item in stored if item.claim.status in statuses]


def draft_claims(ledger: Ledger, config: ClinicConfig) -> list[Claim]:
    """Draft or refresh the claim of every insured visit with an open insurance balance.

    An unsent claim is rebuilt from the visit's last signed version, so an
    amended note changes it and sends it back to draft. A sent claim is left
    as it is. Returns the unsent claims, in claim id order.
    """
    unsent: list[Claim] = []
    for visit_id, record in ledger.store.list_records(ledger.book_id, RECORD_VISIT):
        if record.get("voided") or record["visit"]["coverage"]["kind"] != "insured":
            continue
        stored = ledger.store.get_record(ledger.book_id, RECORD_CLAIM, visit_id)
        current = _from_record(stored).claim if stored is not None else None
        if current is not None and current.status not in UNSENT:
            continue
        if not _insurance_open(ledger, visit_id):
            logger.debug("visit %s: nothing open with the payer, no claim", visit_id)
            continue
        claim = claim_from_record(record, config)
        if current is not None and claim == current.model_copy(
            update={"status": ClaimStatus.DRAFT}
        ):
            unsent.append(current)
            continue
        if current is not None:
            logger.info("claim %s: rebuilt from the amended visit", visit_id)
        _save(ledger, claim, findings=())
        unsent.append(claim)
    return unsent


def _insurance_open(ledger: Ledger, claim_id: str) -> bool:
    return sum(line.open.cents for line in claim_lines(ledger, claim_id)) > 0


def scrub_claims(
    ledger: Ledger, rules: PayerRules | None, *, today: date
) -> list[ScrubResult]:
    """Scrub every unsent claim: a clean claim becomes scrubbed, one with errors stays draft.

    Besides the scrubber's rules, a claim is a duplicate when another claim
    already sent, or passed earlier in this run, bills the same thing.
    """
    passed_now: dict[str, str] = {}
    results: list[ScrubResult] = []
    with ledger.atomic() as tx:
        sent = {item.fingerprint: item.claim.claim_id for item in list_claims(tx, SENT)}
        for item in list_claims(tx, UNSENT):
            claim = item.claim
            earlier = {**sent, **passed_now}
            others = {fp for fp, owner in earlier.items() if owner != claim.claim_id}
            result = scrub(claim, today=today, rules=rules, sent_fingerprints=others)
            if result.passed:
                passed_now[item.fingerprint] = claim.claim_id
                status = ClaimStatus.SCRUBBED
            else:
                status = ClaimStatus.DRAFT
            if claim.status is not status:
                claim = claim.transition(status)
            _save(tx, claim, findings=result.findings)
            results.append(result)
    blocked = sum(1 for result in results if not result.passed)
    logger.info("scrubbed %d claims: %d blocked", len(results), blocked)
    return results


def submit_claims(
    ledger: Ledger,
    demographics: Demographics,
    settings: InterchangeSettings,
    out: Path,
    *,
    now: datetime,
) -> X12File:
    """Write every scrubbed claim into one 837P file at `out` and mark them submitted.

    Control numbers come from the book's sequences. The file appears (by an
    atomic rename) only inside the transaction that marks the claims, so a
    failure leaves neither a file nor a claim marked sent. Moves no money.
    """
    with ledger.atomic() as tx:
        claims = [item.claim for item in list_claims(tx, {ClaimStatus.SCRUBBED})]
        if not claims:
            raise InvalidClaimError(
                f"no scrubbed claims to send in book {tx.book_id}; run "
                "`ona-ledger claims scrub` and fix what it reports"
            )

        def next_control_number(name: str) -> int:
            return tx.store.next_sequence(tx.book_id, name)

        written = write_837p(claims, demographics, settings, next_control_number, now)
        submissions = written.submissions(out.name)
        for claim in claims:
            sent = claim.transition(
                ClaimStatus.SUBMITTED, submission=submissions[claim.claim_id]
            )
            _save(tx, sent, findings=())
        _write_atomically(out, written.text)
        # NOTE: if the commit fails after this rename, the file exists while
        # the claims stay scrubbed; delete the file before sending again.
    logger.info(
        "submitted %d claims in %s, interchange %09d",
        len(claims),
        out.name,
        written.interchange_control_number,
    )
    return written


def _write_atomically(out: Path, text: str) -> None:
    """Write `text` to `out` through a `.partial` file that is removed when writing fails."""
    partial = out.with_name(out.name + ".partial")
    try:
        partial.write_text(text, encoding="ascii", newline="")
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def mark_claim_adjudicated(
    ledger: Ledger,
    claim_id: str,
    status: ClaimStatus,
    *,
    payer_claim_number: str | None = None,
    reason: str | None = None,
) -> Claim | None:
    """Record a payer's or clearinghouse's decision on a submitted claim.

    `status` is accepted, rejected, paid or denied. A remittance implies the
    claim was accepted, so a submitted claim passes through accepted on its
    way to paid or denied. Marking the status a claim already has changes
    nothing. Returns None for a claim id with no stored claim (one sent
    outside ona_ledger). Pass the `tx` of a caller's `ledger.atomic()` so the
    status commits with the remittance's entries. Moves no money.
    """
    if status not in ADJUDICATED:
        raise ClaimStateError(
            f"status {status.value!r} is not a payer decision; use accepted, "
            "rejected, paid or denied"
        )
    record = ledger.store.get_record(ledger.book_id, RECORD_CLAIM, claim_id)
    if record is None:
        logger.debug("claim %s has no stored claim; status not recorded", claim_id)
        return None
    claim = _from_record(record).claim
    if claim.status is status:
        return claim
    details: dict[str, Any] = {}
    if payer_claim_number is not None:
        details["payer_claim_number"] = payer_claim_number
    if claim.status is ClaimStatus.SUBMITTED and status in (
        ClaimStatus.PAID,
        ClaimStatus.DENIED,
    ):
        claim = claim.transition(ClaimStatus.ACCEPTED, **details)
        details = {}
    if reason is not None and status in (ClaimStatus.REJECTED, ClaimStatus.DENIED):
        details["status_reason"] = reason
    claim = claim.transition(status, **details)
    _save(ledger, claim, findings=())
    logger.info("claim %s: %s", claim_id, status.value)
    return claim


def _save(ledger: Ledger, claim: Claim, findings: Iterable[Finding]) -> None:
    record = {
        "claim": claim.model_dump(mode="json"),
        "fingerprint": claim.fingerprint(),
        "status": claim.status.value,
        "findings": [_finding_record(finding) for finding in findings],
        "updated_at": ledger.clock().isoformat(),
    }
    ledger.store.put_record(ledger.book_id, RECORD_CLAIM, claim.claim_id, record)


def _finding_record(finding: Finding) -> dict[str, str]:
    return {
        "severity": finding.severity.value,
        "field": finding.field,
        "rule": finding.rule,
        "message": finding.message,
        "fix": finding.fix,
    }


def _from_record(record: dict[str, Any]) -> StoredClaim:
    findings = tuple(
        Finding(
            Severity(item["severity"]),
            item["field"],
            item["rule"],
            item["message"],
            item["fix"],
        )
        for item in record.get("findings", [])
    )
    return StoredClaim(
        Claim.model_validate(record["claim"]), record["fingerprint"], findings
    )
