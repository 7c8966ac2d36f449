"""Plain-word code meanings for 835 adjustments."""

from __future__ import annotations

import pytest

from ona_ledger.claims.codes import (
    ADJUSTMENT_GROUPS,
    ADJUSTMENT_REASONS,
    describe_adjustment,
    describe_remark,
    suggested_action,
)
from ona_ledger.claims.era import read_835
from tests.claims.helpers import ERA_FILES, strict_counts


@pytest.mark.parametrize("code", ["16", "18", "29", "50", "96", "97", "197"])
def test_common_denials_described(code: str) -> None:
    assert ADJUSTMENT_REASONS[code].action


def test_sample_codes_described() -> None:
    for path in ERA_FILES:
        for remittance in read_835(path, strict_counts=strict_counts(path)).remittances:
            for claim in remittance.claims:
                adjustments = list(claim.adjustments)
                for line in claim.service_lines:
                    adjustments.extend(line.adjustments)
                for adjustment in adjustments:
                    assert adjustment.group_code in ADJUSTMENT_GROUPS
                    assert adjustment.reason_code in ADJUSTMENT_REASONS


def test_describe_adjustment_reads_both_codes() -> None:
    text = describe_adjustment("CO", "45")
    assert text.startswith("CO-45: Charge exceeds")
    assert "Contractual obligation" in text


def test_unknown_code_says_so() -> None:
    assert "not in ona_ledger's table" in describe_remark("M99")


def test_action_falls_back_to_group() -> None:
    assert suggested_action("PR", "9999") == ADJUSTMENT_GROUPS["PR"].action
