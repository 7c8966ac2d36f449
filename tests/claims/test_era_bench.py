"""The 835 benchmark's generated file: valid, balanced and as large as asked."""

from __future__ import annotations

from bench.era import build_large_835, split_segments
from ona_ledger.claims.era import parse_835
from ona_ledger.claims.era_balance import find_imbalances


def test_generated_file_parses_and_balances() -> None:
    result = parse_835(build_large_835(25))
    remittance = result.remittances[0]
    assert len(remittance.claims) == 25
    assert len({claim.claim_id for claim in remittance.claims}) == 25
    assert find_imbalances(remittance) == []
    assert result.warnings == ()


def test_split_baseline_counts_segments() -> None:
    text = build_large_835(4)
    assert len([s for s in split_segments(text) if s != [""]]) == text.count("~")
