"""Claim lifecycle in records: drafts, scrubbing, duplicates, 837P submission, adjudication."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ona_ledger.billing.charges import void_visit
from ona_ledger.billing.insurance import post_claim_payment
from ona_ledger.claims.claim import ClaimStatus
from ona_ledger.claims.lifecycle import (
    draft_claims,
    get_claim,
    list_claims,
    mark_claim_adjudicated,
    scrub_claims,
    submit_claims,
)
from ona_ledger.errors import ClaimStateError, InvalidClaimError
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money
from tests.claims import claim_examples as ex
from tests.claims import visit_helpers as vh

TODAY = date(2026, 3, 6)
TWO_LEVELS = [{"code": "99214"}, {"code": "99213"}]


def scrub_all(ledger: Ledger) -> dict[str, list[str]]:
    clinic = vh.clinic()
    draft_claims(ledger, clinic.config)
    results = scrub_claims(ledger, clinic.rules, today=TODAY)
    return {r.claim_id: sorted(f.rule for f in r.errors) for r in results}


def submit(ledger: Ledger, out: Path) -> None:
    clinic = vh.clinic()
    submit_claims(
        ledger, clinic.demographics, clinic.config.interchange, out, now=ledger.clock()
    )


def status(ledger: Ledger, claim_id: str) -> ClaimStatus:
    return get_claim(ledger, claim_id).claim.status


def test_clean_claim_scrubbed(memory_ledger: Ledger) -> None:
    vh.sign(memory_ledger, "V-1")
    assert scrub_all(memory_ledger) == {"V-1": []}
    assert status(memory_ledger, "V-1") is ClaimStatus.SCRUBBED


def test_code_pair_blocks_claim(memory_ledger: Ledger) -> None:
    vh.sign(memory_ledger, "V-2", lines=TWO_LEVELS)
    assert scrub_all(memory_ledger) == {"V-2": ["code_pair"]}
    stored = get_claim(memory_ledger, "V-2")
    assert stored.claim.status is ClaimStatus.DRAFT
    assert stored.findings[0].fix.startswith("remove 99213")


def test_self_pay_gets_no_claim(memory_ledger: Ledger) -> None:
    vh.sign(memory_ledger, "V-3", coverage=vh.SELF_PAY)
    assert scrub_all(memory_ledger) == {}


def test_voided_visit_gets_no_claim(memory_ledger: Ledger) -> None:
    vh.sign(memory_ledger, "V-4")
    void_visit(memory_ledger, "V-4", actor="test", reason="wrong chart")
    assert scrub_all(memory_ledger) == {}


def test_settled_visit_gets_no_claim(memory_ledger: Ledger) -> None:
    vh.sign(memory_ledger, "V-5")
    post_claim_payment(
        memory_ledger,
        "V-5",
        paid=Money.of("150.00"),
        contractual=Money.of("63.00"),
        patient_responsibility=Money.zero(),
        actor="test",
        effective_date=TODAY,
        trace_number="T-1",
    )
    assert scrub_all(memory_ledger) == {}


def test_amended_visit_refreshes_draft(memory_ledger: Ledger) -> None:
    vh.sign(memory_ledger, "V-6", lines=TWO_LEVELS)
    assert scrub_all(memory_ledger) == {"V-6": ["code_pair"]}
    vh.sign(
        memory_ledger,
        "V-6",
        lines=[{"code": "99214"}],
        signed_at="2026-03-02T18:00:00Z",
    )
    assert scrub_all(memory_ledger) == {"V-6": []}
    assert [
        line.procedure_code for line in get_claim(memory_ledger, "V-6").claim.lines
    ] == ["99214"]


def test_duplicate_in_same_run_blocked(memory_ledger: Ledger) -> None:
    vh.sign(memory_ledger, "V-7")
    vh.sign(memory_ledger, "V-8")
    assert scrub_all(memory_ledger) == {"V-7": [], "V-8": ["duplicate"]}


def test_duplicate_of_sent_claim_blocked(memory_ledger: Ledger, tmp_path: Path) -> None:
    vh.sign(memory_ledger, "V-9")
    scrub_all(memory_ledger)
    submit(memory_ledger, tmp_path / "first.837")
    vh.sign(memory_ledger, "V-10")
    assert scrub_all(memory_ledger) == {"V-10": ["duplicate"]}


def test_submit_writes_valid_837p(memory_ledger: Ledger, tmp_path: Path) -> None:
    vh.sign(memory_ledger, "V-11")
    vh.sign(memory_ledger, "V-12", patient_id="P-1009", lines=[{"code": "99213"}])
    scrub_all(memory_ledger)
    out = tmp_path / "batch.837"
    submit(memory_ledger, out)
    assert ex.pyx12_errors(out) == []
    assert "CLM*V-11*213.00" in out.read_text()
    assert "CLM*V-12*135.00" in out.read_text()


def test_submit_marks_claims(memory_ledger: Ledger, tmp_path: Path) -> None:
    vh.sign(memory_ledger, "V-13")
    scrub_all(memory_ledger)
    submit(memory_ledger, tmp_path / "batch.837")
    claim = get_claim(memory_ledger, "V-13").claim
    assert claim.status is ClaimStatus.SUBMITTED
    assert claim.submission is not None
    assert claim.submission.file_name == "batch.837"
    assert claim.submission.interchange_control_number == 1


def test_submit_moves_no_money(memory_ledger: Ledger, tmp_path: Path) -> None:
    vh.sign(memory_ledger, "V-14")
    scrub_all(memory_ledger)
    before = len(memory_ledger.entries())
    submit(memory_ledger, tmp_path / "batch.837")
    assert len(memory_ledger.entries()) == before


def test_blocked_claim_not_sent(memory_ledger: Ledger, tmp_path: Path) -> None:
    vh.sign(memory_ledger, "V-15")
    vh.sign(memory_ledger, "V-16", patient_id="P-1009", lines=TWO_LEVELS)
    scrub_all(memory_ledger)
    out = tmp_path / "batch.837"
    submit(memory_ledger, out)
    assert "CLM*V-16" not in out.read_text()
    assert status(memory_ledger, "V-16") is ClaimStatus.DRAFT


def test_nothing_to_submit_rejected(memory_ledger: Ledger, tmp_path: Path) -> None:
    out = tmp_path / "empty.837"
    with pytest.raises(InvalidClaimError, match="no scrubbed claims"):
        submit(memory_ledger, out)
    assert not out.exists()


def test_control_numbers_never_repeat(memory_ledger: Ledger, tmp_path: Path) -> None:
    vh.sign(memory_ledger, "V-17")
    scrub_all(memory_ledger)
    submit(memory_ledger, tmp_path / "one.837")
    vh.sign(memory_ledger, "V-18", patient_id="P-1009")
    scrub_all(memory_ledger)
    submit(memory_ledger, tmp_path / "two.837")
    first = get_claim(memory_ledger, "V-17").claim.submission
    second = get_claim(memory_ledger, "V-18").claim.submission
    assert first is not None and second is not None
    assert second.interchange_control_number == first.interchange_control_number + 1
    assert second.transaction_control_number == first.transaction_control_number + 1


def test_missing_demographics_writes_nothing(
    memory_ledger: Ledger, tmp_path: Path
) -> None:
    vh.sign(memory_ledger, "V-19", patient_id="P-UNKNOWN")
    scrub_all(memory_ledger)
    out = tmp_path / "batch.837"
    with pytest.raises(InvalidClaimError, match="P-UNKNOWN"):
        submit(memory_ledger, out)
    assert not out.exists()
    assert status(memory_ledger, "V-19") is ClaimStatus.SCRUBBED


def sent_claim(ledger: Ledger, tmp_path: Path, visit_id: str) -> None:
    vh.sign(ledger, visit_id)
    scrub_all(ledger)
    submit(ledger, tmp_path / f"{visit_id}.837")


def test_paid_passes_through_accepted(memory_ledger: Ledger, tmp_path: Path) -> None:
    sent_claim(memory_ledger, tmp_path, "V-20")
    claim = mark_claim_adjudicated(
        memory_ledger, "V-20", ClaimStatus.PAID, payer_claim_number="PCN-1"
    )
    assert claim is not None
    assert claim.status is ClaimStatus.PAID
    assert claim.payer_claim_number == "PCN-1"
    assert status(memory_ledger, "V-20") is ClaimStatus.PAID


def test_adjudication_repeat_changes_nothing(
    memory_ledger: Ledger, tmp_path: Path
) -> None:
    sent_claim(memory_ledger, tmp_path, "V-21")
    first = mark_claim_adjudicated(
        memory_ledger, "V-21", ClaimStatus.DENIED, reason="CO-197"
    )
    second = mark_claim_adjudicated(memory_ledger, "V-21", ClaimStatus.DENIED)
    assert first == second
    assert second is not None
    assert second.status_reason == "CO-197"


def test_adjudication_of_unknown_claim(memory_ledger: Ledger) -> None:
    assert mark_claim_adjudicated(memory_ledger, "V-404", ClaimStatus.PAID) is None


def test_adjudication_needs_decision(memory_ledger: Ledger, tmp_path: Path) -> None:
    sent_claim(memory_ledger, tmp_path, "V-22")
    with pytest.raises(ClaimStateError, match="scrubbed"):
        mark_claim_adjudicated(memory_ledger, "V-22", ClaimStatus.SCRUBBED)


def test_paid_after_denial_rejected(memory_ledger: Ledger, tmp_path: Path) -> None:
    sent_claim(memory_ledger, tmp_path, "V-23")
    mark_claim_adjudicated(memory_ledger, "V-23", ClaimStatus.DENIED)
    with pytest.raises(ClaimStateError, match="denied"):
        mark_claim_adjudicated(memory_ledger, "V-23", ClaimStatus.PAID)


def test_sent_claim_not_redrafted(memory_ledger: Ledger, tmp_path: Path) -> None:
    sent_claim(memory_ledger, tmp_path, "V-24")
    assert scrub_all(memory_ledger) == {}
    assert [c.claim.claim_id for c in list_claims(memory_ledger)] == ["V-24"]


def test_accented_name_submits(memory_ledger: Ledger, tmp_path: Path) -> None:
    vh.sign(memory_ledger, "V-30")
    scrub_all(memory_ledger)
    clinic = vh.clinic()
    persons = dict(clinic.demographics.persons)
    persons["P-1008"] = persons["P-1008"].model_copy(
        update={"last_name": "Müller", "first_name": "José"}
    )
    demographics = clinic.demographics.model_copy(update={"persons": persons})
    out = tmp_path / "batch.837"
    submit_claims(
        memory_ledger,
        demographics,
        clinic.config.interchange,
        out,
        now=memory_ledger.clock(),
    )
    assert "*Muller*Jose" in out.read_text(encoding="ascii")
    assert status(memory_ledger, "V-30") is ClaimStatus.SUBMITTED


def test_failed_write_leaves_no_partial(memory_ledger: Ledger, tmp_path: Path) -> None:
    vh.sign(memory_ledger, "V-31")
    scrub_all(memory_ledger)
    out = tmp_path / "batch.837"
    out.mkdir()
    with pytest.raises(IsADirectoryError):
        submit(memory_ledger, out)
    assert list(tmp_path.iterdir()) == [out]
    assert status(memory_ledger, "V-31") is ClaimStatus.SCRUBBED


def test_control_character_writes_nothing(
    memory_ledger: Ledger, tmp_path: Path
) -> None:
    vh.sign(memory_ledger, "V-32")
    scrub_all(memory_ledger)
    clinic = vh.clinic()
    persons = dict(clinic.demographics.persons)
    persons["P-1008"] = persons["P-1008"].model_copy(update={"first_name": "Al\x07"})
    demographics = clinic.demographics.model_copy(update={"persons": persons})
    with pytest.raises(InvalidClaimError, match="person P-1008 first_name"):
        submit_claims(
            memory_ledger,
            demographics,
            clinic.config.interchange,
            tmp_path / "batch.837",
            now=memory_ledger.clock(),
        )
    assert list(tmp_path.iterdir()) == []
    assert status(memory_ledger, "V-32") is ClaimStatus.SCRUBBED
