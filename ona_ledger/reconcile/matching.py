"""The matching engine: bank statement lines against the ledger items expected at the bank.

Pure and in memory: lines and items in, a MatchResult out. Rules run in order: exact
reference, amount and date, then bounded subset sums for one line to many items and many
lines to one item. Ties and searches that hit the work cap go to review, never to a guess.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from ona_ledger.errors import InvalidInputError
from ona_ledger.money import Money
from ona_ledger.reconcile.statements import StatementLine

logger = logging.getLogger(__name__)


class LedgerItemKind(StrEnum):
    PAYOUT = "payout"
    INSURANCE_EFT = "insurance_eft"
    DESK_DEPOSIT = "desk_deposit"
    PATIENT_TRANSFER = "patient_transfer"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class LedgerItem:
    """Money the ledger expects to see at the bank; negative `amount` for money out.

    `reference` is what the bank line may carry: a payout id, an 835 TRN02 trace
    number, a deposit batch id or an invoice number. `other_references` are further
    ones the bank may carry instead, such as each invoice a patient's transfer paid.
    """

    item_id: str
    kind: LedgerItemKind
    amount: Money
    expected_date: date
    reference: str = ""
    other_references: tuple[str, ...] = ()


class MatchRule(StrEnum):
    REFERENCE = "reference"
    AMOUNT_DATE = "amount_date"
    ONE_LINE_MANY_ITEMS = "one_line_many_items"
    MANY_LINES_ONE_ITEM = "many_lines_one_item"


@dataclass(frozen=True, slots=True)
class Match:
    """Bank lines and ledger items whose amounts sum to the same total.

    `score` runs from 0 to 100: 100 for a reference with the exact amount, lower for
    a date farther from the expected one and for larger groups.
    """

    rule: MatchRule
    score: int
    lines: tuple[StatementLine, ...]
    items: tuple[LedgerItem, ...]


@dataclass(frozen=True, slots=True)
class SuggestedEntry:
    """A journal entry a person should confirm before it is posted."""

    description: str
    debit_account: str
    credit_account: str
    amount: Money


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """Lines or items the engine would not decide alone, with the candidates it found.

    `lines` and `items` are under review and appear nowhere else in the result; the
    candidates may be matched elsewhere or stay unmatched.
    """

    reason: str
    lines: tuple[StatementLine, ...] = ()
    items: tuple[LedgerItem, ...] = ()
    candidate_lines: tuple[StatementLine, ...] = ()
    candidate_items: tuple[LedgerItem, ...] = ()
    suggestion: SuggestedEntry | None = None


@dataclass(frozen=True, slots=True)
class LineSuggestion:
    """An unmatched bank line that looks like a fee, interest or a returned item."""

    line: StatementLine
    entry: SuggestedEntry


@dataclass(frozen=True, slots=True)
class MatchResult:
    matches: tuple[Match, ...]
    unmatched_lines: tuple[StatementLine, ...]
    unmatched_items: tuple[LedgerItem, ...]
    review: tuple[ReviewItem, ...]
    suggestions: tuple[LineSuggestion, ...]


@dataclass(frozen=True, slots=True)
class MatchConfig:
    """Limits of the matching rules.

    `date_window_days` (default 3) covers ACH settlement of one to two business days
    plus a weekend, and a desk deposit made on Friday that posts on Monday. Groups get
    a wider window because a deposit of several checks spans the days they came in.
    `max_search_nodes` caps the subset-sum work of one line or item; a search that
    reaches it sends that line or item to review.
    """

    date_window_days: int = 3
    group_window_days: int = 5
    max_group_size: int = 6
    max_search_nodes: int = 5_000
    min_reference_length: int = 4

    def __post_init__(self) -> None:
        for name in ("date_window_days", "group_window_days", "max_search_nodes"):
            if getattr(self, name) < 0:
                raise InvalidInputError(
                    f"MatchConfig.{name} is negative; use 0 or more"
                )
        if self.max_group_size < 2:
            raise InvalidInputError(
                f"MatchConfig.max_group_size {self.max_group_size} is below 2; a group "
                "needs at least two members"
            )


# Accounts of the clinic chart, and one the chart lacks: interest the bank pays.
BANK_ACCOUNT = "Assets:Bank:Operating"
BANK_FEES_ACCOUNT = "Expenses:BankFees"
INTEREST_INCOME_ACCOUNT = "Income:Interest"
RETURNED_ITEM_ACCOUNT = "Assets:Receivable:Patients"
CLEARING_ACCOUNTS = {
    LedgerItemKind.PAYOUT: "Assets:Clearing:Processor",
    LedgerItemKind.INSURANCE_EFT: "Assets:Clearing:Insurance",
    LedgerItemKind.DESK_DEPOSIT: "Assets:Clearing:Undeposited",
    LedgerItemKind.PATIENT_TRANSFER: "Assets:Receivable:Patients",
    LedgerItemKind.OTHER: BANK_ACCOUNT,
}


def match_statement(
    lines: Sequence[StatementLine],
    items: Sequence[LedgerItem],
    config: MatchConfig | None = None,
) -> MatchResult:
    """Match bank lines to ledger items; every line and item ends in exactly one place.

    Raises InvalidInputError when two items share an id or two lines share an
    (account, FITID) key, since either would let one thing be matched twice.
    """
    _check_unique(lines, items)
    state = _MatchState(lines, items, config or MatchConfig())
    state.match_by_reference()
    state.match_by_amount_and_date()
    state.match_line_to_items()
    state.match_lines_to_item()
    result = state.result()
    logger.info(
        "matched %d groups; %d lines and %d items unmatched, %d for review",
        len(result.matches),
        len(result.unmatched_lines),
        len(result.unmatched_items),
        len(result.review),
    )
    return result


def _check_unique(lines: Sequence[StatementLine], items: Sequence[LedgerItem]) -> None:
    item_ids: set[str] = set()
    for item in items:
        if item.item_id in item_ids:
            raise InvalidInputError(
                f"ledger item id {item.item_id!r} appears twice; pass each item once"
            )
        item_ids.add(item.item_id)
    line_keys: set[tuple[str, str]] = set()
    for line in lines:
        if line.dedupe_key in line_keys:
            raise InvalidInputError(
                f"statement line {line.dedupe_key} appears twice; dedupe the lines first"
            )
        line_keys.add(line.dedupe_key)


_TOKEN_SPLIT = re.compile(r"[\s*;:,#=/\\|()\[\]~^'\"]+")
_NOT_ALNUM = re.compile(r"[^0-9A-Z]")


def normalize_reference(text: str) -> str:
    """Return a reference in the form both sides are compared in: capitals and digits."""
    return _NOT_ALNUM.sub("", text.upper())


def reference_tokens(line: StatementLine) -> set[str]:
    """Return the normalized words of a line's memo, payee, reference and check number.

    Segment separators of ACH addenda such as `TRN*1*1512345678*1234567890\\` split
    words, so an 835 trace number stands alone.
    """
    text = " ".join((line.reference, line.memo, line.payee, line.check_number))
    tokens = {normalize_reference(word) for word in _TOKEN_SPLIT.split(text)}
    tokens.discard("")
    return tokens


class _SearchOutcome(StrEnum):
    FOUND = "found"
    TIE = "tie"
    NONE = "none"
    CAPPED = "capped"


def find_subset(
    target: int, amounts: Sequence[int], max_size: int, max_nodes: int
) -> tuple[_SearchOutcome, tuple[int, ...]]:
    """Find the one subset of 2..max_size positive amounts that sums to `target`.

    Sizes are tried from small to large and the search stops at the first size with a
    solution: one solution is FOUND, two are a TIE. Returns CAPPED when more than
    `max_nodes` search steps were needed before that was settled. Positions in the
    returned tuple index `amounts`.
    """
    order = sorted(range(len(amounts)), key=lambda i: -amounts[i])
    values = [amounts[i] for i in order]
    prefix = _prefix_sums(values)
    smallest = _prefix_sums(values[::-1])
    positions_of: dict[int, list[int]] = defaultdict(list)
    for position, value in enumerate(values):
        positions_of[value].append(position)

    nodes = 0
    for size in range(2, min(max_size, len(values)) + 1):
        solutions: list[tuple[int, ...]] = []
        stack: list[tuple[int, int, tuple[int, ...]]] = [(0, target, ())]
        while stack and len(solutions) < 2:
            nodes += 1
            if nodes > max_nodes:
                return _SearchOutcome.CAPPED, ()
            start, remaining, chosen = stack.pop()
            left = size - len(chosen)
            if left == 1:
                _add_single(positions_of, remaining, start, chosen, solutions)
                continue
            for position in range(start, len(values) - left + 1):
                # Values fall with the position, so no later position can reach the need.
                if prefix[position + left] - prefix[position] < remaining:
                    break
                # This value and the smallest values left over would pass the need.
                if values[position] + smallest[left - 1] > remaining:
                    continue
                stack.append(
                    (position + 1, remaining - values[position], (*chosen, position))
                )
        if len(solutions) >= 2:
            return _SearchOutcome.TIE, ()
        if solutions:
            return _SearchOutcome.FOUND, tuple(order[p] for p in solutions[0])
    return _SearchOutcome.NONE, ()


def _prefix_sums(values: list[int]) -> list[int]:
    """Return s where s[k] is the sum of the first k values."""
    sums = [0]
    for value in values:
        sums.append(sums[-1] + value)
    return sums


def _add_single(
    positions_of: dict[int, list[int]],
    remaining: int,
    start: int,
    chosen: tuple[int, ...],
    solutions: list[tuple[int, ...]],
) -> None:
    positions = positions_of.get(remaining)
    if not positions:
        return
    first = bisect.bisect_left(positions, start)
    for position in positions[first : first + 2]:
        solutions.append((*chosen, position))


class _MatchState:
    """The bookkeeping of one run: which lines and items are taken, and the outputs."""

    def __init__(
        self,
        lines: Sequence[StatementLine],
        items: Sequence[LedgerItem],
        config: MatchConfig,
    ) -> None:
        self.config = config
        self.lines = sorted(
            lines, key=lambda line: (line.posted_date, line.account_id, line.fitid)
        )
        self.items = sorted(items, key=lambda i: (i.expected_date, i.item_id))
        self.line_taken = [False] * len(self.lines)
        self.item_taken = [False] * len(self.items)
        self.matches: list[Match] = []
        self.review: list[ReviewItem] = []
        self.reference_hints: dict[int, int] = {}

    # Rule 1 ------------------------------------------------------------------------

    def match_by_reference(self) -> None:
        by_reference: dict[str, list[int]] = defaultdict(list)
        for index, item in enumerate(self.items):
            keys = {
                normalize_reference(reference)
                for reference in (item.reference, *item.other_references)
            }
            for key in keys:
                if len(key) >= self.config.min_reference_length:
                    by_reference[key].append(index)
        if not by_reference:
            return

        for line_index, line in enumerate(self.lines):
            found = {
                item_index
                for token in reference_tokens(line)
                for item_index in by_reference.get(token, ())
                if not self.item_taken[item_index]
                and self.items[item_index].amount.currency == line.amount.currency
            }
            if found:
                self._decide_reference(line_index, sorted(found))

    def _decide_reference(self, line_index: int, found: list[int]) -> None:
        line = self.lines[line_index]
        exact = [i for i in found if self.items[i].amount == line.amount]
        if len(exact) == 1:
            self._match(MatchRule.REFERENCE, 100, [line_index], exact)
        elif len(exact) > 1:
            self._review(
                f"{len(exact)} ledger items carry the reference and the amount {line.amount}",
                [line_index],
                exact,
            )
        elif len(found) > 1 and sum(self.items[i].amount.cents for i in found) == (
            line.amount.cents
        ):
            self._match(MatchRule.REFERENCE, 95, [line_index], found)
        elif len(found) == 1:
            # The reference may be a coincidence: later rules may still match the line.
            self.reference_hints[line_index] = found[0]

    # Rule 2 ------------------------------------------------------------------------

    def match_by_amount_and_date(self) -> None:
        window = self.config.date_window_days
        by_amount: dict[tuple[str, int], list[int]] = defaultdict(list)
        for index, item in enumerate(self.items):
            if not self.item_taken[index]:
                by_amount[(item.amount.currency, item.amount.cents)].append(index)
        dates = {
            key: [self.items[i].expected_date.toordinal() for i in indexes]
            for key, indexes in by_amount.items()
        }

        candidates: dict[int, list[tuple[int, int]]] = {}
        for line_index, line in enumerate(self.lines):
            key = (line.amount.currency, line.amount.cents)
            if self.line_taken[line_index] or key not in by_amount:
                continue
            day = line.posted_date.toordinal()
            low = bisect.bisect_left(dates[key], day - window)
            high = bisect.bisect_right(dates[key], day + window)
            near = [
                (abs(dates[key][k] - day), by_amount[key][k]) for k in range(low, high)
            ]
            if near:
                candidates[line_index] = near

        for distance in range(window + 1):
            self._resolve_distance(candidates, distance)

    def _resolve_distance(
        self, candidates: dict[int, list[tuple[int, int]]], distance: int
    ) -> None:
        """Match pairs that are each other's only candidate at this date distance."""
        items_of_line: dict[int, list[int]] = {}
        lines_of_item: dict[int, list[int]] = defaultdict(list)
        for line_index, near in candidates.items():
            if self.line_taken[line_index]:
                continue
            free = [(d, i) for d, i in near if not self.item_taken[i]]
            if not free or min(d for d, _ in free) != distance:
                continue
            best = [i for d, i in free if d == distance]
            items_of_line[line_index] = best
            for item_index in best:
                lines_of_item[item_index].append(line_index)

        score = max(50, 90 - 10 * distance)
        for line_index, best in items_of_line.items():
            if len(best) == 1 and len(lines_of_item[best[0]]) == 1:
                self._match(MatchRule.AMOUNT_DATE, score, [line_index], best)
            else:
                self._review(
                    f"tie: {len(best)} ledger items and {len(lines_of_item[best[0]])} bank "
                    f"lines of {self.lines[line_index].amount} are {distance} days apart",
                    [line_index],
                    best,
                )

    # Rules 3 and 4 -----------------------------------------------------------------

    def match_line_to_items(self) -> None:
        window = self.config.group_window_days
        pool = _DatePool(
            [
                (item.expected_date.toordinal(), index)
                for index, item in enumerate(self.items)
            ]
        )
        for line_index, line in enumerate(self.lines):
            if self.line_taken[line_index] or line.amount.cents == 0:
                continue
            day = line.posted_date.toordinal()
            members = [
                index
                for index in pool.between(day - window, day + window)
                if not self.item_taken[index]
                and _fits_inside(self.items[index].amount, line.amount)
            ]
            outcome, chosen = self._search(
                line.amount, [self.items[i].amount for i in members]
            )
            if outcome is _SearchOutcome.FOUND:
                picked = [members[k] for k in chosen]
                self._match(
                    MatchRule.ONE_LINE_MANY_ITEMS,
                    _group_score(len(picked)),
                    [line_index],
                    picked,
                )
            elif outcome is not _SearchOutcome.NONE:
                self._review(
                    _search_reason(outcome, line.amount), [line_index], members
                )

    def match_lines_to_item(self) -> None:
        window = self.config.group_window_days
        pool = _DatePool(
            [
                (line.posted_date.toordinal(), index)
                for index, line in enumerate(self.lines)
            ]
        )
        for item_index, item in enumerate(self.items):
            if self.item_taken[item_index] or item.amount.cents == 0:
                continue
            day = item.expected_date.toordinal()
            members = [
                index
                for index in pool.between(day - window, day + window)
                if not self.line_taken[index]
                and _fits_inside(self.lines[index].amount, item.amount)
            ]
            outcome, chosen = self._search(
                item.amount, [self.lines[i].amount for i in members]
            )
            if outcome is _SearchOutcome.FOUND:
                picked = [members[k] for k in chosen]
                self._match(
                    MatchRule.MANY_LINES_ONE_ITEM,
                    _group_score(len(picked)),
                    picked,
                    [item_index],
                )
            elif outcome is not _SearchOutcome.NONE:
                self.item_taken[item_index] = True
                self.review.append(
                    ReviewItem(
                        _search_reason(outcome, item.amount),
                        items=(item,),
                        candidate_lines=tuple(self.lines[i] for i in members),
                    )
                )

    def _search(
        self, target: Money, amounts: list[Money]
    ) -> tuple[_SearchOutcome, tuple[int, ...]]:
        if len(amounts) < 2:
            return _SearchOutcome.NONE, ()
        return find_subset(
            abs(target.cents),
            [abs(amount.cents) for amount in amounts],
            self.config.max_group_size,
            self.config.max_search_nodes,
        )

    # Outputs -----------------------------------------------------------------------

    def _match(
        self,
        rule: MatchRule,
        score: int,
        line_indexes: list[int],
        item_indexes: list[int],
    ) -> None:
        for index in line_indexes:
            self.line_taken[index] = True
        for index in item_indexes:
            self.item_taken[index] = True
        self.matches.append(
            Match(
                rule,
                score,
                tuple(self.lines[i] for i in line_indexes),
                tuple(self.items[i] for i in item_indexes),
            )
        )

    def _review(
        self,
        reason: str,
        line_indexes: list[int],
        item_indexes: Iterable[int],
        suggestion: SuggestedEntry | None = None,
    ) -> None:
        """Send lines to review; their candidate items stay free for other lines."""
        for index in line_indexes:
            self.line_taken[index] = True
        self.review.append(
            ReviewItem(
                reason,
                lines=tuple(self.lines[i] for i in line_indexes),
                candidate_items=tuple(self.items[i] for i in item_indexes),
                suggestion=suggestion,
            )
        )

    def result(self) -> MatchResult:
        for line_index, item_index in self.reference_hints.items():
            if self.line_taken[line_index] or self.item_taken[item_index]:
                continue
            line, item = self.lines[line_index], self.items[item_index]
            self._review(
                f"the reference of item {item.item_id} is on this line but the amounts "
                f"differ: bank {line.amount}, expected {item.amount}",
                [line_index],
                [item_index],
                difference_suggestion(line, item),
            )

        unmatched_lines = tuple(
            line for index, line in enumerate(self.lines) if not self.line_taken[index]
        )
        unmatched_items = tuple(
            item for index, item in enumerate(self.items) if not self.item_taken[index]
        )
        suggestions = tuple(
            LineSuggestion(line, entry)
            for line in unmatched_lines
            if (entry := suggest_entry(line)) is not None
        )
        return MatchResult(
            tuple(self.matches),
            unmatched_lines,
            unmatched_items,
            tuple(self.review),
            suggestions,
        )


