"""CMS-1500 (02/12) paper claims: the box table, the values of all 33 items, and the PDF.

Two renderings: data only, to print on the red pre-printed form (with an
alignment offset), and the full form with its grid, for viewing and archiving.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Final

from ona_ledger.claims.claim import (
    Address,
    Claim,
    ClaimFrequency,
    Demographics,
    PersonDemographics,
    Relationship,
    ServiceLine,
)
from ona_ledger.claims.identifiers import format_icd10cm
from ona_ledger.errors import InvalidClaimError
from ona_ledger.money import total

if TYPE_CHECKING:
    from reportlab.lib.colors import Color
    from reportlab.pdfgen.canvas import Canvas

logger = logging.getLogger(__name__)

LINES_PER_PAGE: Final = 6
PAGE_WIDTH: Final = 612.0
PAGE_HEIGHT: Final = 792.0
DIAGNOSIS_LETTERS: Final = "ABCDEFGHIJKL"
# The form is laid out for 10 characters per inch and 6 lines per inch, so a
# column is 7.2 points wide and a print line 12 points high.
COLUMN: Final = 7.2
ROW: Final = 12.0
LEFT_MARGIN: Final = 18.0
FONT: Final = "Courier"
FONT_SIZE: Final = 10.0


@dataclass(frozen=True, slots=True)
class Box:
    """A field of the form in points, from the page's top-left corner."""

    x: float
    top: float
    width: float
    height: float
    label: str

    def contains(self, x: float, y_from_bottom: float, slack: float = 0.5) -> bool:
        """Return whether a PDF point (origin bottom-left) lies in the box."""
        bottom = PAGE_HEIGHT - self.top - self.height
        return (
            self.x - slack <= x <= self.x + self.width + slack
            and bottom - slack <= y_from_bottom <= bottom + self.height + slack
        )


def _cell(column: float, line: float, columns: float, lines: float, label: str) -> Box:
    return Box(
        LEFT_MARGIN + column * COLUMN, line * ROW, columns * COLUMN, lines * ROW, label
    )


