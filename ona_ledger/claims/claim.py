"""The professional claim: providers, payer, diagnoses, service lines, prior payers and status.

A claim contains opaque person ids only. Names, birth dates and addresses of the
patient and subscriber come from a `Demographics` object at render time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from ona_ledger.claims.identifiers import (
    check_modifier,
    check_procedure_code,
    check_tax_id,
    normalize_icd10cm,
)
from ona_ledger.errors import ClaimStateError, InvalidClaimError
from ona_ledger.money import Money, total

MAX_DIAGNOSES: Final = 12
MAX_POINTERS: Final = 4
MAX_MODIFIERS: Final = 4
# The 837P allows at most 50 service lines (loop 2400) per claim.
MAX_LINES_837P: Final = 50


def _to_money(value: Any) -> Money:
    if isinstance(value, Money):
        return value
    if isinstance(value, str) and " " in value.strip():
        # The serialized form "12.34 USD", so that a dumped claim validates again.
        amount, currency = value.split()
        return Money.of(amount, currency)
    if isinstance(value, (str, Decimal)):
        return Money.of(value)
    if isinstance(value, float):
        raise TypeError(
            f"amount {value!r} is a float; pass Money, a Decimal or a string"
        )
    raise TypeError(f"amount {value!r} must be Money, a Decimal or a decimal string")


MoneyField = Annotated[
    Money,
    BeforeValidator(_to_money),
    PlainSerializer(lambda money: f"{money} {money.currency}", return_type=str),
]

_FROZEN = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class Relationship(StrEnum):
    """The patient's relationship to the subscriber, as X12 individual relationship codes."""

    SELF = "18"
    SPOUSE = "01"
    CHILD = "19"
    OTHER = "G8"


class ClaimFrequency(StrEnum):
    """CLM05-3 claim frequency type code."""

    ORIGINAL = "1"
    REPLACEMENT = "7"
    VOID = "8"


class PayerResponsibility(StrEnum):
    """SBR01: whether the payer pays first, second or third."""

    PRIMARY = "P"
    SECONDARY = "S"
    TERTIARY = "T"


class Address(BaseModel):
    """A postal address; `postal_code` is a 5- or 9-digit ZIP without the dash."""

    model_config = _FROZEN

    line1: str = Field(min_length=1, max_length=55)
    line2: str | None = Field(default=None, max_length=55)
    city: str = Field(min_length=2, max_length=30)
    state: str = Field(pattern=r"^[A-Z]{2}$")
    postal_code: str

    @field_validator("postal_code", mode="before")
    @classmethod
    def _strip_zip_dash(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.replace("-", "").strip()
            if not value.isdigit() or len(value) not in (5, 9):
                raise ValueError(
                    f"ZIP code {value!r} must be 5 or 9 digits, such as '631011234'"
                )
        return value


class Provider(BaseModel):
    """A rendering or referring provider: a person (or a group) with an NPI."""

    model_config = _FROZEN

    npi: str = Field(pattern=r"^[0-9]{10}$")
    last_name: str = Field(min_length=1, max_length=60)
    first_name: str | None = Field(default=None, max_length=35)
    is_organization: bool = False
    taxonomy: str | None = Field(default=None, pattern=r"^[0-9]{3}[0-9A-Z]{6}X$")


class BillingProvider(Provider):
    """The provider that bills and is paid, with its tax id and physical address."""

    tax_id: str
    tax_id_is_ssn: bool = False
    address: Address
    phone: str | None = Field(default=None, pattern=r"^[0-9]{10}$")

    @field_validator("tax_id", mode="before")
    @classmethod
    def _normalize_tax_id(cls, value: Any) -> Any:
        return check_tax_id(value) if isinstance(value, str) else value


class ServiceFacility(BaseModel):
    """The place the services were rendered (CMS-1500 item 32, 837P loop 2310C)."""

    model_config = _FROZEN

    name: str = Field(min_length=1, max_length=60)
    npi: str | None = Field(default=None, pattern=r"^[0-9]{10}$")
    address: Address


class Payer(BaseModel):
    """A payer by the clearinghouse payer id and name."""

    model_config = _FROZEN

    payer_id: str = Field(min_length=2, max_length=80)
    name: str = Field(min_length=1, max_length=60)
    address: Address | None = None


class Subscriber(BaseModel):
    """The insured person of a policy, by opaque person id, with the policy's ids.

    `claim_filing_indicator` is SBR09, for example MB (Medicare Part B), MC
    (Medicaid), CI (commercial), BL (Blue Cross Blue Shield), HM (HMO).
    """

    model_config = _FROZEN

    person_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1, max_length=80)
    group_number: str | None = Field(default=None, max_length=50)
    group_name: str | None = Field(default=None, max_length=60)
    claim_filing_indicator: str = Field(default="CI", pattern=r"^[0-9A-Z]{2}$")
    responsibility: PayerResponsibility = PayerResponsibility.PRIMARY
    # SBR05, needed when Medicare is billed but is not the primary payer
    # (Medicare secondary payer), for example 12 (working aged).
    insurance_type_code: str | None = Field(default=None, pattern=r"^[0-9A-Z]{1,3}$")


