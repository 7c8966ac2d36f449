"""X12 835 5010 (005010X221A1) reader: separators, envelopes and segments into frozen data.

NM1 segments keep only entity ids, never names, so no patient demographics leave
the reader. Posting a remittance to the ledger is the billing layer's job.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final, NoReturn

from ona_ledger.errors import InvalidAmountError, RemittanceFormatError
from ona_ledger.money import Money

logger = logging.getLogger(__name__)

ADJUSTMENT_GROUP_CODES: Final = frozenset({"CO", "PR", "OA", "PI", "CR"})
IMPLEMENTATION_GUIDE: Final = "005010X221A1"

# Separators of a file that starts at ST, without the ISA that declares them.
DEFAULT_ELEMENT_SEPARATOR: Final = "*"
DEFAULT_COMPONENT_SEPARATOR: Final = ":"
DEFAULT_SEGMENT_TERMINATOR: Final = "~"

# ISA is fixed width: 106 characters, ISA16 at index 104, the terminator after it.
_ISA_LENGTH: Final = 106
_ISA16_INDEX: Final = 104
# How far to look for ISA16 when a sender did not pad ISA to its fixed width.
_ISA_SEARCH_LIMIT: Final = 200

_DIGITS: Final = frozenset("0123456789")
_ZERO: Final = Money(0)
_ONE: Final = Decimal(1)
_CACHE_LIMIT: Final = 50_000


# --- Data ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Separators:
    """The delimiters of one file: from its ISA, or the defaults when it starts at ST."""

    element: str
    component: str
    repetition: str | None
    terminator: str


@dataclass(frozen=True, slots=True)
class ParseWarning:
    """A deviation the reader tolerated: where it is and what was done about it."""

    segment_number: int
    segment_id: str
    message: str


@dataclass(frozen=True, slots=True)
class InterchangeHeader:
    """The ISA envelope: who sent the file to whom, and its control number."""

    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    interchange_date: date | None
    control_number: str
    version: str
    usage_indicator: str


@dataclass(frozen=True, slots=True)
class FunctionalGroup:
    """The GS envelope: application sender and receiver, control number, guide version."""

    functional_id: str
    application_sender: str
    application_receiver: str
    group_date: date | None
    control_number: str
    version: str


@dataclass(frozen=True, slots=True)
class Reference:
    """A REF segment: a qualifier such as EV, TJ, 6R or 1L, and its value."""

    qualifier: str
    value: str


@dataclass(frozen=True, slots=True)
class DateReference:
    """A DTM segment, such as 405 production, 232/233 claim, 472 or 150/151 service.

    `value` is None when DTM02 has eight digits that are no calendar date; the
    file's warnings then name the segment.
    """

    qualifier: str
    value: date | None


@dataclass(frozen=True, slots=True)
class AmountReference:
    """An AMT segment, such as AU coverage amount or B6 allowed amount."""

    qualifier: str
    amount: Money


@dataclass(frozen=True, slots=True)
class Quantity:
    """A QTY segment, such as CA covered days or ZK federal units."""

    qualifier: str
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class Payment:
    """The BPR segment: the money the payer sends and how."""

    handling_code: str
    total_paid: Money
    credit_debit: str
    method: str
    payment_format: str
    payment_date: date | None


@dataclass(frozen=True, slots=True)
class Trace:
    """The TRN segment: the check or EFT trace number that ties payment to remittance."""

    type_code: str
    trace_number: str
    payer_id: str
    supplemental_id: str


@dataclass(frozen=True, slots=True)
class Party:
    """An N1 loop of the header: the payer (PR) or the payee (PE), with address and REFs."""

    entity_code: str
    name: str
    id_qualifier: str
    id: str
    address_lines: tuple[str, ...]
    city: str
    state: str
    postal_code: str
    country: str
    references: tuple[Reference, ...]


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One reason of a CAS segment: group code, CARC reason code, amount, quantity."""

    group_code: str
    reason_code: str
    amount: Money
    quantity: Decimal | None


@dataclass(frozen=True, slots=True)
class EntityId:
    """An NM1 segment of a claim, without the name: patient QC, insured IL, 82 rendering."""

    entity_code: str
    entity_type: str
    id_qualifier: str
    id: str


@dataclass(frozen=True, slots=True)
class InpatientAdjudication:
    """The MIA segment: covered days, the DRG amount and the claim's remark codes."""

    covered_days: Decimal | None
    drg_amount: Money | None
    remark_codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OutpatientAdjudication:
    """The MOA segment: reimbursement rate, HCPCS payable amount and remark codes."""

    reimbursement_rate: Decimal | None
    hcpcs_payable_amount: Money | None
    remark_codes: tuple[str, ...]
    esrd_payment: Money | None
    nonpayable_professional_amount: Money | None


@dataclass(frozen=True, slots=True)
class Procedure:
    """A composite procedure of SVC01 or SVC06: qualifier (HC, AD, NU...), code, modifiers."""

    qualifier: str
    code: str
    modifiers: tuple[str, ...]
    description: str


@dataclass(frozen=True, slots=True)
class Remark:
    """An LQ segment: list qualifier (HE for RARC, RX for NCPDP) and the remark code."""

    list_qualifier: str
    code: str


@dataclass(frozen=True, slots=True)
class ServiceLine:
    """An SVC loop: one service line's charge, payment, adjustments and remarks.

    `units_paid` is SVC05; the implementation guide reads an absent SVC05 as one
    unit, so the reader stores 1 then. `segment_number` locates the SVC segment.
    """

    procedure: Procedure
    charge: Money
    paid: Money
    revenue_code: str
    units_paid: Decimal
    original_procedure: Procedure | None
    original_units: Decimal | None
    adjustments: tuple[Adjustment, ...]
    dates: tuple[DateReference, ...]
    references: tuple[Reference, ...]
    amounts: tuple[AmountReference, ...]
    quantities: tuple[Quantity, ...]
    remarks: tuple[Remark, ...]
    segment_number: int


