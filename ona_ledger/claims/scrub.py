"""The claim scrubber: every rule a claim must pass before it is sent, and the payer rules table.

Each finding names the field, the rule and the fix. Errors block the claim,
warnings do not.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Final

from dateutil.relativedelta import relativedelta

from ona_ledger.claims.claim import (
    MAX_DIAGNOSES,
    MAX_LINES_837P,
    MAX_MODIFIERS,
    MAX_POINTERS,
    Address,
    Claim,
    ClaimFrequency,
)
from ona_ledger.claims.identifiers import is_valid_npi
from ona_ledger.errors import PayerRulesError
from ona_ledger.money import total

logger = logging.getLogger(__name__)

# Medicare: a claim must be filed within 12 months (one calendar year) of the
# date of service. SBR09 MA and MB are Medicare Part A and B.
MEDICARE_FILING_INDICATORS: Final = frozenset({"MA", "MB"})
MEDICARE_TIMELY_FILING: Final = relativedelta(months=12)
TIMELY_FILING_WARNING_DAYS: Final = 30
# Modifiers that mark a distinct procedural service, which lets a code pair
# with modifier indicator 1 be billed together.
DISTINCT_SERVICE_MODIFIERS: Final = frozenset({"59", "XE", "XP", "XS", "XU"})
REQUIRABLE_FIELDS: Final = frozenset(
    {
        "prior_authorization",
        "referring_provider",
        "rendering_provider",
        "service_facility",
    }
)
_PO_BOX: Final = re.compile(
    r"\b(P\.?\s*O\.?\s*BOX|POST\s+OFFICE\s+BOX|POBOX|LOCK\s*BOX)\b", re.IGNORECASE
)


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Finding:
    """One scrubber result: the field it concerns, the rule broken, what is wrong and the fix."""

    severity: Severity
    field: str
    rule: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.severity.value}: {self.field} [{self.rule}] {self.message}; {self.fix}"


@dataclass(frozen=True, slots=True)
class ScrubResult:
    """All findings for one claim."""

    claim_id: str
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)

    @property
    def passed(self) -> bool:
        """Whether the claim may be sent: it has no error (warnings do not block)."""
        return not self.errors

    def rules(self) -> set[str]:
        return {finding.rule for finding in self.findings}


@dataclass(frozen=True, slots=True)
class CodePair:
    """Two codes that a payer does not pay on one date of service (an NCCI-style edit)."""

    column1: str
    column2: str
    modifier_allowed: bool


@dataclass(frozen=True)
class PayerRules:
    """A clinic's payer rules table: unit limits, code pairs, required fields, filing limits.

    Each rule applies to one payer id or, with payer id `*`, to every payer.
    """

    unit_limits: dict[tuple[str, str], int] = field(default_factory=dict)
    code_pairs: dict[str, tuple[CodePair, ...]] = field(default_factory=dict)
    required_fields: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    timely_filing_days: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_csv(cls, source: Path | str | io.TextIOBase) -> PayerRules:
        """Read a rules table (columns rule, payer_id, code, other_code, value, note).

        `source` is a path or an open text file. Raises PayerRulesError naming
        the row of the first bad line.
        """
        if isinstance(source, (str, Path)):
            with open(source, newline="", encoding="utf-8") as handle:
                return cls._from_rows(csv.DictReader(handle), str(source))
        return cls._from_rows(csv.DictReader(source), "rules table")

    @classmethod
    def example(cls) -> PayerRules:
        """Load the illustrative table shipped in ona_ledger/claims/data/."""
        text = (
            resources.files("ona_ledger.claims")
            .joinpath("data/payer_rules_example.csv")
            .read_text(encoding="utf-8")
        )
        return cls._from_rows(csv.DictReader(io.StringIO(text)), "example rules")

    @classmethod
    def _from_rows(cls, rows: Iterable[dict[str, str]], origin: str) -> PayerRules:
        unit_limits: dict[tuple[str, str], int] = {}
        pairs: dict[str, list[CodePair]] = defaultdict(list)
        required: dict[tuple[str, str], set[str]] = defaultdict(set)
        filing: dict[str, int] = {}

        for number, row in enumerate(rows, start=2):
            rule = (row.get("rule") or "").strip()
            payer_id = (row.get("payer_id") or "").strip() or "*"
            code = (row.get("code") or "").strip().upper()
            value = (row.get("value") or "").strip()
            where = f"{origin} line {number}"
            if rule == "unit_limit":
                unit_limits[(payer_id, code)] = _positive_int(value, where)
            elif rule == "code_pair":
                other = (row.get("other_code") or "").strip().upper()
                if value not in ("0", "1") or not code or not other:
                    raise PayerRulesError(
                        f"{where}: code_pair needs code, other_code and value 0 or 1 "
                        f"(modifier indicator), got {code!r}, {other!r}, {value!r}"
                    )
                pairs[payer_id].append(CodePair(code, other, value == "1"))
            elif rule == "requires":
                if value not in REQUIRABLE_FIELDS:
                    raise PayerRulesError(
                        f"{where}: requires names field {value!r}; use one of "
                        f"{', '.join(sorted(REQUIRABLE_FIELDS))}"
                    )
                required[(payer_id, code)].add(value)
            elif rule == "timely_filing_days":
                filing[payer_id] = _positive_int(value, where)
            else:
                raise PayerRulesError(
                    f"{where}: unknown rule {rule!r}; use unit_limit, code_pair, "
                    "requires or timely_filing_days"
                )

        logger.debug("loaded payer rules from %s", origin)
        return cls(
            unit_limits=unit_limits,
            code_pairs={payer: tuple(found) for payer, found in pairs.items()},
            required_fields={key: frozenset(names) for key, names in required.items()},
            timely_filing_days=filing,
        )

    def unit_limit(self, payer_id: str, code: str) -> int | None:
        found = self.unit_limits.get((payer_id, code))
        return found if found is not None else self.unit_limits.get(("*", code))

    def pairs_for(self, payer_id: str) -> tuple[CodePair, ...]:
        return self.code_pairs.get("*", ()) + self.code_pairs.get(payer_id, ())

    def fields_required(self, payer_id: str, codes: Collection[str]) -> dict[str, str]:
        """Return each required field name with the code ('' for any claim) that requires it."""
        found: dict[str, str] = {}
        for payer in ("*", payer_id):
            for code in ("", *codes):
                for name in self.required_fields.get((payer, code), ()):
                    found.setdefault(name, code)
        return found


def _positive_int(value: str, where: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise PayerRulesError(
            f"{where}: value {value!r} must be a whole number of 1 or more"
        )
    return number


def scrub(
    claim: Claim,
    *,
    today: date,
    rules: PayerRules | None = None,
    sent_fingerprints: Collection[str] = (),
) -> ScrubResult:
    """Check `claim` against every rule and return all findings.

    `today` is the date the claim would be sent, for the filing limit.
    `sent_fingerprints` contains `Claim.fingerprint()` of claims already sent.
    """
    findings: list[Finding] = []
    findings += check_structure(claim)
    findings += _check_provider_ids(claim)
    findings += _check_addresses(claim)
    findings += _check_totals(claim)
    findings += _check_frequency(claim)
    findings += _check_other_payers(claim)
    findings += _check_timely_filing(claim, today, rules)
    if claim.fingerprint() in sent_fingerprints:
        findings.append(
            _error(
                "lines",
                "duplicate",
                f"claim {claim.claim_id} bills the same patient, payer, codes, dates "
                "and charges as a claim already sent",
                "do not send it again; send a replacement (frequency 7) to correct the first",
            )
        )
    if rules is not None:
        findings += _check_unit_limits(claim, rules)
        findings += _check_code_pairs(claim, rules)
        findings += _check_required_fields(claim, rules)
    result = ScrubResult(claim.claim_id, tuple(findings))
    logger.debug(
        "scrubbed claim %s: %d errors, %d warnings",
        claim.claim_id,
        len(result.errors),
        len(result.warnings),
    )
    return result


def _error(field_name: str, rule: str, message: str, fix: str) -> Finding:
    return Finding(Severity.ERROR, field_name, rule, message, fix)


def _warning(field_name: str, rule: str, message: str, fix: str) -> Finding:
    return Finding(Severity.WARNING, field_name, rule, message, fix)


def check_structure(claim: Claim) -> list[Finding]:
    """Return the findings on counts and pointers that no claim file can carry."""
    findings: list[Finding] = []
    count = len(claim.diagnoses)
    if count == 0:
        findings.append(
            _error(
                "diagnoses",
                "diagnosis_required",
                "the claim has no diagnosis",
                "add at least one ICD-10-CM code",
            )
        )
    if count > MAX_DIAGNOSES:
        findings.append(
            _error(
                "diagnoses",
                "diagnosis_limit",
                f"the claim has {count} diagnoses",
                f"keep at most {MAX_DIAGNOSES}; split the services into two claims",
            )
        )
    if len(set(claim.diagnoses)) != count:
        findings.append(
            _warning(
                "diagnoses",
                "diagnosis_repeated",
                "a diagnosis code is listed twice",
                "list each code once and point lines at it",
            )
        )
    if len(claim.lines) > MAX_LINES_837P:
        findings.append(
            _error(
                "lines",
                "line_limit",
                f"the claim has {len(claim.lines)} service lines",
                f"an 837P claim holds at most {MAX_LINES_837P}; split it into two claims",
            )
        )
    for index, line in enumerate(claim.lines, start=1):
        findings += _check_line_structure(
            index, line.diagnosis_pointers, line.modifiers, count
        )
        if (
            line.service_date_end is not None
            and line.service_date_end < line.service_date
        ):
            findings.append(
                _error(
                    f"lines[{index}].service_date_end",
                    "date_order",
                    f"line {index} ends on {line.service_date_end}, before it starts",
                    "set the end date on or after the service date",
                )
            )
    return findings


def _check_line_structure(
    index: int, pointers: tuple[int, ...], modifiers: tuple[str, ...], diagnoses: int
) -> list[Finding]:
    findings: list[Finding] = []
    where = f"lines[{index}]"
    if not pointers:
        findings.append(
            _error(
                f"{where}.diagnosis_pointers",
                "pointer_required",
                f"line {index} points at no diagnosis",
                "point it at 1 to 4 diagnoses",
            )
        )
    if len(pointers) > MAX_POINTERS:
        findings.append(
            _error(
                f"{where}.diagnosis_pointers",
                "pointer_limit",
                f"line {index} has {len(pointers)} diagnosis pointers",
                f"keep at most {MAX_POINTERS}, the most relevant first",
            )
        )
    for pointer in pointers:
        if not 1 <= pointer <= diagnoses:
            findings.append(
                _error(
                    f"{where}.diagnosis_pointers",
                    "pointer_target",
                    f"line {index} points at diagnosis {pointer}, but the claim has "
                    f"{diagnoses}",
                    f"use pointers from 1 to {diagnoses}",
                )
            )
    if len(set(pointers)) != len(pointers):
        findings.append(
            _error(
                f"{where}.diagnosis_pointers",
                "pointer_repeated",
                f"line {index} points at the same diagnosis twice",
                "list each pointer once",
            )
        )
    if len(modifiers) > MAX_MODIFIERS:
        findings.append(
            _error(
                f"{where}.modifiers",
                "modifier_limit",
                f"line {index} has {len(modifiers)} modifiers",
                f"keep at most {MAX_MODIFIERS}, pricing modifiers first",
            )
        )
    return findings


def _check_provider_ids(claim: Claim) -> list[Finding]:
    findings: list[Finding] = []
    npis = [("billing_provider.npi", claim.billing_provider.npi)]
    if claim.rendering_provider is not None:
        npis.append(("rendering_provider.npi", claim.rendering_provider.npi))
    if claim.referring_provider is not None:
        npis.append(("referring_provider.npi", claim.referring_provider.npi))
    if claim.service_facility is not None and claim.service_facility.npi is not None:
        npis.append(("service_facility.npi", claim.service_facility.npi))
    for field_name, npi in npis:
        if not is_valid_npi(npi):
            findings.append(
                _error(
                    field_name,
                    "npi_check_digit",
                    f"NPI {npi} fails the Luhn check digit",
                    "copy the NPI again from NPPES",
                )
            )
    return findings


def _check_addresses(claim: Claim) -> list[Finding]:
    findings: list[Finding] = []
    billing = claim.billing_provider.address
    if _is_po_box(billing):
        findings.append(
            _error(
                "billing_provider.address",
                "billing_address_po_box",
                "the billing provider address is a post office box",
                "use the physical street address; a PO box may go in the pay-to address",
            )
        )
    places: list[tuple[str, Address]] = [("billing_provider.address", billing)]
    if claim.service_facility is not None:
        places.append(("service_facility.address", claim.service_facility.address))
    for field_name, address in places:
        if len(address.postal_code) != 9:
            findings.append(
                _error(
                    f"{field_name}.postal_code",
                    "zip_9_digits",
                    f"ZIP code {address.postal_code} has 5 digits",
                    "give the full ZIP+4, 9 digits",
                )
            )
    return findings


def _is_po_box(address: Address) -> bool:
    return any(_PO_BOX.search(line or "") for line in (address.line1, address.line2))


def _check_totals(claim: Claim) -> list[Finding]:
    if claim.declared_total is None or claim.declared_total == claim.line_total:
        return []
    return [
        _error(
            "declared_total",
            "total_matches_lines",
            f"the claim total {claim.declared_total} differs from the sum of the "
            f"line charges {claim.line_total}",
            "correct a line charge or the claim total",
        )
    ]


def _check_frequency(claim: Claim) -> list[Finding]:
    if claim.frequency is ClaimFrequency.ORIGINAL:
        if claim.original_claim_number:
            return [
                _warning(
                    "original_claim_number",
                    "original_number_unused",
                    "an original claim carries an original claim number",
                    "remove it, or set frequency 7 (replacement) or 8 (void)",
                )
            ]
        return []
    if claim.original_claim_number:
        return []
    kind = "replacement" if claim.frequency is ClaimFrequency.REPLACEMENT else "void"
    return [
        _error(
            "original_claim_number",
            "original_number_required",
            f"a {kind} claim (frequency {claim.frequency.value}) has no original "
            "claim number",
            "enter the payer's claim number from the remittance",
        )
    ]


def _check_other_payers(claim: Claim) -> list[Finding]:
    findings: list[Finding] = []
    subscriber = claim.subscriber
    if (
        subscriber.claim_filing_indicator in MEDICARE_FILING_INDICATORS
        and subscriber.responsibility.value != "P"
        and subscriber.insurance_type_code is None
    ):
        findings.append(
            _error(
                "subscriber.insurance_type_code",
                "medicare_secondary_type",
                "Medicare is billed as a secondary payer without an insurance type code",
                "set the Medicare secondary payer type (SBR05), such as 12 for working aged",
            )
        )
    for index, other in enumerate(claim.other_payers, start=1):
        if not other.adjudicated or other.paid is None:
            continue
        adjusted = total(
            (a.amount for a in other.adjustments), claim.total_charge.currency
        )
        if other.paid + adjusted != claim.total_charge:
            findings.append(
                _error(
                    f"other_payers[{index}]",
                    "prior_payer_balance",
                    f"prior payer {other.payer.payer_id} paid {other.paid} and adjusted "
                    f"{adjusted}, which do not add up to the claim total "
                    f"{claim.total_charge}",
                    "copy the paid amount and every adjustment from its remittance",
                )
            )
    return findings


def _filing_deadline(claim: Claim, rules: PayerRules | None) -> date | None:
    first = claim.first_service_date
    if claim.subscriber.claim_filing_indicator in MEDICARE_FILING_INDICATORS:
        return first + MEDICARE_TIMELY_FILING
    if rules is None:
        return None
    days = rules.timely_filing_days.get(claim.payer.payer_id)
    if days is None:
        days = rules.timely_filing_days.get("*")
    return None if days is None else first + timedelta(days=days)


def _check_timely_filing(
    claim: Claim, today: date, rules: PayerRules | None
) -> list[Finding]:
    deadline = _filing_deadline(claim, rules)
    if deadline is None:
        return []
    first = claim.first_service_date
    if today > deadline:
        return [
            _error(
                "lines.service_date",
                "timely_filing",
                f"the service on {first} had to be filed by {deadline}",
                "file only with proof of timely filing or an exception; otherwise write it off",
            )
        ]
    if (deadline - today).days <= TIMELY_FILING_WARNING_DAYS:
        return [
            _warning(
                "lines.service_date",
                "timely_filing_near",
                f"the service on {first} must be filed by {deadline}",
                "send this claim now",
            )
        ]
    return []


def _check_unit_limits(claim: Claim, rules: PayerRules) -> list[Finding]:
    units: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    for line in claim.lines:
        units[(line.procedure_code, line.service_date)] += line.units
    findings: list[Finding] = []
    for (code, day), billed in units.items():
        limit = rules.unit_limit(claim.payer.payer_id, code)
        if limit is not None and billed > limit:
            findings.append(
                _error(
                    "lines.units",
                    "unit_limit",
                    f"{code} is billed for {billed.normalize()} units on {day}; the "
                    f"payer pays at most {limit}",
                    "reduce the units, or attach documentation and a modifier per payer policy",
                )
            )
    return findings


def _check_code_pairs(claim: Claim, rules: PayerRules) -> list[Finding]:
    findings: list[Finding] = []
    by_date: dict[date, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for line in claim.lines:
        by_date[line.service_date][line.procedure_code].update(line.modifiers)
    for day, codes in by_date.items():
        for pair in rules.pairs_for(claim.payer.payer_id):
            if pair.column1 not in codes or pair.column2 not in codes:
                continue
            distinct = bool(codes[pair.column2] & DISTINCT_SERVICE_MODIFIERS)
            if pair.modifier_allowed and distinct:
                continue
            fix = (
                f"add modifier 59 (or XE, XP, XS, XU) to {pair.column2} if it was a "
                "distinct service, or remove it"
                if pair.modifier_allowed
                else f"remove {pair.column2}: no modifier allows the pair"
            )
            findings.append(
                _error(
                    "lines.procedure_code",
                    "code_pair",
                    f"{pair.column2} is billed with {pair.column1} on {day}",
                    fix,
                )
            )
    return findings


def _check_required_fields(claim: Claim, rules: PayerRules) -> list[Finding]:
    findings: list[Finding] = []
    codes = {line.procedure_code for line in claim.lines}
    required = rules.fields_required(claim.payer.payer_id, codes)
    for name, code in sorted(required.items()):
        if getattr(claim, name) is not None:
            continue
        reason = f"for {code}" if code else "on every claim"
        findings.append(
            _error(
                name,
                "payer_required_field",
                f"payer {claim.payer.payer_id} requires {name.replace('_', ' ')} {reason}",
                f"enter the {name.replace('_', ' ')} before sending",
            )
        )
    return findings