class _DatePool:
    """Indexes sorted by day, for the members of a date window."""

    def __init__(self, dated: list[tuple[int, int]]) -> None:
        dated.sort()
        self.days = [day for day, _ in dated]
        self.indexes = [index for _, index in dated]

    def between(self, first_day: int, last_day: int) -> list[int]:
        low = bisect.bisect_left(self.days, first_day)
        high = bisect.bisect_right(self.days, last_day)
        return self.indexes[low:high]


def _fits_inside(part: Money, whole: Money) -> bool:
    """Return whether `part` can be one member of a group summing to `whole`."""
    if part.currency != whole.currency or part.cents == 0:
        return False
    same_sign = (part.cents > 0) == (whole.cents > 0)
    return same_sign and abs(part.cents) < abs(whole.cents)


def _group_score(size: int) -> int:
    return max(40, 75 - 5 * (size - 2))


def _search_reason(outcome: _SearchOutcome, target: Money) -> str:
    if outcome is _SearchOutcome.TIE:
        return f"tie: more than one combination of candidates sums to {target}"
    return (
        f"the search for candidates summing to {target} hit its work cap; "
        "match by hand or raise MatchConfig.max_search_nodes"
    )


# Suggestions -----------------------------------------------------------------------

_FEE_WORDS = ("FEE", "SERVICE CHARGE", "SRVCHG", "MAINTENANCE", "FRAIS")
_INTEREST_WORDS = ("INTEREST", "DIVIDEND")
_RETURNED_WORDS = ("RETURNED", "RETURN ITEM", "NSF", "INSUFFICIENT FUNDS", "CHARGEBACK")