@dataclass(frozen=True, slots=True)
class ClaimPayment:
    """A CLP loop: the payer's decision on one claim, with its service lines.

    `patient_responsibility` is zero when CLP05 is empty. `segment_number`
    locates the CLP segment, because claim ids need not be unique in a file.
    """

    claim_id: str
    status_code: str
    charge: Money
    paid: Money
    patient_responsibility: Money
    filing_indicator: str
    payer_claim_control_number: str
    facility_code: str
    frequency_code: str
    drg_code: str
    adjustments: tuple[Adjustment, ...]
    entities: tuple[EntityId, ...]
    inpatient: InpatientAdjudication | None
    outpatient: OutpatientAdjudication | None
    dates: tuple[DateReference, ...]
    references: tuple[Reference, ...]
    amounts: tuple[AmountReference, ...]
    quantities: tuple[Quantity, ...]
    service_lines: tuple[ServiceLine, ...]
    header_number: int | None
    segment_number: int

    def entity_id(self, entity_code: str) -> str:
        """Return the NM109 id of the first NM1 with this entity code, or ''."""
        for entity in self.entities:
            if entity.entity_code == entity_code:
                return entity.id
        return ""

    @property
    def member_id(self) -> str:
        """Member id of the coverage: the insured's (IL) when present, else the patient's (QC)."""
        return self.entity_id("IL") or self.entity_id("QC")


@dataclass(frozen=True, slots=True)
class ProviderSummary:
    """A TS3 segment: the provider's claim count and total charge under one LX number."""

    header_number: int
    provider_id: str
    facility_code: str
    fiscal_period_end: date | None
    claim_count: int
    total_charge: Money


@dataclass(frozen=True, slots=True)
class ProviderAdjustment:
    """One reason of a PLB segment: a positive amount reduces the payment, negative adds."""

    provider_id: str
    fiscal_period_end: date | None
    reason_code: str
    reference_id: str
    amount: Money
    segment_number: int


@dataclass(frozen=True, slots=True)
class Remittance:
    """One 835 transaction set (ST to SE): a payment and the claims it pays."""

    control_number: str
    payment: Payment
    trace: Trace
    payer: Party
    payee: Party
    references: tuple[Reference, ...]
    dates: tuple[DateReference, ...]
    claims: tuple[ClaimPayment, ...]
    provider_summaries: tuple[ProviderSummary, ...]
    provider_adjustments: tuple[ProviderAdjustment, ...]
    interchange: InterchangeHeader | None
    group: FunctionalGroup | None
    segment_number: int


@dataclass(frozen=True, slots=True)
class RemittanceFile:
    """Every transaction set of one 835 file, in file order, and what the reader tolerated."""

    remittances: tuple[Remittance, ...]
    separators: Separators
    warnings: tuple[ParseWarning, ...]


# --- Entry points -----------------------------------------------------------


def read_835(
    path: str | os.PathLike[str], *, strict_counts: bool = True
) -> RemittanceFile:
    """Read an 835 file from disk; see parse_835."""
    with open(path, "rb") as handle:
        return parse_835(handle.read(), strict_counts=strict_counts)


def parse_835(data: str | bytes, *, strict_counts: bool = True) -> RemittanceFile:
    """Parse the text of an X12 835 file into its remittances.

    Raises RemittanceFormatError, naming the segment, on a syntax or structure
    error. With `strict_counts` False, control counts that disagree with the
    file (SE01, GE01, IEA01) become warnings instead of errors.
    """
    text = _decode(data)
    separators = find_separators(text)
    if "\n" in text or "\r" in text:
        # Line breaks around the terminators are layout, so they are removed unless
        # the terminator is itself a line break. NOTE: a line break inside element
        # data, which X12 does not expect, would be removed as well.
        text = text.replace("\r", "")
        if separators.terminator != "\n":
            text = text.replace("\n", "")
    reader = _Reader(separators, strict_counts)
    # The reader allocates many small objects that all live until it returns,
    # so cyclic garbage collection finds nothing to free while it runs; pausing
    # it roughly doubled the parse rate on a 1 MB file.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return reader.read(text.split(separators.terminator))
    finally:
        if collecting:
            gc.enable()


def _decode(data: str | bytes) -> str:
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise RemittanceFormatError(
                f"byte {error.start} of the 835 file is not valid UTF-8; "
                "convert the file to UTF-8 or ASCII text"
            ) from None
    else:
        text = data
    return text.lstrip("\ufeff \t\r\n")


