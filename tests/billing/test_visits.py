"""Visit validation: what the chart may send, and the message a bad visit gets."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from ona_ledger.billing.codes import icd10_cm_is_valid, npi_is_valid
from ona_ledger.billing.visits import Insured, SelfPay, Visit
from tests.billing.helpers import visit_data

BOOK = "clinic"


def rejected(**fields: Any) -> str:
    """Validate a visit that must fail and return pydantic's message."""
    with pytest.raises(ValidationError) as caught:
        Visit.model_validate(visit_data(BOOK, **fields))
    return str(caught.value)


def test_npi_luhn_valid() -> None:
    assert npi_is_valid("1234567893")


def test_npi_luhn_invalid() -> None:
    assert not npi_is_valid("1234567890")


def test_visit_invalid_npi_message() -> None:
    message = rejected(provider={"provider_id": "DR-A", "npi": "1234567890"})
    assert "NPI '1234567890' is invalid" in message


def test_visit_valid_npi_accepted() -> None:
    visit = Visit.model_validate(visit_data(BOOK))
    assert visit.provider.npi == "1234567893"


@pytest.mark.parametrize(
    "code", ["J02.9", "I10", "R07.89", "M54.50", "S72.001A", "U07.1", "z23"]
)
def test_icd10_valid_codes(code: str) -> None:
    assert icd10_cm_is_valid(code.upper())


@pytest.mark.parametrize("code", ["J0", "123.4", "J02.99999", "JJ2.9", "J02-9", ""])
def test_icd10_invalid_codes(code: str) -> None:
    assert not icd10_cm_is_valid(code)


def test_visit_bad_diagnosis_message() -> None:
    message = rejected(diagnoses=["J02-9"])
    assert "diagnosis 'J02-9' is not an ICD-10-CM code" in message


def test_visit_twelve_diagnoses_accepted() -> None:
    codes = [f"J0{i}.9" for i in range(10)] + ["I10", "Z23"]
    visit = Visit.model_validate(visit_data(BOOK, diagnoses=codes))
    assert len(visit.diagnoses) == 12


def test_visit_thirteen_diagnoses_rejected() -> None:
    codes = [f"J0{i}.9" for i in range(10)] + ["I10", "Z23", "R51.9"]
    message = rejected(diagnoses=codes)
    assert "13 diagnoses; a visit takes at most 12" in message


def test_line_four_modifiers_accepted() -> None:
    lines = [{"code": "99213", "modifiers": ["25", "59", "GT", "xu"]}]
    visit = Visit.model_validate(visit_data(BOOK, lines=lines))
    assert visit.lines[0].modifiers == ("25", "59", "GT", "XU")


def test_line_five_modifiers_rejected() -> None:
    lines = [{"code": "99213", "modifiers": ["25", "59", "GT", "XU", "76"]}]
    message = rejected(lines=lines)
    assert "a line takes at most 4" in message


def test_line_bad_modifier_rejected() -> None:
    message = rejected(lines=[{"code": "99213", "modifiers": ["2"]}])
    assert "modifier '2' must be two letters or digits" in message


def test_line_four_pointers_accepted() -> None:
    lines = [{"code": "99213", "diagnosis_pointers": [1, 2, 3, 4]}]
    visit = Visit.model_validate(
        visit_data(BOOK, diagnoses=["J02.9", "I10", "R07.89", "Z23"], lines=lines)
    )
    assert visit.lines[0].diagnosis_pointers == (1, 2, 3, 4)


def test_line_five_pointers_rejected() -> None:
    lines = [{"code": "99213", "diagnosis_pointers": [1, 2, 3, 4, 5]}]
    diagnoses = ["J02.9", "I10", "R07.89", "Z23", "R51.9"]
    message = rejected(diagnoses=diagnoses, lines=lines)
    assert "5 diagnosis pointers" in message


def test_pointer_beyond_diagnoses_rejected() -> None:
    message = rejected(lines=[{"code": "99213", "diagnosis_pointers": [2]}])
    assert "points at diagnosis 2, but the visit lists 1" in message


def test_pointer_zero_rejected() -> None:
    message = rejected(lines=[{"code": "99213", "diagnosis_pointers": [0]}])
    assert "points at diagnosis 0" in message


def test_pointer_repeated_rejected() -> None:
    lines = [{"code": "99213", "diagnosis_pointers": [1, 1]}]
    message = rejected(diagnoses=["J02.9", "I10"], lines=lines)
    assert "repeat" in message


def test_bad_procedure_code_rejected() -> None:
    message = rejected(lines=[{"code": "9921"}])
    assert "procedure code '9921' is not a CPT" in message


def test_price_override_needs_reason() -> None:
    lines = [{"code": "99213", "price_override": {"price": "80.00"}}]
    message = rejected(lines=lines)
    assert "price_override.reason" in message


def test_price_override_empty_reason_rejected() -> None:
    lines = [{"code": "99213", "price_override": {"price": "80.00", "reason": "  "}}]
    message = rejected(lines=lines)
    assert "price_override.reason" in message


def test_price_override_with_reason_accepted() -> None:
    override = {"price": "80.00", "reason": "sliding scale"}
    visit = Visit.model_validate(
        visit_data(BOOK, lines=[{"code": "99213", "price_override": override}])
    )
    assert visit.lines[0].price_override is not None