# NOTE: the positions follow the form's 10 by 6 print grid as laid out here,
# measured by eye rather than from the NUCC print specification. Print a test
# page on the red form and set `offset_points` before a claim run.
_FIXED_BOXES: dict[str, Box] = {
    "page": _cell(62, 5, 16, 1, "page"),
    "1": _cell(0, 8, 47, 2, "1 MEDICARE MEDICAID TRICARE CHAMPVA GROUP FECA OTHER"),
    "1.medicare": _cell(0, 9, 6, 1, "Medicare"),
    "1.medicaid": _cell(7, 9, 6, 1, "Medicaid"),
    "1.tricare": _cell(14, 9, 7, 1, "TRICARE"),
    "1.champva": _cell(22, 9, 6, 1, "CHAMPVA"),
    "1.group": _cell(29, 9, 6, 1, "Group health plan"),
    "1.feca": _cell(36, 9, 5, 1, "FECA"),
    "1.other": _cell(42, 9, 5, 1, "Other"),
    "1a": _cell(48, 8, 30, 2, "1a INSURED'S I.D. NUMBER"),
    "2": _cell(0, 10, 28, 2, "2 PATIENT'S NAME"),
    "3": _cell(28, 10, 19, 2, "3 PATIENT'S BIRTH DATE, SEX"),
    "3.date": _cell(28, 11, 11, 1, "birth date"),
    "3.male": _cell(40, 11, 3, 1, "M"),
    "3.female": _cell(44, 11, 3, 1, "F"),
    "4": _cell(48, 10, 30, 2, "4 INSURED'S NAME"),
    "5": _cell(0, 12, 28, 6, "5 PATIENT'S ADDRESS"),
    "6": _cell(28, 12, 19, 2, "6 PATIENT RELATIONSHIP TO INSURED"),
    "6.self": _cell(28, 13, 4, 1, "Self"),
    "6.spouse": _cell(32, 13, 5, 1, "Spouse"),
    "6.child": _cell(37, 13, 5, 1, "Child"),
    "6.other": _cell(42, 13, 5, 1, "Other"),
    "7": _cell(48, 12, 30, 6, "7 INSURED'S ADDRESS"),
    "8": _cell(28, 14, 19, 4, "8 RESERVED FOR NUCC USE"),
    "9": _cell(0, 18, 28, 2, "9 OTHER INSURED'S NAME"),
    "9a": _cell(0, 20, 28, 2, "a. OTHER INSURED'S POLICY OR GROUP NUMBER"),
    "9b": _cell(0, 22, 28, 2, "b. RESERVED FOR NUCC USE"),
    "9c": _cell(0, 24, 28, 2, "c. RESERVED FOR NUCC USE"),
    "9d": _cell(0, 26, 28, 2, "d. INSURANCE PLAN NAME OR PROGRAM NAME"),
    "10": _cell(28, 18, 19, 2, "10 IS PATIENT'S CONDITION RELATED TO:"),
    "10a": _cell(28, 20, 19, 2, "a. EMPLOYMENT?"),
    "10a.yes": _cell(33, 21, 4, 1, "YES"),
    "10a.no": _cell(40, 21, 4, 1, "NO"),
    "10b": _cell(28, 22, 19, 2, "b. AUTO ACCIDENT?"),
    "10b.yes": _cell(33, 23, 4, 1, "YES"),
    "10b.no": _cell(40, 23, 4, 1, "NO"),
    "10c": _cell(28, 24, 19, 2, "c. OTHER ACCIDENT?"),
    "10c.yes": _cell(33, 25, 4, 1, "YES"),
    "10c.no": _cell(40, 25, 4, 1, "NO"),
    "10d": _cell(28, 26, 19, 2, "10d. CLAIM CODES"),
    "11": _cell(48, 18, 30, 2, "11 INSURED'S POLICY GROUP OR FECA NUMBER"),
    "11a": _cell(48, 20, 30, 2, "a. INSURED'S DATE OF BIRTH, SEX"),
    "11b": _cell(48, 22, 30, 2, "b. OTHER CLAIM ID"),
    "11c": _cell(48, 24, 30, 2, "c. INSURANCE PLAN NAME OR PROGRAM NAME"),
    "11d": _cell(48, 26, 30, 2, "d. IS THERE ANOTHER HEALTH BENEFIT PLAN?"),
    "11d.yes": _cell(50, 27, 4, 1, "YES"),
    "11d.no": _cell(56, 27, 4, 1, "NO"),
    "12": _cell(0, 28, 47, 3, "12 PATIENT'S OR AUTHORIZED PERSON'S SIGNATURE"),
    "13": _cell(48, 28, 30, 3, "13 INSURED'S OR AUTHORIZED PERSON'S SIGNATURE"),
    "14": _cell(0, 31, 22, 2, "14 DATE OF CURRENT ILLNESS"),
    "15": _cell(22, 31, 25, 2, "15 OTHER DATE"),
    "16": _cell(48, 31, 30, 2, "16 DATES PATIENT UNABLE TO WORK"),
    "17": _cell(0, 33, 28, 2, "17 NAME OF REFERRING PROVIDER"),
    "17a": _cell(28, 33, 19, 1, "17a"),
    "17b": _cell(28, 34, 19, 1, "17b NPI"),
    "18": _cell(48, 33, 30, 2, "18 HOSPITALIZATION DATES"),
    "19": _cell(0, 35, 47, 2, "19 ADDITIONAL CLAIM INFORMATION"),
    "20": _cell(48, 35, 30, 2, "20 OUTSIDE LAB? $ CHARGES"),
    "21": _cell(0, 37, 47, 4, "21 DIAGNOSIS OR NATURE OF ILLNESS OR INJURY"),
    "21.ind": _cell(40, 37, 7, 1, "ICD Ind."),
    **{
        f"21.{letter}": _cell((i % 4) * 11.75, 38 + i // 4, 11.75, 1, f"21 {letter}")
        for i, letter in enumerate("ABCDEFGHIJKL")
    },
    "22": _cell(48, 37, 30, 2, "22 RESUBMISSION CODE / ORIGINAL REF. NO."),
    "23": _cell(48, 39, 30, 2, "23 PRIOR AUTHORIZATION NUMBER"),
    "24": _cell(0, 41, 78, 14, "24 SERVICE LINES"),
    "25": _cell(0, 55, 20, 2, "25 FEDERAL TAX I.D. NUMBER"),
    "25.ssn": _cell(14, 56, 3, 1, "SSN"),
    "25.ein": _cell(17, 56, 3, 1, "EIN"),
    "26": _cell(20, 55, 15, 2, "26 PATIENT'S ACCOUNT NO."),
    "27": _cell(35, 55, 12, 2, "27 ACCEPT ASSIGNMENT?"),
    "27.yes": _cell(35, 56, 6, 1, "YES"),
    "27.no": _cell(41, 56, 6, 1, "NO"),
    "28": _cell(48, 55, 11, 2, "28 TOTAL CHARGE"),
    "29": _cell(59, 55, 10, 2, "29 AMOUNT PAID"),
    "30": _cell(69, 55, 9, 2, "30 RSVD FOR NUCC USE"),
    "31": _cell(0, 57, 20, 5, "31 SIGNATURE OF PHYSICIAN OR SUPPLIER"),
    "32": _cell(20, 57, 27, 4, "32 SERVICE FACILITY LOCATION INFORMATION"),
    "32a": _cell(20, 61, 13, 1, "32a NPI"),
    "32b": _cell(33, 61, 14, 1, "32b"),
    "33": _cell(47, 57, 31, 4, "33 BILLING PROVIDER INFO & PH #"),
    "33.phone": _cell(64, 57, 14, 1, "phone"),
    "33a": _cell(47, 61, 14, 1, "33a NPI"),
    "33b": _cell(61, 61, 17, 1, "33b"),
}

# Item 24 columns: (key, first column, width in columns). Each of the six
# lines has a shaded upper half (supplemental data such as an NDC) and a
# lower half for the service itself.
_LINE_COLUMNS: Final = (
    ("24A", 0, 18),
    ("24B", 18, 3),
    ("24C", 21, 3),
    ("24D", 24, 18),
    ("24E", 42, 5),
    ("24F", 47, 9),
    ("24G", 56, 4),
    ("24H", 60, 3),
    ("24I", 63, 3),
    ("24J", 66, 12),
)
_FIRST_LINE_ROW: Final = 43


def _line_boxes() -> dict[str, Box]:
    boxes: dict[str, Box] = {}
    for index in range(1, LINES_PER_PAGE + 1):
        row = _FIRST_LINE_ROW + (index - 1) * 2
        boxes[f"24.{index}.shaded"] = _cell(
            0, row, 78, 1, f"24 line {index} supplemental"
        )
        for key, column, width in _LINE_COLUMNS:
            boxes[f"{key}.{index}"] = _cell(
                column, row + 1, width, 1, f"{key} line {index}"
            )
    return boxes


BOXES: Final[dict[str, Box]] = {**_FIXED_BOXES, **_line_boxes()}
"""Every field of the form by key: items '1' to '33', their parts and line cells."""

_INSURANCE_TYPE: Final = {
    "MA": "1.medicare",
    "MB": "1.medicare",
    "MC": "1.medicaid",
    "CH": "1.tricare",
    "VA": "1.champva",
    "FI": "1.feca",
}
_GROUP_PLAN_CODES: Final = frozenset(
    {"BL", "CI", "HM", "12", "13", "14", "15", "16", "17"}
)
_RELATIONSHIP_BOX: Final = {
    Relationship.SELF: "6.self",
    Relationship.SPOUSE: "6.spouse",
    Relationship.CHILD: "6.child",
    Relationship.OTHER: "6.other",
}


@dataclass(frozen=True, slots=True)
class Placement:
    """A value printed in a box: the box key and the lines of text."""

    box: str
    lines: tuple[str, ...]


def _name(person: PersonDemographics) -> str:
    middle = f", {person.middle_name[0]}" if person.middle_name else ""
    return f"{person.last_name}, {person.first_name}{middle}".upper()


def _address_lines(address: Address) -> tuple[str, ...]:
    street = address.line1 if not address.line2 else f"{address.line1} {address.line2}"
    zip_code = address.postal_code
    if len(zip_code) == 9:
        zip_code = f"{zip_code[:5]}-{zip_code[5:]}"
    return (street.upper(), f"{address.city.upper()}, {address.state} {zip_code}")


def _print_date(day: date) -> str:
    return day.strftime("%m %d %Y")


def _line_date(day: date) -> str:
    return day.strftime("%m %d %y")


def pointer_letters(pointers: Sequence[int]) -> str:
    """Return diagnosis pointers as the letters item 24E prints: (1, 2) is 'AB'."""
    return "".join(DIAGNOSIS_LETTERS[pointer - 1] for pointer in pointers)


def claim_placements(
    claim: Claim, demographics: Demographics, signed_on: date
) -> list[list[Placement]]:
    """Return, for each page, the values of the claim placed in their boxes.

    Items repeat on every page; the service lines go six to a page. Item 28
    carries the total on the last page and CONTINUED on the others.
    """
    patient = demographics.person(claim.patient_id)
    insured = demographics.person(claim.subscriber.person_id)
    header = _header_placements(claim, patient, insured, signed_on)
    chunks = [
        claim.lines[start : start + LINES_PER_PAGE]
        for start in range(0, len(claim.lines), LINES_PER_PAGE)
    ]
    pages: list[list[Placement]] = []
    for number, chunk in enumerate(chunks, start=1):
        page = list(header)
        for index, line in enumerate(chunk, start=1):
            page += _line_placements(claim, index, line)
        last = number == len(chunks)
        page.append(
            Placement("28", (str(claim.total_charge) if last else "CONTINUED",))
        )
        page.append(Placement("page", (f"PAGE {number} OF {len(chunks)}",)))
        pages.append(page)
    return pages


def _header_placements(
    claim: Claim,
    patient: PersonDemographics,
    insured: PersonDemographics,
    signed_on: date,
) -> list[Placement]:
    indicator = claim.subscriber.claim_filing_indicator
    insurance_box = _INSURANCE_TYPE.get(
        indicator, "1.group" if indicator in _GROUP_PLAN_CODES else "1.other"
    )
    placed = [
        Placement(insurance_box, ("X",)),
        Placement("1a", (claim.subscriber.member_id,)),
        Placement("2", (_name(patient),)),
        Placement("3.date", (_print_date(patient.birth_date),)),
        Placement("4", (_name(insured),)),
        Placement("5", _address_lines(patient.address)),
        Placement(_RELATIONSHIP_BOX[claim.relationship], ("X",)),
        Placement("7", _address_lines(insured.address)),
        Placement("10a.no", ("X",)),
        Placement("10b.no", ("X",)),
        Placement("10c.no", ("X",)),
        Placement("11c", (claim.payer.name.upper(),)),
        Placement("11d.yes" if claim.other_payers else "11d.no", ("X",)),
        Placement("21.ind", ("0",)),
        *_diagnosis_placements(claim.diagnoses),
        Placement("25", (claim.billing_provider.tax_id,)),
        Placement(
            "25.ssn" if claim.billing_provider.tax_id_is_ssn else "25.ein", ("X",)
        ),
        Placement("26", (claim.claim_id,)),
        Placement("27.yes" if claim.accept_assignment else "27.no", ("X",)),
        *_billing_placements(claim),
    ]
    if patient.sex in ("M", "F"):
        placed.append(Placement("3.male" if patient.sex == "M" else "3.female", ("X",)))
    if claim.subscriber.group_number:
        placed.append(Placement("11", (claim.subscriber.group_number,)))
    sex = insured.sex if insured.sex in ("M", "F") else ""
    placed.append(
        Placement("11a", (f"{_print_date(insured.birth_date)}  {sex}".rstrip(),))
    )
    if claim.signature_on_file:
        placed.append(
            Placement("12", (f"SIGNATURE ON FILE  {_print_date(signed_on)}",))
        )
        placed.append(Placement("13", ("SIGNATURE ON FILE",)))
    placed += _other_payer_placements(claim)
    placed += _provider_placements(claim, signed_on)
    return placed


def _diagnosis_placements(codes: Sequence[str]) -> list[Placement]:
    return [
        Placement(
            f"21.{DIAGNOSIS_LETTERS[i]}",
            (f"{DIAGNOSIS_LETTERS[i]}. {format_icd10cm(code)}",),
        )
        for i, code in enumerate(codes)
    ]


def _billing_placements(claim: Claim) -> list[Placement]:
    provider = claim.billing_provider
    name = provider.last_name
    if not provider.is_organization and provider.first_name:
        name = f"{provider.last_name}, {provider.first_name}"
    placed = [
        Placement("33", (name.upper(), *_address_lines(provider.address))),
        Placement("33a", (provider.npi,)),
    ]
    phone = provider.phone
    if phone:
        placed.append(
            Placement("33.phone", (f"({phone[:3]}) {phone[3:6]}-{phone[6:]}",))
        )
    return placed


def _other_payer_placements(claim: Claim) -> list[Placement]:
    if not claim.other_payers:
        return []
    placed: list[Placement] = []
    other = claim.other_payers[0]
    policy = other.subscriber.group_number or other.subscriber.member_id
    placed.append(Placement("9a", (policy,)))
    placed.append(Placement("9d", (other.payer.name.upper(),)))
    paid = [o.paid for o in claim.other_payers if o.paid is not None]
    if paid:
        placed.append(Placement("29", (str(total(paid, claim.total_charge.currency)),)))
    return placed


def _provider_placements(claim: Claim, signed_on: date) -> list[Placement]:
    placed: list[Placement] = []
    if claim.referring_provider is not None:
        referring = claim.referring_provider
        name = f"{referring.first_name or ''} {referring.last_name}".strip().upper()
        placed.append(Placement("17", (f"DN {name}",)))
        placed.append(Placement("17b", (referring.npi,)))
    if claim.frequency is not ClaimFrequency.ORIGINAL:
        placed.append(
            Placement(
                "22",
                (f"{claim.frequency.value}   {claim.original_claim_number or ''}",),
            )
        )
    if claim.prior_authorization:
        placed.append(Placement("23", (claim.prior_authorization,)))
    signer = claim.rendering_provider or claim.billing_provider
    signer_name = f"{signer.first_name or ''} {signer.last_name}".strip().upper()
    placed.append(
        Placement("31", ("SIGNATURE ON FILE", signer_name, _print_date(signed_on)))
    )
    if claim.service_facility is not None:
        facility = claim.service_facility
        lines = (facility.name.upper(), *_address_lines(facility.address))
        placed.append(Placement("32", lines))
        if facility.npi:
            placed.append(Placement("32a", (facility.npi,)))
    return placed


def _line_placements(claim: Claim, index: int, line: ServiceLine) -> list[Placement]:
    end = line.service_date_end or line.service_date
    rendering = claim.rendering_provider or claim.billing_provider
    code = " ".join((line.procedure_code, *line.modifiers))
    units = format(line.units.normalize(), "f")
    placed = [
        Placement(
            f"24A.{index}", (f"{_line_date(line.service_date)} {_line_date(end)}",)
        ),
        Placement(f"24B.{index}", (line.place_of_service or claim.place_of_service,)),
        Placement(f"24D.{index}", (code,)),
        Placement(f"24E.{index}", (pointer_letters(line.diagnosis_pointers),)),
        Placement(f"24F.{index}", (str(line.charge),)),
        Placement(f"24G.{index}", (units,)),
        Placement(f"24J.{index}", (rendering.npi,)),
    ]
    if line.drug is not None:
        quantity = format(line.drug.quantity.normalize(), "f")
        placed.append(
            Placement(
                f"24.{index}.shaded", (f"N4{line.drug.ndc} {line.drug.unit}{quantity}",)
            )
        )
    return placed


def render_cms1500(
    claim: Claim,
    demographics: Demographics,
    *,
    signed_on: date,
    full_form: bool = True,
    offset_points: tuple[float, float] = (0.0, 0.0),
) -> bytes:
    """Render the claim as a CMS-1500 PDF and return its bytes.

    With `full_form` False only the values are printed, for the red
    pre-printed form; `offset_points` (right, down) then moves every value to
    match the printer. The full form draws the grid and labels.
    """
    from reportlab.lib.colors import Color
    from reportlab.pdfgen.canvas import Canvas

    dx, dy = offset_points
    if abs(dx) > 72 or abs(dy) > 72:
        raise InvalidClaimError(
            f"alignment offset {offset_points} is more than one inch; measure the "
            "test print again, in points (72 to the inch)"
        )
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), invariant=True)
    canvas.setTitle(f"CMS-1500 claim {claim.claim_id}")
    form_red = Color(0.75, 0.1, 0.1)
    for page in claim_placements(claim, demographics, signed_on):
        if full_form:
            _draw_grid(canvas, form_red)
        canvas.setFillColorRGB(0, 0, 0)
        for placement in page:
            _draw_value(canvas, BOXES[placement.box], placement.lines, dx, dy)
        canvas.showPage()
    canvas.save()
    logger.debug("rendered CMS-1500 for claim %s", claim.claim_id)
    return buffer.getvalue()


