"""Accounts: beancount-valid names, types, open and close dates, and the clinic chart."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from ona_ledger.errors import InvalidAccountNameError
from ona_ledger.money import check_currency


class AccountType(StrEnum):
    """The five beancount account types, named by the root of the account name."""

    ASSETS = "Assets"
    LIABILITIES = "Liabilities"
    EQUITY = "Equity"
    INCOME = "Income"
    EXPENSES = "Expenses"

    @property
    def normal_sign(self) -> int:
        """+1 where a debit (positive amount) grows the balance, -1 where a credit does."""
        return 1 if self in (AccountType.ASSETS, AccountType.EXPENSES) else -1


# Beancount 3: the root is one of the five types; each later component starts
# with a capital letter or a digit and continues with letters, digits or dashes.
_COMPONENT: Final = re.compile(r"[A-Z0-9][A-Za-z0-9\-]*")


def account_type(name: str) -> AccountType:
    """Validate an account name by beancount's rules and return its type.

    The error names the rule the name broke, so a host can fix its chart.
    """
    if not isinstance(name, str) or not name:
        raise InvalidAccountNameError(
            f"account name {name!r} is empty; use a name like 'Assets:Bank:Operating'"
        )
    components = name.split(":")
    roots = ", ".join(t.value for t in AccountType)
    try:
        kind = AccountType(components[0])
    except ValueError:
        raise InvalidAccountNameError(
            f"account name {name!r} must start with one of {roots}"
        ) from None
    if len(components) < 2:
        raise InvalidAccountNameError(
            f"account name {name!r} needs at least one component after {kind.value}, "
            f"such as '{kind.value}:Operating'"
        )
    for component in components[1:]:
        if not component:
            raise InvalidAccountNameError(
                f"account name {name!r} has an empty component; remove the doubled or "
                "trailing colon"
            )
        if not _COMPONENT.fullmatch(component):
            raise InvalidAccountNameError(
                f"account name {name!r} has component {component!r}, which must start "
                "with a capital letter or a digit and contain only letters, digits and "
                "dashes"
            )
    return kind


@dataclass(frozen=True, slots=True)
class Account:
    """An account of one book: its name, type, currency and open and close dates."""

    name: str
    currency: str = "USD"
    opened: date = date(2000, 1, 1)
    closed: date | None = None
    description: str = ""

    def __post_init__(self) -> None:
        account_type(self.name)
        check_currency(self.currency)
        if self.closed is not None and self.closed < self.opened:
            raise InvalidAccountNameError(
                f"account {self.name} closes on {self.closed}, before it opens on "
                f"{self.opened}; pass a close date on or after the open date"
            )

    @property
    def type(self) -> AccountType:
        return account_type(self.name)

    def is_open_on(self, day: date) -> bool:
        """True when `day` falls between the open date and the close date, inclusive."""
        return self.opened <= day and (self.closed is None or day <= self.closed)


# The clinic chart of accounts; a clinic can open more accounts beside these.
CLINIC_CHART: Final[tuple[tuple[str, str], ...]] = (
    ("Assets:Bank:Operating", "the clinic's bank account"),
    ("Assets:Clearing:Processor", "card money captured, not yet paid out"),
    ("Assets:Clearing:Undeposited", "cash and checks not yet deposited"),
    (
        "Assets:Clearing:Insurance",
        "payer EFTs announced by a remittance, not yet in the bank",
    ),
    ("Assets:Receivable:Patients", "what patients owe, by patient and invoice"),
    ("Assets:Receivable:Insurance", "what payers owe, by payer and claim"),
    ("Liabilities:PatientCredit", "overpayments and unapplied payments"),
    ("Liabilities:Deferred:GiftCards", "gift cards sold, not yet redeemed"),
    ("Liabilities:Deferred:Packages", "packages sold, sessions not yet used"),
    ("Liabilities:Deferred:Memberships", "membership fees paid for future periods"),
    ("Liabilities:Suspense:Remittances", "payer money not yet matched to a claim"),
    (
        "Liabilities:Suspense:Payouts",
        "processor payout money its balance transactions do not explain",
    ),
    (
        "Liabilities:PayerRefunds",
        "payer payments owed back: paid on charges later voided or reduced",
    ),
    ("Income:Services", "gross charges, by provider, code and location"),
    ("Income:Adjustments:Contractual", "payer contractual write-downs"),
    ("Income:Adjustments:Courtesy", "courtesy discounts"),
    ("Income:Adjustments:BadDebt", "balances written off as uncollectable"),
    ("Income:Adjustments:SmallBalance", "small balances written off"),
    ("Income:Adjustments:Administrative", "administrative corrections"),
    ("Income:Memberships", "membership fees earned"),
    ("Income:Packages", "package sessions used"),
    ("Income:Breakage", "gift card and package balances never redeemed"),
    ("Income:Interest", "interest from payers on late claims and from the bank"),
    ("Expenses:ProcessorFees", "card processing fees"),
    ("Expenses:BankFees", "bank fees"),
    ("Expenses:Chargebacks", "chargeback fees and lost disputes"),
    ("Equity:OpeningBalances", "opening balances"),
)

# Accounts whose balance must never go below zero, with the dimension the
# limit applies per value of ("" for the account as a whole).
CLINIC_BALANCE_LIMITS: Final[tuple[tuple[str, str], ...]] = (
    ("Liabilities:PatientCredit", "patient"),
    ("Liabilities:PatientCredit", ""),
    ("Liabilities:Deferred:GiftCards", "plan"),
    ("Liabilities:Deferred:GiftCards", ""),
)


def chart_account(
    name: str, currency: str = "USD", opened: date = date(2000, 1, 1)
) -> Account:
    """Return the clinic chart's account `name`, with its description.

    Modules that post to a chart account a book may lack (one opened before
    the account joined the chart, without `open_ledger`) open it with this.
    """
    for chart_name, description in CLINIC_CHART:
        if chart_name == name:
            return Account(name, currency, opened, description=description)
    raise InvalidAccountNameError(
        f"account {name} is not in the clinic chart; open it with an Account of its own"
    )


def clinic_chart(
    currency: str = "USD", opened: date = date(2000, 1, 1)
) -> list[Account]:
    """Return the clinic chart of accounts as Account values."""
    return [
        Account(name, currency=currency, opened=opened, description=description)
        for name, description in CLINIC_CHART
    ]
