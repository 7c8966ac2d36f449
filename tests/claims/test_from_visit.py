"""Claims and superbills built from signed visits and the example clinic file."""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from ona_ledger.billing.charges import price_lines
from ona_ledger.billing.payments import (
    AdjustmentReason,
    PaymentMethod,
    adjust_invoice,
    collect_payment,
)
from ona_ledger.claims.from_visit import (
    claim_from_visit,
    load_clinic,
    superbill_from_invoice,
)
from ona_ledger.claims.superbill import render_superbill
from ona_ledger.errors import InvalidClaimError
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money
from tests.claims import visit_helpers as vh


def test_claim_id_is_visit_id(memory_ledger: Ledger) -> None:
    visit = vh.sign(memory_ledger, "V-77")
    claim = claim_from_visit(visit, price_lines(visit, vh.FEES), vh.clinic().config)
    assert claim.claim_id == "V-77"
    assert claim.patient_id == "P-1008"
    assert claim.subscriber.member_id == "ACM55877"
    assert claim.payer.name == "Acme Health Plan (fictional)"


def test_claim_lines_from_priced_lines(memory_ledger: Ledger) -> None:
    visit = vh.sign(memory_ledger, "V-78")
    claim = claim_from_visit(visit, price_lines(visit, vh.FEES), vh.clinic().config)
    assert [line.procedure_code for line in claim.lines] == ["99214", "36415"]
    assert [str(line.charge) for line in claim.lines] == ["195.00", "18.00"]
    assert claim.lines[1].diagnosis_pointers == (2,)
    assert claim.lines[0].line_id == "V-78-1-99214"
    assert claim.diagnoses == ("E119", "I10")
    assert str(claim.total_charge) == "213.00"


def test_claim_names_rendering_provider(memory_ledger: Ledger) -> None:
    visit = vh.sign(memory_ledger, "V-79")
    claim = claim_from_visit(visit, price_lines(visit, vh.FEES), vh.clinic().config)
    assert claim.rendering_provider is not None
    assert claim.rendering_provider.last_name == "Baker"
    assert claim.rendering_provider.npi == "1987654328"
    assert claim.billing_provider.npi == "1999999992"


def test_self_pay_visit_rejected(memory_ledger: Ledger) -> None:
    visit = vh.sign(memory_ledger, "V-80", coverage=vh.SELF_PAY)
    with pytest.raises(InvalidClaimError, match="self-pay"):
        claim_from_visit(visit, price_lines(visit, vh.FEES), vh.clinic().config)


def test_unknown_payer_rejected(memory_ledger: Ledger) -> None:
    coverage = {"kind": "insured", "payer_id": "OTHER-PLAN", "member_id": "M1"}
    visit = vh.sign(memory_ledger, "V-81", coverage=coverage)
    with pytest.raises(InvalidClaimError, match="OTHER-PLAN"):
        claim_from_visit(visit, price_lines(visit, vh.FEES), vh.clinic().config)


def test_long_visit_id_rejected(memory_ledger: Ledger) -> None:
    visit = vh.sign(memory_ledger, "V-" + "9" * 40)
    with pytest.raises(InvalidClaimError, match="CLM01"):
        claim_from_visit(visit, price_lines(visit, vh.FEES), vh.clinic().config)


def test_clinic_file_error_names_field(tmp_path: Path) -> None:
    document = json.loads(vh.CLINIC_FILE.read_text(encoding="utf-8"))
    document["billing_provider"]["tax_id"] = "12-34"
    bad = tmp_path / "clinic.json"
    bad.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(InvalidClaimError, match=r"billing_provider\.tax_id"):
        load_clinic(bad)


def test_clinic_file_loads_rules() -> None:
    clinic = vh.clinic()
    assert clinic.rules is not None
    assert clinic.rules.timely_filing_days["ACME-HEALTH"] == 90
    assert "P-1009" in clinic.demographics.persons


def superbill_text(ledger: Ledger, invoice_id: str) -> str:
    clinic = vh.clinic()
    superbill = superbill_from_invoice(
        ledger, invoice_id, clinic, issued_on=date(2026, 3, 6)
    )
    pdf = render_superbill(superbill, clinic.demographics)
    pages = PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


def test_superbill_paid_in_full(memory_ledger: Ledger) -> None:
    vh.sign(memory_ledger, "V-90", coverage=vh.SELF_PAY)
    collect_payment(
        memory_ledger, "P-1008", Money.of("213.00"), PaymentMethod.CASH, actor="desk"
    )
    text = superbill_text(memory_ledger, "INV-V-90")
    assert "PAID IN FULL" in text
    assert "Amount paid: 213.00 USD" in text
    assert "Harper Fictional" in text
    assert "Blair Baker, MD" in text


def test_superbill_balance_due(memory_ledger: Ledger) -> None:
    vh.sign(memory_ledger, "V-91", coverage=vh.SELF_PAY)
    collect_payment(
        memory_ledger, "P-1008", Money.of("100.00"), PaymentMethod.CASH, actor="desk"
    )
    text = superbill_text(memory_ledger, "INV-V-91")
    assert "PAID IN FULL" not in text
    assert "Balance due: 113.00 USD" in text


def test_superbill_fee_net_of_discount(memory_ledger: Ledger) -> None:
    # 213.00 charged, 13.00 courtesy discount, 200.00 paid: settled.
    vh.sign(memory_ledger, "V-92", coverage=vh.SELF_PAY)
    adjust_invoice(
        memory_ledger,
        "INV-V-92",
        Money.of("13.00"),
        AdjustmentReason.COURTESY,
        actor="manager",
        reason="test discount",
    )
    collect_payment(
        memory_ledger, "P-1008", Money.of("200.00"), PaymentMethod.CASH, actor="desk"
    )
    superbill = superbill_from_invoice(
        memory_ledger, "INV-V-92", vh.clinic(), issued_on=date(2026, 3, 6)
    )
    assert superbill.total_fees == Money.of("200.00")
    assert superbill.paid_in_full
    assert superbill.lines[0].units == Decimal(1)


def test_superbill_of_insured_rejected(memory_ledger: Ledger) -> None:
    vh.sign(memory_ledger, "V-93")
    with pytest.raises(InvalidClaimError, match="claim"):
        superbill_from_invoice(
            memory_ledger, "INV-V-93", vh.clinic(), issued_on=date(2026, 3, 6)
        )
