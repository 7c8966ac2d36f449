"""The demo's reconciled month: import the clinic's March bank statement and reconcile it."""

from __future__ import annotations

from pathlib import Path

from ona_ledger.ledger import Ledger
from ona_ledger.reconcile.report import confirm_difference, reconcile
from ona_ledger.reconcile.statements import read_ofx
from ona_ledger.reconcile.store import import_statement

STATEMENT_FILE = "bank-2026-03.ofx"


def run_reconcile_step(ledger: Ledger, examples: Path) -> list[str]:
    """Import the statement twice, reconcile, confirm its differences, and reconcile again.

    Returns the lines the demo prints. Dates come from the statement and the ledger's
    clock, so the output is the same on every run.
    """
    path = examples / STATEMENT_FILE
    first = import_statement(ledger, read_ofx(path))
    again = import_statement(ledger, read_ofx(path))
    out = [
        f"imported {path.name}: {len(first.added)} lines; imported again: "
        f"{len(again.added)} added, {len(again.duplicates)} already stored",
    ]

    report = reconcile(ledger, actor="bookkeeper")
    out.append(
        f"first pass: matched {len(report.matched)}, differences to confirm "
        f"{len(report.differences)}, unmatched lines {len(report.unmatched_lines)}, "
        f"unmatched ledger items {len(report.unmatched_items)}"
    )
    if report.posted_entries:
        out.append(
            f"EFT moved from clearing into the bank: entry {', '.join(report.posted_entries)}"
        )
    for difference in report.differences:
        entry_id = confirm_difference(
            ledger,
            difference.fitid,
            bank_account_id=difference.bank_account_id,
            actor="bookkeeper",
        )
        out.append(
            f"confirmed {difference.suggestion} {difference.fitid} "
            f"({difference.amount}): entry {entry_id}"
        )

    final = reconcile(ledger, actor="bookkeeper")
    out += final.summary_lines()
    return out
