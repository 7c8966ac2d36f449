"""Visits as the host EHR hands them over when a note is signed, validated on the way in."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    field_validator,
    model_validator,
)

from ona_ledger.billing.codes import (
    icd10_cm_is_valid,
    modifier_is_valid,
    npi_is_valid,
    place_of_service_is_valid,
    procedure_code_is_valid,
)

Id = Annotated[
    str, StringConstraints(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9._\-]+$")
]
MAX_DIAGNOSES = 12
MAX_MODIFIERS = 4
MAX_POINTERS = 4
# A date of service may be one day after the signing date, because the host may
# send signed_at in UTC while the visit is dated in the clinic's time zone.
SIGNING_DATE_SLACK = timedelta(days=1)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Provider(_Model):
    """The rendering provider: an opaque id and a valid NPI."""

    provider_id: Id
    npi: str

    @field_validator("npi")
    @classmethod
    def _check_npi(cls, npi: str) -> str:
        if not npi_is_valid(npi):
            raise ValueError(
                f"NPI {npi!r} is invalid: it must be 10 digits whose last digit is the "
                "Luhn check digit over '80840' and the first nine; check it against NPPES"
            )
        return npi


class PriceOverride(_Model):
    """A price the provider set by hand instead of the fee schedule's, with the reason."""

    price: Decimal
    reason: str = Field(min_length=1)

    @field_validator("price", mode="before")
    @classmethod
    def _no_float(cls, value: object) -> object:
        if isinstance(value, float):
            raise ValueError(
                f"price {value!r} is a float; send it as a string like '125.00'"
            )
        return value

    @field_validator("price")
    @classmethod
    def _check_price(cls, price: Decimal) -> Decimal:
        if price < 0:
            raise ValueError(
                f"price {price} is negative; an override price is zero or more"
            )
        if price != price.quantize(Decimal("0.01")):
            raise ValueError(
                f"price {price} has more than 2 decimal places; round it to the cent"
            )
        return price


class ServiceLine(_Model):
    """One billed service: a CPT or HCPCS code with modifiers, units and diagnosis pointers.

    `line_id` identifies the line across amendments of the note; when absent the
    line's position (1, 2, ...) is used.
    """

    line_id: Id | None = None
    code: str
    modifiers: tuple[str, ...] = ()
    units: StrictInt = Field(default=1, ge=1, le=999)
    diagnosis_pointers: tuple[StrictInt, ...] = Field(default=(1,), min_length=1)
    price_override: PriceOverride | None = None

    @field_validator("code")
    @classmethod
    def _check_code(cls, code: str) -> str:
        code = code.upper()
        if not procedure_code_is_valid(code):
            raise ValueError(
                f"procedure code {code!r} is not a CPT (5 digits) or HCPCS (letter and 4 "
                "digits) code"
            )
        return code

    @field_validator("modifiers")
    @classmethod
    def _check_modifiers(cls, modifiers: tuple[str, ...]) -> tuple[str, ...]:
        if len(modifiers) > MAX_MODIFIERS:
            raise ValueError(
                f"{len(modifiers)} modifiers {list(modifiers)}; a line takes at most "
                f"{MAX_MODIFIERS}"
            )
        upper = tuple(m.upper() for m in modifiers)
        for modifier in upper:
            if not modifier_is_valid(modifier):
                raise ValueError(f"modifier {modifier!r} must be two letters or digits")
        if len(set(upper)) != len(upper):
            raise ValueError(f"modifiers {list(upper)} repeat; name each modifier once")
        return upper

    @field_validator("diagnosis_pointers")
    @classmethod
    def _check_pointer_count(cls, pointers: tuple[int, ...]) -> tuple[int, ...]:
        if len(pointers) > MAX_POINTERS:
            raise ValueError(
                f"{len(pointers)} diagnosis pointers {list(pointers)}; a line takes at "
                f"most {MAX_POINTERS}"
            )
        if len(set(pointers)) != len(pointers):
            raise ValueError(
                f"diagnosis pointers {list(pointers)} repeat; name each diagnosis once"
            )
        return pointers


