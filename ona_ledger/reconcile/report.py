"""Reconciliation of a bank account: run the matching, post what it confirms, and report.

The report lists matched lines, unmatched lines and items, differences with the
entries a person confirms, and the statement's closing balance against the ledger.
"""

from __future__ import annotations

import html
import importlib
import logging
from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from ona_ledger.errors import InvalidInputError
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money
from ona_ledger.reconcile.ledger_items import (
    ExpectedItem,
    expected_by_id,
    expected_items,
    post_suggested_entry,
    settle_eft,
)
from ona_ledger.reconcile.matching import (
    BANK_FEES_ACCOUNT,
    INTEREST_INCOME_ACCOUNT,
    Match,
    MatchConfig,
    MatchResult,
    match_statement,
    suggest_entry,
)
from ona_ledger.reconcile.statements import StatementLine
from ona_ledger.reconcile.store import (
    BANK_ACCOUNT,
    StoredLine,
    StoredStatement,
    load_lines,
    load_statements,
    matched_item_ids,
    record_match,
)

logger = logging.getLogger(__name__)

CONFIRMED_RULE = "confirmed_entry"


@dataclass(frozen=True, slots=True)
class MatchedRow:
    """Bank lines matched to ledger items, with the rule and score that matched them."""

    match_id: str
    rule: str
    score: int
    posted_date: date
    bank_amount: Money
    fitids: str
    description: str
    item_ids: str


@dataclass(frozen=True, slots=True)
class LineRow:
    """A bank line no ledger item accounts for."""

    bank_account_id: str
    fitid: str
    posted_date: date
    amount: Money
    description: str


@dataclass(frozen=True, slots=True)
class ItemRow:
    """A ledger item the bank has not shown."""

    item_id: str
    kind: str
    expected_date: date
    amount: Money
    reference: str
    entry_ids: str


@dataclass(frozen=True, slots=True)
class DifferenceRow:
    """A bank fee, interest or returned item, with the entry a person confirms."""

    bank_account_id: str
    fitid: str
    posted_date: date
    amount: Money
    description: str
    suggestion: str
    debit_account: str
    credit_account: str
    suggested_amount: Money


@dataclass(frozen=True, slots=True)
class ReviewRow:
    """Lines or items the matching would not decide alone."""

    reason: str
    fitids: str
    item_ids: str
    candidates: str


@dataclass(frozen=True, slots=True)
class BalanceCheck:
    """The statement's closing balance against the ledger's balance on the same day."""

    as_of: date | None
    statement_balance: Money | None
    ledger_balance: Money | None

    @property
    def difference(self) -> Money | None:
        if self.statement_balance is None or self.ledger_balance is None:
            return None
        return self.statement_balance - self.ledger_balance

    @property
    def agrees(self) -> bool:
        """True when the balances are equal, or the statement carries no balance."""
        difference = self.difference
        return difference is None or difference.is_zero()


