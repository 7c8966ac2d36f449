"""Superbill PDF: the text a patient's insurer or HSA needs is on the page."""

from __future__ import annotations

import io
from datetime import date

import pytest
from pypdf import PdfReader

from ona_ledger.claims.superbill import (
    Practice,
    Superbill,
    TreatingProvider,
    render_superbill,
    superbill_from_claim,
)
from ona_ledger.errors import InvalidClaimError
from ona_ledger.money import Money
from tests.claims import claim_examples as ex

PRACTICE = Practice(
    name="Harbor Physical Therapy",
    tax_id="12-3456789",
    address=ex.CLINIC_ADDRESS,
    phone="207-555-0100",
)
PROVIDER = TreatingProvider(
    name="Ama Osei",
    credentials="PT, DPT",
    npi=ex.RENDERING_NPI,
    license_number="PT-004211",
    license_state="ME",
)


def build(paid: str) -> Superbill:
    return superbill_from_claim(
        ex.claim(),
        number="SB-0007",
        issued_on=date(2026, 3, 2),
        practice=PRACTICE,
        provider=PROVIDER,
        amount_paid=Money.of(paid),
    )


def text_of(superbill: Superbill) -> str:
    pdf = render_superbill(superbill, ex.DEMOGRAPHICS)
    pages = PdfReader(io.BytesIO(pdf)).pages
    # Table cells come out one per line; joining on single spaces reads a row as one line.
    return " ".join(" ".join(page.extract_text() for page in pages).split())


def test_superbill_lists_practice_and_provider() -> None:
    text = text_of(build("215.00"))
    for expected in (
        "Harbor Physical Therapy",
        "Tax ID (EIN): 12-3456789",
        "Ama Osei, PT, DPT",
        f"NPI: {ex.RENDERING_NPI}",
        "License: PT-004211 (ME)",
        "Portland, ME 04101-1234",
    ):
        assert expected in text, expected


def test_superbill_lists_patient() -> None:
    text = text_of(build("215.00"))
    assert "Alex Testpatient" in text
    assert "Date of birth: 04/01/1980" in text


def test_superbill_lists_services() -> None:
    text = text_of(build("215.00"))
    assert "02/10/2026 11 97110 2 M54.50, M62.81 100.00" in text
    assert "02/10/2026 11 97530 GP 1 M54.50 60.00" in text
    assert "1. M54.50, 2. M62.81" in text
    assert "Total 215.00" in text


def test_paid_in_full_statement() -> None:
    text = text_of(build("215.00"))
    assert "PAID IN FULL" in text
    assert "Amount paid: 215.00 USD" in text
    assert "Provider signature" in text


def test_balance_due_when_partly_paid() -> None:
    text = text_of(build("100.00"))
    assert "PAID IN FULL" not in text
    assert "Balance due: 115.00 USD" in text


def test_negative_payment_rejected() -> None:
    with pytest.raises(InvalidClaimError, match="negative"):
        render_superbill(build("-1.00"), ex.DEMOGRAPHICS)
