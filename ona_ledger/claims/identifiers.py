"""Checks and normal forms of the identifiers on a claim: NPI, tax id, ICD-10-CM, CPT and HCPCS.

The format rules shared with visits live in ona_ledger.billing.codes; this
module adds normalizing, the typed errors and the checks only claims need.
"""

from __future__ import annotations

import re
from typing import Final

from ona_ledger.billing.codes import (
    icd10_cm_is_valid,
    modifier_is_valid,
    npi_is_valid,
    procedure_code_is_valid,
)
from ona_ledger.errors import InvalidCodeError

_TAX_ID: Final = re.compile(r"^[0-9]{9}$")


def luhn_check_digit(digits: str) -> int:
    """Return the Luhn check digit that makes `digits` + check digit pass."""
    checksum = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        checksum += value
    return (10 - checksum % 10) % 10


def is_valid_npi(npi: str) -> bool:
    """Return whether `npi` is ten ASCII digits whose last digit is its Luhn check digit."""
    # str.isdigit accepts other scripts' digits, which no claim file may carry.
    if not isinstance(npi, str) or not npi.isascii():
        return False
    return npi_is_valid(npi)


def check_npi(npi: str) -> str:
    """Return `npi` unchanged, or raise InvalidCodeError if its format or check digit is wrong."""
    if not is_valid_npi(npi):
        raise InvalidCodeError(
            f"NPI {npi!r} is invalid: an NPI is 10 digits whose last digit is the "
            "Luhn check digit of 80840 and the first nine; copy it again from NPPES"
        )
    return npi


def normalize_icd10cm(code: str) -> str:
    """Return an ICD-10-CM code upper-cased and without its dot, or raise if malformed.

    X12 files carry diagnosis codes without the dot.
    """
    text = code.strip().upper() if isinstance(code, str) else ""
    if not text.isascii() or not icd10_cm_is_valid(text):
        raise InvalidCodeError(
            f"ICD-10-CM code {code!r} is malformed: expected a letter, a digit, a "
            "digit or letter, then up to four characters, such as 'E11.9' or 'M54.50'"
        )
    return text.replace(".", "")


def is_valid_icd10cm(code: str) -> bool:
    """Return whether `code` has the ICD-10-CM format (the dot is optional)."""
    try:
        normalize_icd10cm(code)
    except InvalidCodeError:
        return False
    return True


def format_icd10cm(code: str) -> str:
    """Return an ICD-10-CM code with its dot after the third character, for print."""
    normalized = normalize_icd10cm(code)
    if len(normalized) == 3:
        return normalized
    return f"{normalized[:3]}.{normalized[3:]}"


def is_valid_procedure_code(code: str) -> bool:
    """Return whether `code` has the format of a CPT code or a HCPCS Level II code."""
    if not isinstance(code, str) or not code.isascii():
        return False
    return procedure_code_is_valid(code)


def check_procedure_code(code: str) -> str:
    """Return a CPT or HCPCS code upper-cased, or raise InvalidCodeError if malformed."""
    text = code.strip().upper() if isinstance(code, str) else ""
    if not is_valid_procedure_code(text):
        raise InvalidCodeError(
            f"procedure code {code!r} is malformed: expected a CPT code (five digits, "
            "or four digits and F, T or U) or a HCPCS code (a letter A-V and four digits)"
        )
    return text


def check_modifier(modifier: str) -> str:
    """Return a procedure modifier upper-cased, or raise if it is not two letters or digits."""
    text = modifier.strip().upper() if isinstance(modifier, str) else ""
    if not text.isascii() or not modifier_is_valid(text):
        raise InvalidCodeError(
            f"modifier {modifier!r} is malformed: a CPT or HCPCS modifier is two "
            "letters or digits, such as '25' or 'GP'"
        )
    return text


def check_tax_id(tax_id: str) -> str:
    """Return a nine-digit EIN or SSN without its dash, or raise InvalidCodeError."""
    text = tax_id.replace("-", "").strip() if isinstance(tax_id, str) else ""
    if not _TAX_ID.match(text):
        raise InvalidCodeError(
            f"tax id of {len(text)} digits and signs is malformed: an EIN or SSN is "
            "nine digits, such as '12-3456789'"
        )
    return text
