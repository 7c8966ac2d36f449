"""Example claims, demographics, envelope settings and a pyx12 check for the claims tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ona_ledger.claims.claim import (
    Address,
    Adjustment,
    BillingProvider,
    Claim,
    ClaimFrequency,
    Demographics,
    DrugIdentification,
    OtherPayer,
    Payer,
    PayerResponsibility,
    PersonDemographics,
    Provider,
    Relationship,
    ServiceFacility,
    ServiceLine,
    Subscriber,
)
from ona_ledger.claims.demo_step import pyx12_errors as library_pyx12_errors
from ona_ledger.claims.x837 import InterchangeSettings
from ona_ledger.money import Money

BILLING_NPI = "1234567893"
RENDERING_NPI = "1999996667"
REFERRING_NPI = "1122333341"
FACILITY_NPI = "1581234568"
SERVICE_DAY = date(2026, 2, 10)
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

CLINIC_ADDRESS = Address(
    line1="100 Harbor Way", city="Portland", state="ME", postal_code="041011234"
)
BILLING = BillingProvider(
    npi=BILLING_NPI,
    last_name="Harbor Physical Therapy",
    is_organization=True,
    taxonomy="225100000X",
    tax_id="12-3456789",
    address=CLINIC_ADDRESS,
)
RENDERING = Provider(
    npi=RENDERING_NPI, last_name="Osei", first_name="Ama", taxonomy="225100000X"
)
REFERRING = Provider(npi=REFERRING_NPI, last_name="Lind", first_name="Tove")
FACILITY = ServiceFacility(
    name="Harbor PT East",
    npi=FACILITY_NPI,
    address=Address(
        line1="9 Mill St", city="Portland", state="ME", postal_code="041029876"
    ),
)
COMMERCIAL = Payer(payer_id="87726", name="Example Health Plan")
MEDICARE = Payer(payer_id="14112", name="Medicare Part B Example MAC")
MEDIGAP = Payer(payer_id="MG001", name="Example Medigap Plan")

DEMOGRAPHICS = Demographics(
    persons={
        "P-1": PersonDemographics(
            last_name="Testpatient",
            first_name="Alex",
            birth_date=date(1980, 4, 1),
            sex="F",
            address=Address(
                line1="1 Elm St", city="Portland", state="ME", postal_code="04101"
            ),
        ),
        "P-2": PersonDemographics(
            last_name="Testpatient",
            first_name="Sam",
            birth_date=date(2015, 6, 30),
            sex="M",
            address=Address(
                line1="1 Elm St", city="Portland", state="ME", postal_code="04101"
            ),
        ),
        "P-3": PersonDemographics(
            last_name="Elder",
            first_name="Pat",
            birth_date=date(1950, 1, 15),
            sex="M",
            address=Address(
                line1="5 Oak Rd", city="Bangor", state="ME", postal_code="04401"
            ),
        ),
    }
)

SETTINGS = InterchangeSettings(
    sender_id="HARBORPT",
    receiver_id="CLEARHOUSE",
    application_sender_code="HARBORPT",
    application_receiver_code="CLEARHOUSE",
    submitter_name="Harbor Physical Therapy",
    submitter_id="HARBORPT",
    submitter_contact="Billing Office",
    submitter_phone="2075550100",
    receiver_name="Example Clearinghouse",
    receiver_id_code="CLEARHOUSE",
)


def line(code: str = "97110", **changes: Any) -> ServiceLine:
    values: dict[str, Any] = {
        "procedure_code": code,
        "units": Decimal(1),
        "charge": Money.of("50.00"),
        "diagnosis_pointers": (1,),
        "service_date": SERVICE_DAY,
    }
    values.update(changes)
    return ServiceLine(**values)


def claim(**changes: Any) -> Claim:
    """A clean original claim to a commercial payer, the patient being the subscriber."""
    values: dict[str, Any] = {
        "claim_id": "C-1001",
        "billing_provider": BILLING,
        "rendering_provider": RENDERING,
        "payer": COMMERCIAL,
        "subscriber": Subscriber(
            person_id="P-1", member_id="XYZ123456", group_number="G-77"
        ),
        "patient_id": "P-1",
        "place_of_service": "11",
        "diagnoses": ("M54.50", "M62.81"),
        "lines": (
            line(
                "97110",
                units=Decimal(2),
                charge=Money.of("100.00"),
                diagnosis_pointers=(1, 2),
            ),
            line("97140", charge=Money.of("55.00"), modifiers=("GP", "59")),
            line("97530", charge=Money.of("60.00"), modifiers=("GP",)),
        ),
    }
    values.update(changes)
    return Claim(**values)


def child_claim(**changes: Any) -> Claim:
    values: dict[str, Any] = {
        "claim_id": "C-1002",
        "patient_id": "P-2",
        "relationship": Relationship.CHILD,
    }
    values.update(changes)
    return claim(**values)


def secondary_claim() -> Claim:
    """A claim to the secondary payer after the primary paid 120.00 of 215.00."""
    primary = OtherPayer(
        payer=Payer(payer_id="60054", name="First Example Insurer"),
        subscriber=Subscriber(
            person_id="P-1", member_id="AB998877", claim_filing_indicator="CI"
        ),
        paid=Money.of("120.00"),
        adjustments=(
            Adjustment(group_code="CO", reason_code="45", amount=Money.of("60.00")),
            Adjustment(group_code="CO", reason_code="253", amount=Money.of("2.45")),
            Adjustment(group_code="PR", reason_code="2", amount=Money.of("32.55")),
        ),
        adjudicated_on=date(2026, 2, 24),
    )
    return claim(
        claim_id="C-2001",
        subscriber=Subscriber(
            person_id="P-1",
            member_id="XYZ123456",
            group_number="G-77",
            responsibility=PayerResponsibility.SECONDARY,
        ),
        other_payers=(primary,),
    )


def medicare_claim() -> Claim:
    """A claim to Medicare as primary, naming a Medigap plan as the secondary payer."""
    medigap = OtherPayer(
        payer=MEDIGAP,
        subscriber=Subscriber(
            person_id="P-3",
            member_id="MG5550001",
            responsibility=PayerResponsibility.SECONDARY,
            claim_filing_indicator="CI",
        ),
    )
    return claim(
        claim_id="C-3001",
        payer=MEDICARE,
        subscriber=Subscriber(
            person_id="P-3", member_id="1EG4TE5MK73", claim_filing_indicator="MB"
        ),
        patient_id="P-3",
        other_payers=(medigap,),
    )


def replacement_claim(frequency: ClaimFrequency = ClaimFrequency.REPLACEMENT) -> Claim:
    return claim(
        claim_id="C-1001R" if frequency is ClaimFrequency.REPLACEMENT else "C-1001V",
        frequency=frequency,
        original_claim_number="PAYER-CLM-20260215-0042",
    )


def drug_claim() -> Claim:
    injection = line(
        "J1885",
        units=Decimal(2),
        charge=Money.of("24.00"),
        drug=DrugIdentification(ndc="00409-3795-01", quantity=Decimal("2"), unit="ML"),
    )
    return claim(
        claim_id="C-4001",
        lines=(line("96372", charge=Money.of("40.00")), injection),
        diagnoses=("M25.561",),
    )


def fifty_line_claim() -> Claim:
    lines = tuple(
        line(
            "97110",
            charge=Money.of("25.00"),
            service_date=date(2026, 1, 1 + index % 28),
            line_id=f"L{index + 1:03d}",
        )
        for index in range(50)
    )
    return claim(claim_id="C-5001", lines=lines, diagnoses=("M54.50",))


def referring_claim() -> Claim:
    return claim(
        claim_id="C-6001", referring_provider=REFERRING, service_facility=FACILITY
    )


class Counter:
    """An in-memory control number sequence, for tests that need no database."""

    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def __call__(self, name: str) -> int:
        self.values[name] = self.values.get(name, 0) + 1
        return self.values[name]


def pyx12_errors(path: Path) -> list[str]:
    """Validate an X12 file with pyx12 and return its error messages (empty when valid)."""
    errors = library_pyx12_errors(path)
    assert errors is not None, "pyx12 is a test dependency; install the test extra"
    return errors