def find_separators(text: str) -> Separators:
    """Read the separators from the ISA segment, or return the defaults without one."""
    if not text.startswith("ISA"):
        return Separators(
            DEFAULT_ELEMENT_SEPARATOR,
            DEFAULT_COMPONENT_SEPARATOR,
            None,
            DEFAULT_SEGMENT_TERMINATOR,
        )
    if len(text) < _ISA_LENGTH:
        raise RemittanceFormatError(
            f"segment 1 (ISA): the file has {len(text)} characters, fewer than the "
            f"{_ISA_LENGTH} of a complete ISA; the file is truncated",
            1,
            "ISA",
        )
    element = text[3]
    if element.isalnum() or element.isspace():
        raise RemittanceFormatError(
            f"segment 1 (ISA): character 4 is {element!r}, not an element separator; "
            "the ISA segment is malformed",
            1,
            "ISA",
        )

    # ISA16 follows the 16th element separator. Search for it rather than trust
    # index 103, so that an ISA with badly padded fields can still be read.
    index = 3
    for found in range(1, 16):
        index = text.find(element, index + 1, _ISA_SEARCH_LIMIT)
        if index == -1:
            raise RemittanceFormatError(
                f"segment 1 (ISA): only {found} of the 16 ISA elements were found; "
                "the ISA segment is truncated",
                1,
                "ISA",
            )
    if index + 2 >= len(text):
        raise RemittanceFormatError(
            "segment 1 (ISA): ISA16 or the segment terminator after it is missing; "
            "the ISA segment is truncated",
            1,
            "ISA",
        )
    component = text[index + 1]
    terminator = text[index + 2]
    if terminator in (element, component) or terminator.isalnum():
        raise RemittanceFormatError(
            f"segment 1 (ISA): the segment terminator {terminator!r} after ISA16 is "
            "not a valid separator; the ISA segment is malformed",
            1,
            "ISA",
        )
    repetition = text[82] if index + 1 == _ISA16_INDEX else None
    return Separators(element, component, repetition, terminator)


# --- The reader -------------------------------------------------------------

_Handler = Callable[[list[str]], None]

# Segments each loop accepts, besides the ones that open a new loop.
_HEADER_SEGMENTS: Final = frozenset({"REF", "DTM", "CUR"})
_PARTY_SEGMENTS: Final = frozenset({"N3", "N4", "REF", "PER", "RDM"})
_CLAIM_SEGMENTS: Final = frozenset(
    {"CAS", "NM1", "MIA", "MOA", "REF", "DTM", "PER", "AMT", "QTY"}
)
_LINE_SEGMENTS: Final = frozenset({"CAS", "REF", "DTM", "AMT", "QTY", "LQ"})
_HEADER_NUMBER_SEGMENTS: Final = frozenset({"TS3", "TS2"})

_MONEY_CACHE: dict[str, Money] = {}
_DATE_CACHE: dict[str, date] = {}
_DECIMAL_CACHE: dict[str, Decimal] = {}


class _Loop:
    """Mutable collector for one loop while its segments are read."""

    __slots__ = (
        "accepted",
        "adjustments",
        "amounts",
        "dates",
        "name",
        "quantities",
        "references",
        "remarks",
    )

    def __init__(self, name: str, accepted: frozenset[str]) -> None:
        self.name = name
        self.accepted = accepted
        self.references: list[Reference] = []
        self.dates: list[DateReference] = []
        self.amounts: list[AmountReference] = []
        self.quantities: list[Quantity] = []
        self.adjustments: list[Adjustment] = []
        self.remarks: list[Remark] = []


# The loop after a claim closes; only segments that open a loop may follow.
_CLOSED_LOOP: Final = _Loop("closed", frozenset())


class _PartyLoop(_Loop):
    __slots__ = ("address_lines", "city", "country", "elements", "postal_code", "state")

    def __init__(self, elements: list[str]) -> None:
        super().__init__(f"N1*{elements[1]}", _PARTY_SEGMENTS)
        self.elements = elements
        self.address_lines: list[str] = []
        self.city = ""
        self.state = ""
        self.postal_code = ""
        self.country = ""

    def freeze(self) -> Party:
        elements = self.elements
        count = len(elements)
        return Party(
            elements[1],
            elements[2] if count > 2 else "",
            elements[3] if count > 3 else "",
            elements[4] if count > 4 else "",
            tuple(self.address_lines),
            self.city,
            self.state,
            self.postal_code,
            self.country,
            tuple(self.references),
        )


class _ClaimLoop(_Loop):
    __slots__ = (
        "charge",
        "elements",
        "entities",
        "header_number",
        "inpatient",
        "lines",
        "outpatient",
        "paid",
        "patient_responsibility",
        "segment_number",
    )

    def __init__(
        self,
        elements: list[str],
        amounts: tuple[Money, Money, Money],
        header_number: int | None,
        segment_number: int,
    ) -> None:
        super().__init__("CLP", _CLAIM_SEGMENTS)
        self.elements = elements
        self.charge, self.paid, self.patient_responsibility = amounts
        self.header_number = header_number
        self.segment_number = segment_number
        self.entities: list[EntityId] = []
        self.inpatient: InpatientAdjudication | None = None
        self.outpatient: OutpatientAdjudication | None = None
        self.lines: list[ServiceLine] = []


class _LineLoop(_Loop):
    __slots__ = (
        "charge",
        "original_procedure",
        "original_units",
        "paid",
        "procedure",
        "revenue_code",
        "segment_number",
        "units_paid",
    )

    def __init__(self, procedure: Procedure, segment_number: int) -> None:
        super().__init__("SVC", _LINE_SEGMENTS)
        self.procedure = procedure
        self.segment_number = segment_number
        self.charge = _ZERO
        self.paid = _ZERO
        self.revenue_code = ""
        self.units_paid = _ONE
        self.original_procedure: Procedure | None = None
        self.original_units: Decimal | None = None


class _TransactionLoop(_Loop):
    __slots__ = (
        "claims",
        "control_number",
        "header_number",
        "payee",
        "payer",
        "payment",
        "plb",
        "segment_number",
        "summaries",
        "trace",
    )

    def __init__(self, control_number: str, segment_number: int) -> None:
        super().__init__("header", _HEADER_SEGMENTS)
        self.control_number = control_number
        self.segment_number = segment_number
        self.payment: Payment | None = None
        self.trace: Trace | None = None
        self.payer: Party | None = None
        self.payee: Party | None = None
        self.header_number: int | None = None
        self.claims: list[ClaimPayment] = []
        self.summaries: list[ProviderSummary] = []
        self.plb: list[ProviderAdjustment] = []


