"""Payers' decisions on claims, read from the posted 835 remittances: paid or denied, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ona_ledger.claims.posting import RECORD_REMITTANCE
from ona_ledger.ledger import Ledger


@dataclass(frozen=True, slots=True)
class ClaimDecision:
    """One payer decision on one claim (CLP loop) of a posted remittance.

    `decided_on` is the remittance's payment date (BPR16), else its production
    date, else the date it posted. `denied_lines` counts the lines queued for
    correction, so a paid claim with a denied line has `denied_lines` > 0.
    """

    claim_id: str
    decision: str
    decided_on: date
    denied_lines: int
    trace_number: str
    payer_id: str

    @property
    def denied(self) -> bool:
        return self.decision == "denied"


def claim_decisions(ledger: Ledger) -> list[ClaimDecision]:
    """Return every payer decision of the posted remittances, oldest first.

    Reversals (CLP02 22) and claims held unmatched carry no decision and are
    left out, and so are remittances posted before decisions were recorded
    (their claims have no "decision" field).
    """
    found = []
    for _key, record in ledger.store.list_records(ledger.book_id, RECORD_REMITTANCE):
        decided_on = date.fromisoformat(
            record["payment_date"] or record["effective_date"]
        )
        for claim in record["claims"]:
            decision = claim.get("decision")
            if decision is None:
                continue
            found.append(
                ClaimDecision(
                    claim_id=claim["claim_id"],
                    decision=decision,
                    decided_on=decided_on,
                    denied_lines=len(claim["denials"]),
                    trace_number=record["trace_number"],
                    payer_id=record["payer_id"],
                )
            )
    return sorted(found, key=lambda d: (d.decided_on, d.trace_number, d.claim_id))


def first_decisions(ledger: Ledger, *, start: date, end: date) -> list[ClaimDecision]:
    """Return each claim's first decision, for the claims first decided from `start` to `end`.

    A claim denied, corrected and then paid counts once, as denied: the
    initial decision is the one a denial rate measures.
    """
    first: dict[str, ClaimDecision] = {}
    for decision in claim_decisions(ledger):
        first.setdefault(decision.claim_id, decision)
    return [d for d in first.values() if start <= d.decided_on <= end]
