"""The matching engine: each rule, ties, the work cap, groups, and its invariants."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ona_ledger.errors import InvalidInputError
from ona_ledger.money import Money
from ona_ledger.reconcile.matching import (
    LedgerItem,
    LedgerItemKind,
    MatchConfig,
    MatchResult,
    MatchRule,
    find_subset,
    match_statement,
)
from ona_ledger.reconcile.statements import StatementLine

DAY = date(2026, 11, 3)


def bank(
    fitid: str, amount: str, days: int = 0, memo: str = "", kind: str = ""
) -> StatementLine:
    return StatementLine(
        "acct",
        fitid,
        DAY + timedelta(days=days),
        Money.of(amount),
        memo=memo,
        transaction_type=kind,
    )


def expected(
    item_id: str,
    amount: str,
    days: int = 0,
    reference: str = "",
    kind: LedgerItemKind = LedgerItemKind.PAYOUT,
) -> LedgerItem:
    return LedgerItem(
        item_id, kind, Money.of(amount), DAY + timedelta(days=days), reference
    )


def matched_pairs(result: MatchResult) -> set[tuple[tuple[str, ...], tuple[str, ...]]]:
    return {
        (
            tuple(line.fitid for line in m.lines),
            tuple(sorted(i.item_id for i in m.items)),
        )
        for m in result.matches
    }


def test_reference_in_memo() -> None:
    lines = [bank("L1", "512.30", 2, memo="TRN*1*1512345678*1234567890\\")]
    items = [
        expected("eft-1", "512.30", 0, "1512345678", LedgerItemKind.INSURANCE_EFT),
        expected("eft-2", "512.30", 2),
    ]
    result = match_statement(lines, items)
    assert matched_pairs(result) == {(("L1",), ("eft-1",))}
    assert result.matches[0].rule is MatchRule.REFERENCE
    assert result.matches[0].score == 100


def test_reference_splits_to_several_items() -> None:
    lines = [bank("L1", "300.00", memo="DEPOSIT DB-77")]
    items = [expected("a", "100.00", 9, "DB-77"), expected("b", "200.00", 9, "db77")]
    result = match_statement(lines, items)
    assert matched_pairs(result) == {(("L1",), ("a", "b"))}
    assert result.matches[0].rule is MatchRule.REFERENCE


def test_reference_with_short_amount_suggests_fee() -> None:
    lines = [bank("L1", "95.00", memo="po_1QXYZ")]
    items = [expected("pay-1", "100.00", 20, "po_1QXYZ")]
    result = match_statement(lines, items)
    assert result.matches == ()
    suggestion = result.review[0].suggestion
    assert suggestion is not None
    assert suggestion.amount == Money.of("5.00")
    assert suggestion.debit_account == "Expenses:BankFees"
    assert suggestion.credit_account == "Assets:Clearing:Processor"


def test_reference_coincidence_falls_to_amount() -> None:
    lines = [bank("L1", "80.00", 1, memo="ORDER 123456")]
    items = [expected("x", "999.00", 0, "123456"), expected("y", "80.00", 0)]
    result = match_statement(lines, items)
    assert matched_pairs(result) == {(("L1",), ("y",))}


def test_amount_and_date_prefers_nearer() -> None:
    lines = [bank("L1", "45.00", 0)]
    items = [expected("far", "45.00", -3), expected("near", "45.00", 1)]
    result = match_statement(lines, items)
    assert matched_pairs(result) == {(("L1",), ("near",))}
    assert result.matches[0].score == 80


def test_amount_outside_window_unmatched() -> None:
    result = match_statement([bank("L1", "45.00", 0)], [expected("a", "45.00", 4)])
    assert result.matches == ()
    assert len(result.unmatched_lines) == 1
    assert len(result.unmatched_items) == 1


def test_amount_tie_goes_to_review() -> None:
    lines = [bank("L1", "45.00", 0)]
    items = [expected("a", "45.00", -1), expected("b", "45.00", 1)]
    result = match_statement(lines, items)
    assert result.matches == ()
    assert [line.fitid for line in result.review[0].lines] == ["L1"]
    assert {i.item_id for i in result.review[0].candidate_items} == {"a", "b"}


def test_two_lines_tie_on_one_item() -> None:
    result = match_statement(
        [bank("L1", "45.00", -1), bank("L2", "45.00", 1)], [expected("a", "45.00", 0)]
    )
    assert result.matches == ()
    assert len(result.review) == 2


def test_one_line_many_items() -> None:
    lines = [bank("L1", "175.25", 0, memo="DEPOSIT")]
    items = [
        expected("c1", "100.00", -2, kind=LedgerItemKind.DESK_DEPOSIT),
        expected("c2", "50.25", -1, kind=LedgerItemKind.DESK_DEPOSIT),
        expected("c3", "25.00", 0, kind=LedgerItemKind.DESK_DEPOSIT),
        expected("c4", "60.00", 0, kind=LedgerItemKind.DESK_DEPOSIT),
    ]
    result = match_statement(lines, items)
    assert matched_pairs(result) == {(("L1",), ("c1", "c2", "c3"))}
    assert result.matches[0].rule is MatchRule.ONE_LINE_MANY_ITEMS
    assert [i.item_id for i in result.unmatched_items] == ["c4"]


def test_many_lines_one_item() -> None:
    lines = [bank("L1", "400.00", 0), bank("L2", "112.50", 1), bank("L3", "7.00", 1)]
    items = [expected("eft", "512.50", 0, kind=LedgerItemKind.INSURANCE_EFT)]
    result = match_statement(lines, items)
    assert matched_pairs(result) == {(("L1", "L2"), ("eft",))}
    assert result.matches[0].rule is MatchRule.MANY_LINES_ONE_ITEM


def test_group_tie_goes_to_review() -> None:
    lines = [bank("L1", "30.00")]
    items = [
        expected(f"i{n}", amount)
        for n, amount in enumerate(["10.00", "20.00", "15.00", "15.00"])
    ]
    result = match_statement(lines, items)
    assert result.matches == ()
    assert "tie" in result.review[0].reason


def test_search_cap_goes_to_review() -> None:
    lines = [bank("L1", "500.01")]
    items = [expected(f"i{n}", f"{100 + n}.00") for n in range(40)]
    config = MatchConfig(max_search_nodes=50)
    result = match_statement(lines, items, config)
    assert result.matches == ()
    assert "work cap" in result.review[0].reason
    assert len(result.unmatched_items) == 40


def test_find_subset_outcomes() -> None:
    assert find_subset(30, [10, 20, 5], 4, 1000)[0].value == "found"
    assert find_subset(30, [10, 20, 15, 15], 4, 1000)[0].value == "tie"
    assert find_subset(31, [10, 20], 4, 1000)[0].value == "none"
    assert find_subset(701, list(range(100, 160)), 6, 10)[0].value == "capped"


def test_find_subset_positions() -> None:
    _outcome, chosen = find_subset(70, [5, 50, 20, 1], 3, 1000)
    assert sorted(chosen) == [1, 2]


def test_fee_line_suggestion() -> None:
    result = match_statement([bank("F1", "-15.00", memo="MONTHLY SERVICE FEE")], [])
    entry = result.suggestions[0].entry
    assert entry.debit_account == "Expenses:BankFees"
    assert entry.amount == Money.of("15.00")


def test_interest_line_suggestion() -> None:
    result = match_statement([bank("F1", "0.42", kind="INT")], [])
    assert result.suggestions[0].entry.credit_account == "Income:Interest"


def test_returned_item_suggestion() -> None:
    result = match_statement([bank("F1", "-80.00", memo="RETURNED ITEM NSF")], [])
    assert result.suggestions[0].entry.debit_account == "Assets:Receivable:Patients"


def test_duplicate_item_ids_raise() -> None:
    with pytest.raises(InvalidInputError, match="appears twice"):
        match_statement([], [expected("a", "1.00"), expected("a", "2.00")])


def test_config_rejects_group_of_one() -> None:
    with pytest.raises(InvalidInputError, match="max_group_size"):
        MatchConfig(max_group_size=1)


# Invariants ------------------------------------------------------------------------

amounts = st.integers(min_value=-3_000, max_value=3_000).filter(lambda c: c != 0)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[StatementLine], list[LedgerItem]]:
    line_specs = draw(st.lists(st.tuples(amounts, st.integers(0, 10)), max_size=25))
    item_specs = draw(
        st.lists(
            st.tuples(
                amounts, st.integers(0, 10), st.sampled_from(["", "REF1", "REF2"])
            ),
            max_size=25,
        )
    )
    lines = [
        StatementLine(
            "acct",
            f"L{n}",
            DAY + timedelta(days=d),
            Money.from_minor(c),
            memo=draw(st.sampled_from(["", "REF1", "REF2 x"])),
        )
        for n, (c, d) in enumerate(line_specs)
    ]
    items = [
        LedgerItem(
            f"I{n}",
            LedgerItemKind.OTHER,
            Money.from_minor(c),
            DAY + timedelta(days=d),
            r,
        )
        for n, (c, d, r) in enumerate(item_specs)
    ]
    return lines, items


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_matches_are_exclusive_and_exact(
    scenario: tuple[list[StatementLine], list[LedgerItem]],
) -> None:
    lines, items = scenario
    result = match_statement(lines, items, MatchConfig(max_search_nodes=300))

    matched_lines = [line.fitid for m in result.matches for line in m.lines]
    matched_items = [item.item_id for m in result.matches for item in m.items]
    reviewed_lines = [line.fitid for r in result.review for line in r.lines]
    reviewed_items = [item.item_id for r in result.review for item in r.items]
    all_lines = (
        matched_lines + reviewed_lines + [x.fitid for x in result.unmatched_lines]
    )
    all_items = (
        matched_items + reviewed_items + [x.item_id for x in result.unmatched_items]
    )

    assert len(matched_lines) == len(set(matched_lines))
    assert len(matched_items) == len(set(matched_items))
    assert sorted(all_lines) == sorted(line.fitid for line in lines)
    assert sorted(all_items) == sorted(item.item_id for item in items)
    for match in result.matches:
        line_total = sum(line.amount.cents for line in match.lines)
        assert line_total == sum(item.amount.cents for item in match.items)