class Adjustment(BaseModel):
    """One prior-payer adjustment: group code (CO, PR, OA, PI, CR), reason code, amount."""

    model_config = _FROZEN

    group_code: str = Field(pattern=r"^(CO|CR|OA|PI|PR)$")
    reason_code: str = Field(pattern=r"^[0-9A-Z]{1,5}$")
    amount: MoneyField


class OtherPayer(BaseModel):
    """Another payer of the patient: its subscriber and, once it paid, its adjudication."""

    model_config = _FROZEN

    payer: Payer
    subscriber: Subscriber
    relationship: Relationship = Relationship.SELF
    paid: MoneyField | None = None
    adjustments: tuple[Adjustment, ...] = ()
    adjudicated_on: date | None = None

    @model_validator(mode="after")
    def _adjudication_complete(self) -> OtherPayer:
        if (self.paid is None) != (self.adjudicated_on is None):
            raise ValueError(
                f"other payer {self.payer.payer_id}: give both `paid` and "
                "`adjudicated_on` once it has adjudicated the claim, or neither"
            )
        if self.adjustments and self.paid is None:
            raise ValueError(
                f"other payer {self.payer.payer_id} has adjustments but no `paid` "
                "amount; pass paid=Money.of('0') when it paid nothing"
            )
        return self

    @property
    def adjudicated(self) -> bool:
        return self.paid is not None


