"""The claims commands run as a user runs them: scrub, 837P, cms1500 and superbill."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.claims import claim_examples as ex
from tests.claims.visit_helpers import CLINIC_FILE, EXAMPLES

BOOK = "demo-clinic"
CLINIC = ["--clinic", str(CLINIC_FILE), "--book", BOOK]
# The date the claims go out, inside the example payer's 90-day filing limit.
SCRUB = ["claims", "scrub", *CLINIC, "--today", "2026-03-06"]


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ona_ledger.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def visit(visit_id: str, patient_id: str, lines: list[str], **extra: Any) -> Any:
    data = {
        "visit_id": visit_id,
        "book_id": BOOK,
        "patient_id": patient_id,
        "provider": {"provider_id": "DR-ADAMS", "npi": "1234567893"},
        "location": "MAIN",
        "date_of_service": "2026-03-02",
        "signed_at": "2026-03-02T17:30:00Z",
        "diagnoses": ["J02.9"],
        "lines": [{"code": code} for code in lines],
        "coverage": {
            "kind": "insured",
            "payer_id": "ACME-HEALTH",
            "member_id": f"M-{patient_id}",
        },
    }
    data.update(extra)
    return data


def book_with(tmp_path: Path, visits: list[Any]) -> Path:
    assert run(tmp_path, "init", "--book", BOOK).returncode == 0
    (tmp_path / "visits.json").write_text(json.dumps(visits), encoding="utf-8")
    fees = str(EXAMPLES / "fee_schedule.csv")
    posted = run(tmp_path, "post-visits", "visits.json", "--fees", fees, "--book", BOOK)
    assert posted.returncode == 0, posted.stderr
    return tmp_path


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """Two insured visits (one a blocked code pair) and one self-pay visit."""
    return book_with(
        tmp_path,
        [
            visit("V-1", "P-1001", ["99213", "87880"]),
            visit("V-2", "P-1002", ["99214", "99213"]),
            visit("V-3", "P-1003", ["99213"], coverage={"kind": "self_pay"}),
        ],
    )


def test_scrub_blocked_exits_one(book: Path) -> None:
    result = run(book, *SCRUB)
    assert result.returncode == 1
    assert "claim V-1: scrubbed clean" in result.stdout
    assert "claim V-2: blocked" in result.stdout
    assert "lines.procedure_code [code_pair]" in result.stdout
    assert "remove 99213" in result.stdout


def test_scrub_clean_exits_zero(tmp_path: Path) -> None:
    folder = book_with(tmp_path, [visit("V-1", "P-1001", ["99213"])])
    result = run(folder, *SCRUB, "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout) == [
        {"claim": "V-1", "passed": True, "findings": []}
    ]


def test_837p_passes_pyx12(book: Path) -> None:
    run(book, *SCRUB)
    result = run(book, "claims", "837P", *CLINIC, "--out", "batch.837")
    assert result.returncode == 0, result.stderr
    assert "to payer ACME-HEALTH: V-1 submitted" in result.stdout
    assert ex.pyx12_errors(book / "batch.837") == []


def test_837p_twice_sends_nothing(book: Path) -> None:
    run(book, *SCRUB)
    run(book, "claims", "837P", *CLINIC, "--out", "batch.837")
    again = run(book, "claims", "837P", *CLINIC, "--out", "again.837")
    assert again.returncode == 2
    assert "no scrubbed claims" in again.stderr
    assert not (book / "again.837").exists()


def test_cms1500_writes_pdf(book: Path) -> None:
    run(book, *SCRUB)
    result = run(
        book, "claims", "cms1500", "V-1", *CLINIC, "--out", "v1.pdf", "--data-only"
    )
    assert result.returncode == 0, result.stderr
    assert (book / "v1.pdf").read_bytes().startswith(b"%PDF")


def test_cms1500_bad_offset(book: Path) -> None:
    run(book, *SCRUB)
    result = run(
        book, "claims", "cms1500", "V-1", *CLINIC, "--out", "x.pdf", "--offset", "3"
    )
    assert result.returncode == 2
    assert "RIGHT,DOWN" in result.stderr


def test_cms1500_unknown_claim(book: Path) -> None:
    result = run(book, "claims", "cms1500", "V-9", *CLINIC, "--out", "x.pdf")
    assert result.returncode == 2
    assert "claim V-9 does not exist" in result.stderr


def test_superbill_writes_pdf(book: Path) -> None:
    result = run(book, "superbill", "INV-V-3", *CLINIC, "--out", "sb.pdf", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["total_fees"] == "135.00"
    assert document["paid_in_full"] is False
    assert (book / "sb.pdf").read_bytes().startswith(b"%PDF")


def test_superbill_of_insured_invoice(book: Path) -> None:
    result = run(book, "superbill", "INV-V-1", *CLINIC, "--out", "sb.pdf")
    assert result.returncode == 2
    assert "superbills are for self-pay" in result.stderr


def test_missing_clinic_file(book: Path) -> None:
    result = run(book, "claims", "scrub", "--clinic", "nowhere.json", "--book", BOOK)
    assert result.returncode == 2
    assert "nowhere.json" in result.stderr
