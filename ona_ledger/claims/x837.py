"""The X12 837P (005010X222A1) writer: claims in, one interchange file out.

Control numbers come from a caller's persisted sequence so that they never
repeat. Claims are split into one transaction set per payer (or per billing
provider and payer).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ona_ledger.claims.claim import (
    Address,
    Adjustment,
    BillingProvider,
    Claim,
    ClaimFrequency,
    Demographics,
    OtherPayer,
    Payer,
    PersonDemographics,
    Provider,
    Relationship,
    ServiceLine,
    Submission,
)
from ona_ledger.claims.scrub import check_structure
from ona_ledger.errors import InvalidClaimError

logger = logging.getLogger(__name__)

IMPLEMENTATION_GUIDE: Final = "005010X222A1"
# The implementation guide advises at most 5000 claims (CLM) per transaction set.
MAX_CLAIMS_PER_TRANSACTION: Final = 5000
# ISA13 and GS06 are at most nine digits.
MAX_CONTROL_NUMBER: Final = 999_999_999
# CAS holds up to six reason, amount and quantity triplets.
MAX_CAS_ADJUSTMENTS: Final = 6

# Latin letters and marks that NFKD does not decompose into ASCII, with their usual
# transliteration.
_TRANSLITERATION: Final = str.maketrans(
    {
        "ß": "ss",
        "Æ": "AE",
        "æ": "ae",
        "Ø": "O",
        "ø": "o",
        "Œ": "OE",
        "œ": "oe",
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "Ð": "D",
        "ð": "d",
        "Þ": "TH",
        "þ": "th",
        "ı": "i",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u00a0": " ",
    }
)

ControlNumberSource = Callable[[str], int]
"""A persisted sequence: `next_control_number(name)` returns the next unused number."""

INTERCHANGE_SEQUENCE: Final = "x12.interchange"
GROUP_SEQUENCE: Final = "x12.group"
TRANSACTION_SEQUENCE: Final = "x12.transaction"


class SplitBy(StrEnum):
    """The grouping of claims into transaction sets (ST ... SE)."""

    PAYER = "payer"
    BILLING_PROVIDER_AND_PAYER = "billing_provider_and_payer"


class Separators(BaseModel):
    """The delimiters of the interchange; `suffix` follows each segment terminator."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    element: str = Field(default="*", min_length=1, max_length=1)
    component: str = Field(default=":", min_length=1, max_length=1)
    repetition: str = Field(default="^", min_length=1, max_length=1)
    segment: str = Field(default="~", min_length=1, max_length=1)
    suffix: str = Field(default="\n", pattern=r"^(\r?\n)?$")

    @model_validator(mode="after")
    def _distinct(self) -> Separators:
        chosen = [self.element, self.component, self.repetition, self.segment]
        if len(set(chosen)) != 4 or any(c.isalnum() or c == " " for c in chosen):
            raise ValueError(
                f"separators {chosen} must be four different characters that are "
                "neither letters, digits nor spaces"
            )
        return self


