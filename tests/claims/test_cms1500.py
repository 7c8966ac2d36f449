"""CMS-1500 PDF: every value read back from the PDF lies inside its box."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from pypdf import PdfReader

from ona_ledger.claims.claim import Claim, ClaimFrequency
from ona_ledger.claims.cms1500 import (
    BOXES,
    LINES_PER_PAGE,
    claim_placements,
    pointer_letters,
    render_cms1500,
)
from ona_ledger.errors import InvalidClaimError
from tests.claims import claim_examples as ex

SIGNED_ON = date(2026, 3, 2)
Fragment = tuple[str, float, float]


def page_texts(pdf: bytes) -> list[list[Fragment]]:
    """Return each page's drawn strings with their origin in PDF points."""
    pages: list[list[Fragment]] = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        fragments: list[Fragment] = []

        def visit(
            text: str,
            cm: Any,
            tm: Any,
            font: Any,
            size: Any,
            found: list[Fragment] = fragments,
        ) -> None:
            if text.strip():
                x = tm[4] * cm[0] + cm[4]
                y = tm[5] * cm[3] + cm[5]
                found.append((text.strip(), x, y))

        page.extract_text(visitor_text=visit)
        pages.append(fragments)
    return pages


def full_claim() -> Claim:
    return ex.secondary_claim().model_copy(
        update={
            "referring_provider": ex.REFERRING,
            "service_facility": ex.FACILITY,
            "prior_authorization": "PA-777",
        }
    )


def assert_all_in_boxes(
    claim: Claim, full_form: bool, offset: tuple[float, float]
) -> None:
    pdf = render_cms1500(
        claim,
        ex.DEMOGRAPHICS,
        signed_on=SIGNED_ON,
        full_form=full_form,
        offset_points=offset,
    )
    pages = page_texts(pdf)
    expected = claim_placements(claim, ex.DEMOGRAPHICS, SIGNED_ON)
    assert len(pages) == len(expected)
    for fragments, placements in zip(pages, expected, strict=True):
        for placement in placements:
            box = BOXES[placement.box]
            for text in placement.lines:
                found = [
                    (x, y)
                    for value, x, y in fragments
                    if value == text.strip()
                    and box.contains(x - offset[0], y + offset[1])
                ]
                assert found, f"{text!r} not inside box {placement.box}"


@pytest.mark.parametrize("full_form", [True, False])
def test_values_inside_boxes(full_form: bool) -> None:
    assert_all_in_boxes(full_claim(), full_form, (0.0, 0.0))


def test_offset_moves_values() -> None:
    assert_all_in_boxes(ex.drug_claim(), False, (3.0, -2.5))


def test_offset_too_large_rejected() -> None:
    with pytest.raises(InvalidClaimError, match="offset"):
        render_cms1500(
            ex.claim(), ex.DEMOGRAPHICS, signed_on=SIGNED_ON, offset_points=(90, 0)
        )


def test_all_items_on_full_form() -> None:
    pdf = render_cms1500(ex.claim(), ex.DEMOGRAPHICS, signed_on=SIGNED_ON)
    labels = {text for text, _, _ in page_texts(pdf)[0]}
    for item in [str(n) for n in range(1, 34)]:
        assert any(label.startswith(f"{item} ") for label in labels), (
            f"item {item} missing"
        )


def test_continuation_pages() -> None:
    claim = ex.fifty_line_claim()
    pages = claim_placements(claim, ex.DEMOGRAPHICS, SIGNED_ON)
    assert len(pages) == 9
    totals = [p.lines[0] for page in pages for p in page if p.box == "28"]
    assert totals[:-1] == ["CONTINUED"] * 8
    assert totals[-1] == "1250.00"
    last_lines = [p for p in pages[-1] if p.box.startswith("24A.")]
    assert len(last_lines) == 50 - 8 * LINES_PER_PAGE
    pdf = render_cms1500(claim, ex.DEMOGRAPHICS, signed_on=SIGNED_ON)
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 9


def test_pointer_letters() -> None:
    assert pointer_letters((1, 2)) == "AB"
    assert pointer_letters((12, 3)) == "LC"


def placed(claim: Claim) -> dict[str, tuple[str, ...]]:
    return {
        p.box: p.lines for p in claim_placements(claim, ex.DEMOGRAPHICS, SIGNED_ON)[0]
    }


def test_item_values() -> None:
    values = placed(full_claim())
    assert values["24E.1"] == ("AB",)
    assert values["24B.1"] == ("11",)
    assert values["25"] == ("123456789",)
    assert values["25.ein"] == ("X",)
    assert values["21.A"] == ("A. M54.50",)
    assert values["21.B"] == ("B. M62.81",)
    assert values["23"] == ("PA-777",)
    assert values["29"] == ("120.00",)
    assert values["11d.yes"] == ("X",)
    assert values["17b"] == (ex.REFERRING_NPI,)
    assert values["32a"] == (ex.FACILITY_NPI,)
    assert values["33a"] == (ex.BILLING_NPI,)


def test_items_13_27_match_837() -> None:
    yes = placed(ex.claim())
    assert yes["13"] == ("SIGNATURE ON FILE",)
    assert yes["27.yes"] == ("X",)
    no = placed(ex.claim(accept_assignment=False, signature_on_file=False))
    assert "13" not in no
    assert no["27.no"] == ("X",)


def test_replacement_item_22() -> None:
    values = placed(ex.replacement_claim(ClaimFrequency.VOID))
    assert values["22"] == ("8   PAYER-CLM-20260215-0042",)


def test_drug_line_shaded() -> None:
    values = placed(ex.drug_claim())
    assert values["24.2.shaded"] == ("N400409379501 ML2",)


def test_child_relationship() -> None:
    values = placed(ex.child_claim())
    assert values["6.child"] == ("X",)
    assert values["2"] == ("TESTPATIENT, SAM",)
    assert values["4"] == ("TESTPATIENT, ALEX",)
