"""Imported bank statements kept beside the journal: lines deduped by (account, FITID).

Lines live in the statement_lines table with the match that reconciled them; each
statement's period and closing balance is a record of kind "bank_statement".
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from ona_ledger.errors import CurrencyMismatchError, InvalidInputError
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money
from ona_ledger.reconcile.statements import (
    RejectedLine,
    Statement,
    StatementImport,
    StatementLine,
)
from ona_ledger.store import statement_lines as sql
from ona_ledger.store.sql import SqlStore

logger = logging.getLogger(__name__)

BANK_ACCOUNT = "Assets:Bank:Operating"
STATEMENT_RECORD = "bank_statement"


@dataclass(frozen=True, slots=True)
class StoredStatement:
    """One imported statement's period and closing balance, for one ledger account."""

    account: str
    bank_account_id: str
    currency: str
    start_date: date | None
    end_date: date | None
    closing_balance: Money | None
    balance_date: date | None
    source: str


@dataclass(frozen=True, slots=True)
class LineMatch:
    """How a stored line was reconciled: the rule, its score and the ledger items."""

    match_id: str
    rule: str
    score: int
    item_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StoredLine:
    """A statement line as stored, with its match once reconciled."""

    line: StatementLine
    match: LineMatch | None


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What one import added: new lines, lines already stored, and rejects of the file."""

    source: str
    account: str
    added: tuple[StatementLine, ...]
    duplicates: tuple[StatementLine, ...]
    rejected: tuple[RejectedLine, ...]
    statements: tuple[StoredStatement, ...]


def sql_store(ledger: Ledger) -> SqlStore:
    """Return the ledger's SQL store; statement lines need the statement_lines table."""
    if not isinstance(ledger.store, SqlStore):
        raise InvalidInputError(
            f"the ledger's store is a {type(ledger.store).__name__}; bank statements are "
            "kept in SQL, so open the ledger with open_ledger(url or engine)"
        )
    return ledger.store


def import_statement(
    ledger: Ledger, imported: StatementImport, *, account: str = BANK_ACCOUNT
) -> ImportResult:
    """Store the lines of a read statement file against a ledger bank account.

    Lines whose (bank account, FITID) is already stored are skipped, so importing the
    same file twice adds nothing. Raises CurrencyMismatchError, writing nothing, when a
    statement's currency differs from the account's.
    """
    ledger_account = ledger.account(account)
    for statement in imported.statements:
        if statement.currency != ledger_account.currency:
            raise CurrencyMismatchError(
                f"statement of bank account {statement.account_id} in {imported.source} "
                f"is in {statement.currency} but {account} is in "
                f"{ledger_account.currency}; import it against an account in "
                f"{statement.currency}"
            )
    imported_at = ledger.clock().isoformat()
    rows = [
        _line_row(line, account, imported.source, imported_at)
        for line in imported.lines
    ]
    stored = [
        _stored_statement(s, account, imported.source) for s in imported.statements
    ]

    with ledger.atomic() as tx:
        store = sql_store(tx)
        added_keys = set(sql.insert_statement_lines(store, tx.book_id, rows))
        for stored_statement in stored:
            store.put_record(
                tx.book_id,
                STATEMENT_RECORD,
                _statement_key(stored_statement),
                _body(stored_statement),
            )
    added = tuple(line for line in imported.lines if line.dedupe_key in added_keys)
    duplicates = tuple(
        line for line in imported.lines if line.dedupe_key not in added_keys
    )
    logger.info(
        "imported %s into %s: %d lines added, %d already stored, %d rejected",
        imported.source,
        account,
        len(added),
        len(duplicates),
        len(imported.rejected),
    )
    return ImportResult(
        imported.source,
        account,
        added,
        duplicates,
        tuple(imported.rejected),
        tuple(stored),
    )


def load_lines(
    ledger: Ledger,
    account: str = BANK_ACCOUNT,
    *,
    start: date | None = None,
    end: date | None = None,
    unmatched_only: bool = False,
) -> list[StoredLine]:
    """Return the stored lines of a ledger account, oldest first."""
    rows = sql.select_statement_lines(
        sql_store(ledger),
        ledger.book_id,
        account,
        start=start,
        end=end,
        unmatched_only=unmatched_only,
    )
    return [_stored_line(row) for row in rows]