class InterchangeSettings(BaseModel):
    """Envelope ids of sender and receiver, and the submitter and receiver loops (1000A/B)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sender_qualifier: str = Field(default="ZZ", pattern=r"^[0-9A-Z]{2}$")
    sender_id: str = Field(min_length=1, max_length=15)
    receiver_qualifier: str = Field(default="ZZ", pattern=r"^[0-9A-Z]{2}$")
    receiver_id: str = Field(min_length=1, max_length=15)
    application_sender_code: str = Field(min_length=2, max_length=15)
    application_receiver_code: str = Field(min_length=2, max_length=15)
    submitter_name: str = Field(min_length=1, max_length=60)
    submitter_id: str = Field(min_length=2, max_length=80)
    submitter_contact: str = Field(min_length=1, max_length=60)
    submitter_phone: str = Field(pattern=r"^[0-9]{10}$")
    receiver_name: str = Field(min_length=1, max_length=60)
    receiver_id_code: str = Field(min_length=2, max_length=80)
    production: bool = False
    separators: Separators = Separators()
    split_by: SplitBy = SplitBy.PAYER


@dataclass(frozen=True, slots=True)
class TransactionSet:
    """One ST ... SE in a written file and the claims it carries."""

    control_number: int
    payer_id: str
    billing_npi: str | None
    claim_ids: tuple[str, ...]
    segment_count: int


@dataclass(frozen=True, slots=True)
class X12File:
    """A written 837P interchange and its control numbers."""

    text: str
    interchange_control_number: int
    group_control_number: int
    transactions: tuple[TransactionSet, ...]
    created_at: datetime

    def submissions(self, file_name: str) -> dict[str, Submission]:
        """Return the Submission of every claim in the file, by claim id."""
        found: dict[str, Submission] = {}
        for transaction in self.transactions:
            for claim_id in transaction.claim_ids:
                found[claim_id] = Submission(
                    file_name=file_name,
                    interchange_control_number=self.interchange_control_number,
                    group_control_number=self.group_control_number,
                    transaction_control_number=transaction.control_number,
                    submitted_at=self.created_at,
                )
        return found


Segment = list[str | list[str]]


def write_837p(
    claims: Sequence[Claim],
    demographics: Demographics,
    settings: InterchangeSettings,
    next_control_number: ControlNumberSource,
    now: datetime,
) -> X12File:
    """Write `claims` as one 837P interchange, one transaction set per payer group.

    Accented Latin letters are written as plain ASCII letters ('José' as 'Jose'),
    because X12 allows only ASCII. Raises InvalidClaimError, before taking any
    control number, when a claim cannot be carried by an 837P (see
    scrub.check_structure), when a person's demographics are missing, when a name
    is blank, or when a text field has a control character, a character with no
    ASCII form, or a separator.
    """
    if not claims:
        raise InvalidClaimError("no claims to write; pass at least one claim")
    _check_writable(claims, demographics)

    groups = _group_claims(claims, settings.split_by)
    interchange_number = _take_number(next_control_number, INTERCHANGE_SEQUENCE)
    group_number = _take_number(next_control_number, GROUP_SEQUENCE)
    encoder = _Encoder(settings.separators)

    body: list[str] = [
        encoder.isa(settings, interchange_number, now),
        encoder.join(_gs(settings, group_number, now)),
    ]
    transactions: list[TransactionSet] = []
    for (payer_id, billing_npi), group in groups:
        control = _take_number(next_control_number, TRANSACTION_SEQUENCE)
        segments = _transaction_segments(group, demographics, settings, control, now)
        body.extend(encoder.join(segment) for segment in segments)
        transactions.append(
            TransactionSet(
                control,
                payer_id,
                billing_npi,
                tuple(c.claim_id for c in group),
                len(segments),
            )
        )
    body.append(encoder.join(["GE", str(len(transactions)), str(group_number)]))
    body.append(encoder.join(["IEA", "1", f"{interchange_number:09d}"]))

    logger.info(
        "wrote 837P interchange %09d: %d claims in %d transaction sets",
        interchange_number,
        len(claims),
        len(transactions),
    )
    return X12File(
        "".join(body), interchange_number, group_number, tuple(transactions), now
    )


def _check_writable(claims: Sequence[Claim], demographics: Demographics) -> None:
    seen: set[str] = set()
    for claim in claims:
        if claim.claim_id in seen:
            raise InvalidClaimError(
                f"claim {claim.claim_id} is in the batch twice; give each claim its own id"
            )
        seen.add(claim.claim_id)
        errors = [f for f in check_structure(claim) if f.severity.value == "error"]
        if errors:
            raise InvalidClaimError(
                f"claim {claim.claim_id} cannot be written as an 837P: {errors[0]}"
            )
        demographics.person(claim.subscriber.person_id)
        demographics.person(claim.patient_id)
        for other in claim.other_payers:
            demographics.person(other.subscriber.person_id)
        for field, value, required in _text_fields(claim, demographics):
            _check_text(field, value, required)


def x12_text(value: str) -> str:
    """Return `value` in ASCII: accents dropped from Latin letters, 'ß' as 'ss'.

    Characters with no ASCII form (such as CJK or Cyrillic letters) are kept, so
    the caller must check the result.
    """
    if value.isascii():
        return value
    decomposed = unicodedata.normalize("NFKD", value.translate(_TRANSLITERATION))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _check_text(field: str, value: str | None, required: bool) -> None:
    """Raise InvalidClaimError naming `field` when its text cannot go into an 837P.

    The message names the character by code point, never the value, because the
    value may be a patient's name.
    """
    if value is None:
        return
    if required and not value.strip():
        raise InvalidClaimError(
            f"{field} is blank; an 837P needs it, so enter it in the host's record"
        )
    for char in x12_text(value):
        if unicodedata.category(char) == "Cc":
            raise InvalidClaimError(
                f"{field} contains the control character U+{ord(char):04X}; "
                "remove it from the host's record"
            )
        if not char.isascii():
            raise InvalidClaimError(
                f"{field} contains U+{ord(char):04X}, which has no ASCII form in the "
                "X12 character set; write the name in Latin letters"
            )


def _text_fields(
    claim: Claim, demographics: Demographics
) -> Iterator[tuple[str, str | None, bool]]:
    """Yield (field name, text, required) for the free text an 837P of `claim` carries."""
    person_ids = [claim.subscriber.person_id, claim.patient_id]
    person_ids += [other.subscriber.person_id for other in claim.other_payers]
    for person_id in dict.fromkeys(person_ids):
        person = demographics.person(person_id)
        label = f"person {person_id}"
        yield f"{label} last_name", person.last_name, True
        yield f"{label} first_name", person.first_name, True
        yield f"{label} middle_name", person.middle_name, False
        yield from _address_fields(label, person.address)

    providers: list[tuple[str, Provider | None]] = [
        ("billing provider", claim.billing_provider),
        ("rendering provider", claim.rendering_provider),
        ("referring provider", claim.referring_provider),
    ]
    for role, provider in providers:
        if provider is not None:
            label = f"{role} {provider.npi}"
            yield f"{label} last_name", provider.last_name, True
            yield f"{label} first_name", provider.first_name, False
    yield from _address_fields("billing provider", claim.billing_provider.address)

    payers = [claim.payer, *(other.payer for other in claim.other_payers)]
    for payer in payers:
        yield f"payer {payer.payer_id} name", payer.name, True
        if payer.address is not None:
            yield from _address_fields(f"payer {payer.payer_id}", payer.address)
    if claim.service_facility is not None:
        yield "service facility name", claim.service_facility.name, True
        yield from _address_fields("service facility", claim.service_facility.address)


def _address_fields(
    label: str, address: Address
) -> Iterator[tuple[str, str | None, bool]]:
    yield f"{label} address line1", address.line1, True
    yield f"{label} address line2", address.line2, False
    yield f"{label} address city", address.city, True


def _take_number(next_control_number: ControlNumberSource, name: str) -> int:
    number = next_control_number(name)
    if isinstance(number, bool) or not isinstance(number, int) or not number >= 1:
        raise InvalidClaimError(
            f"control number sequence {name} returned {number!r}; it must return "
            "a whole number of 1 or more"
        )
    if number > MAX_CONTROL_NUMBER:
        raise InvalidClaimError(
            f"control number sequence {name} reached {number}, past the nine-digit "
            "limit of X12; agree a new sender id with the receiver before resetting it"
        )
    return number


def _group_claims(
    claims: Sequence[Claim], split_by: SplitBy
) -> list[tuple[tuple[str, str | None], list[Claim]]]:
    grouped: dict[tuple[str, str | None], list[Claim]] = {}
    for claim in claims:
        npi = (
            claim.billing_provider.npi
            if split_by is SplitBy.BILLING_PROVIDER_AND_PAYER
            else None
        )
        grouped.setdefault((claim.payer.payer_id, npi), []).append(claim)
    chunks: list[tuple[tuple[str, str | None], list[Claim]]] = []
    for key, group in grouped.items():
        for start in range(0, len(group), MAX_CLAIMS_PER_TRANSACTION):
            chunks.append((key, group[start : start + MAX_CLAIMS_PER_TRANSACTION]))
    return chunks


class _Encoder:
    """Joins elements into segments and rejects values that contain a separator."""

    def __init__(self, separators: Separators):
        self.separators = separators
        chars = separators.element + separators.component + separators.repetition
        chars += separators.segment
        self._forbidden = re.compile("[" + re.escape(chars) + "\r\n]")
        self._terminator = separators.segment + separators.suffix

    def _value(self, text: str) -> str:
        if self._forbidden.search(text):
            raise InvalidClaimError(
                f"value {text!r} contains an X12 separator or line break; remove it "
                "or choose other separators"
            )
        return text

    def join(self, segment: Segment) -> str:
        sep = self.separators
        parts: list[str] = []
        component_count = 0
        for element in segment:
            if isinstance(element, list):
                components = [x12_text(component) for component in element]
                while components and not components[-1]:
                    components.pop()
                component_count += max(len(components) - 1, 0)
                parts.append(sep.component.join(components))
            else:
                parts.append(x12_text(element))
        while parts and not parts[-1]:
            parts.pop()
        text = sep.element.join(parts)
        # A value that contains a separator shows up as one separator too many,
        # which is cheaper to count than to search every value.
        if (
            text.count(sep.element) != len(parts) - 1
            or text.count(sep.component) != component_count
            or sep.repetition in text
            or sep.segment in text
            or "\n" in text
            or "\r" in text
        ):
            self._raise_for_separator(segment)
        if not text.isascii() or not text.isprintable():
            # _check_text names the field for demographics and names; this guards
            # the values it does not list, without echoing them.
            raise InvalidClaimError(
                f"segment {segment[0]} has a control character or a character with no "
                "ASCII form; X12 allows printable ASCII only"
            )
        return text + self._terminator

    def _raise_for_separator(self, segment: Segment) -> None:
        for element in segment:
            for value in element if isinstance(element, list) else [element]:
                self._value(value)

    def isa(self, settings: InterchangeSettings, number: int, now: datetime) -> str:
        sep = self.separators
        elements = [
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            settings.sender_qualifier,
            self._value(settings.sender_id).ljust(15),
            settings.receiver_qualifier,
            self._value(settings.receiver_id).ljust(15),
            now.strftime("%y%m%d"),
            now.strftime("%H%M"),
            sep.repetition,
            "00501",
            f"{number:09d}",
            "0",
            "P" if settings.production else "T",
            sep.component,
        ]
        text = sep.element.join(elements)
        if not text.isascii() or not text.isprintable():
            raise InvalidClaimError(
                "ISA sender_id or receiver_id has a character that is not printable "
                "ASCII; use the ids the clearinghouse assigned"
            )
        return text + self._terminator


def _gs(settings: InterchangeSettings, number: int, now: datetime) -> Segment:
    return [
        "GS",
        "HC",
        settings.application_sender_code,
        settings.application_receiver_code,
        now.strftime("%Y%m%d"),
        now.strftime("%H%M"),
        str(number),
        "X",
        IMPLEMENTATION_GUIDE,
    ]


def _transaction_segments(
    claims: Sequence[Claim],
    demographics: Demographics,
    settings: InterchangeSettings,
    control: int,
    now: datetime,
) -> list[Segment]:
    control_text = f"{control:04d}"
    segments: list[Segment] = [
        ["ST", "837", control_text, IMPLEMENTATION_GUIDE],
        [
            "BHT",
            "0019",
            "00",
            control_text,
            now.strftime("%Y%m%d"),
            now.strftime("%H%M"),
            "CH",
        ],
        [
            "NM1",
            "41",
            "2",
            settings.submitter_name,
            "",
            "",
            "",
            "",
            "46",
            settings.submitter_id,
        ],
        ["PER", "IC", settings.submitter_contact, "TE", settings.submitter_phone],
        [
            "NM1",
            "40",
            "2",
            settings.receiver_name,
            "",
            "",
            "",
            "",
            "46",
            settings.receiver_id_code,
        ],
    ]
    by_provider: dict[str, list[Claim]] = {}
    for claim in claims:
        by_provider.setdefault(claim.billing_provider.npi, []).append(claim)

    hl = 0
    for provider_claims in by_provider.values():
        hl += 1
        provider_hl = hl
        segments += _billing_provider(provider_hl, provider_claims[0].billing_provider)
        for claim in provider_claims:
            hl += 1
            subscriber_hl = hl
            segments += _subscriber(claim, subscriber_hl, provider_hl, demographics)
            if claim.relationship is not Relationship.SELF:
                hl += 1
                segments += _patient(claim, hl, subscriber_hl, demographics)
            segments += _claim(claim, demographics)

    segments.append(["SE", str(len(segments) + 1), control_text])
    return segments


def _name(provider: Provider) -> list[str]:
    if provider.is_organization:
        return ["2", provider.last_name, "", "", "", ""]
    return ["1", provider.last_name, provider.first_name or "", "", "", ""]


def _address(address: Address) -> list[Segment]:
    street: Segment = ["N3", address.line1]
    if address.line2:
        street.append(address.line2)
    return [street, ["N4", address.city, address.state, address.postal_code]]


def _billing_provider(hl: int, provider: BillingProvider) -> list[Segment]:
    segments: list[Segment] = [["HL", str(hl), "", "20", "1"]]
    if provider.taxonomy:
        segments.append(["PRV", "BI", "PXC", provider.taxonomy])
    segments.append(["NM1", "85", *_name(provider), "XX", provider.npi])
    segments += _address(provider.address)
    segments.append(["REF", "SY" if provider.tax_id_is_ssn else "EI", provider.tax_id])
    return segments


def _person_name(qualifier: str, person: PersonDemographics) -> Segment:
    return [
        "NM1",
        qualifier,
        "1",
        person.last_name.strip(),
        person.first_name.strip(),
        (person.middle_name or "").strip(),
    ]


def _demographic(person: PersonDemographics) -> Segment:
    return ["DMG", "D8", person.birth_date.strftime("%Y%m%d"), person.sex]


def _payer_name(payer: Payer) -> list[Segment]:
    segments: list[Segment] = [
        ["NM1", "PR", "2", payer.name, "", "", "", "", "PI", payer.payer_id]
    ]
    if payer.address is not None:
        segments += _address(payer.address)
    return segments


def _subscriber(
    claim: Claim, hl: int, parent_hl: int, demographics: Demographics
) -> list[Segment]:
    subscriber = claim.subscriber
    is_patient = claim.relationship is Relationship.SELF
    group_name = "" if subscriber.group_number else (subscriber.group_name or "")
    segments: list[Segment] = [
        ["HL", str(hl), str(parent_hl), "22", "0" if is_patient else "1"],
        [
            "SBR",
            subscriber.responsibility.value,
            Relationship.SELF.value if is_patient else "",
            subscriber.group_number or "",
            group_name,
            subscriber.insurance_type_code or "",
            "",
            "",
            "",
            subscriber.claim_filing_indicator,
        ],
    ]
    person = demographics.person(subscriber.person_id)
    segments.append([*_person_name("IL", person), "", "", "MI", subscriber.member_id])
    # The subscriber's address and birth date are sent only when the subscriber
    # is the patient; otherwise the patient loop carries them.
    if is_patient:
        segments += _address(person.address)
        segments.append(_demographic(person))
    segments += _payer_name(claim.payer)
    return segments


def _patient(
    claim: Claim, hl: int, parent_hl: int, demographics: Demographics
) -> list[Segment]:
    person = demographics.person(claim.patient_id)
    return [
        ["HL", str(hl), str(parent_hl), "23", "0"],
        ["PAT", claim.relationship.value],
        _person_name("QC", person),
        *_address(person.address),
        _demographic(person),
    ]


def _claim(claim: Claim, demographics: Demographics) -> list[Segment]:
    segments: list[Segment] = [
        [
            "CLM",
            claim.claim_id,
            str(claim.total_charge),
            "",
            "",
            [claim.place_of_service, "B", claim.frequency.value],
            "Y",
            "A" if claim.accept_assignment else "C",
            "Y" if claim.signature_on_file else "N",
            "Y" if claim.signature_on_file else "I",
        ]
    ]
    if claim.prior_authorization:
        segments.append(["REF", "G1", claim.prior_authorization])
    if claim.frequency is not ClaimFrequency.ORIGINAL and claim.original_claim_number:
        segments.append(["REF", "F8", claim.original_claim_number])
    diagnoses: Segment = ["HI"]
    for index, code in enumerate(claim.diagnoses):
        diagnoses.append(["ABK" if index == 0 else "ABF", code])
    segments.append(diagnoses)

    segments += _claim_providers(claim)
    for other in claim.other_payers:
        segments += _other_payer(claim, other, demographics)
    for number, line in enumerate(claim.lines, start=1):
        segments += _service_line(claim, number, line)
    return segments


def _claim_providers(claim: Claim) -> list[Segment]:
    segments: list[Segment] = []
    referring = claim.referring_provider
    if referring is not None:
        segments.append(["NM1", "DN", *_name(referring), "XX", referring.npi])
    rendering = claim.rendering_provider
    # Loop 2310B is sent only when the rendering provider differs from the billing provider.
    if rendering is not None and rendering.npi != claim.billing_provider.npi:
        segments.append(["NM1", "82", *_name(rendering), "XX", rendering.npi])
        if rendering.taxonomy:
            segments.append(["PRV", "PE", "PXC", rendering.taxonomy])
    facility = claim.service_facility
    if facility is not None and facility.address != claim.billing_provider.address:
        identifier = ["XX", facility.npi] if facility.npi else []
        segments.append(["NM1", "77", "2", facility.name, "", "", "", "", *identifier])
        segments += _address(facility.address)
    return segments


def _other_payer(
    claim: Claim, other: OtherPayer, demographics: Demographics
) -> list[Segment]:
    subscriber = other.subscriber
    segments: list[Segment] = [
        [
            "SBR",
            subscriber.responsibility.value,
            other.relationship.value,
            subscriber.group_number or "",
            "" if subscriber.group_number else (subscriber.group_name or ""),
            subscriber.insurance_type_code or "",
            "",
            "",
            "",
            subscriber.claim_filing_indicator,
        ]
    ]
    segments += _adjustment_segments(other.adjustments)
    if other.paid is not None:
        segments.append(["AMT", "D", str(other.paid)])
    signed = "Y" if claim.signature_on_file else "N"
    segments.append(
        ["OI", "", "", signed, "", "", "Y" if claim.signature_on_file else "I"]
    )

    person = demographics.person(subscriber.person_id)
    segments.append([*_person_name("IL", person), "", "", "MI", subscriber.member_id])
    segments.append(
        ["NM1", "PR", "2", other.payer.name, "", "", "", "", "PI", other.payer.payer_id]
    )
    if other.adjudicated_on is not None:
        segments.append(["DTP", "573", "D8", other.adjudicated_on.strftime("%Y%m%d")])
    return segments


def _adjustment_segments(adjustments: Iterable[Adjustment]) -> list[Segment]:
    """Return one CAS per group code, in first-seen order, six adjustments per CAS at most."""
    by_group: dict[str, list[Adjustment]] = {}
    for adjustment in adjustments:
        by_group.setdefault(adjustment.group_code, []).append(adjustment)
    segments: list[Segment] = []
    for group_code, group in by_group.items():
        for start in range(0, len(group), MAX_CAS_ADJUSTMENTS):
            segment: Segment = ["CAS", group_code]
            for adjustment in group[start : start + MAX_CAS_ADJUSTMENTS]:
                segment += [adjustment.reason_code, str(adjustment.amount), ""]
            segments.append(segment)
    return segments


def _decimal_text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _service_line(claim: Claim, number: int, line: ServiceLine) -> list[Segment]:
    place = line.place_of_service
    segments: list[Segment] = [
        ["LX", str(number)],
        [
            "SV1",
            ["HC", line.procedure_code, *line.modifiers],
            str(line.charge),
            "UN",
            _decimal_text(line.units),
            place if place and place != claim.place_of_service else "",
            "",
            [str(pointer) for pointer in line.diagnosis_pointers],
        ],
    ]
    end = line.service_date_end
    if end is None or end == line.service_date:
        segments.append(["DTP", "472", "D8", line.service_date.strftime("%Y%m%d")])
    else:
        period = f"{line.service_date:%Y%m%d}-{end:%Y%m%d}"
        segments.append(["DTP", "472", "RD8", period])
    if line.line_id:
        segments.append(["REF", "6R", line.line_id])
    if line.drug is not None:
        segments.append(["LIN", "", "N4", line.drug.ndc])
        segments.append(
            ["CTP", "", "", "", _decimal_text(line.drug.quantity), line.drug.unit]
        )
    return segments
