"""The demo's claims step: draft and scrub the week's claims, write the 837P and the PDFs.

pyx12 (test extra) checks the 837P and reportlab (pdf extra) draws the PDFs;
without them the step skips that part and prints why.
"""

from __future__ import annotations

import importlib.util
import io
import json
import logging
from pathlib import Path
from typing import Any

from ona_ledger.billing.common import RECORD_VISIT
from ona_ledger.billing.invoices import InvoiceStatus, get_invoice
from ona_ledger.claims.claim import ClaimStatus
from ona_ledger.claims.cms1500 import render_cms1500
from ona_ledger.claims.from_visit import Clinic, load_clinic, superbill_from_invoice
from ona_ledger.claims.lifecycle import (
    draft_claims,
    get_claim,
    scrub_claims,
    submit_claims,
)
from ona_ledger.claims.superbill import render_superbill
from ona_ledger.ledger import Ledger

logger = logging.getLogger(__name__)

BATCH_FILE = "claims.837"


def pyx12_errors(path: Path) -> list[str] | None:
    """Validate an X12 file with pyx12; return its errors, or None when pyx12 is missing."""
    if importlib.util.find_spec("pyx12") is None:
        return None
    import pyx12.params
    import pyx12.x12n_document

    messages: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                messages.append(record.getMessage())

    handler = _Collect()
    pyx12_logger = logging.getLogger("pyx12")
    propagate = pyx12_logger.propagate
    pyx12_logger.addHandler(handler)
    # pyx12 logs each finding itself; the caller prints the collected list.
    pyx12_logger.propagate = False
    report = io.StringIO()
    try:
        valid = pyx12.x12n_document.x12n_document(
            pyx12.params.params(), str(path), io.StringIO(), None, None, report
        )
    finally:
        pyx12_logger.removeHandler(handler)
        pyx12_logger.propagate = propagate
    messages += _report_errors(json.loads(report.getvalue() or "{}"))
    if not valid and not messages:
        messages.append("pyx12 reported the file invalid without a message")
    return messages


def _report_errors(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "errors" and isinstance(value, list):
                found += [json.dumps(error) for error in value]
            else:
                found += _report_errors(value)
    elif isinstance(node, list):
        for item in node:
            found += _report_errors(item)
    return found


def run_claims_step(ledger: Ledger, examples: Path, out_dir: Path) -> list[str]:
    """Run the end-of-week claims work and return what happened, as lines of text."""
    clinic = load_clinic(examples / "clinic.json")
    today = ledger.clock().date()
    draft_claims(ledger, clinic.config)
    results = scrub_claims(ledger, clinic.rules, today=today)

    out = []
    for result in results:
        if result.passed:
            out.append(f"claim {result.claim_id}: scrubbed clean")
            continue
        out.append(f"claim {result.claim_id}: stopped by the scrubber")
        out += [f"    {finding}" for finding in result.errors]
    if not any(result.passed for result in results):
        return [*out, "no claim to send"]

    batch = out_dir / BATCH_FILE
    written = submit_claims(
        ledger,
        clinic.demographics,
        clinic.config.interchange,
        batch,
        now=ledger.clock(),
    )
    for transaction in written.transactions:
        out.append(
            f"837P {batch.name}: interchange {written.interchange_control_number:09d}, "
            f"payer {transaction.payer_id}, claims {', '.join(transaction.claim_ids)} "
            "submitted (no money moves)"
        )
    errors = pyx12_errors(batch)
    if errors is None:
        out.append("pyx12: not installed, 837P not checked (pip install pyx12)")
    else:
        out.append(f"pyx12: {len(errors)} errors")
        out += [f"    {error}" for error in errors]

    if importlib.util.find_spec("reportlab") is None:
        return [*out, "PDFs skipped: install the pdf extra (reportlab)"]
    first_claim = written.transactions[0].claim_ids[0]
    out.append(_write_cms1500(ledger, clinic, first_claim, out_dir))
    out.append(_write_superbill(ledger, clinic, out_dir))
    return out


def _write_cms1500(ledger: Ledger, clinic: Clinic, claim_id: str, out_dir: Path) -> str:
    claim = get_claim(ledger, claim_id).claim
    path = out_dir / f"cms1500-{claim_id}.pdf"
    signed_on = ledger.clock().date()
    path.write_bytes(render_cms1500(claim, clinic.demographics, signed_on=signed_on))
    status = ClaimStatus(claim.status).value
    return f"CMS-1500 {path.name}: claim {claim_id} ({status})"


def _write_superbill(ledger: Ledger, clinic: Clinic, out_dir: Path) -> str:
    """Write the superbill of the first self-pay invoice that is paid."""
    for visit_id, record in ledger.store.list_records(ledger.book_id, RECORD_VISIT):
        if record["visit"]["coverage"]["kind"] != "self_pay" or record.get("voided"):
            continue
        invoice = get_invoice(ledger, record["invoice_id"])
        if invoice.status is not InvoiceStatus.PAID:
            continue
        superbill = superbill_from_invoice(
            ledger, invoice.invoice_id, clinic, issued_on=ledger.clock().date()
        )
        path = out_dir / f"superbill-{invoice.invoice_id}.pdf"
        path.write_bytes(render_superbill(superbill, clinic.demographics))
        state = "paid in full" if superbill.paid_in_full else "balance due"
        return (
            f"superbill {path.name}: visit {visit_id}, {superbill.total_fees} "
            f"charged, {superbill.amount_paid} paid, {state}"
        )
    return "superbill: no paid self-pay invoice this week"