def test_price_override_float_rejected() -> None:
    lines = [{"code": "99213", "price_override": {"price": 80.5, "reason": "x"}}]
    message = rejected(lines=lines)
    assert "price 80.5 is a float" in message


def test_price_override_negative_rejected() -> None:
    lines = [{"code": "99213", "price_override": {"price": "-5.00", "reason": "x"}}]
    message = rejected(lines=lines)
    assert "price -5.00 is negative" in message


def test_price_override_fraction_of_cent_rejected() -> None:
    lines = [{"code": "99213", "price_override": {"price": "5.005", "reason": "x"}}]
    message = rejected(lines=lines)
    assert "more than 2 decimal places" in message


def test_patient_share_float_rejected() -> None:
    coverage = {
        "kind": "insured",
        "payer_id": "ACME",
        "member_id": "M-1",
        "estimated_patient_share": 25.0,
    }
    message = rejected(coverage=coverage)
    assert "amount 25.0 is a float" in message


def test_coverage_defaults_to_self_pay() -> None:
    visit = Visit.model_validate(visit_data(BOOK))
    assert isinstance(visit.coverage, SelfPay)


def test_self_pay_has_no_claim() -> None:
    visit = Visit.model_validate(visit_data(BOOK))
    assert visit.claim_id is None


def test_insured_coverage_parsed() -> None:
    coverage = {"kind": "insured", "payer_id": "ACME", "member_id": "M-1"}
    visit = Visit.model_validate(visit_data(BOOK, coverage=coverage))
    assert isinstance(visit.coverage, Insured)


def test_insured_claim_id_is_visit() -> None:
    coverage = {"kind": "insured", "payer_id": "ACME", "member_id": "M-1"}
    visit = Visit.model_validate(visit_data(BOOK, coverage=coverage))
    assert visit.claim_id == "V-1"


def test_insured_needs_member_id() -> None:
    message = rejected(coverage={"kind": "insured", "payer_id": "ACME"})
    assert "member_id" in message


def test_unknown_coverage_kind_rejected() -> None:
    message = rejected(coverage={"kind": "medicare"})
    assert "medicare" in message


def test_unknown_field_rejected() -> None:
    message = rejected(patient_name="Jane Doe")
    assert "patient_name" in message


def test_repeated_line_ids_rejected() -> None:
    lines = [{"code": "99213", "line_id": "a"}, {"code": "36415", "line_id": "a"}]
    message = rejected(lines=lines)
    assert "repeat; give each line its own line_id" in message


def test_invoice_defaults_to_visit() -> None:
    visit = Visit.model_validate(visit_data(BOOK))
    assert visit.invoice == "INV-V-1"


def test_signed_at_needs_timezone() -> None:
    message = rejected(signed_at="2026-03-02T17:00:00")
    assert "timezone" in message


@pytest.mark.parametrize("units", ["2", True, 2.0])
def test_units_not_int_rejected(units: Any) -> None:
    message = rejected(lines=[{"code": "99213", "units": units}])
    assert "units" in message


def test_units_int_accepted() -> None:
    visit = Visit.model_validate(
        visit_data(BOOK, lines=[{"code": "99213", "units": 2}])
    )
    assert visit.lines[0].units == 2


@pytest.mark.parametrize("pointer", ["1", True])
def test_pointer_not_int_rejected(pointer: Any) -> None:
    message = rejected(lines=[{"code": "99213", "diagnosis_pointers": [pointer]}])
    assert "diagnosis_pointers" in message


def test_modifiers_repeated_rejected() -> None:
    message = rejected(lines=[{"code": "99213", "modifiers": ["25", "25"]}])
    assert "modifiers ['25', '25'] repeat" in message


def test_modifiers_repeated_any_case() -> None:
    message = rejected(lines=[{"code": "99213", "modifiers": ["gt", "GT"]}])
    assert "modifiers ['GT', 'GT'] repeat" in message


def test_diagnoses_repeated_rejected() -> None:
    message = rejected(diagnoses=["J02.9", "j02.9"])
    assert "diagnoses ['J02.9', 'J02.9'] repeat" in message


def test_place_of_service_00_rejected() -> None:
    message = rejected(place_of_service="00")
    assert "from '01' to '99'" in message


def test_place_of_service_02_accepted() -> None:
    visit = Visit.model_validate(visit_data(BOOK, place_of_service="02"))
    assert visit.place_of_service == "02"


def test_service_after_signing_rejected() -> None:
    message = rejected(date_of_service="2999-01-01", signed_at="2026-03-02T17:00:00Z")
    assert "date of service 2999-01-01 is after the note was signed" in message


def test_service_day_after_signing_accepted() -> None:
    # A note signed late on 03-02 in UTC-8 reaches us as 03-03 01:00 UTC, and
    # a clinic east of UTC can date a visit one day after its UTC signing date.
    visit = Visit.model_validate(
        visit_data(BOOK, date_of_service="2026-03-03", signed_at="2026-03-02T17:00:00Z")
    )
    assert visit.date_of_service.isoformat() == "2026-03-03"


def test_service_two_days_after_rejected() -> None:
    message = rejected(date_of_service="2026-03-04", signed_at="2026-03-02T17:00:00Z")
    assert "is after the note was signed on 2026-03-02" in message