def load_statements(
    ledger: Ledger, account: str = BANK_ACCOUNT
) -> list[StoredStatement]:
    """Return the imported statements of a ledger account, by end date."""
    found = [
        _statement_from_body(body)
        for _, body in ledger.store.list_records(ledger.book_id, STATEMENT_RECORD)
        if body["account"] == account
    ]
    return sorted(
        found,
        key=lambda s: (s.end_date or date.min, s.bank_account_id, s.source),
    )


def matched_item_ids(ledger: Ledger, account: str = BANK_ACCOUNT) -> set[str]:
    """Return the ids of the ledger items already matched to a line of the account."""
    return sql.matched_item_ids(sql_store(ledger), ledger.book_id, account)


def record_match(
    ledger: Ledger,
    lines: Sequence[StatementLine],
    *,
    match_id: str,
    rule: str,
    score: int,
    item_ids: Sequence[str],
) -> int:
    """Mark lines as matched to ledger items; lines matched before keep their match."""
    return sql.set_line_match(
        sql_store(ledger),
        ledger.book_id,
        [line.dedupe_key for line in lines],
        match_id=match_id,
        rule=rule,
        score=score,
        item_ids=item_ids,
    )


def _line_row(
    line: StatementLine, account: str, source: str, imported_at: str
) -> dict[str, Any]:
    return {
        "bank_account_id": line.account_id,
        "fitid": line.fitid,
        "account": account,
        "posted_date": line.posted_date,
        "currency": line.amount.currency,
        "amount_cents": line.amount.cents,
        "payee": line.payee,
        "memo": line.memo,
        "check_number": line.check_number,
        "reference": line.reference,
        "transaction_type": line.transaction_type,
        "fitid_generated": line.fitid_generated,
        "source": source,
        "imported_at": imported_at,
        "match_id": None,
        "match_rule": None,
        "match_score": None,
        "matched_items": None,
    }


def _stored_line(row: dict[str, Any]) -> StoredLine:
    posted = row["posted_date"]
    if isinstance(posted, str):
        posted = date.fromisoformat(posted)
    line = StatementLine(
        row["bank_account_id"],
        row["fitid"],
        posted,
        Money(int(row["amount_cents"]), row["currency"]),
        row["payee"],
        row["memo"],
        row["check_number"],
        row["reference"],
        row["transaction_type"],
        bool(row["fitid_generated"]),
    )
    match = None
    if row["match_id"] is not None:
        match = LineMatch(
            row["match_id"],
            row["match_rule"],
            int(row["match_score"]),
            tuple(json.loads(row["matched_items"] or "[]")),
        )
    return StoredLine(line, match)


def _stored_statement(
    statement: Statement, account: str, source: str
) -> StoredStatement:
    return StoredStatement(
        account,
        statement.account_id,
        statement.currency,
        statement.start_date,
        statement.end_date,
        statement.ledger_balance,
        statement.balance_date,
        source,
    )


def _statement_key(statement: StoredStatement) -> str:
    return "|".join(
        [
            statement.account,
            statement.bank_account_id,
            str(statement.start_date),
            str(statement.end_date),
        ]
    )


def _body(statement: StoredStatement) -> dict[str, Any]:
    balance = statement.closing_balance
    return {
        "account": statement.account,
        "bank_account_id": statement.bank_account_id,
        "currency": statement.currency,
        "start_date": _iso(statement.start_date),
        "end_date": _iso(statement.end_date),
        "closing_balance": str(balance.to_decimal()) if balance is not None else None,
        "balance_date": _iso(statement.balance_date),
        "source": statement.source,
    }


def _statement_from_body(body: dict[str, Any]) -> StoredStatement:
    balance = body["closing_balance"]
    return StoredStatement(
        body["account"],
        body["bank_account_id"],
        body["currency"],
        _date(body["start_date"]),
        _date(body["end_date"]),
        Money.of(balance, body["currency"]) if balance is not None else None,
        _date(body["balance_date"]),
        body["source"],
    )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None