def _draw_grid(canvas: Canvas, color: Color) -> None:
    canvas.setStrokeColor(color)
    canvas.setFillColor(color)
    canvas.setLineWidth(0.4)
    canvas.setFont("Helvetica-Bold", 9)
    canvas.drawString(LEFT_MARGIN, PAGE_HEIGHT - 5 * ROW, "HEALTH INSURANCE CLAIM FORM")
    canvas.setFont("Helvetica", 4.5)
    for key, box in BOXES.items():
        bottom = PAGE_HEIGHT - box.top - box.height
        canvas.rect(box.x, bottom, box.width, box.height, stroke=1, fill=0)
        if "." not in key or not key.startswith(("21.", "24")):
            canvas.drawString(box.x + 1, bottom + box.height - 5, box.label)
        elif key.startswith("24") and key.endswith(".1") and not key.startswith("24."):
            canvas.drawString(box.x + 1, bottom + box.height + 7, key.split(".")[0])


def _draw_value(
    canvas: Canvas, box: Box, lines: Sequence[str], dx: float, dy: float
) -> None:
    """Draw `lines` in `box`: one value on the box's last print line, several from its second."""
    canvas.setFont(FONT, FONT_SIZE)
    max_chars = max(1, int((box.width - 2) / (FONT_SIZE * 0.6)))
    rows = round(box.height / ROW)
    if len(lines) == 1:
        first_row = rows - 1
    elif len(lines) < rows:
        first_row = 1
    else:
        first_row = 0
    top = PAGE_HEIGHT - box.top
    for number, text in enumerate(lines):
        baseline = top - (first_row + number + 1) * ROW + 3
        canvas.drawString(box.x + 1.5 + dx, baseline - dy, text[:max_chars])
