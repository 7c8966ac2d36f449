"""Superbills: an itemized PDF receipt that a patient files with an insurer or an HSA/FSA."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ona_ledger.claims.claim import (
    Address,
    Claim,
    Demographics,
    MoneyField,
    ServiceLine,
)
from ona_ledger.claims.identifiers import check_tax_id, format_icd10cm
from ona_ledger.errors import InvalidClaimError
from ona_ledger.money import Money, total

logger = logging.getLogger(__name__)

_FROZEN = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class Practice(BaseModel):
    """The practice that issues the superbill."""

    model_config = _FROZEN

    name: str = Field(min_length=1)
    tax_id: str
    address: Address
    phone: str | None = None

    @model_validator(mode="after")
    def _tax_id_format(self) -> Practice:
        check_tax_id(self.tax_id)
        return self


class TreatingProvider(BaseModel):
    """The provider who rendered the services, with credentials and licence."""

    model_config = _FROZEN

    name: str = Field(min_length=1)
    credentials: str = Field(min_length=1)
    npi: str = Field(pattern=r"^[0-9]{10}$")
    license_number: str = Field(min_length=1)
    license_state: str = Field(pattern=r"^[A-Z]{2}$")


class Superbill(BaseModel):
    """A superbill: practice, provider, patient id, services, diagnoses and payments."""

    model_config = _FROZEN

    number: str = Field(min_length=1)
    issued_on: date
    practice: Practice
    provider: TreatingProvider
    patient_id: str = Field(min_length=1)
    place_of_service: str = Field(pattern=r"^[0-9]{2}$")
    diagnoses: tuple[str, ...] = Field(min_length=1, max_length=12)
    lines: tuple[ServiceLine, ...] = Field(min_length=1)
    amount_paid: MoneyField

    @property
    def total_fees(self) -> Money:
        return total(
            (line.charge for line in self.lines), self.lines[0].charge.currency
        )

    @property
    def balance_due(self) -> Money:
        return self.total_fees - self.amount_paid

    @property
    def paid_in_full(self) -> bool:
        return self.balance_due.cents <= 0


def superbill_from_claim(
    claim: Claim,
    *,
    number: str,
    issued_on: date,
    practice: Practice,
    provider: TreatingProvider,
    amount_paid: Money,
) -> Superbill:
    """Build a superbill for the services and diagnoses of `claim`."""
    return Superbill(
        number=number,
        issued_on=issued_on,
        practice=practice,
        provider=provider,
        patient_id=claim.patient_id,
        place_of_service=claim.place_of_service,
        diagnoses=claim.diagnoses,
        lines=claim.lines,
        amount_paid=amount_paid,
    )


def render_superbill(superbill: Superbill, demographics: Demographics) -> bytes:
    """Render the superbill as a one-or-more-page PDF and return its bytes."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import (
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    if superbill.amount_paid.cents < 0:
        raise InvalidClaimError(
            f"superbill {superbill.number}: amount paid {superbill.amount_paid} is "
            "negative; record refunds separately"
        )
    patient = demographics.person(superbill.patient_id)
    styles = getSampleStyleSheet()
    body = styles["BodyText"]
    practice = superbill.practice
    provider = superbill.provider

    story: list[object] = [
        Paragraph(f"Superbill {superbill.number}", styles["Title"]),
        Paragraph(f"Date issued: {superbill.issued_on:%m/%d/%Y}", body),
        Spacer(1, 8),
        Paragraph(f"<b>{_escape(practice.name)}</b>", body),
        *(Paragraph(_escape(text), body) for text in _address(practice.address)),
        Paragraph(f"Tax ID (EIN): {_tax_id(practice.tax_id)}", body),
    ]
    if practice.phone:
        story.append(Paragraph(f"Phone: {_escape(practice.phone)}", body))
    story += [
        Spacer(1, 6),
        Paragraph(
            f"Provider: {_escape(provider.name)}, {_escape(provider.credentials)}", body
        ),
        Paragraph(f"NPI: {provider.npi}", body),
        Paragraph(
            f"License: {_escape(provider.license_number)} ({provider.license_state})",
            body,
        ),
        Spacer(1, 8),
        Paragraph("<b>Patient</b>", body),
        Paragraph(_escape(f"{patient.first_name} {patient.last_name}"), body),
        Paragraph(f"Date of birth: {patient.birth_date:%m/%d/%Y}", body),
        *(Paragraph(_escape(text), body) for text in _address(patient.address)),
        Spacer(1, 8),
        Paragraph("<b>Diagnoses (ICD-10-CM)</b>", body),
        Paragraph(", ".join(_diagnosis_labels(superbill.diagnoses)), body),
        Spacer(1, 8),
    ]

    table = Table(_service_rows(superbill), repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
                ("FONT", (0, 1), (-1, -1), "Helvetica", 8),
                ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                ("ALIGN", (-1, 0), (-1, -1), "RIGHT"),
            ]
        )
    )
    story += [table, Spacer(1, 8), *_payment_paragraphs(superbill, body)]
    story += [
        Spacer(1, 24),
        Paragraph(
            "Provider signature: ______________________________   Date: __________",
            body,
        ),
        Paragraph(f"{_escape(provider.name)}, {_escape(provider.credentials)}", body),
    ]

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=letter, title=f"Superbill {superbill.number}", invariant=True
    )
    document.build(story)
    logger.debug("rendered superbill %s", superbill.number)
    return buffer.getvalue()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _address(address: Address) -> list[str]:
    zip_code = address.postal_code
    if len(zip_code) == 9:
        zip_code = f"{zip_code[:5]}-{zip_code[5:]}"
    lines = [address.line1]
    if address.line2:
        lines.append(address.line2)
    lines.append(f"{address.city}, {address.state} {zip_code}")
    return lines


