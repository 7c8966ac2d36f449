"""Claims and superbills built from signed visits, with the clinic configuration they need.

The ledger stores ids only. Provider names, payer names and the patients'
demographics come from a `Clinic` that the host loads at write time.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ona_ledger.billing.charges import PricedLine, price_lines_from_record
from ona_ledger.billing.common import RECORD_INVOICE, RECORD_VISIT
from ona_ledger.billing.invoices import get_invoice
from ona_ledger.billing.visits import Insured, Visit
from ona_ledger.claims.claim import (
    Address,
    BillingProvider,
    Claim,
    Demographics,
    Payer,
    Provider,
    ServiceFacility,
    ServiceLine,
    Subscriber,
)
from ona_ledger.claims.scrub import PayerRules
from ona_ledger.claims.superbill import Practice, Superbill, TreatingProvider
from ona_ledger.claims.x837 import InterchangeSettings
from ona_ledger.errors import InvalidClaimError
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money

logger = logging.getLogger(__name__)

_CONFIG = ConfigDict(frozen=True, extra="forbid")
# CLM01, the claim id, is at most 38 characters; CLP01 of the 835 returns it.
_CLAIM_ID_MAX = 38
# REF*6R, the line item control number, is at most 50 characters.
_LINE_ID_MAX = 50


class ClinicProvider(BaseModel):
    """A rendering provider's name, taxonomy and licence, by the visit's provider id."""

    model_config = _CONFIG

    last_name: str = Field(min_length=1, max_length=60)
    first_name: str | None = Field(default=None, max_length=35)
    credentials: str | None = None
    taxonomy: str | None = Field(default=None, pattern=r"^[0-9]{3}[0-9A-Z]{6}X$")
    license_number: str | None = None
    license_state: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")


class ClinicPayer(BaseModel):
    """A payer's name and claim filing indicator (SBR09), by the visit's payer id."""

    model_config = _CONFIG

    name: str = Field(min_length=1, max_length=60)
    claim_filing_indicator: str = Field(default="CI", pattern=r"^[0-9A-Z]{2}$")
    address: Address | None = None


class ClinicConfig(BaseModel):
    """The clinic file: billing provider, providers, payers, locations and the 837P envelope."""

    model_config = _CONFIG

    note: str | None = None
    billing_provider: BillingProvider
    practice_name: str | None = None
    phone: str | None = None
    providers: dict[str, ClinicProvider]
    payers: dict[str, ClinicPayer]
    locations: dict[str, ServiceFacility] = {}
    interchange: InterchangeSettings
    payer_rules: str | None = None
    demographics: Demographics | None = None


@dataclass(frozen=True)
class Clinic:
    """A loaded clinic file: its configuration, payer rules table and demographics."""

    config: ClinicConfig
    rules: PayerRules | None
    demographics: Demographics

    @property
    def practice(self) -> Practice:
        """The practice named on superbills: the billing provider's name, tax id and address."""
        billing = self.config.billing_provider
        return Practice(
            name=self.config.practice_name or billing.last_name,
            tax_id=billing.tax_id,
            address=billing.address,
            phone=self.config.phone,
        )


