"""The trial balance: every account's debit or credit balance, which must sum to zero."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ona_ledger.ledger import Ledger
from ona_ledger.money import Money


@dataclass(frozen=True, slots=True)
class TrialBalanceRow:
    account: str
    debit: Money
    credit: Money


@dataclass(frozen=True, slots=True)
class TrialBalance:
    as_of: date | None
    rows: tuple[TrialBalanceRow, ...]

    @property
    def total_debit(self) -> Money:
        return Money(sum(row.debit.cents for row in self.rows))

    @property
    def total_credit(self) -> Money:
        return Money(sum(row.credit.cents for row in self.rows))

    @property
    def balanced(self) -> bool:
        return self.total_debit == self.total_credit


def trial_balance(ledger: Ledger, *, as_of: date | None = None) -> TrialBalance:
    """Build the trial balance of posted amounts from the maintained account balances."""
    rows = []
    for account, balance in ledger.account_balances(as_of=as_of).items():
        cents = balance.posted.cents
        if cents == 0:
            continue
        debit = Money(max(cents, 0), balance.posted.currency)
        credit = Money(max(-cents, 0), balance.posted.currency)
        rows.append(TrialBalanceRow(account, debit, credit))
    return TrialBalance(as_of, tuple(rows))


def format_trial_balance(report: TrialBalance) -> str:
    """Render the trial balance as a fixed-width table."""
    width = max([len(row.account) for row in report.rows] + [20])
    lines = [f"{'Account':<{width}}  {'Debit':>12}  {'Credit':>12}"]
    for row in report.rows:
        debit = f"{row.debit:}" if row.debit.cents else ""
        credit = f"{row.credit}" if row.credit.cents else ""
        lines.append(f"{row.account:<{width}}  {debit:>12}  {credit:>12}")
    lines.append(
        f"{'Total':<{width}}  {report.total_debit!s:>12}  {report.total_credit!s:>12}"
    )
    return "\n".join(lines)
