"""837P writer: envelopes, loops, prior-payer adjustments and pyx12 validation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ona_ledger import open_ledger
from ona_ledger.claims.claim import Claim, ClaimFrequency, ClaimStatus, Demographics
from ona_ledger.claims.x837 import (
    InterchangeSettings,
    Separators,
    SplitBy,
    X12File,
    write_837p,
    x12_text,
)
from ona_ledger.errors import InvalidClaimError
from tests.claims import claim_examples as ex
from tests.conftest import new_book_id

SCENARIOS: dict[str, Callable[[], list[Claim]]] = {
    "single_payer": lambda: [ex.claim(), ex.child_claim()],
    "secondary_adjustments": lambda: [ex.secondary_claim()],
    "medicare_with_medigap": lambda: [ex.medicare_claim()],
    "replacement": lambda: [ex.replacement_claim()],
    "void": lambda: [ex.replacement_claim(ClaimFrequency.VOID)],
    "fifty_lines": lambda: [ex.fifty_line_claim()],
    "drug_ndc": lambda: [ex.drug_claim()],
    "referring_provider": lambda: [ex.referring_claim()],
}


def write(claims: list[Claim], settings: InterchangeSettings = ex.SETTINGS) -> X12File:
    return write_837p(claims, ex.DEMOGRAPHICS, settings, ex.Counter(), ex.NOW)


def segments(written: X12File) -> list[str]:
    return [s.strip() for s in written.text.split("~") if s.strip()]


def find(written: X12File, prefix: str) -> list[str]:
    return [s for s in segments(written) if s.startswith(prefix)]


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_scenario_passes_pyx12(scenario: str, tmp_path: Path) -> None:
    path = tmp_path / f"{scenario}.837"
    path.write_text(write(SCENARIOS[scenario]()).text)
    assert ex.pyx12_errors(path) == []


def test_pyx12_check_catches_bad_count(tmp_path: Path) -> None:
    text = write([ex.claim()]).text
    broken = text.replace("SE*", "SE*9", 1)
    path = tmp_path / "broken.837"
    path.write_text(broken)
    assert ex.pyx12_errors(path) != []


def test_control_totals_match() -> None:
    written = write([ex.claim(), ex.medicare_claim(), ex.secondary_claim()])
    parts = segments(written)
    starts = [i for i, s in enumerate(parts) if s.startswith("ST*")]
    ends = [i for i, s in enumerate(parts) if s.startswith("SE*")]
    assert len(starts) == 2
    for start, end in zip(starts, ends, strict=True):
        assert parts[end].split("*")[1] == str(end - start + 1)
        assert parts[end].split("*")[2] == parts[start].split("*")[2]
    assert parts[-2] == f"GE*2*{written.group_control_number}"
    assert parts[-1] == f"IEA*1*{written.interchange_control_number:09d}"


def test_split_by_payer() -> None:
    written = write([ex.claim(), ex.medicare_claim(), ex.child_claim()])
    payers = [t.payer_id for t in written.transactions]
    assert payers == ["87726", "14112"]
    assert written.transactions[0].claim_ids == ("C-1001", "C-1002")


def test_split_by_provider_and_payer() -> None:
    settings = ex.SETTINGS.model_copy(
        update={"split_by": SplitBy.BILLING_PROVIDER_AND_PAYER}
    )
    other = ex.BILLING.model_copy(update={"npi": "1456789019"})
    written = write([ex.claim(), ex.child_claim(billing_provider=other)], settings)
    assert len(written.transactions) == 2
    assert written.transactions[1].billing_npi == "1456789019"


def test_hierarchy_numbers() -> None:
    written = write([ex.claim(), ex.child_claim()])
    hl = find(written, "HL*")
    assert hl == ["HL*1**20*1", "HL*2*1*22*0", "HL*3*1*22*1", "HL*4*3*23*0"]
    assert find(written, "PAT*") == ["PAT*19"]


def test_secondary_cas_grouped() -> None:
    written = write([ex.secondary_claim()])
    assert find(written, "CAS*") == ["CAS*CO*45*60.00**253*2.45", "CAS*PR*2*32.55"]
    assert find(written, "AMT*D*") == ["AMT*D*120.00"]
    assert find(written, "DTP*573*") == ["DTP*573*D8*20260224"]
    assert find(written, "SBR*")[0] == "SBR*S*18*G-77******CI"


def test_medicare_primary_names_medigap() -> None:
    written = write([ex.medicare_claim()])
    assert find(written, "SBR*") == ["SBR*P*18*******MB", "SBR*S*18*******CI"]
    assert find(written, "AMT*") == []
    assert "NM1*PR*2*Example Medigap Plan*****PI*MG001" in segments(written)


def test_replacement_and_void_carry_original() -> None:
    for frequency in (ClaimFrequency.REPLACEMENT, ClaimFrequency.VOID):
        written = write([ex.replacement_claim(frequency)])
        assert find(written, "REF*F8*") == ["REF*F8*PAYER-CLM-20260215-0042"]
        assert find(written, "CLM*")[0].split("*")[5] == f"11:B:{frequency.value}"


def test_drug_line_ndc() -> None:
    written = write([ex.drug_claim()])
    assert find(written, "LIN*") == ["LIN**N4*00409379501"]
    assert find(written, "CTP*") == ["CTP****2*ML"]


def test_referring_and_facility() -> None:
    written = write([ex.referring_claim()])
    assert find(written, "NM1*DN*") == [f"NM1*DN*1*Lind*Tove****XX*{ex.REFERRING_NPI}"]
    assert find(written, "NM1*77*") == [
        f"NM1*77*2*Harbor PT East*****XX*{ex.FACILITY_NPI}"
    ]


def test_assignment_and_signature() -> None:
    written = write([ex.claim(accept_assignment=False, signature_on_file=False)])
    clm = find(written, "CLM*")[0].split("*")
    assert clm[7] == "C"
    assert clm[8] == "N"
    assert clm[9] == "I"


def test_same_claim_same_segments() -> None:
    first = write([ex.claim()])
    counter = ex.Counter()
    for _ in range(5):
        counter("x12.interchange")
        counter("x12.transaction")
    later = ex.NOW.replace(day=3, hour=14)
    second = write_837p([ex.claim()], ex.DEMOGRAPHICS, ex.SETTINGS, counter, later)

    def stable(written: X12File) -> list[str]:
        skip = ("ISA", "GS*", "ST*", "BHT", "SE*", "GE*", "IEA")
        return [s for s in segments(written) if not s.startswith(skip)]

    assert stable(first) == stable(second)
    assert first.interchange_control_number != second.interchange_control_number


def test_control_numbers_from_store() -> None:
    ledger = open_ledger("sqlite://", new_book_id())

    def next_number(name: str) -> int:
        return ledger.store.next_sequence(ledger.book_id, name)  # type: ignore[attr-defined]

    first = write_837p([ex.claim()], ex.DEMOGRAPHICS, ex.SETTINGS, next_number, ex.NOW)
    second = write_837p([ex.claim()], ex.DEMOGRAPHICS, ex.SETTINGS, next_number, ex.NOW)
    assert second.interchange_control_number == first.interchange_control_number + 1
    assert (
        second.transactions[0].control_number
        == first.transactions[0].control_number + 1
    )


def test_custom_separators(tmp_path: Path) -> None:
    separators = Separators(element="|", component=">", repetition="!", segment="~")
    settings = ex.SETTINGS.model_copy(update={"separators": separators})
    written = write([ex.secondary_claim()], settings)
    assert "SV1|HC>97110|100.00|UN|2|||1>2~" in written.text
    path = tmp_path / "pipes.837"
    path.write_text(written.text)
    assert ex.pyx12_errors(path) == []


def test_separator_in_value_rejected() -> None:
    patient = ex.DEMOGRAPHICS.persons["P-1"].model_copy(update={"last_name": "O*Brien"})
    demographics = ex.DEMOGRAPHICS.model_copy(
        update={"persons": {**ex.DEMOGRAPHICS.persons, "P-1": patient}}
    )
    with pytest.raises(InvalidClaimError, match="separator"):
        write_837p([ex.claim()], demographics, ex.SETTINGS, ex.Counter(), ex.NOW)


def test_missing_demographics_rejected() -> None:
    counter = ex.Counter()
    with pytest.raises(InvalidClaimError, match="P-9"):
        write_837p(
            [
                ex.claim(
                    subscriber=ex.claim().subscriber.model_copy(
                        update={"person_id": "P-9"}
                    ),
                    patient_id="P-9",
                )
            ],
            ex.DEMOGRAPHICS,
            ex.SETTINGS,
            counter,
            ex.NOW,
        )
    assert counter.values == {}


def test_bad_pointer_not_written() -> None:
    bad = ex.claim(lines=(ex.line(diagnosis_pointers=(3,)),))
    with pytest.raises(InvalidClaimError, match="pointer"):
        write([bad])


def test_submission_moves_claim() -> None:
    written = write([ex.claim()])
    submission = written.submissions("claims-0001.837")["C-1001"]
    sent = (
        ex.claim()
        .transition(ClaimStatus.SCRUBBED)
        .transition(ClaimStatus.SUBMITTED, submission=submission)
    )
    assert sent.submission is not None
    assert (
        sent.submission.interchange_control_number == written.interchange_control_number
    )


# Names outside X12's character set ---------------------------------------------------


def with_patient(**changes: str) -> Demographics:
    patient = ex.DEMOGRAPHICS.persons["P-1"].model_copy(update=changes)
    return ex.DEMOGRAPHICS.model_copy(
        update={"persons": {**ex.DEMOGRAPHICS.persons, "P-1": patient}}
    )


def test_accented_names_transliterated(tmp_path: Path) -> None:
    demographics = with_patient(last_name="Müller-Groß", first_name="José")
    written = write_837p([ex.claim()], demographics, ex.SETTINGS, ex.Counter(), ex.NOW)
    assert "NM1*IL*1*Muller-Gross*Jose" in written.text
    assert written.text.isascii()
    path = tmp_path / "accented.837"
    path.write_text(written.text, encoding="ascii")
    assert ex.pyx12_errors(path) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("José", "Jose"),
        ("Müller", "Muller"),
        ("Øster Łukasz", "Oster Lukasz"),
        ("O’Brien", "O'Brien"),
        ("Smith", "Smith"),
        ("李", "李"),
    ],
)
def test_x12_text(value: str, expected: str) -> None:
    assert x12_text(value) == expected


@pytest.mark.parametrize("char", ["\x07", "\x00", "\x1b", "\t"])
def test_control_character_rejected(char: str) -> None:
    demographics = with_patient(last_name=f"Smith{char}")
    counter = ex.Counter()
    with pytest.raises(InvalidClaimError, match="person P-1 last_name") as raised:
        write_837p([ex.claim()], demographics, ex.SETTINGS, counter, ex.NOW)
    assert f"U+{ord(char):04X}" in str(raised.value)
    assert "Smith" not in str(raised.value)
    assert counter.values == {}


@pytest.mark.parametrize("field", ["last_name", "first_name"])
def test_blank_name_rejected(field: str) -> None:
    demographics = with_patient(**{field: "   "})
    with pytest.raises(InvalidClaimError, match=f"person P-1 {field} is blank"):
        write_837p([ex.claim()], demographics, ex.SETTINGS, ex.Counter(), ex.NOW)


def test_blank_middle_name_left_out() -> None:
    demographics = with_patient(middle_name="   ")
    written = write_837p([ex.claim()], demographics, ex.SETTINGS, ex.Counter(), ex.NOW)
    assert "NM1*IL*1*Testpatient*Alex****MI*" in written.text


def test_non_latin_name_rejected() -> None:
    demographics = with_patient(first_name="李")
    with pytest.raises(InvalidClaimError, match=r"person P-1 first_name.*U\+674E"):
        write_837p([ex.claim()], demographics, ex.SETTINGS, ex.Counter(), ex.NOW)


def test_control_character_in_payer_rejected() -> None:
    payer = ex.COMMERCIAL.model_copy(update={"name": "Example\x07Plan"})
    with pytest.raises(InvalidClaimError, match="payer 87726 name"):
        write([ex.claim(payer=payer)])


def test_control_character_in_settings_rejected() -> None:
    settings = ex.SETTINGS.model_copy(update={"submitter_contact": "Billing\x1b"})
    with pytest.raises(InvalidClaimError, match="segment PER"):
        write([ex.claim()], settings)