def load_clinic(path: Path | str) -> Clinic:
    """Read a clinic JSON file; `payer_rules` is a CSV path relative to that file.

    Raises InvalidClaimError naming the file and the first invalid field.
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise InvalidClaimError(
            f"clinic file {path} is not valid JSON ({error}); fix the file"
        ) from error
    except UnicodeDecodeError as error:
        raise InvalidClaimError(
            f"clinic file {path} is not UTF-8 text ({error.reason} at byte "
            f"{error.start}); save it as UTF-8"
        ) from None
    except RecursionError:
        raise InvalidClaimError(
            f"clinic file {path} nests arrays or objects too deeply to read; fix the file"
        ) from None
    try:
        config = ClinicConfig.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidClaimError(
            f"clinic file {path}: {where} is invalid ({first['msg']}), so correct "
            f"it and run again ({error.error_count()} problems in all)"
        ) from error
    rules = None
    if config.payer_rules is not None:
        rules = PayerRules.from_csv(path.parent / config.payer_rules)
    demographics = config.demographics or Demographics(persons={})
    return Clinic(config, rules, demographics)


def claim_from_visit(
    visit: Visit, lines: Sequence[PricedLine], config: ClinicConfig
) -> Claim:
    """Build the draft claim of a signed insured visit from its priced lines.

    The claim id is the visit id, so the 835's CLP01 names the visit. Raises
    InvalidClaimError when the visit is self-pay or the clinic file lacks its
    payer or provider.
    """
    coverage = visit.coverage
    if not isinstance(coverage, Insured):
        raise InvalidClaimError(
            f"visit {visit.visit_id} is self-pay, so no claim is sent; issue a "
            "superbill for its invoice instead"
        )
    _check_claim_id(visit.visit_id)
    if len(lines) != len(visit.lines):
        raise InvalidClaimError(
            f"visit {visit.visit_id} has {len(visit.lines)} lines but {len(lines)} "
            "priced lines; sign the visit again so its lines are priced"
        )
    payer = _payer(coverage.payer_id, config, visit.visit_id)
    return Claim(
        claim_id=visit.visit_id,
        billing_provider=config.billing_provider,
        rendering_provider=_rendering_provider(visit, config),
        service_facility=config.locations.get(visit.location),
        payer=Payer(payer_id=coverage.payer_id, name=payer.name, address=payer.address),
        subscriber=Subscriber(
            person_id=visit.patient_id,
            member_id=coverage.member_id,
            claim_filing_indicator=payer.claim_filing_indicator,
        ),
        patient_id=visit.patient_id,
        place_of_service=visit.place_of_service,
        diagnoses=visit.diagnoses,
        lines=tuple(
            _service_line(visit, visit_line.diagnosis_pointers, priced)
            for visit_line, priced in zip(visit.lines, lines, strict=True)
        ),
    )


def claim_from_record(record: Mapping[str, Any], config: ClinicConfig) -> Claim:
    """Build the draft claim of a stored visit record (the last signed version)."""
    visit = Visit.model_validate(record["visit"])
    return claim_from_visit(visit, price_lines_from_record(dict(record)), config)


def _check_claim_id(visit_id: str) -> None:
    allowed = all(
        char.isascii() and (char.isalnum() or char == "-") for char in visit_id
    )
    if len(visit_id) > _CLAIM_ID_MAX or not allowed:
        raise InvalidClaimError(
            f"visit id {visit_id!r} cannot be the claim id: CLM01 takes at most "
            f"{_CLAIM_ID_MAX} letters, digits and dashes; use such visit ids for "
            "insured visits"
        )


def _payer(payer_id: str, config: ClinicConfig, visit_id: str) -> ClinicPayer:
    payer = config.payers.get(payer_id)
    if payer is None:
        raise InvalidClaimError(
            f"visit {visit_id} is insured by payer {payer_id}, which is not in the "
            "clinic file's payers; add its name there"
        )
    return payer


def _rendering_provider(visit: Visit, config: ClinicConfig) -> Provider:
    provider_id = visit.provider.provider_id
    known = config.providers.get(provider_id)
    if known is None:
        raise InvalidClaimError(
            f"visit {visit.visit_id} was rendered by provider {provider_id}, who is "
            "not in the clinic file's providers; add the provider's name there"
        )
    return Provider(
        npi=visit.provider.npi,
        last_name=known.last_name,
        first_name=known.first_name,
        taxonomy=known.taxonomy,
    )


def _service_line(
    visit: Visit, pointers: tuple[int, ...], priced: PricedLine
) -> ServiceLine:
    line_id = priced.invoice_line if len(priced.invoice_line) <= _LINE_ID_MAX else None
    return ServiceLine(
        procedure_code=priced.code,
        modifiers=priced.modifiers,
        units=Decimal(priced.units),
        charge=priced.amount,
        diagnosis_pointers=pointers,
        service_date=visit.date_of_service,
        line_id=line_id,
    )


def superbill_from_invoice(
    ledger: Ledger, invoice_id: str, clinic: Clinic, *, issued_on: date
) -> Superbill:
    """Build the superbill of a self-pay invoice: its services, diagnoses and what was paid.

    Each line's fee is its charge less any write-off, so a discounted invoice
    that is settled reads "paid in full". Raises InvalidClaimError for an
    insured or voided invoice, or one with services by several providers.
    """
    invoice = get_invoice(ledger, invoice_id)
    record = ledger.store.get_record(ledger.book_id, RECORD_INVOICE, invoice_id) or {}
    visits = [_visit_of(ledger, visit_id) for visit_id in record.get("visits", [])]
    if invoice.voided or not visits:
        raise InvalidClaimError(
            f"invoice {invoice_id} is void; a superbill lists services still charged"
        )
    insured = [v.visit_id for v in visits if isinstance(v.coverage, Insured)]
    if insured:
        raise InvalidClaimError(
            f"invoice {invoice_id} bills visit {insured[0]} to a payer, but superbills "
            "are for self-pay and out-of-network visits, so send that visit's claim instead"
        )
    providers = {v.provider.provider_id for v in visits}
    if len(providers) > 1:
        raise InvalidClaimError(
            f"invoice {invoice_id} has services by providers {sorted(providers)}; "
            "a superbill names one treating provider, so group one provider's visits"
        )

    diagnoses: list[str] = []
    for visit in visits:
        diagnoses += [code for code in visit.diagnoses if code not in diagnoses]
    pointers_by_line = _pointers_by_invoice_line(ledger, visits, diagnoses)
    by_visit = {v.visit_id: v for v in visits}
    lines = []
    for line in invoice.lines:
        fee = line.charged - line.adjusted
        if line.charged.is_zero():
            continue
        visit = by_visit[line.visit_id]
        lines.append(
            ServiceLine(
                procedure_code=line.code,
                modifiers=line.modifiers,
                units=Decimal(line.units),
                charge=fee if fee.cents > 0 else Money.zero(),
                diagnosis_pointers=pointers_by_line.get(line.invoice_line, (1,)),
                service_date=line.date_of_service,
                place_of_service=visit.place_of_service,
            )
        )
    first = visits[0]
    return Superbill(
        number=f"SB-{invoice_id}",
        issued_on=issued_on,
        practice=clinic.practice,
        provider=_treating_provider(first, clinic.config),
        patient_id=invoice.patient_id,
        place_of_service=first.place_of_service,
        diagnoses=tuple(diagnoses),
        lines=tuple(lines),
        amount_paid=invoice.paid,
    )


def _visit_of(ledger: Ledger, visit_id: str) -> Visit:
    record = ledger.store.get_record(ledger.book_id, RECORD_VISIT, visit_id)
    if record is None:
        raise InvalidClaimError(
            f"visit {visit_id} is named by an invoice but was never signed in book "
            f"{ledger.book_id}"
        )
    return Visit.model_validate(record["visit"])


def _pointers_by_invoice_line(
    ledger: Ledger, visits: Sequence[Visit], diagnoses: Sequence[str]
) -> dict[str, tuple[int, ...]]:
    """Map each invoice line to pointers into the superbill's merged diagnosis list."""
    found: dict[str, tuple[int, ...]] = {}
    for visit in visits:
        record = ledger.store.get_record(ledger.book_id, RECORD_VISIT, visit.visit_id)
        priced = price_lines_from_record(record or {"lines": []})
        for visit_line, priced_line in zip(visit.lines, priced, strict=False):
            found[priced_line.invoice_line] = tuple(
                diagnoses.index(visit.diagnoses[pointer - 1]) + 1
                for pointer in visit_line.diagnosis_pointers
            )
    return found


def _treating_provider(visit: Visit, config: ClinicConfig) -> TreatingProvider:
    provider_id = visit.provider.provider_id
    known = config.providers.get(provider_id)
    if known is None or not (
        known.credentials and known.license_number and known.license_state
    ):
        raise InvalidClaimError(
            f"provider {provider_id} needs credentials, license_number and "
            "license_state in the clinic file's providers before a superbill names them"
        )
    name = " ".join(part for part in (known.first_name, known.last_name) if part)
    return TreatingProvider(
        name=name,
        credentials=known.credentials,
        npi=visit.provider.npi,
        license_number=known.license_number,
        license_state=known.license_state,
    )