def _tax_id(tax_id: str) -> str:
    digits = check_tax_id(tax_id)
    return f"{digits[:2]}-{digits[2:]}"


def _diagnosis_labels(codes: Sequence[str]) -> list[str]:
    return [
        f"{index}. {format_icd10cm(code)}" for index, code in enumerate(codes, start=1)
    ]


def _service_rows(superbill: Superbill) -> list[list[str]]:
    rows = [["Date", "POS", "Code", "Modifiers", "Units", "Diagnoses", "Fee"]]
    for line in superbill.lines:
        pointed = [
            format_icd10cm(superbill.diagnoses[p - 1])
            for p in _valid_pointers(line, superbill)
        ]
        rows.append(
            [
                f"{line.service_date:%m/%d/%Y}",
                line.place_of_service or superbill.place_of_service,
                line.procedure_code,
                " ".join(line.modifiers),
                format(line.units.normalize(), "f"),
                ", ".join(pointed),
                str(line.charge),
            ]
        )
    rows.append(["", "", "", "", "", "Total", str(superbill.total_fees)])
    return rows


def _valid_pointers(line: ServiceLine, superbill: Superbill) -> list[int]:
    for pointer in line.diagnosis_pointers:
        if not 1 <= pointer <= len(superbill.diagnoses):
            raise InvalidClaimError(
                f"superbill {superbill.number}: a {line.procedure_code} line points at "
                f"diagnosis {pointer}, but there are {len(superbill.diagnoses)}; "
                "correct the pointer"
            )
    return list(line.diagnosis_pointers)


def _payment_paragraphs(superbill: Superbill, style: object) -> list[object]:
    from reportlab.platypus import Paragraph

    paragraphs: list[object] = [
        Paragraph(f"Total fees: {superbill.total_fees.format()}", style),
        Paragraph(f"Amount paid: {superbill.amount_paid.format()}", style),
    ]
    if superbill.paid_in_full:
        paragraphs.append(
            Paragraph(
                "<b>PAID IN FULL.</b> The patient has paid the total fees for the "
                "services listed above.",
                style,
            )
        )
    else:
        paragraphs.append(
            Paragraph(f"Balance due: {superbill.balance_due.format()}", style)
        )
    return paragraphs
