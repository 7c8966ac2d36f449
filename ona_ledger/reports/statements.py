"""The income statement for a period and the balance sheet as of a day, from maintained balances."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ona_ledger.errors import InvalidInputError
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money

CURRENT_EARNINGS = "Equity:CurrentEarnings"


@dataclass(frozen=True, slots=True)
class StatementLine:
    """An account and its balance in the statement's sign (income positive, expenses positive)."""

    account: str
    amount: Money


@dataclass(frozen=True, slots=True)
class IncomeStatement:
    start: date | None
    end: date | None
    income: tuple[StatementLine, ...]
    expenses: tuple[StatementLine, ...]

    @property
    def total_income(self) -> Money:
        return Money(sum(line.amount.cents for line in self.income))

    @property
    def total_expenses(self) -> Money:
        return Money(sum(line.amount.cents for line in self.expenses))

    @property
    def net_income(self) -> Money:
        return self.total_income - self.total_expenses

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "income": {line.account: str(line.amount) for line in self.income},
            "expenses": {line.account: str(line.amount) for line in self.expenses},
            "total_income": str(self.total_income),
            "total_expenses": str(self.total_expenses),
            "net_income": str(self.net_income),
        }


@dataclass(frozen=True, slots=True)
class BalanceSheet:
    as_of: date | None
    assets: tuple[StatementLine, ...]
    liabilities: tuple[StatementLine, ...]
    equity: tuple[StatementLine, ...]

    @property
    def total_assets(self) -> Money:
        return Money(sum(line.amount.cents for line in self.assets))

    @property
    def total_liabilities_and_equity(self) -> Money:
        lines = self.liabilities + self.equity
        return Money(sum(line.amount.cents for line in lines))

    @property
    def balanced(self) -> bool:
        return self.total_assets == self.total_liabilities_and_equity

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "assets": {line.account: str(line.amount) for line in self.assets},
            "liabilities": {
                line.account: str(line.amount) for line in self.liabilities
            },
            "equity": {line.account: str(line.amount) for line in self.equity},
            "total_assets": str(self.total_assets),
            "total_liabilities_and_equity": str(self.total_liabilities_and_equity),
        }


def income_statement(
    ledger: Ledger, *, start: date | None = None, end: date | None = None
) -> IncomeStatement:
    """Return income and expenses posted from `start` through `end`, both days included.

    Contra-revenue (Income:Adjustments) shows as negative income.
    """
    if start is not None and end is not None and start > end:
        raise InvalidInputError(
            f"income statement period starts {start} after it ends {end}; swap the dates"
        )
    balances = ledger.account_balances(as_of=end, since=start)
    income = _lines(balances, "Income", -1)
    expenses = _lines(balances, "Expenses", 1)
    return IncomeStatement(start, end, income, expenses)


def balance_sheet(ledger: Ledger, *, as_of: date | None = None) -> BalanceSheet:
    """Return assets, liabilities and equity as of a day, with earnings to date in equity."""
    balances = ledger.account_balances(as_of=as_of)
    assets = _lines(balances, "Assets", 1)
    liabilities = _lines(balances, "Liabilities", -1)
    equity = list(_lines(balances, "Equity", -1))
    earnings = -sum(
        balance.posted.cents
        for account, balance in balances.items()
        if account.split(":")[0] in ("Income", "Expenses")
    )
    if earnings:
        equity.append(StatementLine(CURRENT_EARNINGS, Money(earnings)))
    return BalanceSheet(as_of, assets, liabilities, tuple(equity))


def _lines(balances: dict[str, Any], root: str, sign: int) -> tuple[StatementLine, ...]:
    return tuple(
        StatementLine(
            account, Money(sign * balance.posted.cents, balance.posted.currency)
        )
        for account, balance in balances.items()
        if account.split(":")[0] == root and balance.posted.cents
    )


def _section(title: str, lines: tuple[StatementLine, ...], total: Money) -> list[str]:
    width = max([len(line.account) for line in lines] + [30])
    out = [title]
    out += [f"  {line.account:<{width}}  {line.amount!s:>12}" for line in lines]
    out.append(f"  {'Total ' + title.lower():<{width}}  {total!s:>12}")
    return out


def format_income_statement(report: IncomeStatement) -> str:
    """Render the income statement as a fixed-width table."""
    period = f"{report.start or 'the first entry'} through {report.end or 'today'}"
    lines = [f"Income statement, {period}", ""]
    lines += _section("Income", report.income, report.total_income)
    lines += _section("Expenses", report.expenses, report.total_expenses)
    lines.append(f"Net income  {report.net_income!s:>12}")
    return "\n".join(lines)


def format_balance_sheet(report: BalanceSheet) -> str:
    """Render the balance sheet as a fixed-width table."""
    lines = [f"Balance sheet as of {report.as_of or 'today'}", ""]
    lines += _section("Assets", report.assets, report.total_assets)
    liabilities = Money(sum(line.amount.cents for line in report.liabilities))
    equity = Money(sum(line.amount.cents for line in report.equity))
    lines += _section("Liabilities", report.liabilities, liabilities)
    lines += _section("Equity", report.equity, equity)
    lines.append(f"Liabilities and equity  {report.total_liabilities_and_equity!s:>12}")
    return "\n".join(lines)
