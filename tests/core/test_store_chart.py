"""The clinic chart in every book: new books get it whole, older books get what they lack."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from ona_ledger import open_ledger
from ona_ledger.accounts import CLINIC_CHART, chart_account
from ona_ledger.billing.common import PAYER_REFUNDS
from ona_ledger.claims.posting import INTEREST_INCOME, SUSPENSE
from ona_ledger.claims.queues import DENIAL_WRITE_OFF_ACCOUNT
from ona_ledger.processors.stripe_ledger import PAYOUT_SUSPENSE
from ona_ledger.reconcile.matching import INTEREST_INCOME_ACCOUNT
from ona_ledger.store import schema
from tests.conftest import FakeClock, new_book_id

# Accounts that modules post to beside the billing accounts of the design.
POSTED_BY_MODULES = (
    PAYER_REFUNDS,
    INTEREST_INCOME,
    SUSPENSE,
    DENIAL_WRITE_OFF_ACCOUNT,
    PAYOUT_SUSPENSE,
    INTEREST_INCOME_ACCOUNT,
)


def test_module_accounts_in_chart() -> None:
    chart = {name: description for name, description in CLINIC_CHART}
    for name in POSTED_BY_MODULES:
        assert chart.get(name), f"{name} is not in the clinic chart with a description"


def test_chart_account_description() -> None:
    account = chart_account(PAYER_REFUNDS, "EUR")
    assert account.currency == "EUR"
    assert account.description.startswith("payer payments owed back")


def test_existing_book_gets_new_accounts(tmp_path: Path, clock: FakeClock) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    book = new_book_id()
    open_ledger(url, book, clock=clock)
    # Make the book look like one created before these accounts joined the chart.
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.delete(schema.accounts).where(
                schema.accounts.c.book_id == book,
                schema.accounts.c.name.in_([PAYER_REFUNDS, INTEREST_INCOME]),
            )
        )
    engine.dispose()
    reopened = open_ledger(url, book, clock=clock)
    names = {account.name for account in reopened.accounts()}
    assert PAYER_REFUNDS in names
    assert INTEREST_INCOME in names


def test_backfill_keeps_book_currency(tmp_path: Path, clock: FakeClock) -> None:
    url = f"sqlite:///{tmp_path / 'eur.db'}"
    book = new_book_id()
    open_ledger(url, book, currency="EUR", clock=clock)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.delete(schema.accounts).where(
                schema.accounts.c.book_id == book,
                schema.accounts.c.name == PAYER_REFUNDS,
            )
        )
    engine.dispose()
    reopened = open_ledger(url, book, clock=clock)
    assert reopened.account(PAYER_REFUNDS).currency == "EUR"
