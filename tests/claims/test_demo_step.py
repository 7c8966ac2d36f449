"""The demo's claims step: one claim sent and checked by pyx12, one stopped, two PDFs."""

from __future__ import annotations

from pathlib import Path

import pytest

from ona_ledger.claims.claim import ClaimStatus
from ona_ledger.claims.lifecycle import get_claim
from ona_ledger.demo import DemoResult, run_demo
from tests.claims import claim_examples as ex


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo-claims")


@pytest.fixture(scope="module")
def demo(out_dir: Path) -> DemoResult:
    return run_demo(out_dir)


def test_blocked_claim_shown(demo: DemoResult) -> None:
    assert "claim V-2026-0310: stopped by the scrubber" in demo.claims
    reason = next(line for line in demo.claims if "[code_pair]" in line)
    assert "99213 is billed with 99214 on 2026-03-06" in reason


def test_clean_claim_submitted(demo: DemoResult) -> None:
    claim = get_claim(demo.ledger, "V-2026-0309").claim
    # Submitted in the claims step, then paid by the demo's 835 (one line denied).
    assert claim.submission is not None
    assert claim.status is ClaimStatus.PAID
    assert claim.payer_claim_number == "ACME0309001"
    assert get_claim(demo.ledger, "V-2026-0310").claim.status is ClaimStatus.DRAFT


def test_settled_claim_not_resent(demo: DemoResult, out_dir: Path) -> None:
    # The payer already settled V-2026-0302 during the week.
    assert "CLM*V-2026-0302" not in (out_dir / "claims.837").read_text()


def test_batch_passes_pyx12(demo: DemoResult, out_dir: Path) -> None:
    assert "pyx12: 0 errors" in demo.claims
    assert ex.pyx12_errors(out_dir / "claims.837") == []


def test_pdfs_written(demo: DemoResult, out_dir: Path) -> None:
    for name in ("cms1500-V-2026-0309.pdf", "superbill-INV-V-2026-0301.pdf"):
        assert (out_dir / name).read_bytes().startswith(b"%PDF"), name


def test_superbill_paid_in_full(demo: DemoResult) -> None:
    # INV-V-2026-0301: 99213 135.00 + 87880 32.00 = 167.00, paid by card.
    line = next(line for line in demo.claims if line.startswith("superbill"))
    assert line.endswith("167.00 charged, 167.00 paid, paid in full")
