"""Balancing checks of 835 remittances on the real samples and on altered copies."""

from __future__ import annotations

from pathlib import Path

import pytest

from ona_ledger.claims.era import parse_835, read_835
from ona_ledger.claims.era_balance import BalanceLevel, check_balanced, find_imbalances
from ona_ledger.errors import RemittanceBalanceError
from ona_ledger.money import Money
from tests.claims.helpers import ERA_FILES, era_text, strict_counts


@pytest.mark.parametrize("path", ERA_FILES, ids=lambda path: path.name)
def test_sample_balances(path: Path) -> None:
    # Two samples balance only under the reader's repairs: lfh-tertiary's SVC puts
    # the procedure code in its own element, and e8p-blue_cross's third line has
    # empty SVC02 and SVC03 (read as 0). test_era_parse states both findings.
    for remittance in read_835(path, strict_counts=strict_counts(path)).remittances:
        assert find_imbalances(remittance) == []
        check_balanced(remittance)


def test_claim_without_lines_balances() -> None:
    # The first claim of this sample has no SVC: charge minus the claim CAS only.
    remittance = parse_835(era_text("lfh-secondary-payment.835")).remittances[0]
    assert remittance.claims[0].service_lines == ()
    assert find_imbalances(remittance) == []


def test_negative_adjustment_balances() -> None:
    # CAS*OA*94*-9.00 adds 9.00 back: 541.00 - 516.00 + 9.00 = 34.00.
    remittance = parse_835(era_text("lfh-cob-contractural-adjustment.835")).remittances[
        0
    ]
    assert remittance.claims[0].service_lines[0].adjustments[1].amount == Money.of(
        "-9.00"
    )
    assert find_imbalances(remittance) == []


def test_unbalanced_line_found() -> None:
    text = era_text("e8p-united_healthcare_legacy_sample.835").replace(
        "CAS*CO*45*67.5~", "CAS*CO*45*67.4~"
    )
    findings = find_imbalances(parse_835(text).remittances[0])
    assert [finding.level for finding in findings] == [
        BalanceLevel.SERVICE_LINE,
        BalanceLevel.CLAIM,
    ]
    assert findings[0].claim_id == "001-18573-358"
    assert findings[0].difference == Money.of("0.10")
    assert findings[0].segment_number == 28


def test_unbalanced_claim_raises() -> None:
    text = era_text("lfh-managed-care.835").replace(
        "CAS*CO*A2*50.00", "CAS*CO*A2*40.00"
    )
    remittance = parse_835(text).remittances[0]
    with pytest.raises(RemittanceBalanceError, match="claim 5554555444") as raised:
        check_balanced(remittance)
    assert "off by 10.00" in str(raised.value)
    assert "segment 13" in str(raised.value)


def test_provider_adjustment_balances() -> None:
    # PLB*...*WO:...*100 withholds 100.00: 945.00 of claims, 845.00 paid.
    text = (
        era_text("lfh-managed-care.835")
        .replace("BPR*I*945.00*", "BPR*I*845.00*")
        .replace("SE*26*112233", "PLB*5544667733*20021231*WO:CLAIM1*100~SE*27*112233")
    )
    remittance = parse_835(text).remittances[0]
    adjustment = remittance.provider_adjustments[0]
    assert adjustment.reason_code == "WO"
    assert adjustment.reference_id == "CLAIM1"
    assert adjustment.amount == Money.of("100")
    assert find_imbalances(remittance) == []


def test_payment_total_off_found() -> None:
    text = era_text("lfh-managed-care.835").replace("BPR*I*945.00*", "BPR*I*944.00*")
    findings = find_imbalances(parse_835(text).remittances[0])
    assert [finding.level for finding in findings] == [BalanceLevel.TRANSACTION]
    assert findings[0].difference == Money.of("1.00")