@dataclass(frozen=True)
class ReconciliationReport:
    """The state of one bank account's reconciliation over its imported statements."""

    account: str
    start: date | None
    end: date | None
    matched: list[MatchedRow]
    unmatched_lines: list[LineRow]
    unmatched_items: list[ItemRow]
    differences: list[DifferenceRow]
    review: list[ReviewRow]
    balance: BalanceCheck
    posted_entries: list[str]

    @property
    def is_clean(self) -> bool:
        """True when nothing is left to explain and the closing balance agrees."""
        open_rows = (
            self.unmatched_lines,
            self.unmatched_items,
            self.differences,
            self.review,
        )
        return not any(open_rows) and self.balance.agrees

    def rows(self) -> list[dict[str, Any]]:
        """Return every row as a dict with its section, for a table or a notebook."""
        found: list[dict[str, Any]] = []
        for section, rows in self._sections():
            for row in rows:
                found.append({"section": section, **_plain(row)})
        return found

    def _sections(self) -> list[tuple[str, list[Any]]]:
        return [
            ("matched", self.matched),
            ("unmatched_line", self.unmatched_lines),
            ("unmatched_item", self.unmatched_items),
            ("difference", self.differences),
            ("review", self.review),
        ]

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        difference = self.balance.difference
        return {
            "account": self.account,
            "start": _text(self.start),
            "end": _text(self.end),
            "clean": self.is_clean,
            "balance": {
                "as_of": _text(self.balance.as_of),
                "statement": _text(self.balance.statement_balance),
                "ledger": _text(self.balance.ledger_balance),
                "difference": _text(difference),
            },
            "posted_entries": self.posted_entries,
            **{
                name: [{k: _text(v) for k, v in _plain(row).items()} for row in rows]
                for name, rows in self._sections()
            },
        }

    def to_dataframe(self) -> Any:
        """Return the rows as a pandas DataFrame; amounts stay exact as Decimal."""
        try:
            pd = importlib.import_module("pandas")
        except ImportError:
            raise ImportError(
                "to_dataframe needs pandas; install it with "
                "`pip install ona-ledger[dataframe]`"
            ) from None
        rows = [
            {k: v.to_decimal() if isinstance(v, Money) else v for k, v in row.items()}
            for row in self.rows()
        ]
        return pd.DataFrame(rows)

    def summary_lines(self) -> list[str]:
        """Return the report as text lines for a terminal."""
        return format_report(self)

    def _repr_html_(self) -> str:
        parts = [
            f"<h4>Reconciliation of {html.escape(self.account)} "
            f"{_text(self.start)} to {_text(self.end)}: "
            f"{'clean' if self.is_clean else 'differences remain'}</h4>",
            f"<p>{html.escape(_balance_text(self.balance))}</p>",
        ]
        for section, rows in self._sections():
            if not rows:
                continue
            columns = [f.name for f in fields(rows[0])]
            head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
            body = "".join(
                "<tr>"
                + "".join(
                    f"<td>{html.escape(str(_text(getattr(row, c)) or ''))}</td>"
                    for c in columns
                )
                + "</tr>"
                for row in rows
            )
            parts.append(
                f"<h5>{html.escape(section)} ({len(rows)})</h5>"
                f"<table><tr>{head}</tr>{body}</table>"
            )
        return "".join(parts)


def reconcile(
    ledger: Ledger,
    account: str = BANK_ACCOUNT,
    *,
    actor: str = "reconciliation",
    config: MatchConfig | None = None,
) -> ReconciliationReport:
    """Match the account's unmatched statement lines to the ledger and report.

    Matches are stored with their lines, so a second run leaves them as they are. A
    matched insurance EFT still in clearing is moved into the bank in the same
    transaction. Raises InvalidInputError when no statement was imported.
    """
    config = config or MatchConfig()
    ledger.account(account)
    statements = load_statements(ledger, account)
    if not statements:
        raise InvalidInputError(
            f"no bank statement is imported for {account}; import one with "
            "import_statement (ona-ledger import-statement FILE) first"
        )
    start, end = _period(statements)
    window = max(config.date_window_days, config.group_window_days)

    posted: list[str] = []
    with ledger.atomic() as tx:
        expected = expected_items(
            tx,
            account=account,
            start=_shift(start, -window),
            end=_shift(end, window),
        )
        taken = matched_item_ids(tx, account)
        lines = [stored.line for stored in load_lines(tx, account, unmatched_only=True)]
        candidates = [e.item for e in expected if e.item.item_id not in taken]
        result = match_statement(lines, candidates, config)
        by_id = expected_by_id(expected)
        for match in result.matches:
            posted += _record(tx, match, by_id, account, actor)

    expected = expected_items(
        ledger, account=account, start=_shift(start, -window), end=_shift(end, window)
    )
    return _build_report(ledger, account, start, end, expected, result, posted)


def _record(
    ledger: Ledger,
    match: Match,
    by_id: dict[str, ExpectedItem],
    account: str,
    actor: str,
) -> list[str]:
    """Store one match and post the EFT settlements it confirms; return their entry ids."""
    posted = []
    for item in match.items:
        expected = by_id[item.item_id]
        if not expected.in_bank:
            entry = settle_eft(
                ledger, expected, match.lines[0], account=account, actor=actor
            )
            posted.append(entry.id)
    first = match.lines[0]
    record_match(
        ledger,
        match.lines,
        match_id=f"{first.account_id}:{first.fitid}",
        rule=match.rule.value,
        score=match.score,
        item_ids=[item.item_id for item in match.items],
    )
    return posted