class DrugIdentification(BaseModel):
    """The NDC of a drug line (11 digits, 5-4-2) with quantity and unit (F2, GR, ME, ML, UN)."""

    model_config = _FROZEN

    ndc: str
    quantity: Decimal = Field(gt=0)
    unit: str = Field(pattern=r"^(F2|GR|ME|ML|UN)$")

    @field_validator("ndc", mode="before")
    @classmethod
    def _ndc_digits(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.replace("-", "").strip()
            if not value.isdigit() or len(value) != 11:
                raise ValueError(
                    f"NDC {value!r} must be 11 digits in the 5-4-2 form, "
                    "such as '00409-4888-02'"
                )
        return value


class ServiceLine(BaseModel):
    """One billed service: code, modifiers, units, charge, diagnosis pointers, date."""

    model_config = _FROZEN

    procedure_code: str
    modifiers: tuple[str, ...] = ()
    units: Decimal = Field(default=Decimal(1), gt=0)
    charge: MoneyField
    diagnosis_pointers: tuple[int, ...] = (1,)
    service_date: date
    service_date_end: date | None = None
    place_of_service: str | None = Field(default=None, pattern=r"^[0-9]{2}$")
    drug: DrugIdentification | None = None
    line_id: str | None = Field(default=None, max_length=50)

    @field_validator("procedure_code", mode="before")
    @classmethod
    def _procedure_code(cls, value: Any) -> Any:
        return check_procedure_code(value) if isinstance(value, str) else value

    @field_validator("modifiers", mode="before")
    @classmethod
    def _modifiers(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return tuple(check_modifier(item) for item in value)
        return value

    @field_validator("charge")
    @classmethod
    def _charge_not_negative(cls, value: Money) -> Money:
        if value.cents < 0:
            raise ValueError(
                f"line charge {value} is negative; bill a charge of 0 or more"
            )
        return value


class ClaimStatus(StrEnum):
    """The lifecycle status of a claim."""

    DRAFT = "draft"
    SCRUBBED = "scrubbed"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PAID = "paid"
    DENIED = "denied"


# A rejected claim (the clearinghouse or payer rejected the file) and a denied
# claim go back to draft to be corrected. A paid claim is final, so a change
# to it is sent as a new replacement or void claim.
ALLOWED_TRANSITIONS: Final[Mapping[ClaimStatus, frozenset[ClaimStatus]]] = {
    ClaimStatus.DRAFT: frozenset({ClaimStatus.SCRUBBED}),
    ClaimStatus.SCRUBBED: frozenset({ClaimStatus.DRAFT, ClaimStatus.SUBMITTED}),
    ClaimStatus.SUBMITTED: frozenset({ClaimStatus.ACCEPTED, ClaimStatus.REJECTED}),
    ClaimStatus.ACCEPTED: frozenset({ClaimStatus.PAID, ClaimStatus.DENIED}),
    ClaimStatus.REJECTED: frozenset({ClaimStatus.DRAFT}),
    ClaimStatus.PAID: frozenset(),
    ClaimStatus.DENIED: frozenset({ClaimStatus.DRAFT}),
}


class Submission(BaseModel):
    """The file and X12 control numbers a claim was sent in."""

    model_config = _FROZEN

    file_name: str
    interchange_control_number: int
    group_control_number: int
    transaction_control_number: int
    submitted_at: datetime


class Claim(BaseModel):
    """A professional (837P / CMS-1500) claim to one payer.

    `total_charge` defaults to the sum of the line charges; a declared total
    that differs is kept so that the scrubber can report it.
    """

    model_config = _FROZEN

    claim_id: str = Field(min_length=1, max_length=38, pattern=r"^[0-9A-Za-z\-]+$")
    billing_provider: BillingProvider
    rendering_provider: Provider | None = None
    referring_provider: Provider | None = None
    service_facility: ServiceFacility | None = None
    payer: Payer
    subscriber: Subscriber
    patient_id: str = Field(min_length=1)
    relationship: Relationship = Relationship.SELF
    place_of_service: str = Field(pattern=r"^[0-9]{2}$")
    diagnoses: tuple[str, ...]
    lines: tuple[ServiceLine, ...] = Field(min_length=1)
    declared_total: MoneyField | None = None
    prior_authorization: str | None = Field(default=None, max_length=50)
    accept_assignment: bool = True
    signature_on_file: bool = True
    frequency: ClaimFrequency = ClaimFrequency.ORIGINAL
    original_claim_number: str | None = Field(default=None, max_length=50)
    other_payers: tuple[OtherPayer, ...] = ()
    status: ClaimStatus = ClaimStatus.DRAFT
    submission: Submission | None = None
    payer_claim_number: str | None = None
    status_reason: str | None = None

    @field_validator("diagnoses", mode="before")
    @classmethod
    def _diagnoses(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return tuple(normalize_icd10cm(code) for code in value)
        return value

    @model_validator(mode="after")
    def _relationship_matches(self) -> Claim:
        same_person = self.patient_id == self.subscriber.person_id
        if same_person != (self.relationship is Relationship.SELF):
            raise ValueError(
                f"claim {self.claim_id}: relationship {self.relationship.name} does not "
                "match the ids; the relationship is SELF exactly when patient_id "
                "equals subscriber.person_id"
            )
        return self

    @property
    def total_charge(self) -> Money:
        """The claim total: the declared total if given, else the sum of the lines."""
        if self.declared_total is not None:
            return self.declared_total
        return self.line_total

    @property
    def line_total(self) -> Money:
        return total(
            (line.charge for line in self.lines), self.lines[0].charge.currency
        )

    @property
    def first_service_date(self) -> date:
        return min(line.service_date for line in self.lines)

    @property
    def last_service_date(self) -> date:
        return max(line.service_date_end or line.service_date for line in self.lines)

    def fingerprint(self) -> str:
        """Return a hash of what makes two claims the same bill, to detect duplicates.

        It covers the billing provider, payer, subscriber, patient, frequency,
        original claim number and every line's code, modifiers, units, charge
        and dates. It leaves out the claim id and the status.
        """
        content = {
            "billing_npi": self.billing_provider.npi,
            "payer": self.payer.payer_id,
            "member": self.subscriber.member_id,
            "patient": self.patient_id,
            "frequency": self.frequency.value,
            "original": self.original_claim_number,
            "lines": [
                [
                    line.procedure_code,
                    list(line.modifiers),
                    str(line.units.normalize()),
                    line.charge.cents,
                    line.service_date.isoformat(),
                    (line.service_date_end or line.service_date).isoformat(),
                ]
                for line in self.lines
            ],
        }
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def transition(self, to: ClaimStatus, **details: Any) -> Claim:
        """Return this claim moved to status `to`, or raise ClaimStateError.

        SUBMITTED needs `submission=Submission(...)`; ACCEPTED may carry
        `payer_claim_number`; REJECTED and DENIED may carry `status_reason`.
        """
        if to not in ALLOWED_TRANSITIONS[self.status]:
            allowed = ", ".join(
                sorted(s.value for s in ALLOWED_TRANSITIONS[self.status])
            )
            raise ClaimStateError(
                f"claim {self.claim_id} cannot go from {self.status.value} to "
                f"{to.value}; from {self.status.value} it can go to: {allowed or 'nothing'}"
            )
        unknown = set(details) - {"submission", "payer_claim_number", "status_reason"}
        if unknown:
            raise ClaimStateError(
                f"claim {self.claim_id}: unknown status details {sorted(unknown)}; "
                "pass submission, payer_claim_number or status_reason"
            )
        if to is ClaimStatus.SUBMITTED and not isinstance(
            details.get("submission"), Submission
        ):
            raise ClaimStateError(
                f"claim {self.claim_id}: moving to submitted needs "
                "submission=Submission(...) with the file and control numbers"
            )
        return self.model_copy(update={"status": to, **details})


class PersonDemographics(BaseModel):
    """A patient's or subscriber's name, birth date, sex (F, M, U) and address."""

    model_config = _FROZEN

    last_name: str = Field(min_length=1, max_length=60)
    first_name: str = Field(min_length=1, max_length=35)
    middle_name: str | None = Field(default=None, max_length=25)
    birth_date: date
    sex: str = Field(default="U", pattern=r"^[FMU]$")
    address: Address
    phone: str | None = Field(default=None, pattern=r"^[0-9]{10}$")


class Demographics(BaseModel):
    """The host's demographics for the person ids that the claims name, by person id."""

    model_config = _FROZEN

    persons: Mapping[str, PersonDemographics]

    def person(self, person_id: str) -> PersonDemographics:
        """Return the demographics of `person_id`, or raise InvalidClaimError."""
        found = self.persons.get(person_id)
        if found is None:
            raise InvalidClaimError(
                f"no demographics for person id {person_id!r}; pass them in "
                "Demographics.persons before rendering the claim"
            )
        return found
