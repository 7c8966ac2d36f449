"""Plain-word meanings of 835 codes: adjustment groups, CARC and RARC reasons, claim
statuses and PLB reasons, each with the usual next step for the billing office.

The tables cover the codes of the sample remittances and the common denials. A
code missing here may still be valid, so describe_* reports it as not in the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final


@dataclass(frozen=True, slots=True)
class CodeMeaning:
    """Plain-word meaning of a code, and the usual next step."""

    code: str
    description: str
    action: str


def _table(*rows: tuple[str, str, str]) -> Mapping[str, CodeMeaning]:
    return MappingProxyType(
        {code: CodeMeaning(code, text, action) for code, text, action in rows}
    )


ADJUSTMENT_GROUPS: Final = _table(
    (
        "CO",
        "Contractual obligation: the provider absorbs this amount under its contract or the law.",
        "Write it off as a contractual adjustment; do not bill the patient for it.",
    ),
    (
        "PR",
        "Patient responsibility: the patient (or a secondary payer) owes this amount.",
        "Bill the secondary payer if there is one, else the patient.",
    ),
    (
        "OA",
        "Other adjustment: neither the provider's contract nor the patient explains it, "
        "often the effect of an earlier payer.",
        "Read the reason code; usually no action beyond posting it.",
    ),
    (
        "PI",
        "Payer-initiated reduction: the payer reduced the payment on its own policy, "
        "outside the contract.",
        "Write it off, or appeal if the policy does not apply to this claim.",
    ),
    (
        "CR",
        "Correction or reversal of an earlier claim decision.",
        "Match it to the original claim and post the reversal against it.",
    ),
)

ADJUSTMENT_REASONS: Final = _table(
    (
        "1",
        "Deductible: the patient has not met the deductible.",
        "Bill the patient or the secondary payer.",
    ),
    (
        "2",
        "Coinsurance: the patient's percentage share.",
        "Bill the patient or the secondary payer.",
    ),
    (
        "3",
        "Copayment: the patient's fixed share.",
        "Collect it from the patient if not collected at the visit.",
    ),
    (
        "16",
        "The claim lacks information or has a billing error, so the payer could not "
        "decide it. A remark code names what is missing.",
        "Read the remark codes, fix the claim and send it again as a new claim, not an appeal.",
    ),
    (
        "18",
        "Exact duplicate of a claim or service already received.",
        "Check the status of the original claim; do not resend it. If it is not a "
        "duplicate, send a corrected claim or appeal with proof.",
    ),
    (
        "23",
        "Adjusted for what earlier payers paid or adjusted (coordination of benefits).",
        "Usually none; check that the primary payer's decision was sent with the claim.",
    ),
    (
        "29",
        "The time limit for filing has passed.",
        "Appeal with proof of timely filing, such as a clearinghouse acceptance report; "
        "without it, write the amount off.",
    ),
    (
        "42",
        "Charge exceeds the fee schedule or maximum allowed amount.",
        "Write off the excess as a contractual adjustment.",
    ),
    (
        "45",
        "Charge exceeds the fee schedule, maximum allowed amount or contracted fee.",
        "Write off the excess as a contractual adjustment.",
    ),
    (
        "50",
        "Not covered because the payer finds it not medically necessary.",
        "Appeal with medical records, or bill the patient if they signed an advance notice.",
    ),
    ("94", "Processed in excess of charges.", "Check the amounts; usually no action."),
    (
        "96",
        "Non-covered charge.",
        "Read the remark codes and check the patient's coverage; bill the patient "
        "only when the group is PR or the patient agreed in writing.",
    ),
    (
        "97",
        "Paid as part of another service or procedure (bundled).",
        "Check whether a modifier such as 25 or 59 applies; if so, correct and resend, "
        "else write it off.",
    ),
    (
        "197",
        "Prior authorization, precertification or notification was missing.",
        "Ask the payer for a retroactive authorization and appeal; else write it off.",
    ),
    (
        "251",
        "The attachment or other documentation received lacks the content needed to "
        "process the claim.",
        "Send the documentation the remark code asks for.",
    ),
    ("A2", "Contractual adjustment.", "Write it off as a contractual adjustment."),
)

REMARKS: Final = _table(
    (
        "N206",
        "The supporting documentation does not match the claim.",
        "Compare the documents with the claim, correct whichever is wrong and resend.",
    ),
)

CLAIM_STATUSES: Final = _table(
    ("1", "Processed as primary.", "Post the payment; bill any secondary payer."),
    (
        "2",
        "Processed as secondary.",
        "Post the payment; bill any tertiary payer or the patient.",
    ),
    ("3", "Processed as tertiary.", "Post the payment; bill the patient for the rest."),
    ("4", "Denied.", "Read the adjustment and remark codes and correct or appeal."),
    (
        "19",
        "Processed as primary and forwarded to the next payer.",
        "Post the payment; wait for the next payer.",
    ),
    (
        "20",
        "Processed as secondary and forwarded to the next payer.",
        "Post the payment; wait for the next payer.",
    ),
    (
        "21",
        "Processed as tertiary and forwarded to the next payer.",
        "Post the payment; wait for the next payer.",
    ),
    ("22", "Reversal of an earlier payment.", "Reverse the original posting."),
    (
        "23",
        "Not this payer's claim; forwarded to another payer.",
        "Check the patient's coverage and bill the right payer.",
    ),
    (
        "25",
        "Predetermination pricing only; no payment.",
        "Post nothing; keep the priced amounts.",
    ),
)

PROVIDER_ADJUSTMENT_REASONS: Final = _table(
    (
        "WO",
        "Overpayment recovery: the payer takes back an earlier overpayment.",
        "Match it to the overpaid claim.",
    ),
    (
        "L6",
        "Interest owed on a late payment (a negative PLB amount adds to the payment).",
        "Post it as interest income.",
    ),
    (
        "FB",
        "Forwarding balance carried between remittances.",
        "Match it to the earlier or later remittance.",
    ),
    (
        "72",
        "Authorized return: money the provider sent back to the payer.",
        "Match it to the refund sent.",
    ),
    (
        "CS",
        "Other adjustment; the reference id explains it.",
        "Read the reference id or ask the payer.",
    ),
)


def _describe(table: Mapping[str, CodeMeaning], code: str, kind: str) -> str:
    meaning = table.get(code)
    if meaning is None:
        return f"{kind} {code} (not in ona_ledger's table; look it up in the published code list)"
    return meaning.description


def describe_adjustment(group_code: str, reason_code: str) -> str:
    """Return the plain-word meaning of a CAS group and reason, such as CO-45."""
    group = _describe(ADJUSTMENT_GROUPS, group_code, "group")
    reason = _describe(ADJUSTMENT_REASONS, reason_code, "reason")
    return f"{group_code}-{reason_code}: {reason} {group}"


def describe_remark(code: str) -> str:
    """Return the plain-word meaning of a RARC remark code, such as N206."""
    return _describe(REMARKS, code, "remark")


def suggested_action(group_code: str, reason_code: str) -> str:
    """Return the usual next step for an adjustment: the reason's, else the group's."""
    meaning = ADJUSTMENT_REASONS.get(reason_code) or ADJUSTMENT_GROUPS.get(group_code)
    if meaning is None:
        return (
            "Look up the code in the published CARC list and ask the payer if unclear."
        )
    return meaning.action