def confirm_difference(
    ledger: Ledger,
    fitid: str,
    *,
    account: str = BANK_ACCOUNT,
    bank_account_id: str | None = None,
    actor: str,
) -> str:
    """Post the suggested entry of an unmatched fee, interest or returned-item line.

    Returns the entry id. Confirming the same line again returns the same entry and
    writes nothing. Raises InvalidInputError when the line is not stored, is matched to
    a ledger item, or has no suggested entry.
    """
    with ledger.atomic() as tx:
        stored = _find_line(tx, account, fitid, bank_account_id)
        line = stored.line
        if stored.match is not None and stored.match.rule != CONFIRMED_RULE:
            raise InvalidInputError(
                f"statement line {fitid} is matched to {', '.join(stored.match.item_ids)}; "
                "it is no difference to confirm"
            )
        suggestion = suggest_entry(line)
        if suggestion is None:
            raise InvalidInputError(
                f"statement line {fitid} ({line.amount}, {_describe(line)!r}) has no "
                "suggested entry; post its entry by hand"
            )
        entry = post_suggested_entry(tx, line, suggestion, actor=actor)
        record_match(
            tx,
            [line],
            match_id=f"{line.account_id}:{line.fitid}",
            rule=CONFIRMED_RULE,
            score=100,
            item_ids=[f"entry:{entry.id}"],
        )
    logger.info("confirmed statement line %s as entry %s", fitid, entry.id)
    return entry.id


def _find_line(
    ledger: Ledger, account: str, fitid: str, bank_account_id: str | None
) -> StoredLine:
    found = [
        stored
        for stored in load_lines(ledger, account)
        if stored.line.fitid == fitid
        and (bank_account_id is None or stored.line.account_id == bank_account_id)
    ]
    if not found:
        raise InvalidInputError(
            f"no statement line with FITID {fitid!r} is stored for {account}; check "
            "the FITID in the reconciliation report"
        )
    if len(found) > 1:
        raise InvalidInputError(
            f"FITID {fitid!r} is on lines of {len(found)} bank accounts; pass "
            "bank_account_id to choose one"
        )
    return found[0]


# Building the report -------------------------------------------------------------


def _build_report(
    ledger: Ledger,
    account: str,
    start: date | None,
    end: date | None,
    expected: list[ExpectedItem],
    result: MatchResult,
    posted: list[str],
) -> ReconciliationReport:
    stored = load_lines(ledger, account, start=start, end=end)
    matched = _matched_rows(stored)
    unmatched_lines: list[LineRow] = []
    differences: list[DifferenceRow] = []
    under_review = {line.dedupe_key for r in result.review for line in r.lines}
    for stored_line in stored:
        line = stored_line.line
        if stored_line.match is not None or line.dedupe_key in under_review:
            continue
        difference = _difference_row(line)
        if difference is not None:
            differences.append(difference)
        else:
            unmatched_lines.append(
                LineRow(
                    line.account_id,
                    line.fitid,
                    line.posted_date,
                    line.amount,
                    _describe(line),
                )
            )

    taken = matched_item_ids(ledger, account)
    reviewed_items = {item.item_id for r in result.review for item in r.items}
    unmatched_items = [
        _item_row(e)
        for e in expected
        if e.item.item_id not in taken
        and e.item.item_id not in reviewed_items
        and (end is None or e.item.expected_date <= end)
    ]
    return ReconciliationReport(
        account,
        start,
        end,
        matched,
        unmatched_lines,
        unmatched_items,
        differences,
        [_review_row(r) for r in result.review],
        _balance_check(ledger, account),
        posted,
    )


def _matched_rows(stored: list[StoredLine]) -> list[MatchedRow]:
    groups: dict[str, list[StoredLine]] = defaultdict(list)
    for stored_line in stored:
        if stored_line.match is not None:
            groups[stored_line.match.match_id].append(stored_line)
    rows = []
    for match_id, members in groups.items():
        match = members[0].match
        assert match is not None
        total = Money.zero(members[0].line.amount.currency)
        for member in members:
            total = total + member.line.amount
        rows.append(
            MatchedRow(
                match_id,
                match.rule,
                match.score,
                members[0].line.posted_date,
                total,
                ", ".join(m.line.fitid for m in members),
                "; ".join(_describe(m.line) for m in members),
                ", ".join(match.item_ids),
            )
        )
    return sorted(rows, key=lambda r: (r.posted_date, r.match_id))


def _difference_row(line: StatementLine) -> DifferenceRow | None:
    suggestion = suggest_entry(line)
    if suggestion is None:
        return None
    if suggestion.debit_account == BANK_FEES_ACCOUNT:
        kind = "bank fee"
    elif suggestion.credit_account == INTEREST_INCOME_ACCOUNT:
        kind = "interest"
    else:
        kind = "returned item"
    return DifferenceRow(
        line.account_id,
        line.fitid,
        line.posted_date,
        line.amount,
        _describe(line),
        kind,
        suggestion.debit_account,
        suggestion.credit_account,
        suggestion.amount,
    )


