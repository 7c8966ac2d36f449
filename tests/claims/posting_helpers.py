"""Builders for the 835 posting tests: insured visits that mirror a remittance's claims."""

from __future__ import annotations

from datetime import date
from typing import Any

from ona_ledger import Ledger, Money
from ona_ledger.billing.charges import sign_visit
from ona_ledger.billing.fees import FeeSchedule
from ona_ledger.billing.visits import Visit
from ona_ledger.claims.era import ClaimPayment, Remittance
from ona_ledger.claims.posting import claim_from_era

VALID_NPI = "1234567893"
PAYER = "PAYER-1"


def visit_for_claim(
    book_id: str, claim: ClaimPayment, visit_id: str | None = None
) -> Visit:
    """Return an insured visit whose lines carry the codes, modifiers and charges billed.

    Each line's price is an override equal to its billed charge (units 1), since
    one code may be billed at two prices on one claim. A claim without service
    lines becomes one 99213 line for the whole claim charge.
    """
    normalised = claim_from_era(claim, 1)
    lines: list[dict[str, Any]] = []
    dates: list[date] = []
    for line in normalised.lines:
        if line.is_empty:
            continue
        lines.append(
            {
                "code": line.code,
                "modifiers": list(line.modifiers),
                "price_override": {"price": str(line.charge), "reason": "as billed"},
            }
        )
        if line.service_date is not None:
            dates.append(line.service_date)
    if not lines:
        lines.append(
            {
                "code": "99213",
                "price_override": {"price": str(claim.charge), "reason": "as billed"},
            }
        )
    claim_dates = [d.value for d in claim.dates if d.value is not None]
    day = min(dates) if dates else min(claim_dates, default=date(2020, 1, 2))
    return Visit.model_validate(
        {
            "visit_id": visit_id or claim.claim_id,
            "book_id": book_id,
            "patient_id": f"P-{visit_id or claim.claim_id}",
            "provider": {"provider_id": "DR-A", "npi": VALID_NPI},
            "location": "MAIN",
            "date_of_service": day.isoformat(),
            "signed_at": f"{day.isoformat()}T17:00:00Z",
            "diagnoses": ["J02.9"],
            "lines": lines,
            "coverage": {"kind": "insured", "payer_id": PAYER, "member_id": "M-1"},
        }
    )


def sign_claims(ledger: Ledger, remittance: Remittance) -> list[str]:
    """Sign one visit per distinct claim id of the remittance that a visit id allows."""
    signed = []
    for claim in remittance.claims:
        if claim.claim_id in signed or claim.status_code == "22":
            continue
        try:
            visit = visit_for_claim(ledger.book_id, claim)
        except ValueError:
            continue
        sign_visit(ledger, visit, FeeSchedule(), actor="DR-A")
        signed.append(claim.claim_id)
    return signed


def insurance_open(ledger: Ledger, claim_id: str) -> Money:
    return ledger.balance("Assets:Receivable:Insurance", claim=claim_id).posted


def trial_balance_sum(ledger: Ledger) -> int:
    """Return the sum of every account's signed posted balance; zero when balanced."""
    return sum(b.posted.cents for b in ledger.account_balances().values())


def era_text(
    claims: list[str],
    total: str,
    *,
    method: str = "ACH",
    trace: str = "TR-1",
    payer: str = "1999999999",
    plb: str = "",
    payment_date: str = "20260320",
) -> str:
    """Return an 835 transaction set (no ISA) with the claim loops given as segment text."""
    segments = [
        "ST*835*0001",
        f"BPR*I*{total}*C*{method}************{payment_date}",
        f"TRN*1*{trace}*{payer}",
        "DTM*405*20260319",
        "N1*PR*TEST PAYER",
        "N1*PE*TEST CLINIC*XX*1234567893",
        "LX*1",
    ]
    for claim in claims:
        segments += [segment for segment in claim.strip().split("~") if segment.strip()]
    if plb:
        segments.append(plb)
    segments.append(f"SE*{len(segments) + 1}*0001")
    return "~".join(segment.strip() for segment in segments) + "~"


def sign_simple(
    ledger: Ledger,
    visit_id: str,
    lines: list[tuple[str, tuple[str, ...], str]],
    day: str = "2026-03-02",
) -> None:
    """Sign an insured visit whose lines are (code, modifiers, price)."""
    visit = Visit.model_validate(
        {
            "visit_id": visit_id,
            "book_id": ledger.book_id,
            "patient_id": f"P-{visit_id}",
            "provider": {"provider_id": "DR-A", "npi": VALID_NPI},
            "location": "MAIN",
            "date_of_service": day,
            "signed_at": f"{day}T17:00:00Z",
            "diagnoses": ["J02.9"],
            "lines": [
                {
                    "code": code,
                    "modifiers": list(modifiers),
                    "price_override": {"price": price, "reason": "test price"},
                }
                for code, modifiers, price in lines
            ],
            "coverage": {"kind": "insured", "payer_id": PAYER, "member_id": "M-1"},
        }
    )
    sign_visit(ledger, visit, FeeSchedule(), actor="DR-A")
