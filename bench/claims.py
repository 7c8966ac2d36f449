"""Benchmark of the 837P writer: claims written per second into one interchange file."""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from bench import Figure, at_least
from ona_ledger.claims.claim import (
    Address,
    BillingProvider,
    Claim,
    Demographics,
    Payer,
    PersonDemographics,
    Provider,
    ServiceLine,
    Subscriber,
)
from ona_ledger.claims.x837 import InterchangeSettings, write_837p
from ona_ledger.money import Money

logger = logging.getLogger(__name__)

CLAIMS_FULL = 10_000
CLAIMS_QUICK = 1_000
PATIENTS = 500
# NOTE: a goal chosen so that a nightly run of 10,000 claims takes well under
# ten seconds; it is not derived from a clearinghouse limit.
GOAL_CLAIMS_PER_S = 2_000
FIRST_DAY = date(2026, 1, 5)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

_CLINIC = Address(
    line1="100 Harbor Way", city="Portland", state="ME", postal_code="041011234"
)
_BILLING = BillingProvider(
    npi="1234567893",
    last_name="Harbor Physical Therapy",
    is_organization=True,
    taxonomy="225100000X",
    tax_id="123456789",
    address=_CLINIC,
)
_RENDERING = Provider(npi="1999996667", last_name="Osei", first_name="Ama")
_PAYERS = (
    Payer(payer_id="87726", name="Example Health Plan"),
    Payer(payer_id="60054", name="Second Example Plan"),
    Payer(payer_id="14112", name="Medicare Example MAC"),
)
_SETTINGS = InterchangeSettings(
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


def build_demographics(patients: int = PATIENTS) -> Demographics:
    address = Address(
        line1="1 Elm St", city="Portland", state="ME", postal_code="04101"
    )
    return Demographics(
        persons={
            f"PT{index:06d}": PersonDemographics(
                last_name=f"Bench{index}",
                first_name="Pat",
                birth_date=date(1970, 1, 1) + timedelta(days=index * 11),
                sex="F" if index % 2 else "M",
                address=address,
            )
            for index in range(patients)
        }
    )


def build_claim(index: int, patients: int = PATIENTS) -> Claim:
    """Return claim `index` of the workload: three therapy lines, one of three payers."""
    patient = f"PT{(index * 7919) % patients:06d}"
    day = FIRST_DAY + timedelta(days=index % 40)
    lines = tuple(
        ServiceLine(
            procedure_code=code,
            modifiers=("GP",),
            units=Decimal(units),
            charge=Money.from_minor(cents),
            diagnosis_pointers=(1, 2),
            service_date=day,
        )
        for code, units, cents in (
            ("97110", 2, 10_000),
            ("97140", 1, 5_500),
            ("97112", 1, 6_000),
        )
    )
    return Claim(
        claim_id=f"B{index:08d}",
        billing_provider=_BILLING,
        rendering_provider=_RENDERING,
        payer=_PAYERS[index % len(_PAYERS)],
        subscriber=Subscriber(person_id=patient, member_id=f"M{index:09d}"),
        patient_id=patient,
        place_of_service="11",
        diagnoses=("M54.50", "M62.81"),
        lines=lines,
    )


def run(quick: bool) -> list[Figure]:
    """Write CLAIMS_FULL (or CLAIMS_QUICK) three-line claims to one file and time it."""
    count = CLAIMS_QUICK if quick else CLAIMS_FULL
    claims = [build_claim(index) for index in range(count)]
    demographics = build_demographics()
    counters: dict[str, int] = {}

    def next_control_number(name: str) -> int:
        counters[name] = counters.get(name, 0) + 1
        return counters[name]

    start = time.perf_counter()
    written = write_837p(claims, demographics, _SETTINGS, next_control_number, NOW)
    elapsed = time.perf_counter() - start
    rate = count / elapsed
    logger.info(
        "wrote %d claims (%d bytes) in %.3f s", count, len(written.text), elapsed
    )
    note = (
        f"{count} claims of 3 lines, {len(_PAYERS)} payers, one file of "
        f"{len(written.text) // 1024} KiB; claim building not timed"
    )
    return [
        at_least("claims_837_per_s", round(rate), "claims/s", GOAL_CLAIMS_PER_S, note)
    ]
