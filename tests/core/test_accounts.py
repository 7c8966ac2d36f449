"""Accounts: beancount name rules, types, open and close dates, and the clinic chart."""

from __future__ import annotations

from datetime import date

import pytest
from beancount import loader
from beancount.core import account as beancount_account
from hypothesis import given
from hypothesis import strategies as st

from ona_ledger import (
    CLINIC_CHART,
    Account,
    AccountClosedError,
    AccountType,
    CurrencyMismatchError,
    InvalidAccountNameError,
    Ledger,
    UnknownAccountError,
    account_type,
    clinic_chart,
)
from tests.core.helpers import BANK, SERVICES, transfer


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "is empty"),
        ("Revenue:Services", "must start with one of Assets, Liabilities"),
        ("assets:Bank", "must start with one of"),
        ("Assets", "needs at least one component after Assets"),
        ("Assets::Bank", "has an empty component"),
        ("Assets:Bank:", "has an empty component"),
        ("Assets:bank", "component 'bank', which must start with a capital"),
        ("Assets:Bank Account", "contain only letters, digits and dashes"),
        ("Assets:Bank_1", "contain only letters, digits and dashes"),
        ("Assets:-Bank", "must start with a capital letter or a digit"),
    ],
)
def test_bad_name_raises(name: str, message: str) -> None:
    with pytest.raises(InvalidAccountNameError, match=message):
        account_type(name)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Assets:Bank:Operating", AccountType.ASSETS),
        ("Liabilities:PatientCredit", AccountType.LIABILITIES),
        ("Equity:OpeningBalances", AccountType.EQUITY),
        ("Income:Adjustments:BadDebt", AccountType.INCOME),
        ("Expenses:ProcessorFees", AccountType.EXPENSES),
        ("Assets:2026-Q1", AccountType.ASSETS),
    ],
)
def test_name_gives_type(name: str, kind: AccountType) -> None:
    assert account_type(name) is kind


@pytest.mark.parametrize(
    ("kind", "sign"),
    [
        (AccountType.ASSETS, 1),
        (AccountType.EXPENSES, 1),
        (AccountType.LIABILITIES, -1),
        (AccountType.EQUITY, -1),
        (AccountType.INCOME, -1),
    ],
)
def test_normal_sign(kind: AccountType, sign: int) -> None:
    assert kind.normal_sign == sign


@pytest.mark.parametrize("name", [name for name, _ in CLINIC_CHART])
def test_chart_name_valid_in_beancount(name: str) -> None:
    assert beancount_account.is_valid(name)


def test_chart_loads_in_beancount() -> None:
    text = "".join(
        f"2000-01-01 open {account.name} {account.currency}\n"
        for account in clinic_chart()
    )
    _, errors, _ = loader.load_string(text)
    assert errors == []


component = st.from_regex(r"[A-Z0-9][A-Za-z0-9\-]{0,8}", fullmatch=True)
names = st.builds(
    lambda root, parts: ":".join([root, *parts]),
    st.sampled_from([t.value for t in AccountType]),
    st.lists(component, min_size=1, max_size=4),
)


@given(names)
def test_accepted_names_valid_in_beancount(name: str) -> None:
    account_type(name)
    assert beancount_account.is_valid(name)


def test_close_before_open_raises() -> None:
    with pytest.raises(InvalidAccountNameError, match="closes on 2025-12-31, before"):
        Account(BANK, opened=date(2026, 1, 1), closed=date(2025, 12, 31))


def test_account_bad_currency_raises() -> None:
    with pytest.raises(ValueError, match="three-letter ISO 4217 code"):
        Account(BANK, currency="dollars")


def test_is_open_on_bounds() -> None:
    account = Account(BANK, opened=date(2026, 1, 1), closed=date(2026, 1, 31))
    assert account.is_open_on(date(2026, 1, 1))
    assert account.is_open_on(date(2026, 1, 31))
    assert not account.is_open_on(date(2025, 12, 31))
    assert not account.is_open_on(date(2026, 2, 1))


def test_post_before_open_raises(memory_ledger: Ledger) -> None:
    memory_ledger.open_account(Account("Assets:Bank:Savings", opened=date(2026, 2, 1)))
    entry = transfer(date(2026, 1, 31), "5.00", "Assets:Bank:Savings", SERVICES)
    with pytest.raises(
        AccountClosedError, match="open from 2026-02-01; an entry dated"
    ):
        memory_ledger.post(entry)


def test_post_after_close_raises(memory_ledger: Ledger) -> None:
    memory_ledger.close_account(BANK, date(2026, 1, 31))
    entry = transfer(date(2026, 2, 1), "5.00")
    with pytest.raises(AccountClosedError, match="to 2026-01-31; an entry dated"):
        memory_ledger.post(entry)


def test_post_on_close_day_allowed(memory_ledger: Ledger) -> None:
    memory_ledger.close_account(BANK, date(2026, 1, 31))
    stored = memory_ledger.post(transfer(date(2026, 1, 31), "5.00"))
    assert stored.seq == 1


def test_close_date_survives_reload(memory_ledger: Ledger) -> None:
    memory_ledger.close_account(BANK, date(2026, 1, 31))
    memory_ledger.reload_accounts()
    assert memory_ledger.account(BANK).closed == date(2026, 1, 31)


def test_unknown_account_raises(memory_ledger: Ledger) -> None:
    entry = transfer(date(2026, 1, 5), "5.00", "Assets:Bank:Nowhere", SERVICES)
    with pytest.raises(UnknownAccountError, match="Assets:Bank:Nowhere is not open"):
        memory_ledger.post(entry)


def test_reopen_other_currency_raises(memory_ledger: Ledger) -> None:
    with pytest.raises(CurrencyMismatchError, match="already open in USD"):
        memory_ledger.open_account(Account(BANK, currency="EUR"))


def test_reopen_same_is_noop(memory_ledger: Ledger) -> None:
    before = memory_ledger.account(BANK)
    assert memory_ledger.open_account(before) == before


def test_chart_opened_in_new_book(memory_ledger: Ledger) -> None:
    opened = {account.name for account in memory_ledger.accounts()}
    assert opened == {name for name, _ in CLINIC_CHART}
