"""Posting speed against python-accounting 2.0.0 on the same two-line entries.

python-accounting is installed for the benchmark only (`make bench` runs
`pip install --no-deps python-accounting==2.0.0`), never as a dependency of
ona_ledger.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench import Figure, at_least, bench_clock, charge_entry, seconds, sqlite_url
from ona_ledger import open_ledger
from ona_ledger.store import create_engine

logger = logging.getLogger(__name__)

NAME = "python_accounting_ratio"


def run(quick: bool) -> list[Figure]:
    count = 50 if quick else 1_000
    try:
        import python_accounting  # noqa: F401
    except ImportError as error:
        reason = f"not measured: python-accounting cannot be imported ({error})"
        logger.warning("%s", reason)
        return [Figure(NAME, reason, "ratio", ">= 50")]

    with tempfile.TemporaryDirectory(prefix="ona-bench-") as folder:
        ours_rate = count / _post_ours(Path(folder) / "ours.db", count)
        try:
            theirs_s = _post_theirs(Path(folder) / "pa.db", count)
        except Exception as error:  # any failure inside python-accounting
            reason = f"not measured: python-accounting failed ({type(error).__name__}: {error})"
            logger.warning("%s", reason)
            return [Figure(NAME, reason, "ratio", ">= 50")]
    theirs_rate = count / theirs_s
    note = f"{count} two-line invoices, each committed on its own, SQLite file"
    return [
        at_least(NAME, round(ours_rate / theirs_rate, 1), "ratio", 50, note),
        Figure(
            "python_accounting_per_s", round(theirs_rate, 1), "entries/s", note=note
        ),
        Figure("ona_ledger_two_line_per_s", round(ours_rate), "entries/s", note=note),
    ]


def _post_ours(path: Path, count: int) -> float:
    """Post `count` two-line charges with Ledger.post, one transaction each.

    Return the seconds the posts took, without the book's setup.
    """
    engine = create_engine(sqlite_url(path))
    ledger = open_ledger(engine, "bench", clock=bench_clock)

    def post_each() -> None:
        for index in range(count):
            ledger.post(charge_entry(index))

    elapsed = seconds(post_each)
    engine.dispose()
    return elapsed


def _post_theirs(path: Path, count: int) -> float:
    """Post `count` client invoices of one line each, which Transaction.post commits.

    A ClientInvoice without tax writes two ledger rows: the receivable debit
    and the revenue credit, the same two lines as our charge entry. Return
    the seconds the posts took, without the entity, currency and accounts setup.
    """
    from python_accounting.database.session import get_session
    from python_accounting.models import Account, Base, Currency, Entity
    from sqlalchemy import create_engine as create_plain_engine

    engine = create_plain_engine(sqlite_url(path))
    Base.metadata.create_all(engine)
    # python-accounting opens the reporting period of the wall clock's year, so
    # its invoices are dated now rather than on the benchmark's fixed day.
    invoice_time = datetime.now()
    with get_session(engine) as session:
        entity = Entity(name="Bench clinic")
        session.add(entity)
        session.commit()
        currency = Currency(name="US Dollars", code="USD", entity_id=entity.id)
        session.add(currency)
        session.commit()
        receivable = _account(
            session, Account, "Patients", "RECEIVABLE", entity, currency
        )
        revenue = _account(
            session, Account, "Services", "OPERATING_REVENUE", entity, currency
        )

        def post_each() -> None:
            for index in range(count):
                _post_invoice(session, index, invoice_time, receivable, revenue)

        elapsed = seconds(post_each)
    engine.dispose()
    return elapsed


def _post_invoice(
    session: Any, index: int, invoice_time: datetime, receivable: Any, revenue: Any
) -> None:
    from python_accounting.models import LineItem
    from python_accounting.transactions import ClientInvoice

    entry = charge_entry(index)
    invoice = ClientInvoice(
        narration=entry.narration,
        transaction_date=invoice_time,
        account_id=receivable.id,
        entity_id=receivable.entity_id,
    )
    session.add(invoice)
    session.flush()
    line = LineItem(
        narration=entry.narration,
        account_id=revenue.id,
        amount=Decimal(entry.postings[0].amount.cents) / 100,
        entity_id=receivable.entity_id,
    )
    session.add(line)
    session.flush()
    invoice.line_items.add(line)
    session.add(invoice)
    invoice.post(session)


def _account(
    session: Any, account_class: Any, name: str, kind: str, entity: Any, currency: Any
) -> Any:
    account = account_class(
        name=name,
        account_type=getattr(account_class.AccountType, kind),
        currency_id=currency.id,
        entity_id=entity.id,
    )
    session.add(account)
    session.commit()
    return account
