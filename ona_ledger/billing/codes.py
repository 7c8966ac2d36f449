"""Format checks for the identifiers and codes a visit carries: NPI, ICD-10-CM, CPT and HCPCS."""

from __future__ import annotations

import re
from typing import Final

# Every letter can open a code: ICD-10-CM uses U for emergency codes such as
# U07.1 (COVID-19, added by CDC in April 2020).
_ICD10_CM: Final = re.compile(r"[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?")
_CPT: Final = re.compile(r"[0-9]{4}[0-9FTU]")
_HCPCS: Final = re.compile(r"[A-V][0-9]{4}")
_MODIFIER: Final = re.compile(r"[0-9A-Z]{2}")
# CMS place of service codes run from 01 to 99; 00 is not a code.
_PLACE_OF_SERVICE: Final = re.compile(r"0[1-9]|[1-9][0-9]")


def npi_is_valid(npi: str) -> bool:
    """Check an NPI: ten digits whose last is the Luhn check digit over '80840' + the first nine.

    The '80840' prefix is the ISO card issuer number of US health identifiers, as
    CMS's NPI check-digit rule states.
    """
    if len(npi) != 10 or not (npi.isascii() and npi.isdigit()):
        return False
    digits = [int(c) for c in "80840" + npi[:9]]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10 == int(npi[9])


def icd10_cm_is_valid(code: str) -> bool:
    """Check the shape of an ICD-10-CM code: letter, digit, character, then up to four more.

    The dot after the third character is optional. Only the shape is checked;
    whether the code is billable in the current code set is not.
    """
    return bool(_ICD10_CM.fullmatch(code))


def procedure_code_is_valid(code: str) -> bool:
    """Check a CPT (five digits, or four and F, T or U) or HCPCS Level II (letter and four digits) code."""
    return bool(_CPT.fullmatch(code) or _HCPCS.fullmatch(code))


def modifier_is_valid(modifier: str) -> bool:
    """Check a CPT or HCPCS modifier: two digits or capital letters."""
    return bool(_MODIFIER.fullmatch(modifier))


def place_of_service_is_valid(code: str) -> bool:
    """Check a CMS place of service code: two digits from 01 to 99, such as 11 for an office."""
    return bool(_PLACE_OF_SERVICE.fullmatch(code))
