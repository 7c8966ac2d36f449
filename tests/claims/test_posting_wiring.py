"""835 posting wired to the claim lifecycle and to bank reconciliation of its EFTs."""

from __future__ import annotations

from pathlib import Path

from ona_ledger import Ledger, Money
from ona_ledger.claims.claim import ClaimStatus
from ona_ledger.claims.era import parse_835
from ona_ledger.claims.lifecycle import draft_claims, get_claim
from ona_ledger.claims.posting import (
    RemittanceOutcome,
    expected_deposits,
    post_remittance_file,
)
from ona_ledger.reconcile.report import reconcile
from ona_ledger.reconcile.statements import read_ofx
from ona_ledger.reconcile.store import import_statement
from tests.claims.posting_helpers import era_text, sign_simple
from tests.claims.test_lifecycle import sent_claim
from tests.claims.visit_helpers import clinic, sign
from tests.reconcile.test_wiring import write_ofx


def post_text(ledger: Ledger, text: str) -> list[RemittanceOutcome]:
    return post_remittance_file(ledger, parse_835(text))


def charges(ledger: Ledger, claim_id: str) -> list[Money]:
    """Return the charges of a stored claim's lines: 99214, then 36415."""
    return [line.charge for line in get_claim(ledger, claim_id).claim.lines]


def claim_loop(
    claim_id: str, status: str, lines: list[tuple[str, Money, Money, str]]
) -> str:
    """Return a CLP loop whose lines are (code, charge, paid, CAS adjustment code)."""
    total = Money(sum(charge.cents for _code, charge, _paid, _cas in lines))
    paid = Money(sum(paid.cents for _code, _charge, paid, _cas in lines))
    text = f"CLP*{claim_id}*{status}*{total}*{paid}**12*PCN-{claim_id}"
    for code, charge, line_paid, cas in lines:
        text += f"~SVC*HC:{code}*{charge}*{line_paid}~DTM*472*20260302"
        if charge != line_paid:
            text += f"~CAS*CO*{cas}*{charge - line_paid}"
    return text


def test_paid_claim_marked_paid(memory_ledger: Ledger, tmp_path: Path) -> None:
    sent_claim(memory_ledger, tmp_path, "V-30")
    first, second = charges(memory_ledger, "V-30")
    loop = claim_loop(
        "V-30",
        "1",
        [("99214", first, Money.of("100.00"), "45"), ("36415", second, second, "")],
    )
    (outcome,) = post_text(
        memory_ledger, era_text([loop], str(Money.of("100.00") + second))
    )
    claim = get_claim(memory_ledger, "V-30").claim
    assert claim.status is ClaimStatus.PAID
    assert claim.payer_claim_number == "PCN-V-30"
    assert outcome.claims[0].decision == "paid"


def test_denied_claim_marked_denied(memory_ledger: Ledger, tmp_path: Path) -> None:
    sent_claim(memory_ledger, tmp_path, "V-31")
    first, second = charges(memory_ledger, "V-31")
    zero = Money.zero()
    loop = claim_loop(
        "V-31", "4", [("99214", first, zero, "197"), ("36415", second, zero, "197")]
    )
    post_text(memory_ledger, era_text([loop], "0"))
    claim = get_claim(memory_ledger, "V-31").claim
    assert claim.status is ClaimStatus.DENIED
    assert claim.status_reason == "denied by the payer: CO-197"
    assert claim.payer_claim_number == "PCN-V-31"


def test_all_lines_denied_marks_denied(memory_ledger: Ledger, tmp_path: Path) -> None:
    sent_claim(memory_ledger, tmp_path, "V-32")
    first, second = charges(memory_ledger, "V-32")
    zero = Money.zero()
    loop = claim_loop(
        "V-32", "1", [("99214", first, zero, "16"), ("36415", second, zero, "16")]
    )
    post_text(memory_ledger, era_text([loop], "0"))
    assert get_claim(memory_ledger, "V-32").claim.status is ClaimStatus.DENIED


def test_line_denial_leaves_claim_paid(memory_ledger: Ledger, tmp_path: Path) -> None:
    sent_claim(memory_ledger, tmp_path, "V-33")
    first, second = charges(memory_ledger, "V-33")
    loop = claim_loop(
        "V-33",
        "1",
        [("99214", first, first, ""), ("36415", second, Money.zero(), "16")],
    )
    (outcome,) = post_text(memory_ledger, era_text([loop], str(first)))
    assert get_claim(memory_ledger, "V-33").claim.status is ClaimStatus.PAID
    assert len(outcome.claims[0].denials) == 1


def test_draft_claim_status_kept(memory_ledger: Ledger) -> None:
    sign(memory_ledger, "V-34")
    draft_claims(memory_ledger, clinic().config)
    first, second = charges(memory_ledger, "V-34")
    loop = claim_loop(
        "V-34", "1", [("99214", first, first, ""), ("36415", second, second, "")]
    )
    (outcome,) = post_text(memory_ledger, era_text([loop], str(first + second)))
    # The money posts although a draft cannot move to paid.
    assert memory_ledger.balance("Assets:Clearing:Insurance").posted == first + second
    assert get_claim(memory_ledger, "V-34").claim.status is ClaimStatus.DRAFT
    assert outcome.claims[0].notes[-1].startswith("claim status not recorded")


def test_claim_without_record_posts(memory_ledger: Ledger) -> None:
    sign_simple(memory_ledger, "V-35", [("99213", (), "100.00")])
    loop = claim_loop(
        "V-35", "1", [("99213", Money.of("100.00"), Money.of("80.00"), "45")]
    )
    (outcome,) = post_text(memory_ledger, era_text([loop], "80.00"))
    assert outcome.claims[0].decision == "paid"
    assert outcome.claims[0].notes == ()


def test_settled_eft_not_expected(memory_ledger: Ledger, tmp_path: Path) -> None:
    sign_simple(memory_ledger, "V-36", [("99213", (), "100.00")])
    loop = claim_loop(
        "V-36", "1", [("99213", Money.of("100.00"), Money.of("80.00"), "45")]
    )
    post_text(memory_ledger, era_text([loop], "80.00", trace="EFT-7710"))
    before = [deposit.trace_number for deposit in expected_deposits(memory_ledger)]
    line = ("B-1", "20260321", "80.00", "ACME HEALTH", "TRN*1*EFT-7710*1999999999")
    import_statement(
        memory_ledger, read_ofx(write_ofx(tmp_path / "b.ofx", [line], "80.00"))
    )
    report = reconcile(memory_ledger)
    assert before == ["EFT-7710"]
    assert len(report.posted_entries) == 1
    assert expected_deposits(memory_ledger) == []
