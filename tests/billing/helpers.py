"""Builders for the billing tests: visits from chart-shaped dicts, a fee schedule file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ona_ledger import Ledger, Money
from ona_ledger.billing.charges import SignResult, sign_visit
from ona_ledger.billing.fees import FeeSchedule
from ona_ledger.billing.visits import Visit

VALID_NPI = "1234567893"
OTHER_NPI = "1987654328"

# Prices chosen so sums are easy to check by hand. 99213 changes price on
# 2026-07-01; 99213-25 has its own price; ACME has allowed amounts.
FEE_CSV = """\
schedule,code,modifier,price,effective_from,effective_to,description,hsa_eligible
self-pay,99213,,100.00,2026-01-01,,Established visit,yes
self-pay,99213,,110.00,2026-07-01,,Established visit from July,yes
self-pay,99213,25,105.00,2026-01-01,,Established visit with procedure,yes
self-pay,99214,,150.00,2026-01-01,,Established visit 30-39 min,yes
self-pay,36415,,20.00,2026-01-01,,Venipuncture,yes
self-pay,87880,,30.00,2026-01-01,,Rapid strep,yes
self-pay,J1885,,15.00,2026-01-01,,Ketorolac 15 mg,yes
self-pay,15788,,400.00,2026-01-01,,Chemical peel,no
self-pay,99215,,3500.00,2026-01-01,,Long visit,yes
ACME,99213,,80.00,2026-01-01,,Allowed,yes
ACME,99214,,120.00,2026-01-01,,Allowed,yes
"""


def write_fees(folder: Path) -> Path:
    path = folder / "fees.csv"
    path.write_text(FEE_CSV, encoding="utf-8")
    return path


def load_fees(folder: Path) -> FeeSchedule:
    return FeeSchedule.from_csv(write_fees(folder))


def visit_data(
    book_id: str,
    visit_id: str = "V-1",
    patient_id: str = "P-1",
    lines: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Return a signed visit as the host EHR sends it, as JSON-ready data.

    The note is signed at 17:00 UTC on the date of service unless `signed_at` is given.
    """
    day = fields.get("date_of_service", "2026-03-02")
    data: dict[str, Any] = {
        "visit_id": visit_id,
        "book_id": book_id,
        "patient_id": patient_id,
        "provider": {"provider_id": "DR-A", "npi": VALID_NPI},
        "location": "MAIN",
        "date_of_service": "2026-03-02",
        "signed_at": f"{day}T17:00:00Z",
        "diagnoses": ["J02.9"],
        "lines": lines if lines is not None else [{"code": "99213"}],
    }
    data.update(fields)
    return data


def make_visit(book_id: str, *args: Any, **kwargs: Any) -> Visit:
    return Visit.model_validate(visit_data(book_id, *args, **kwargs))


def sign(ledger: Ledger, fees: FeeSchedule, *args: Any, **kwargs: Any) -> SignResult:
    """Sign a visit built by `visit_data` into `ledger`, as the provider."""
    visit = make_visit(ledger.book_id, *args, **kwargs)
    return sign_visit(ledger, visit, fees, actor="DR-A")


def insured(payer: str = "ACME") -> dict[str, str]:
    return {"kind": "insured", "payer_id": payer, "member_id": "M-1"}


def journal_length(ledger: Ledger) -> int:
    """Return the number of entries in the book's journal."""
    return ledger.store.head(ledger.book_id).seq


def usd(amount: str) -> Money:
    return Money.of(amount)
