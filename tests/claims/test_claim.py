"""Claim model, identifier checks and the claim lifecycle."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from ona_ledger.claims.claim import ClaimStatus, Relationship, Submission
from ona_ledger.claims.identifiers import (
    check_npi,
    check_procedure_code,
    format_icd10cm,
    is_valid_icd10cm,
    is_valid_npi,
    is_valid_procedure_code,
    luhn_check_digit,
    normalize_icd10cm,
)
from ona_ledger.errors import ClaimStateError, InvalidCodeError
from ona_ledger.money import Money
from tests.claims import claim_examples as ex


def test_npi_known_values() -> None:
    assert is_valid_npi("1234567893")
    assert is_valid_npi("1122333341")
    assert not is_valid_npi("1234567890")
    assert not is_valid_npi("123456789")
    assert not is_valid_npi("12345678a3")


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_npi_check_digit_property(base: str) -> None:
    check = luhn_check_digit("80840" + base)
    assert is_valid_npi(base + str(check))
    assert not is_valid_npi(base + str((check + 1) % 10))


def test_npi_error_names_value() -> None:
    with pytest.raises(InvalidCodeError, match="1234567890"):
        check_npi("1234567890")


def test_icd10cm_formats() -> None:
    for code in ("E11.9", "M54.50", "C4A.9", "Z3A.20", "S52.521A", "R51", "u07.1"):
        assert is_valid_icd10cm(code), code
    for code in ("E1", "11.9", "M54.50000", "E11-9", ""):
        assert not is_valid_icd10cm(code), code
    assert normalize_icd10cm("s52.521a") == "S52521A"
    assert format_icd10cm("S52521A") == "S52.521A"


def test_procedure_code_formats() -> None:
    for code in ("99213", "0001F", "0042T", "0001U", "J1885", "G0283", "A0428"):
        assert is_valid_procedure_code(code), code
    for code in ("9921", "992130", "W1234", "J188", "0001X"):
        assert not is_valid_procedure_code(code), code
    assert check_procedure_code(" j1885 ") == "J1885"


def test_claim_totals() -> None:
    claim = ex.claim()
    assert claim.total_charge == Money.of("215.00")
    assert claim.diagnoses == ("M5450", "M6281")


def test_claim_is_frozen() -> None:
    claim = ex.claim()
    with pytest.raises(ValidationError):
        claim.claim_id = "other"  # type: ignore[misc]


def test_relationship_must_match_ids() -> None:
    with pytest.raises(ValidationError, match="relationship"):
        ex.claim(patient_id="P-2")
    with pytest.raises(ValidationError, match="relationship"):
        ex.claim(relationship=Relationship.SPOUSE)


def test_bad_code_rejected() -> None:
    with pytest.raises(ValidationError, match="procedure code"):
        ex.line("9921")
    with pytest.raises(ValidationError, match="ICD-10-CM"):
        ex.claim(diagnoses=("11.9",))
    with pytest.raises(TypeError, match="float"):
        ex.line(charge=12.5)


def test_fingerprint_ignores_claim_id() -> None:
    assert ex.claim().fingerprint() == ex.claim(claim_id="C-9").fingerprint()
    changed = ex.claim(lines=(ex.line(charge=Money.of("51.00")),))
    assert changed.fingerprint() != ex.claim().fingerprint()


def submission() -> Submission:
    return Submission(
        file_name="f.837",
        interchange_control_number=1,
        group_control_number=1,
        transaction_control_number=1,
        submitted_at=ex.NOW,
    )


def test_lifecycle_happy_path() -> None:
    claim = ex.claim().transition(ClaimStatus.SCRUBBED)
    claim = claim.transition(ClaimStatus.SUBMITTED, submission=submission())
    claim = claim.transition(ClaimStatus.ACCEPTED, payer_claim_number="PCN-1")
    claim = claim.transition(ClaimStatus.PAID)
    assert claim.status is ClaimStatus.PAID
    assert claim.payer_claim_number == "PCN-1"


def test_lifecycle_bad_transitions() -> None:
    with pytest.raises(ClaimStateError, match="draft to submitted"):
        ex.claim().transition(ClaimStatus.SUBMITTED, submission=submission())
    with pytest.raises(ClaimStateError, match="needs"):
        ex.claim().transition(ClaimStatus.SCRUBBED).transition(ClaimStatus.SUBMITTED)
    paid = ex.claim().model_copy(update={"status": ClaimStatus.PAID})
    with pytest.raises(ClaimStateError, match="nothing"):
        paid.transition(ClaimStatus.DRAFT)


def test_rejected_goes_back_to_draft() -> None:
    claim = ex.claim().transition(ClaimStatus.SCRUBBED)
    claim = claim.transition(ClaimStatus.SUBMITTED, submission=submission())
    claim = claim.transition(ClaimStatus.REJECTED, status_reason="invalid member id")
    assert claim.transition(ClaimStatus.DRAFT).status is ClaimStatus.DRAFT


def test_demographics_missing_person() -> None:
    with pytest.raises(Exception, match="P-404"):
        ex.DEMOGRAPHICS.person("P-404")


def test_service_date_range() -> None:
    line = ex.line(service_date_end=date(2026, 2, 12))
    assert ex.claim(lines=(line,)).last_service_date == date(2026, 2, 12)
