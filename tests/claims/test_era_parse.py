"""Reading X12 835 files: the real samples, the peer parser's figures, tolerance and errors."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ona_ledger.claims.era import (
    ClaimPayment,
    RemittanceFile,
    ServiceLine,
    find_separators,
    parse_835,
    read_835,
)
from ona_ledger.errors import RemittanceFormatError
from ona_ledger.money import Money
from tests.claims.helpers import (
    ERA_FILES,
    EXPECTED_DIR,
    MISCOUNTED,
    era_text,
    strict_counts,
)

CLAIM_COUNTS = {
    "e8p-blue_cross_nc_sample.835": 1,
    "e8p-emedny_sample.835": 3,
    "e8p-united_healthcare_legacy_sample.835": 2,
    "lfh-cob-contractural-adjustment.835": 1,
    "lfh-managed-care.835": 2,
    "lfh-secondary-payment.835": 2,
    "lfh-tertiary-payment.835": 1,
}


def test_sample_folder_has_seven_files() -> None:
    assert len(ERA_FILES) == 7


@pytest.mark.parametrize("path", ERA_FILES, ids=lambda path: path.name)
def test_sample_parses(path: Path) -> None:
    result = read_835(path, strict_counts=strict_counts(path))
    assert len(result.remittances) == 1
    assert len(result.remittances[0].claims) == CLAIM_COUNTS[path.name]


@pytest.mark.parametrize("path", ERA_FILES, ids=lambda path: path.name)
def test_sample_keeps_no_patient_names(path: Path) -> None:
    result = read_835(path, strict_counts=strict_counts(path))
    names = ("Dough", "SUBMITTED LAST", "CORRECTED FIRST", "COOL", "BURCK", "BUDD")
    names += ("SETTLE", "TOWNSEND", "BAKI", "ISLAND")
    for name in names:
        assert name not in repr(result)


def test_miscounted_sample_raises_when_strict() -> None:
    # The Blue Cross excerpt's SE01 is 33, but ST to SE contains 32 segments.
    with pytest.raises(RemittanceFormatError, match="SE01 says 33") as raised:
        parse_835(era_text(MISCOUNTED))
    assert raised.value.segment_number == 32
    assert raised.value.segment_id == "SE"


def test_miscounted_sample_warns_when_lenient() -> None:
    result = parse_835(era_text(MISCOUNTED), strict_counts=False)
    assert any("SE01 says 33" in warning.message for warning in result.warnings)


def test_header_fields_of_emedny() -> None:
    remittance = read_835(
        EXPECTED_DIR.parent / "835" / "e8p-emedny_sample.835"
    ).remittances[0]
    assert remittance.control_number == "1740"
    assert remittance.payment.handling_code == "I"
    assert remittance.payment.total_paid == Money.of("45.75")
    assert remittance.payment.method == "ACH"
    assert remittance.payment.payment_date == date(2010, 1, 1)
    assert remittance.trace.trace_number == "10100000000"
    assert remittance.trace.payer_id == "1000000000"
    assert remittance.payer.name == "NYSDOH"
    assert remittance.payee.id == "9999999995"
    assert remittance.interchange is not None
    assert remittance.interchange.control_number == "006000600"
    assert remittance.group is not None
    assert remittance.group.version == "005010X221A1"


def test_claim_fields_of_united() -> None:
    remittance = parse_835(
        era_text("e8p-united_healthcare_legacy_sample.835")
    ).remittances[0]
    claim = remittance.claims[0]
    assert claim.claim_id == "001-18573-358"
    assert claim.status_code == "1"
    assert claim.charge == Money.of("341.28")
    assert claim.paid == Money.of("88.92")
    assert claim.patient_responsibility == Money.of("105.26")
    assert claim.filing_indicator == "16"
    assert claim.payer_claim_control_number == "ATL2819897200"
    assert claim.facility_code == "12"
    assert claim.frequency_code == "1"
    assert claim.member_id == "123456789"
    assert claim.header_number == 1
    assert [d.qualifier for d in claim.dates] == ["232", "233", "050"]
    assert claim.dates[1].value == date(2021, 1, 13)


def test_service_line_of_united() -> None:
    claim = (
        parse_835(era_text("e8p-united_healthcare_legacy_sample.835"))
        .remittances[0]
        .claims[1]
    )
    line = claim.service_lines[2]
    assert line.procedure.qualifier == "HC"
    assert line.procedure.code == "B4154"
    assert line.charge == Money.of("328.5")
    assert line.paid == Money.of("29.05")
    assert line.units_paid == Decimal("178")
    assert line.dates[0].value == date(2021, 1, 1)
    # CAS*PR*2*5.13**1*110 carries two reasons in one segment.
    assert [(a.group_code, a.reason_code, a.amount) for a in line.adjustments] == [
        ("PR", "2", Money.of("5.13")),
        ("PR", "1", Money.of("110")),
        ("CO", "45", Money.of("184.32")),
    ]
    assert line.amounts[0].amount == Money.of("144.18")


def test_modifiers_and_remarks_of_emedny() -> None:
    claims = parse_835(era_text("e8p-emedny_sample.835")).remittances[0].claims
    assert claims[0].service_lines[0].procedure.modifiers == ("RB",)
    assert claims[2].service_lines[2].remarks[0].code == "N206"
    assert claims[2].service_lines[2].remarks[0].list_qualifier == "HE"
    assert claims[0].entity_id("74") == ""


def test_original_procedure_of_blue_cross() -> None:
    result = parse_835(era_text(MISCOUNTED), strict_counts=False)
    line = result.remittances[0].claims[0].service_lines[0]
    assert line.original_procedure is not None
    assert line.original_procedure.code == "59410"


def test_blue_cross_third_line_reads_zero() -> None:
    # SVC*HC:59426******742*742**1 leaves SVC02 and SVC03 empty; CLP03 2100 is
    # the sum of the other two lines, so the empty amounts are zero.
    result = parse_835(era_text(MISCOUNTED), strict_counts=False)
    line = result.remittances[0].claims[0].service_lines[2]
    assert line.charge == Money(0)
    assert line.paid == Money(0)
    assert line.original_units == Decimal("742")


def test_tertiary_split_procedure_is_joined() -> None:
    # SVC*HC*24599.00*1766.50*187.50**1 puts the code in an element of its own;
    # read shifted, the line charge equals CLP03 1766.50 and the line balances.
    result = parse_835(era_text("lfh-tertiary-payment.835"))
    line = result.remittances[0].claims[0].service_lines[0]
    assert line.procedure.code == "24599.00"
    assert line.charge == Money.of("1766.50")
    assert line.paid == Money.of("187.50")
    assert line.units_paid == Decimal(1)
    assert result.warnings[0].segment_id == "SVC"


def test_undeclared_component_separator_is_read() -> None:
    # ISA16 declares ':' but the SVC composites use '>'.
    result = parse_835(era_text("lfh-secondary-payment.835"))
    line = result.remittances[0].claims[1].service_lines[1]
    assert line.procedure.code == "66543"
    assert line.procedure.modifiers == ("26",)
    assert line.revenue_code == "220"
    assert len(result.warnings) == 2


def test_invalid_payment_date_is_warned() -> None:
    # BPR16 of this sample is 20002316, month 23.
    result = parse_835(era_text("lfh-managed-care.835"))
    assert result.remittances[0].payment.payment_date is None
    assert "BPR16" in result.warnings[0].message


def test_claim_level_adjustment_of_managed_care() -> None:
    claim = parse_835(era_text("lfh-managed-care.835")).remittances[0].claims[0]
    assert claim.adjustments[0].reason_code == "A2"
    assert claim.service_lines[0].dates[1].qualifier == "151"


# --- The peer parser's CSV --------------------------------------------------


def _csv_rows(name: str) -> list[dict[str, str]]:
    with open(EXPECTED_DIR / name.replace(".835", ".csv"), encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _csv_money(text: str) -> Money:
    return Money.of(text) if text else Money(0)


def _csv_patient_share(row: dict[str, str]) -> Money:
    share = Money(0)
    for index in range(6):
        if row.get(f"adj_{index}_group") == "PR":
            share = share + _csv_money(row[f"adj_{index}_amount"])
    return share


def _lines(claims: tuple[ClaimPayment, ...]) -> list[tuple[ClaimPayment, ServiceLine]]:
    return [(claim, line) for claim in claims for line in claim.service_lines]


E8P_FILES = [
    "e8p-blue_cross_nc_sample.835",
    "e8p-emedny_sample.835",
    "e8p-united_healthcare_legacy_sample.835",
]


def _read_e8p(name: str) -> RemittanceFile:
    return parse_835(era_text(name), strict_counts=name != MISCOUNTED)


@pytest.mark.parametrize("name", E8P_FILES)
def test_peer_lines_match(name: str) -> None:
    # The CSV has one row per service line in file order. Rows are paired with
    # our lines by position, because all three emedny claims share one id.
    rows = _csv_rows(name)
    lines = _lines(_read_e8p(name).remittances[0].claims)
    assert len(rows) == len(lines)
    for row, (claim, line) in zip(rows, lines, strict=True):
        assert row["marker"] == claim.claim_id
        assert row["code"] == line.procedure.code
        assert _csv_money(row["charge_amount"]) == line.charge
        assert _csv_money(row["paid_amount"]) == line.paid


@pytest.mark.parametrize("name", E8P_FILES)
def test_peer_claim_totals_match(name: str) -> None:
    # The CSV has no claim status column, so status is checked against the files
    # in test_peer_claim_statuses instead.
    rows = iter(_csv_rows(name))
    for claim in _read_e8p(name).remittances[0].claims:
        claim_rows = [next(rows) for _line in claim.service_lines]
        charge = sum((_csv_money(row["charge_amount"]) for row in claim_rows), Money(0))
        paid = sum((_csv_money(row["paid_amount"]) for row in claim_rows), Money(0))
        assert charge == claim.charge
        assert paid == claim.paid


def test_peer_claim_statuses() -> None:
    statuses = {
        name: [claim.status_code for claim in _read_e8p(name).remittances[0].claims]
        for name in E8P_FILES
    }
    assert statuses["e8p-blue_cross_nc_sample.835"] == ["1"]
    assert statuses["e8p-emedny_sample.835"] == ["1", "2", "2"]
    assert statuses["e8p-united_healthcare_legacy_sample.835"] == ["1", "1"]


@pytest.mark.parametrize(
    "name", ["e8p-blue_cross_nc_sample.835", "e8p-emedny_sample.835"]
)
def test_peer_patient_share_matches(name: str) -> None:
    rows = iter(_csv_rows(name))
    for claim in _read_e8p(name).remittances[0].claims:
        claim_rows = [next(rows) for _line in claim.service_lines]
        share = sum((_csv_patient_share(row) for row in claim_rows), Money(0))
        assert share == claim.patient_responsibility


def test_peer_patient_share_misses_second_reason() -> None:
    # The peer keeps only the first reason of each CAS segment, so it drops the
    # PR-1 110.00 of CAS*PR*2*5.13**1*110 and sums 5.13 where CLP05 is 115.13.
    name = "e8p-united_healthcare_legacy_sample.835"
    rows = _csv_rows(name)
    claims = _read_e8p(name).remittances[0].claims
    peer_share = sum((_csv_patient_share(row) for row in rows[2:]), Money(0))
    assert claims[0].patient_responsibility == _csv_patient_share(
        rows[0]
    ) + _csv_patient_share(rows[1])
    assert claims[1].patient_responsibility == Money.of("115.13")
    assert peer_share == Money.of("5.13")


# --- Tolerated layouts -----------------------------------------------------


def test_bom_and_line_breaks_tolerated() -> None:
    text = era_text("e8p-emedny_sample.835")
    reformatted = "\ufeff" + text.replace("~", "~\r\n")
    expected = parse_835(text).remittances
    assert parse_835(reformatted.encode("utf-8")).remittances == expected


def test_no_envelope_tolerated() -> None:
    text = era_text("e8p-emedny_sample.835")
    segments = [s for s in text.replace("\n", "").split("~") if s]
    body = "~".join(
        s for s in segments if s.split("*")[0] not in ("ISA", "GS", "GE", "IEA")
    )
    # The emedny ISA16 is ':', the default, so the body reads the same alone.
    remittance = parse_835(body + "~").remittances[0]
    assert remittance.interchange is None
    assert _figures(remittance.claims) == _figures(
        parse_835(text).remittances[0].claims
    )


def test_default_separators_without_isa() -> None:
    separators = find_separators("ST*835*1~")
    assert (separators.element, separators.component, separators.terminator) == (
        "*",
        ":",
        "~",
    )


def test_separators_read_from_isa() -> None:
    text = era_text("e8p-united_healthcare_legacy_sample.835")
    converted = text.replace("*", "|").replace("~", "\n")
    result = parse_835(converted)
    assert result.separators.element == "|"
    assert result.separators.terminator == "\n"
    assert result.separators.component == ">"
    assert result.remittances == parse_835(text).remittances


def _figures(claims: tuple[ClaimPayment, ...]) -> list[tuple[object, ...]]:
    """Claim and line figures without segment numbers, which depend on the layout."""
    return [
        (
            claim.claim_id,
            claim.status_code,
            claim.charge,
            claim.paid,
            claim.adjustments,
            claim.entities,
            [
                (line.procedure, line.charge, line.paid, line.adjustments, line.remarks)
                for line in claim.service_lines
            ],
        )
        for claim in claims
    ]


def _two_groups_file() -> str:
    text = era_text("e8p-emedny_sample.835").replace("\n", "")
    segments = [s for s in text.split("~") if s]
    isa, gs, transaction, iea = segments[0], segments[1], segments[2:-2], segments[-1]
    second = [s.replace("*1740", "*1741") for s in transaction]
    second_gs = gs.replace("*6000600*", "*6000601*")
    all_segments = [
        isa,
        gs,
        *transaction,
        *second,
        "GE*2*6000600",
        second_gs,
        *transaction,
        "GE*1*6000601",
        iea.replace("IEA*1", "IEA*2"),
    ]
    return "~".join(all_segments) + "~"


def test_several_transaction_sets_and_groups() -> None:
    result = parse_835(_two_groups_file())
    assert [r.control_number for r in result.remittances] == ["1740", "1741", "1740"]
    assert result.remittances[2].group is not None
    assert result.remittances[2].group.control_number == "6000601"
    assert _figures(result.remittances[2].claims) == _figures(
        result.remittances[0].claims
    )


def test_wrong_group_count_raises() -> None:
    text = _two_groups_file().replace("GE*2*6000600", "GE*3*6000600")
    with pytest.raises(RemittanceFormatError, match="GE01 says 3"):
        parse_835(text)


# --- Malformed input -------------------------------------------------------


def test_truncated_isa_raises() -> None:
    text = era_text("e8p-emedny_sample.835")[:60]
    with pytest.raises(RemittanceFormatError, match="truncated") as raised:
        parse_835(text)
    assert raised.value.segment_number == 1
    assert raised.value.segment_id == "ISA"


def test_isa_missing_elements_raises() -> None:
    text = era_text("e8p-emedny_sample.835")
    isa_end = text.index("~")
    fields = text[:isa_end].split("*")
    short_isa = "*".join(fields[:5] + fields[9:]) + " " * 40
    with pytest.raises(RemittanceFormatError, match="ISA") as raised:
        parse_835(short_isa + text[isa_end:])
    assert raised.value.segment_number == 1


def test_bad_claim_charge_raises() -> None:
    text = era_text("e8p-emedny_sample.835").replace(
        "*1*34.25*34.25*", "*1*34,25*34.25*"
    )
    with pytest.raises(RemittanceFormatError, match="CLP03 '34,25'") as raised:
        parse_835(text)
    assert raised.value.segment_number == 15
    assert raised.value.segment_id == "CLP"


def test_too_many_decimals_raise() -> None:
    text = era_text("e8p-emedny_sample.835").replace("AMT*AU*34.25", "AMT*AU*34.255")
    with pytest.raises(RemittanceFormatError, match="AMT02") as raised:
        parse_835(text)
    assert raised.value.segment_id == "AMT"


def test_bad_se_count_raises() -> None:
    text = era_text("e8p-emedny_sample.835").replace("SE*65*1740", "SE*64*1740")
    with pytest.raises(RemittanceFormatError, match="SE01 says 64") as raised:
        parse_835(text)
    assert raised.value.segment_number == 67
    assert raised.value.segment_id == "SE"


def test_cas_without_amount_raises() -> None:
    text = era_text("e8p-emedny_sample.835").replace("CAS*CO*29*12", "CAS*CO*29")
    with pytest.raises(RemittanceFormatError, match="no amount in CAS03") as raised:
        parse_835(text)
    assert raised.value.segment_id == "CAS"


def test_unknown_group_code_raises() -> None:
    text = era_text("e8p-emedny_sample.835").replace("CAS*CO*29*12", "CAS*XX*29*12")
    with pytest.raises(RemittanceFormatError, match="CAS01 'XX'"):
        parse_835(text)


def test_missing_se_raises() -> None:
    text = era_text("lfh-managed-care.835")
    cut = text[: text.index("SE*")]
    with pytest.raises(RemittanceFormatError, match="no SE segment"):
        parse_835(cut)


def test_svc_before_clp_raises() -> None:
    text = era_text("lfh-managed-care.835").replace("LX*1~", "LX*1~SVC*HC:1*1*1~")
    with pytest.raises(RemittanceFormatError, match="SVC outside a claim") as raised:
        parse_835(text)
    assert raised.value.segment_number == 13


def test_not_utf8_raises() -> None:
    data = (
        era_text("lfh-managed-care.835")
        .encode("utf-8")
        .replace(b"RUSHMORE", b"RUSH\xffORE")
    )
    with pytest.raises(RemittanceFormatError, match="not valid UTF-8"):
        parse_835(data)


def test_other_transaction_type_raises() -> None:
    text = era_text("lfh-managed-care.835").replace("ST*835*", "ST*837*")
    with pytest.raises(RemittanceFormatError, match="ST01 is '837'"):
        parse_835(text)