def _item_row(expected: ExpectedItem) -> ItemRow:
    item = expected.item
    return ItemRow(
        item.item_id,
        item.kind.value,
        item.expected_date,
        item.amount,
        item.reference,
        ", ".join(expected.entry_ids),
    )


def _review_row(review: Any) -> ReviewRow:
    return ReviewRow(
        review.reason,
        ", ".join(line.fitid for line in review.lines),
        ", ".join(item.item_id for item in review.items),
        ", ".join(
            [item.item_id for item in review.candidate_items]
            + [line.fitid for line in review.candidate_lines]
        ),
    )


def _balance_check(ledger: Ledger, account: str) -> BalanceCheck:
    """Compare the latest closing balance of each bank account with the ledger."""
    latest: dict[str, StoredStatement] = {}
    for statement in load_statements(ledger, account):
        if statement.closing_balance is not None:
            latest[statement.bank_account_id] = statement
    if not latest:
        return BalanceCheck(None, None, None)
    as_of = max(s.balance_date or s.end_date or date.min for s in latest.values())
    currency = ledger.account(account).currency
    statement_total = Money.zero(currency)
    for statement in latest.values():
        assert statement.closing_balance is not None
        statement_total = statement_total + statement.closing_balance
    ledger_balance = ledger.balance(account, as_of=as_of).posted
    return BalanceCheck(as_of, statement_total, ledger_balance)


def format_report(report: ReconciliationReport) -> list[str]:
    """Render the report as aligned text lines."""
    state = "clean" if report.is_clean else "differences remain"
    out = [
        f"Reconciliation of {report.account}, {_text(report.start)} to "
        f"{_text(report.end)}: {state}",
        f"  {_balance_text(report.balance)}",
        f"  Matched ({len(report.matched)})",
    ]
    for m in report.matched:
        out.append(
            f"    {m.posted_date}  {m.bank_amount!s:>10}  {m.rule:<20} {m.score:>3}  "
            f"{m.fitids} -> {m.item_ids}"
        )
    out.append(f"  Unmatched bank lines ({len(report.unmatched_lines)})")
    for line in report.unmatched_lines:
        out.append(
            f"    {line.posted_date}  {line.amount!s:>10}  {line.fitid}  {line.description}"
        )
    out.append(f"  Unmatched ledger items ({len(report.unmatched_items)})")
    for item in report.unmatched_items:
        out.append(
            f"    {item.expected_date}  {item.amount!s:>10}  {item.item_id} ({item.kind})"
        )
    out.append(f"  Differences to confirm ({len(report.differences)})")
    for d in report.differences:
        out.append(
            f"    {d.posted_date}  {d.amount!s:>10}  {d.fitid}  {d.suggestion}: "
            f"{d.debit_account} / {d.credit_account} {d.suggested_amount}"
        )
    out.append(f"  For review ({len(report.review)})")
    for r in report.review:
        out.append(f"    {r.fitids or r.item_ids}: {r.reason}")
    if report.posted_entries:
        out.append(f"  Posted now: {', '.join(report.posted_entries)}")
    return out


def _balance_text(balance: BalanceCheck) -> str:
    if balance.statement_balance is None:
        return "Closing balance: the statement carries none; not checked"
    return (
        f"Closing balance on {balance.as_of}: statement {balance.statement_balance}, "
        f"ledger {balance.ledger_balance}, difference {balance.difference}"
    )


def _period(statements: list[StoredStatement]) -> tuple[date | None, date | None]:
    starts = [s.start_date for s in statements if s.start_date is not None]
    ends = [s.end_date for s in statements if s.end_date is not None]
    return min(starts, default=None), max(ends, default=None)


def _shift(day: date | None, days: int) -> date | None:
    if day is None:
        return None
    return date.fromordinal(day.toordinal() + days)


def _describe(line: StatementLine) -> str:
    return " ".join(part for part in (line.payee, line.memo) if part)


def _plain(row: Any) -> dict[str, Any]:
    # Not dataclasses.asdict, which would turn each Money into a dict.
    return {f.name: getattr(row, f.name) for f in fields(row)}


def _text(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (Money, date)):
        return str(value)
    return value