class SelfPay(_Model):
    kind: Literal["self_pay"] = "self_pay"


class Insured(_Model):
    """Insurance coverage: the payer, the member id and the patient's estimated share."""

    kind: Literal["insured"] = "insured"
    payer_id: Id
    member_id: Id
    estimated_patient_share: Decimal = Field(default=Decimal("0"), ge=0)

    @field_validator("estimated_patient_share", mode="before")
    @classmethod
    def _no_float(cls, value: object) -> object:
        if isinstance(value, float):
            raise ValueError(
                f"amount {value!r} is a float; send it as a string like '25.00'"
            )
        return value


class Visit(_Model):
    """A signed visit note's billing content; the patient is an opaque id, never a name."""

    visit_id: Id
    book_id: Id
    patient_id: Id
    provider: Provider
    location: Id
    place_of_service: str = "11"
    date_of_service: date
    signed_at: AwareDatetime
    diagnoses: tuple[str, ...] = Field(min_length=1)
    lines: tuple[ServiceLine, ...] = Field(min_length=1)
    coverage: SelfPay | Insured = Field(default_factory=SelfPay, discriminator="kind")
    invoice_id: Id | None = None

    @field_validator("place_of_service")
    @classmethod
    def _check_pos(cls, code: str) -> str:
        if not place_of_service_is_valid(code):
            raise ValueError(
                f"place of service {code!r} must be a two-digit CMS code from '01' to "
                "'99', such as '11' for an office"
            )
        return code

    @field_validator("diagnoses")
    @classmethod
    def _check_diagnoses(cls, diagnoses: tuple[str, ...]) -> tuple[str, ...]:
        if len(diagnoses) > MAX_DIAGNOSES:
            raise ValueError(
                f"{len(diagnoses)} diagnoses; a visit takes at most {MAX_DIAGNOSES}"
            )
        cleaned = tuple(d.upper() for d in diagnoses)
        for code in cleaned:
            if not icd10_cm_is_valid(code):
                raise ValueError(
                    f"diagnosis {code!r} is not an ICD-10-CM code (such as 'J06.9')"
                )
        if len(set(cleaned)) != len(cleaned):
            raise ValueError(
                f"diagnoses {list(cleaned)} repeat; list each diagnosis once"
            )
        return cleaned

    @model_validator(mode="after")
    def _check_service_date(self) -> Visit:
        signed_on = self.signed_at.date()
        if self.date_of_service > signed_on + SIGNING_DATE_SLACK:
            raise ValueError(
                f"date of service {self.date_of_service} is after the note was signed "
                f"on {signed_on}; a note is signed on or after its date of service, so "
                "check the date of service"
            )
        return self

    @model_validator(mode="after")
    def _check_pointers_and_lines(self) -> Visit:
        for number, line in enumerate(self.lines, start=1):
            for pointer in line.diagnosis_pointers:
                if not 1 <= pointer <= len(self.diagnoses):
                    raise ValueError(
                        f"line {number} ({line.code}) points at diagnosis {pointer}, but "
                        f"the visit lists {len(self.diagnoses)}; point at 1 to "
                        f"{len(self.diagnoses)}"
                    )
        ids = [self.line_key(i) for i in range(len(self.lines))]
        if len(set(ids)) != len(ids):
            raise ValueError(f"line ids {ids} repeat; give each line its own line_id")
        return self

    def line_key(self, index: int) -> str:
        """Return the stable id of line `index` within this visit."""
        line = self.lines[index]
        return line.line_id or str(index + 1)

    @property
    def invoice(self) -> str:
        """The invoice this visit bills to: the host's grouping id, or one per visit."""
        return self.invoice_id or f"INV-{self.visit_id}"

    @property
    def claim_id(self) -> str | None:
        """The claim id sent to the payer (CLP01 comes back with it), for insured visits."""
        return self.visit_id if isinstance(self.coverage, Insured) else None
