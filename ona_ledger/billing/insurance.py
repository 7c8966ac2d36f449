"""A payer's decision on a claim, posted to the ledger: paid, contractual write-down, patient share."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from ona_ledger.billing.common import (
    CLEARING_INSURANCE,
    CLEARING_UNDEPOSITED,
    CONTRACTUAL,
    RECEIVABLE_INSURANCE,
    RECEIVABLE_PATIENTS,
    EntryType,
)
from ona_ledger.entries import Entry, JournalEntry, Posting
from ona_ledger.errors import PaymentError
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money, allocate

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ClaimLine:
    """A claim's line with what is still receivable from the payer."""

    invoice_line: str
    open: Money
    dimensions: dict[str, str]


def claim_lines(ledger: Ledger, claim_id: str) -> list[ClaimLine]:
    """Return a claim's lines with their open insurance receivable, in line order."""
    lines: dict[str, dict[str, Any]] = {}
    for entry in ledger.entries(claim=claim_id):
        for posting in entry.postings:
            if posting.account != RECEIVABLE_INSURANCE or posting.claim != claim_id:
                continue
            if posting.invoice_line is None:
                continue
            line = lines.setdefault(
                posting.invoice_line, {"open": Money.zero(), "dims": {}}
            )
            line["open"] = line["open"] + posting.amount
            line["dims"] = posting.dimensions()
    return [
        ClaimLine(line_id, data["open"], data["dims"])
        for line_id, data in sorted(lines.items())
    ]


def post_claim_payment(
    ledger: Ledger,
    claim_id: str,
    *,
    paid: Money,
    contractual: Money,
    patient_responsibility: Money,
    actor: str,
    effective_date: date,
    trace_number: str,
    by_check: bool = False,
) -> JournalEntry:
    """Post a payer's payment on a whole claim, spread over its lines pro rata.

    The payment goes to insurance clearing (EFT) or undeposited funds (check);
    the contractual amount to Income:Adjustments:Contractual; the patient's
    share moves from the payer's receivable to the patient's. Together they may
    not exceed what is open on the claim.
    """
    lines = claim_lines(ledger, claim_id)
    open_total = Money(sum(line.open.cents for line in lines))
    if not lines or open_total.cents <= 0:
        raise PaymentError(f"claim {claim_id} has nothing receivable from a payer")
    settled = paid + contractual + patient_responsibility
    if settled > open_total:
        raise PaymentError(
            f"claim {claim_id} has {open_total} open; paid {paid}, contractual {contractual} "
            f"and patient share {patient_responsibility} add up to {settled}, more than that"
        )
    weights = [line.open.cents for line in lines]
    shares = {
        "paid": allocate(paid, weights),
        "contractual": allocate(contractual, weights),
        "patient": allocate(patient_responsibility, weights),
    }
    deposit = CLEARING_UNDEPOSITED if by_check else CLEARING_INSURANCE
    postings = [Posting(deposit, paid, payer=lines[0].dimensions.get("payer"))]
    for index, line in enumerate(lines):
        dims = line.dimensions
        contractual_part = shares["contractual"][index]
        patient_part = shares["patient"][index]
        if contractual_part.cents:
            postings.append(
                Posting.with_dimensions(CONTRACTUAL, contractual_part, dims)
            )
        if patient_part.cents:
            patient_dims = {
                k: v for k, v in dims.items() if k not in ("payer", "claim")
            }
            postings.append(
                Posting.with_dimensions(RECEIVABLE_PATIENTS, patient_part, patient_dims)
            )
        settled_part = shares["paid"][index] + contractual_part + patient_part
        if settled_part.cents:
            postings.append(
                Posting.with_dimensions(RECEIVABLE_INSURANCE, -settled_part, dims)
            )
    entry = ledger.post(
        Entry(
            effective_date=effective_date,
            narration=f"Payer payment on claim {claim_id}, trace {trace_number}",
            postings=tuple(
                p for p in postings if p.amount.cents or p.account == deposit
            ),
            actor=actor,
            meta={
                "type": EntryType.INSURANCE_PAYMENT.value,
                "claim": claim_id,
                "trace_number": trace_number,
            },
            idempotency_key=f"claim-payment:{claim_id}:{trace_number}",
        )
    )
    logger.info("claim %s: payer payment posted as entry %s", claim_id, entry.id)
    return entry