def suggest_entry(line: StatementLine) -> SuggestedEntry | None:
    """Suggest the entry of a line with no ledger item: a bank fee, interest, a returned item.

    The interest income account is not in the clinic chart; it is named Income:Interest.
    """
    text = f"{line.transaction_type} {line.payee} {line.memo}".upper()
    amount = abs(line.amount)
    label = line.payee or line.memo or line.fitid
    if line.amount.cents < 0 and (
        line.transaction_type in {"FEE", "SRVCHG"} or any(w in text for w in _FEE_WORDS)
    ):
        return SuggestedEntry(
            f"Bank fee: {label}", BANK_FEES_ACCOUNT, BANK_ACCOUNT, amount
        )
    if line.amount.cents > 0 and (
        line.transaction_type in {"INT", "DIV"}
        or any(w in text for w in _INTEREST_WORDS)
    ):
        return SuggestedEntry(
            f"Interest: {label}", BANK_ACCOUNT, INTEREST_INCOME_ACCOUNT, amount
        )
    if line.amount.cents < 0 and any(word in text for word in _RETURNED_WORDS):
        return SuggestedEntry(
            f"Returned deposit item: {label}; the payer owes it again",
            RETURNED_ITEM_ACCOUNT,
            BANK_ACCOUNT,
            amount,
        )
    return None


def difference_suggestion(
    line: StatementLine, item: LedgerItem
) -> SuggestedEntry | None:
    """Suggest a fee entry when the bank paid in less than an item carrying its reference."""
    short = item.amount - line.amount
    if line.amount.cents <= 0 or short.cents <= 0:
        return None
    return SuggestedEntry(
        f"Fee deducted from {item.kind.value} {item.item_id}: bank {line.amount}, "
        f"expected {item.amount}",
        BANK_FEES_ACCOUNT,
        CLEARING_ACCOUNTS[item.kind],
        short,
    )
