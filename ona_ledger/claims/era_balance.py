"""Balancing checks of an 835 remittance: service lines, claims and the payment total.

A line's charge minus its adjustments equals its payment. A claim's charge minus
its own and its lines' adjustments equals its payment. The claims' payments minus
the provider-level (PLB) adjustments equal BPR02.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ona_ledger.claims.era import Adjustment, ClaimPayment, Remittance
from ona_ledger.errors import RemittanceBalanceError
from ona_ledger.money import Money


class BalanceLevel(Enum):
    """Scope of a balancing rule: a service line, a claim or the whole payment."""

    SERVICE_LINE = "service line"
    CLAIM = "claim"
    TRANSACTION = "transaction"


@dataclass(frozen=True, slots=True)
class BalanceFinding:
    """One rule that does not hold: the amount reported and the amount computed.

    `difference` is computed minus reported. `segment_number` locates the SVC,
    CLP or BPR segment that reports the amount.
    """

    level: BalanceLevel
    claim_id: str
    segment_number: int
    reported: Money
    computed: Money
    difference: Money
    message: str


def _adjusted(charge: Money, adjustments: tuple[Adjustment, ...]) -> Money:
    cents = charge.cents
    for adjustment in adjustments:
        cents -= adjustment.amount.cents
    return Money(cents, charge.currency)


def _claim_findings(claim: ClaimPayment) -> list[BalanceFinding]:
    findings: list[BalanceFinding] = []
    line_adjustment_cents = 0
    for number, line in enumerate(claim.service_lines, 1):
        computed = _adjusted(line.charge, line.adjustments)
        line_adjustment_cents += line.charge.cents - computed.cents
        if computed != line.paid:
            difference = computed - line.paid
            findings.append(
                BalanceFinding(
                    BalanceLevel.SERVICE_LINE,
                    claim.claim_id,
                    line.segment_number,
                    line.paid,
                    computed,
                    difference,
                    f"claim {claim.claim_id} service line {number} "
                    f"({line.procedure.code}, segment {line.segment_number}): "
                    f"charge {line.charge} minus adjustments is {computed} but "
                    f"SVC03 paid is {line.paid}, off by {difference}",
                )
            )

    # With no service lines this is the claim-level rule alone.
    computed = _adjusted(claim.charge, claim.adjustments)
    computed = Money(computed.cents - line_adjustment_cents, computed.currency)
    if computed != claim.paid:
        difference = computed - claim.paid
        findings.append(
            BalanceFinding(
                BalanceLevel.CLAIM,
                claim.claim_id,
                claim.segment_number,
                claim.paid,
                computed,
                difference,
                f"claim {claim.claim_id} (segment {claim.segment_number}): charge "
                f"{claim.charge} minus claim and line adjustments is {computed} but "
                f"CLP04 paid is {claim.paid}, off by {difference}",
            )
        )
    return findings


def find_imbalances(remittance: Remittance) -> list[BalanceFinding]:
    """Check every balancing rule and return the findings; an empty list means balanced."""
    findings: list[BalanceFinding] = []
    paid_cents = 0
    for claim in remittance.claims:
        findings.extend(_claim_findings(claim))
        paid_cents += claim.paid.cents

    for adjustment in remittance.provider_adjustments:
        paid_cents -= adjustment.amount.cents
    total_paid = remittance.payment.total_paid
    computed = Money(paid_cents, total_paid.currency)
    if computed != total_paid:
        difference = computed - total_paid
        findings.append(
            BalanceFinding(
                BalanceLevel.TRANSACTION,
                "",
                remittance.segment_number + 1,
                total_paid,
                computed,
                difference,
                f"transaction set {remittance.control_number}: claim payments minus "
                f"provider adjustments are {computed} but BPR02 is {total_paid}, "
                f"off by {difference}",
            )
        )
    return findings


def check_balanced(remittance: Remittance) -> None:
    """Raise RemittanceBalanceError naming every line, claim or total that is off."""
    findings = find_imbalances(remittance)
    if findings:
        details = "; ".join(finding.message for finding in findings)
        raise RemittanceBalanceError(
            f"remittance {remittance.control_number} (trace "
            f"{remittance.trace.trace_number}) does not balance: {details}; "
            "ask the payer for a corrected 835 before posting it"
        )