class _Reader:
    """One pass over the segments of a file, with the loop state of the 835."""

    def __init__(self, separators: Separators, strict_counts: bool) -> None:
        self.separators = separators
        self.component = separators.component
        self.strict_counts = strict_counts
        self.number = 0
        self.segment_id = ""
        self.warnings: list[ParseWarning] = []
        self.remittances: list[Remittance] = []
        self.interchange: InterchangeHeader | None = None
        self.interchange_groups = 0
        self.group: FunctionalGroup | None = None
        self.group_transactions = 0
        self.transaction: _TransactionLoop | None = None
        self.party: _PartyLoop | None = None
        self.claim: _ClaimLoop | None = None
        self.line: _LineLoop | None = None
        self.loop: _Loop | None = None
        self.in_summary = False
        self.handlers: dict[str, _Handler] = {
            "ISA": self._isa,
            "IEA": self._iea,
            "GS": self._gs,
            "GE": self._ge,
            "ST": self._st,
            "SE": self._se,
            "BPR": self._bpr,
            "TRN": self._trn,
            "CUR": self._ignore,
            "REF": self._ref,
            "DTM": self._dtm,
            "N1": self._n1,
            "N3": self._n3,
            "N4": self._n4,
            "PER": self._ignore,
            "RDM": self._ignore,
            "LX": self._lx,
            "TS3": self._ts3,
            "TS2": self._ignore,
            "CLP": self._clp,
            "CAS": self._cas,
            "NM1": self._nm1,
            "MIA": self._mia,
            "MOA": self._moa,
            "AMT": self._amt,
            "QTY": self._qty,
            "SVC": self._svc,
            "LQ": self._lq,
            "PLB": self._plb,
        }

    # -- driving loop --

    def read(self, segments: list[str]) -> RemittanceFile:
        handlers = self.handlers
        separator = self.separators.element
        number = 0
        for segment in segments:
            if not segment:
                continue
            number += 1
            self.number = number
            elements = segment.split(separator)
            segment_id = elements[0]
            self.segment_id = segment_id
            handler = handlers.get(segment_id)
            if handler is None:
                self._unknown(elements)
            else:
                handler(elements)
        self._finish_file()
        return RemittanceFile(
            tuple(self.remittances), self.separators, tuple(self.warnings)
        )

    def _finish_file(self) -> None:
        if self.transaction is not None:
            self._fail(
                f"the file ends inside transaction set {self.transaction.control_number} "
                "(no SE segment); the file is truncated"
            )
        if self.group is not None:
            self._fail(
                f"the file ends inside functional group {self.group.control_number} "
                "(no GE segment); the file is truncated"
            )
        if self.interchange is not None:
            self._fail(
                f"the file ends inside interchange {self.interchange.control_number} "
                "(no IEA segment); the file is truncated"
            )
        if not self.remittances:
            raise RemittanceFormatError(
                "the file contains no 835 transaction set (no ST*835 segment); "
                "check that it is an X12 835 remittance"
            )

    # -- errors and warnings --

    def _fail(self, problem: str) -> NoReturn:
        raise RemittanceFormatError(
            f"segment {self.number} ({self.segment_id}): {problem}",
            self.number,
            self.segment_id,
        )

    def _warn(self, message: str) -> None:
        logger.debug("segment %d (%s): %s", self.number, self.segment_id, message)
        self.warnings.append(ParseWarning(self.number, self.segment_id, message))

    def _count_mismatch(self, problem: str) -> None:
        if self.strict_counts:
            self._fail(problem)
        self._warn(problem)

    # -- element parsers --

    def _need(self, elements: list[str], count: int, what: str) -> None:
        if len(elements) <= count or not elements[count]:
            self._fail(f"{self.segment_id}{count:02d} ({what}) is missing")

    def _money(self, text: str, element: str) -> Money:
        money = _MONEY_CACHE.get(text)
        if money is not None:
            return money
        body = text[1:] if text.startswith("-") else text
        digits = body.replace(".", "", 1)
        if not digits or not set(digits) <= _DIGITS:
            self._fail(
                f"{element} {text!r} is not a decimal amount; "
                "X12 amounts are digits with an optional '-' and '.'"
            )
        try:
            money = Money.of(text)
        except InvalidAmountError as error:
            self._fail(f"{element} {text!r} is not a valid amount: {error}")
        if len(_MONEY_CACHE) >= _CACHE_LIMIT:
            _MONEY_CACHE.clear()
        _MONEY_CACHE[text] = money
        return money

    def _optional_money(self, elements: list[str], index: int) -> Money | None:
        if len(elements) <= index or not elements[index]:
            return None
        return self._money(elements[index], f"{self.segment_id}{index:02d}")

    def _decimal(self, text: str, element: str) -> Decimal:
        value = _DECIMAL_CACHE.get(text)
        if value is not None:
            return value
        body = text[1:] if text.startswith("-") else text
        digits = body.replace(".", "", 1)
        if not digits or not set(digits) <= _DIGITS:
            self._fail(f"{element} {text!r} is not a decimal number")
        value = Decimal(text)
        if len(_DECIMAL_CACHE) >= _CACHE_LIMIT:
            _DECIMAL_CACHE.clear()
        _DECIMAL_CACHE[text] = value
        return value

    def _optional_decimal(self, elements: list[str], index: int) -> Decimal | None:
        if len(elements) <= index or not elements[index]:
            return None
        return self._decimal(elements[index], f"{self.segment_id}{index:02d}")

    def _date(self, text: str, element: str) -> date | None:
        """Parse CCYYMMDD; eight digits that are no calendar date give None and a warning."""
        value = _DATE_CACHE.get(text)
        if value is not None:
            return value
        if len(text) != 8 or not set(text) <= _DIGITS:
            self._fail(f"{element} {text!r} is not a date in CCYYMMDD form")
        try:
            value = date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError as error:
            self._warn(
                f"{element} {text!r} is not a calendar date ({error}); read as no date"
            )
            return None
        if len(_DATE_CACHE) >= _CACHE_LIMIT:
            _DATE_CACHE.clear()
        _DATE_CACHE[text] = value
        return value

    def _optional_date(self, elements: list[str], index: int) -> date | None:
        if len(elements) <= index or not elements[index]:
            return None
        return self._date(elements[index], f"{self.segment_id}{index:02d}")

    def _composite(self, text: str, element: str) -> list[str]:
        """Split a composite whose first component is a two-character code.

        Some senders use a component separator other than the one their ISA16
        declares (">" where ISA16 is ":"). Because SVC01 qualifiers and PLB
        reason codes are two characters, a third character that is neither
        alphanumeric nor the declared separator is taken as the separator used.
        """
        component = self.component
        if component in text or len(text) < 4:
            return text.split(component)
        used = text[2]
        if used.isalnum() or used == " ":
            return [text]
        self._warn(
            f"{element} {text!r} uses {used!r} as component separator, not the "
            f"{component!r} that ISA16 declares; read with {used!r}"
        )
        return text.split(used)

    def _procedure(self, text: str, element: str) -> Procedure:
        parts = self._composite(text, element)
        count = len(parts)
        if count < 2 or not parts[0] or not parts[1]:
            self._fail(
                f"{element} {text!r} lacks a qualifier or a procedure code; "
                f"write it as qualifier{self.component}code, such as "
                f"HC{self.component}99213"
            )
        return Procedure(
            parts[0],
            parts[1],
            tuple(modifier for modifier in parts[2:6] if modifier),
            parts[6] if count > 6 else "",
        )

    # -- envelope --

    def _isa(self, elements: list[str]) -> None:
        if self.interchange is not None:
            self._fail(
                f"ISA before the IEA of interchange {self.interchange.control_number}; "
                "an interchange must end before the next begins"
            )
        if len(elements) != 17:
            self._fail(
                f"ISA has {len(elements) - 1} elements; it needs exactly 16, "
                "so the ISA segment is truncated or malformed"
            )
        isa_date = elements[9]
        interchange_date = None
        if len(isa_date) == 6 and set(isa_date) <= _DIGITS:
            interchange_date = self._date("20" + isa_date, "ISA09")
        else:
            self._fail(f"ISA09 {isa_date!r} is not a date in YYMMDD form")
        self.interchange = InterchangeHeader(
            elements[5].strip(),
            elements[6].strip(),
            elements[7].strip(),
            elements[8].strip(),
            interchange_date,
            elements[13],
            elements[12],
            elements[15],
        )
        self.interchange_groups = 0

    def _iea(self, elements: list[str]) -> None:
        interchange = self.interchange
        if interchange is None:
            self._fail("IEA without an ISA before it")
        if self.group is not None:
            self._fail(
                f"IEA inside functional group {self.group.control_number}; GE is missing"
            )
        self._need(elements, 2, "interchange control number")
        if elements[2] != interchange.control_number:
            self._fail(
                f"IEA02 {elements[2]!r} does not match ISA13 "
                f"{interchange.control_number!r}"
            )
        self._need(elements, 1, "number of functional groups")
        if not elements[1].isdigit() or int(elements[1]) != self.interchange_groups:
            self._count_mismatch(
                f"IEA01 says {elements[1]} functional groups but the interchange "
                f"has {self.interchange_groups}"
            )
        self.interchange = None

    def _gs(self, elements: list[str]) -> None:
        if self.group is not None:
            self._fail(
                f"GS before the GE of functional group {self.group.control_number}"
            )
        if self.transaction is not None:
            self._fail("GS inside a transaction set; SE is missing")
        self._need(elements, 6, "group control number")
        version = elements[8] if len(elements) > 8 else ""
        if not version.startswith("005010X221"):
            self._warn(
                f"GS08 {version!r} is not {IMPLEMENTATION_GUIDE}; read as 5010 835"
            )
        self.group = FunctionalGroup(
            elements[1],
            elements[2] if len(elements) > 2 else "",
            elements[3] if len(elements) > 3 else "",
            self._optional_date(elements, 4),
            elements[6],
            version,
        )
        self.group_transactions = 0
        self.interchange_groups += 1

    def _ge(self, elements: list[str]) -> None:
        group = self.group
        if group is None:
            self._fail("GE without a GS before it")
        if self.transaction is not None:
            self._fail(
                f"GE inside transaction set {self.transaction.control_number}; "
                "SE is missing"
            )
        self._need(elements, 2, "group control number")
        if elements[2] != group.control_number:
            self._fail(
                f"GE02 {elements[2]!r} does not match GS06 {group.control_number!r}"
            )
        self._need(elements, 1, "number of transaction sets")
        if not elements[1].isdigit() or int(elements[1]) != self.group_transactions:
            self._count_mismatch(
                f"GE01 says {elements[1]} transaction sets but the group has "
                f"{self.group_transactions}"
            )
        self.group = None

    def _st(self, elements: list[str]) -> None:
        if self.transaction is not None:
            self._fail(
                f"ST before the SE of transaction set {self.transaction.control_number}"
            )
        self._need(elements, 1, "transaction set identifier")
        if elements[1] != "835":
            self._fail(
                f"ST01 is {elements[1]!r}; this reader takes 835 remittances only"
            )
        self._need(elements, 2, "transaction set control number")
        self.transaction = _TransactionLoop(elements[2], self.number)
        self.loop = self.transaction
        self.party = self.claim = self.line = None
        self.in_summary = False
        self.group_transactions += 1

    def _se(self, elements: list[str]) -> None:
        transaction = self._in_transaction()
        self._close_claim()
        self._need(elements, 2, "transaction set control number")
        if elements[2] != transaction.control_number:
            self._fail(
                f"SE02 {elements[2]!r} does not match ST02 "
                f"{transaction.control_number!r}"
            )
        self._need(elements, 1, "number of included segments")
        counted = self.number - transaction.segment_number + 1
        if not elements[1].isdigit() or int(elements[1]) != counted:
            self._count_mismatch(
                f"SE01 says {elements[1]} segments but the transaction set has "
                f"{counted} from ST to SE"
            )
        self.remittances.append(self._freeze_transaction(transaction))
        self.transaction = None
        self.loop = None

    def _freeze_transaction(self, transaction: _TransactionLoop) -> Remittance:
        if transaction.payment is None:
            self._fail(
                f"transaction set {transaction.control_number} has no BPR segment"
            )
        if transaction.trace is None:
            self._fail(
                f"transaction set {transaction.control_number} has no TRN segment"
            )
        if transaction.payer is None:
            self._fail(
                f"transaction set {transaction.control_number} has no payer (N1*PR)"
            )
        if transaction.payee is None:
            self._fail(
                f"transaction set {transaction.control_number} has no payee (N1*PE)"
            )
        return Remittance(
            transaction.control_number,
            transaction.payment,
            transaction.trace,
            transaction.payer,
            transaction.payee,
            tuple(transaction.references),
            tuple(transaction.dates),
            tuple(transaction.claims),
            tuple(transaction.summaries),
            tuple(transaction.plb),
            self.interchange,
            self.group,
            transaction.segment_number,
        )

    def _in_transaction(self) -> _TransactionLoop:
        transaction = self.transaction
        if transaction is None:
            self._fail(f"{self.segment_id} outside a transaction set (no ST before it)")
        return transaction

    def _unknown(self, elements: list[str]) -> None:
        segment_id = elements[0]
        if not segment_id or not segment_id.isalnum() or len(segment_id) > 3:
            self._fail(
                f"{segment_id!r} is not a segment id; the file is malformed or its "
                "separators differ from the ones its ISA declares"
            )
        self._in_transaction()
        self._warn(f"{segment_id} is not an 835 segment; skipped")

    def _ignore(self, elements: list[str]) -> None:
        self._within_loop()

    def _within_loop(self) -> _Loop:
        """Return the open loop if it accepts the current segment, else raise."""
        loop = self.loop
        if loop is None:
            self._fail(f"{self.segment_id} outside a transaction set (no ST before it)")
        if self.segment_id not in loop.accepted:
            self._fail(
                f"{self.segment_id} is not allowed in the {loop.name} loop; "
                "check the segment order against the 835 implementation guide"
            )
        return loop

    # -- header --

    def _bpr(self, elements: list[str]) -> None:
        transaction = self._in_transaction()
        if (
            transaction.payment is not None
            or self.number != transaction.segment_number + 1
        ):
            self._fail("BPR must be the one segment right after ST")
        self._need(elements, 1, "transaction handling code")
        self._need(elements, 2, "total actual provider payment amount")
        self._need(elements, 3, "credit/debit flag")
        self._need(elements, 4, "payment method code")
        count = len(elements)
        transaction.payment = Payment(
            elements[1],
            self._money(elements[2], "BPR02"),
            elements[3],
            elements[4],
            elements[5] if count > 5 else "",
            self._optional_date(elements, 16),
        )

    def _trn(self, elements: list[str]) -> None:
        transaction = self._in_transaction()
        if self.loop is not transaction or transaction.trace is not None:
            self._fail("TRN must come once, in the header after BPR")
        self._need(elements, 1, "trace type code")
        self._need(elements, 2, "check or EFT trace number")
        self._need(elements, 3, "payer identifier")
        transaction.trace = Trace(
            elements[1],
            elements[2],
            elements[3],
            elements[4] if len(elements) > 4 else "",
        )

    def _n1(self, elements: list[str]) -> None:
        transaction = self._in_transaction()
        if self.loop is not transaction and self.loop is not self.party:
            self._fail(
                "N1 after the claims; payer and payee come before the first LX or CLP"
            )
        self._close_party()
        self._need(elements, 1, "entity identifier code")
        if elements[1] not in ("PR", "PE"):
            self._fail(
                f"N101 {elements[1]!r} is not PR (payer) or PE (payee), the two "
                "N1 loops of an 835"
            )
        self.party = _PartyLoop(elements)
        self.loop = self.party

    def _close_party(self) -> None:
        party = self.party
        if party is None:
            return
        transaction = self._in_transaction()
        frozen = party.freeze()
        if frozen.entity_code == "PR":
            if transaction.payer is not None:
                self._fail("a second payer (N1*PR) in one transaction set")
            transaction.payer = frozen
        else:
            if transaction.payee is not None:
                self._fail("a second payee (N1*PE) in one transaction set")
            transaction.payee = frozen
        self.party = None
        self.loop = transaction

    def _n3(self, elements: list[str]) -> None:
        self._within_loop()
        assert self.party is not None
        self.party.address_lines.extend(line for line in elements[1:3] if line)

    def _n4(self, elements: list[str]) -> None:
        self._within_loop()
        party = self.party
        assert party is not None
        count = len(elements)
        party.city = elements[1] if count > 1 else ""
        party.state = elements[2] if count > 2 else ""
        party.postal_code = elements[3] if count > 3 else ""
        party.country = elements[4] if count > 4 else ""

    def _lx(self, elements: list[str]) -> None:
        transaction = self._in_transaction()
        self._close_party()
        self._close_claim()
        if self.in_summary:
            self._fail("LX after PLB; provider adjustments end the transaction set")
        self._need(elements, 1, "assigned number")
        if not elements[1].isdigit():
            self._fail(f"LX01 {elements[1]!r} is not a whole number")
        transaction.header_number = int(elements[1])
        self.loop = _Loop(f"LX*{elements[1]}", _HEADER_NUMBER_SEGMENTS)

    def _ts3(self, elements: list[str]) -> None:
        self._within_loop()
        transaction = self._in_transaction()
        assert transaction.header_number is not None
        for index, what in (
            (1, "provider identifier"),
            (2, "facility type code"),
            (3, "fiscal period date"),
            (4, "total claim count"),
            (5, "total claim charge amount"),
        ):
            self._need(elements, index, what)
        if not elements[4].isdigit():
            self._fail(f"TS304 {elements[4]!r} is not a whole number of claims")
        transaction.summaries.append(
            ProviderSummary(
                transaction.header_number,
                elements[1],
                elements[2],
                self._date(elements[3], "TS303"),
                int(elements[4]),
                self._money(elements[5], "TS305"),
            )
        )

    # -- shared detail segments --

    def _ref(self, elements: list[str]) -> None:
        loop = self._within_loop()
        if len(elements) < 2 or not elements[1]:
            self._need(elements, 1, "reference identification qualifier")
        loop.references.append(
            Reference(elements[1], elements[2] if len(elements) > 2 else "")
        )

    def _dtm(self, elements: list[str]) -> None:
        loop = self._within_loop()
        if len(elements) < 3 or not elements[1] or not elements[2]:
            self._need(elements, 1, "date/time qualifier")
            self._need(elements, 2, "date")
        loop.dates.append(DateReference(elements[1], self._date(elements[2], "DTM02")))

    def _amt(self, elements: list[str]) -> None:
        loop = self._within_loop()
        if len(elements) < 3 or not elements[1] or not elements[2]:
            self._need(elements, 1, "amount qualifier code")
            self._need(elements, 2, "monetary amount")
        loop.amounts.append(
            AmountReference(elements[1], self._money(elements[2], "AMT02"))
        )

    def _qty(self, elements: list[str]) -> None:
        loop = self._within_loop()
        self._need(elements, 1, "quantity qualifier")
        self._need(elements, 2, "quantity")
        loop.quantities.append(
            Quantity(elements[1], self._decimal(elements[2], "QTY02"))
        )

    def _cas(self, elements: list[str]) -> None:
        loop = self._within_loop()
        self._need(elements, 1, "claim adjustment group code")
        group_code = elements[1]
        if group_code not in ADJUSTMENT_GROUP_CODES:
            self._fail(
                f"CAS01 {group_code!r} is not an adjustment group code; "
                "use CO, PR, OA, PI or CR"
            )
        count = len(elements)
        if count > 20:
            self._fail(
                f"CAS has {count - 1} elements; at most 19 fit (a group code and "
                "six reason, amount, quantity triples)"
            )
        adjustments = loop.adjustments
        before = len(adjustments)
        for index in range(2, count, 3):
            reason = elements[index]
            amount = elements[index + 1] if index + 1 < count else ""
            quantity = elements[index + 2] if index + 2 < count else ""
            if not reason:
                if amount or quantity:
                    self._fail(
                        f"CAS{index + 1:02d} or CAS{index + 2:02d} is present but "
                        f"the reason code CAS{index:02d} is empty"
                    )
                continue
            if not amount:
                self._fail(
                    f"CAS{index:02d} reason code {reason!r} has no amount in "
                    f"CAS{index + 1:02d}; each reason needs its amount"
                )
            adjustments.append(
                Adjustment(
                    group_code,
                    reason,
                    self._money(amount, f"CAS{index + 1:02d}"),
                    self._decimal(quantity, f"CAS{index + 2:02d}")
                    if quantity
                    else None,
                )
            )
        if len(adjustments) == before:
            self._fail("CAS has no reason code and amount (CAS02 and CAS03)")

    # -- claims --

    def _clp(self, elements: list[str]) -> None:
        transaction = self._in_transaction()
        self._close_party()
        self._close_claim()
        if self.in_summary:
            self._fail("CLP after PLB; provider adjustments end the transaction set")
        self._need(elements, 1, "patient control number")
        self._need(elements, 2, "claim status code")
        self._need(elements, 3, "total claim charge amount")
        self._need(elements, 4, "claim payment amount")
        patient_responsibility = _ZERO
        if len(elements) > 5 and elements[5]:
            patient_responsibility = self._money(elements[5], "CLP05")
        amounts = (
            self._money(elements[3], "CLP03"),
            self._money(elements[4], "CLP04"),
            patient_responsibility,
        )
        self.claim = _ClaimLoop(
            elements, amounts, transaction.header_number, self.number
        )
        self.loop = self.claim

    def _close_claim(self) -> None:
        claim = self.claim
        if claim is None:
            return
        self._close_line()
        elements = claim.elements
        count = len(elements)
        transaction = self._in_transaction()
        transaction.claims.append(
            ClaimPayment(
                elements[1],
                elements[2],
                claim.charge,
                claim.paid,
                claim.patient_responsibility,
                elements[6] if count > 6 else "",
                elements[7] if count > 7 else "",
                elements[8] if count > 8 else "",
                elements[9] if count > 9 else "",
                elements[11] if count > 11 else "",
                tuple(claim.adjustments),
                tuple(claim.entities),
                claim.inpatient,
                claim.outpatient,
                tuple(claim.dates),
                tuple(claim.references),
                tuple(claim.amounts),
                tuple(claim.quantities),
                tuple(claim.lines),
                claim.header_number,
                claim.segment_number,
            )
        )
        self.claim = None
        self.loop = _CLOSED_LOOP

    def _nm1(self, elements: list[str]) -> None:
        self._within_loop()
        claim = self.claim
        assert claim is not None
        self._need(elements, 1, "entity identifier code")
        count = len(elements)
        # NM103 to NM107 hold the person's name; they are dropped on purpose.
        claim.entities.append(
            EntityId(
                elements[1],
                elements[2] if count > 2 else "",
                elements[8] if count > 8 else "",
                elements[9] if count > 9 else "",
            )
        )

    def _mia(self, elements: list[str]) -> None:
        self._within_loop()
        claim = self.claim
        assert claim is not None
        remark_indexes = (5, 20, 21, 22, 23)
        claim.inpatient = InpatientAdjudication(
            self._optional_decimal(elements, 1),
            self._optional_money(elements, 4),
            tuple(
                elements[index]
                for index in remark_indexes
                if index < len(elements) and elements[index]
            ),
        )

    def _moa(self, elements: list[str]) -> None:
        self._within_loop()
        claim = self.claim
        assert claim is not None
        claim.outpatient = OutpatientAdjudication(
            self._optional_decimal(elements, 1),
            self._optional_money(elements, 2),
            tuple(code for code in elements[3:8] if code),
            self._optional_money(elements, 8),
            self._optional_money(elements, 9),
        )

    # -- service lines --

    def _svc(self, elements: list[str]) -> None:
        claim = self.claim
        if claim is None:
            self._fail("SVC outside a claim; a service line follows its CLP")
        self._close_line()
        self._need(elements, 1, "composite medical procedure identifier")
        first = elements[1]
        if len(first) == 2 and len(elements) > 3 and self.component not in first:
            # Seen in a sample: SVC*HC*24599.00*1766.50*... where the procedure
            # code sits in an element of its own; the amounts follow it.
            self._warn(
                f"SVC01 {first!r} has no procedure code and SVC02 {elements[2]!r} "
                "holds it; read as one composite and the elements after it shifted"
            )
            elements = [
                elements[0],
                f"{first}{self.component}{elements[2]}",
                *elements[3:],
            ]
        count = len(elements)
        if count > 8:
            self._warn(
                f"SVC has {count - 1} elements, more than its 7; SVC08 onward ignored"
            )
        line = _LineLoop(self._procedure(elements[1], "SVC01"), self.number)
        line.charge = self._line_amount(elements, 2, "line item charge amount")
        line.paid = self._line_amount(elements, 3, "line item provider payment amount")
        if count > 4:
            line.revenue_code = elements[4]
        if count > 5 and elements[5]:
            line.units_paid = self._decimal(elements[5], "SVC05")
        if count > 6 and elements[6]:
            line.original_procedure = self._procedure(elements[6], "SVC06")
        if count > 7 and elements[7]:
            line.original_units = self._decimal(elements[7], "SVC07")
        self.line = line
        self.loop = line

    def _line_amount(self, elements: list[str], index: int, what: str) -> Money:
        if index < len(elements) and elements[index]:
            return self._money(elements[index], f"SVC{index:02d}")
        self._warn(f"SVC{index:02d} ({what}) is empty; read as 0")
        return _ZERO

    def _close_line(self) -> None:
        line = self.line
        if line is None:
            return
        claim = self.claim
        assert claim is not None
        claim.lines.append(
            ServiceLine(
                line.procedure,
                line.charge,
                line.paid,
                line.revenue_code,
                line.units_paid,
                line.original_procedure,
                line.original_units,
                tuple(line.adjustments),
                tuple(line.dates),
                tuple(line.references),
                tuple(line.amounts),
                tuple(line.quantities),
                tuple(line.remarks),
                line.segment_number,
            )
        )
        self.line = None
        self.loop = claim

    def _lq(self, elements: list[str]) -> None:
        loop = self._within_loop()
        self._need(elements, 1, "code list qualifier code")
        self._need(elements, 2, "remark code")
        loop.remarks.append(Remark(elements[1], elements[2]))

    # -- provider adjustments --

    def _plb(self, elements: list[str]) -> None:
        transaction = self._in_transaction()
        self._close_party()
        self._close_claim()
        self.in_summary = True
        self.loop = _Loop("PLB", frozenset({"PLB"}))
        self._need(elements, 1, "provider identifier")
        self._need(elements, 2, "fiscal period date")
        count = len(elements)
        if count > 15:
            self._fail(
                f"PLB has {count - 1} elements; at most 14 fit (provider, date and "
                "six adjustment id and amount pairs)"
            )
        fiscal_period_end = self._date(elements[2], "PLB02")
        before = len(transaction.plb)
        for index in range(3, count, 2):
            identifier = elements[index]
            amount = elements[index + 1] if index + 1 < count else ""
            if not identifier and not amount:
                continue
            if not identifier or not amount:
                self._fail(
                    f"PLB{index:02d} and PLB{index + 1:02d} must both be present: "
                    "an adjustment id needs its amount"
                )
            parts = self._composite(identifier, f"PLB{index:02d}")
            transaction.plb.append(
                ProviderAdjustment(
                    elements[1],
                    fiscal_period_end,
                    parts[0],
                    parts[1] if len(parts) > 1 else "",
                    self._money(amount, f"PLB{index + 1:02d}"),
                    self.number,
                )
            )
        if len(transaction.plb) == before:
            self._fail("PLB has no adjustment (PLB03 and PLB04)")
