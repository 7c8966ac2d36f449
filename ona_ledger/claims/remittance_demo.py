"""The demo's remittance step: post the payer's 835 and show both work queues."""

from __future__ import annotations

from pathlib import Path

from ona_ledger.claims import queues
from ona_ledger.claims.era import read_835
from ona_ledger.claims.posting import (
    expected_deposits,
    format_outcome,
    post_remittance_file,
)
from ona_ledger.ledger import Ledger

REMITTANCE_FILE = "remittance.835"


def run_remittance_step(ledger: Ledger, examples: Path) -> list[str]:
    """Post examples/clinic/remittance.835 twice and return the lines the demo prints.

    The second import shows that a remittance posts once.
    """
    path = examples / REMITTANCE_FILE
    out = []
    for outcome in post_remittance_file(ledger, read_835(path), actor="remittance"):
        out += format_outcome(outcome)
    for outcome in post_remittance_file(ledger, read_835(path), actor="remittance"):
        out += ["imported again: " + format_outcome(outcome)[0]]

    denials = queues.list_denials(ledger)
    out += ["", f"Correction queue: {len(denials)} open"]
    out += [line for item in denials for line in queues.format_denial(item)]
    unmatched = queues.list_unmatched(ledger)
    out += ["", f"Unmatched remittances: {len(unmatched)} open"]
    out += [line for item in unmatched for line in queues.format_unmatched(item)]
    out += ["", "Remittances expected at the bank"]
    out += [
        f"{deposit.trace_number} {deposit.amount} from payer {deposit.payer_id} "
        f"on {deposit.payment_date} ({deposit.method}, {deposit.account})"
        for deposit in expected_deposits(ledger)
    ]
    return out
