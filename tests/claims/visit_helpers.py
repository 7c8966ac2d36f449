"""Signed visits of the example clinic, for the tests of claims built from visits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ona_ledger.billing.charges import sign_visit
from ona_ledger.billing.fees import FeeSchedule
from ona_ledger.billing.visits import Visit
from ona_ledger.claims.from_visit import Clinic, load_clinic
from ona_ledger.ledger import Ledger

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "clinic"
CLINIC_FILE = EXAMPLES / "clinic.json"
FEES = FeeSchedule.from_csv(EXAMPLES / "fee_schedule.csv")


def clinic() -> Clinic:
    return load_clinic(CLINIC_FILE)


def visit_data(ledger: Ledger, visit_id: str, **changes: Any) -> dict[str, Any]:
    """An insured visit of patient P-1008 on 2026-03-02: 99214 and 36415."""
    data: dict[str, Any] = {
        "visit_id": visit_id,
        "book_id": ledger.book_id,
        "patient_id": "P-1008",
        "provider": {"provider_id": "DR-BAKER", "npi": "1987654328"},
        "location": "MAIN",
        "date_of_service": "2026-03-02",
        "signed_at": "2026-03-02T17:30:00Z",
        "diagnoses": ["E11.9", "I10"],
        "lines": [{"code": "99214"}, {"code": "36415", "diagnosis_pointers": [2]}],
        "coverage": {
            "kind": "insured",
            "payer_id": "ACME-HEALTH",
            "member_id": "ACM55877",
        },
    }
    data.update(changes)
    return data


def sign(ledger: Ledger, visit_id: str, **changes: Any) -> Visit:
    visit = Visit.model_validate(visit_data(ledger, visit_id, **changes))
    sign_visit(ledger, visit, FEES, actor="test")
    return visit


SELF_PAY = {"kind": "self_pay"}
