"""Posting 835 remittances: every sample file, matching, reversals, PLB, idempotency, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ona_ledger import Ledger, Money, open_ledger
from ona_ledger.billing.charges import sign_visit
from ona_ledger.billing.fees import FeeSchedule
from ona_ledger.claims import queues
from ona_ledger.claims.era import parse_835, read_835
from ona_ledger.claims.posting import (
    RECORD_REMITTANCE,
    RemittanceOutcome,
    expected_deposits,
    match_remittance,
    post_remittance_file,
)
from ona_ledger.cli import main
from ona_ledger.errors import RemittanceBalanceError, RemittancePostingError
from tests.claims.helpers import ERA_DIR, ERA_FILES, strict_counts
from tests.claims.posting_helpers import (
    era_text,
    insurance_open,
    sign_claims,
    sign_simple,
    trial_balance_sum,
    visit_for_claim,
)
from tests.conftest import FakeClock

# What each sample leaves open with the payer, by claim: zero where the payer
# decided every line, the denied lines' amounts where it denied some.
LEFT_OPEN = {
    "e8p-blue_cross_nc_sample.835": {"200200964A52": "0.00"},
    "e8p-emedny_sample.835": {
        "EMEDNY-1": "0.00",
        "EMEDNY-2": "34.00",
        "EMEDNY-3": "22.75",
    },
    "e8p-united_healthcare_legacy_sample.835": {
        "001-18573-358": "0.00",
        "001-18604-358": "0.00",
    },
    "lfh-cob-contractural-adjustment.835": {"0001000055": "0.00"},
    "lfh-managed-care.835": {"5554555444": "0.00", "8765432112": "0.00"},
    "lfh-secondary-payment.835": {"L0004828311": "0.00", "0001000053": "0.00"},
    "lfh-tertiary-payment.835": {"0001000054": "0.00"},
}


def usd(text: str) -> Money:
    return Money.of(text)


def post_text(ledger: Ledger, text: str) -> list[RemittanceOutcome]:
    return post_remittance_file(ledger, parse_835(text))


def post_sample(ledger: Ledger, path: Path) -> None:
    """Sign the sample's claims, post it, and match claims whose ids no visit can take."""
    remittance_file = read_835(path, strict_counts=strict_counts(path))
    remittance = remittance_file.remittances[0]
    sign_claims(ledger, remittance)
    post_remittance_file(ledger, remittance_file)
    # eMedNY's three claims share the id "PATIENT ACCOUNT NUMBER", which no
    # visit id may contain (spaces), so they land unmatched and are matched here.
    for number, item in enumerate(queues.list_unmatched(ledger), 1):
        claim = remittance.claims[number - 1]
        visit = visit_for_claim(ledger.book_id, claim, f"EMEDNY-{number}")
        sign_visit(ledger, visit, FeeSchedule(), actor="DR-A")
        match_remittance(ledger, item["key"], visit.visit_id, actor="biller")


@pytest.mark.parametrize("path", ERA_FILES, ids=lambda path: path.name)
def test_sample_leaves_payer_open(memory_ledger: Ledger, path: Path) -> None:
    post_sample(memory_ledger, path)
    for claim_id, amount in LEFT_OPEN[path.name].items():
        assert insurance_open(memory_ledger, claim_id) == usd(amount), claim_id


@pytest.mark.parametrize("path", ERA_FILES, ids=lambda path: path.name)
def test_sample_books_check_and_patient_share(
    memory_ledger: Ledger, path: Path
) -> None:
    post_sample(memory_ledger, path)
    remittance = read_835(path, strict_counts=strict_counts(path)).remittances[0]
    payment = remittance.payment
    account = (
        "Assets:Clearing:Undeposited"
        if payment.method == "CHK"
        else "Assets:Clearing:Insurance"
    )
    patient_share = Money(
        sum(c.patient_responsibility.cents for c in remittance.claims)
    )
    assert memory_ledger.balance(account).posted == payment.total_paid
    assert memory_ledger.balance("Assets:Receivable:Patients").posted == patient_share
    assert memory_ledger.balance(queues.SUSPENSE_REMITTANCES).posted.is_zero()
    assert trial_balance_sum(memory_ledger) == 0
    assert memory_ledger.verify().ok


def test_sample_keeps_trace_for_bank(memory_ledger: Ledger) -> None:
    post_sample(memory_ledger, ERA_DIR / "lfh-managed-care.835")
    entries = memory_ledger.entries(account="Assets:Clearing:Insurance")
    (deposit,) = expected_deposits(memory_ledger)
    assert deposit.trace_number == "7170066655"
    assert deposit.amount == usd("945.00")
    assert deposit.account == "Assets:Clearing:Insurance"
    assert all(e.meta["trace_number"] == "7170066655" for e in entries)


def test_sample_payment_date_from_bpr16(memory_ledger: Ledger) -> None:
    post_sample(memory_ledger, ERA_DIR / "e8p-united_healthcare_legacy_sample.835")
    (deposit,) = expected_deposits(memory_ledger)
    assert str(deposit.payment_date) == "2021-02-04"


def test_reimport_posts_nothing(memory_ledger: Ledger) -> None:
    path = ERA_DIR / "lfh-managed-care.835"
    post_sample(memory_ledger, path)
    before = memory_ledger.store.head(memory_ledger.book_id).seq
    (again,) = post_remittance_file(memory_ledger, read_835(path))
    assert again.already_posted
    assert memory_ledger.store.head(memory_ledger.book_id).seq == before


def test_unbalanced_file_rejected_whole(memory_ledger: Ledger) -> None:
    path = ERA_DIR / "lfh-managed-care.835"
    text = path.read_text().replace(
        "SVC*HC:99211*800.00*500.00", "SVC*HC:99211*800.00*510.00"
    )
    sign_claims(memory_ledger, parse_835(text).remittances[0])
    before = memory_ledger.store.head(memory_ledger.book_id).seq
    with pytest.raises(RemittanceBalanceError, match="claim 5554555444 service line 1"):
        post_remittance_file(memory_ledger, parse_835(text))
    assert memory_ledger.store.head(memory_ledger.book_id).seq == before
    assert not memory_ledger.store.list_records(
        memory_ledger.book_id, RECORD_REMITTANCE
    )


def test_unbalanced_error_names_difference(memory_ledger: Ledger) -> None:
    text = (ERA_DIR / "lfh-managed-care.835").read_text()
    text = text.replace("SVC*HC:99211*800.00*500.00", "SVC*HC:99211*800.00*510.00")
    with pytest.raises(RemittanceBalanceError, match=r"off by -10\.00"):
        post_remittance_file(memory_ledger, parse_835(text))


def test_dropped_modifier_still_matches(memory_ledger: Ledger) -> None:
    sign_simple(memory_ledger, "V-1", [("99213", ("25",), "105.00")])
    claim = (
        "CLP*V-1*1*105*80**12*ICN1~SVC*HC:99213*105*80~DTM*472*20260302~CAS*CO*45*25"
    )
    (outcome,) = post_text(memory_ledger, era_text([claim], "80"))
    assert insurance_open(memory_ledger, "V-1").is_zero()
    assert memory_ledger.balance("Income:Adjustments:Contractual").posted == usd(
        "-25.00"
    )
    assert "without modifier(s) 25" in outcome.claims[0].notes[0]


def test_two_claims_same_code_and_charge(memory_ledger: Ledger) -> None:
    sign_simple(memory_ledger, "V-A", [("99213", (), "100.00")])
    sign_simple(memory_ledger, "V-B", [("99213", (), "100.00")])
    claims = [
        f"CLP*{visit}*1*100*80**12*ICN-{visit}~SVC*HC:99213*100*80~CAS*CO*45*20"
        for visit in ("V-A", "V-B")
    ]
    post_text(memory_ledger, era_text(claims, "160"))
    assert insurance_open(memory_ledger, "V-A").is_zero()
    assert insurance_open(memory_ledger, "V-B").is_zero()
    assert memory_ledger.balance("Assets:Clearing:Insurance").posted == usd("160.00")


def test_two_identical_lines_on_one_claim(memory_ledger: Ledger) -> None:
    sign_simple(memory_ledger, "V-1", [("J1885", (), "15.00"), ("J1885", (), "15.00")])
    lines = "~".join(["SVC*HC:J1885*15*10~CAS*CO*45*5"] * 2)
    post_text(memory_ledger, era_text([f"CLP*V-1*1*30*20**12*ICN~{lines}"], "20"))
    assert insurance_open(memory_ledger, "V-1").is_zero()


def test_claim_level_adjustment_reduces_payment(memory_ledger: Ledger) -> None:
    sign_simple(memory_ledger, "V-1", [("99214", (), "150.00")])
    claim = "CLP*V-1*1*150*90**12*ICN~CAS*CO*A2*10~SVC*HC:99214*150*100~CAS*CO*45*50"
    post_text(memory_ledger, era_text([claim], "90"))
    assert memory_ledger.balance("Assets:Clearing:Insurance").posted == usd("90.00")
    assert memory_ledger.balance("Income:Adjustments:Contractual").posted == usd(
        "-60.00"
    )
    assert insurance_open(memory_ledger, "V-1").is_zero()


def test_check_goes_to_undeposited(memory_ledger: Ledger) -> None:
    sign_simple(memory_ledger, "V-1", [("99213", (), "100.00")])
    claim = "CLP*V-1*1*100*100**12*ICN~SVC*HC:99213*100*100"
    post_text(memory_ledger, era_text([claim], "100", method="CHK"))
    assert memory_ledger.balance("Assets:Clearing:Undeposited").posted == usd("100.00")


def test_pr_moves_to_patient_without_payer(memory_ledger: Ledger) -> None:
    sign_simple(memory_ledger, "V-1", [("99213", (), "100.00")])
    claim = "CLP*V-1*1*100*60*40*12*ICN~SVC*HC:99213*100*60~CAS*PR*3*25*1*2*15"
    post_text(memory_ledger, era_text([claim], "60"))
    patient_entries = memory_ledger.entries(account="Assets:Receivable:Patients")
    postings = [
        p
        for p in patient_entries[0].postings
        if p.account == "Assets:Receivable:Patients"
    ]
    assert memory_ledger.balance(
        "Assets:Receivable:Patients", patient="P-V-1"
    ).posted == usd("40.00")
    assert postings[0].payer is None
    assert postings[0].claim is None
    assert postings[0].invoice_line is not None


def test_denied_claim_not_written_off(memory_ledger: Ledger) -> None:
    sign_simple(memory_ledger, "V-1", [("99213", (), "100.00")])
    claim = "CLP*V-1*4*100*0**12*ICN~SVC*HC:99213*100*0~CAS*CO*197*100"
    (outcome,) = post_text(memory_ledger, era_text([claim], "0"))
    assert insurance_open(memory_ledger, "V-1") == usd("100.00")
    assert memory_ledger.balance("Income:Adjustments:Contractual").posted.is_zero()
    assert outcome.claims[0].result == "denied"


def test_zero_paid_denial_line_queued(memory_ledger: Ledger) -> None:
    sign_simple(memory_ledger, "V-1", [("99213", (), "100.00"), ("36415", (), "20.00")])
    claim = (
        "CLP*V-1*1*120*80**12*ICN~SVC*HC:99213*100*80~CAS*CO*45*20"
        "~SVC*HC:36415*20*0~CAS*CO*97*20~LQ*HE*N206"
    )
    post_text(memory_ledger, era_text([claim], "80"))
    (item,) = queues.list_denials(memory_ledger)
    assert insurance_open(memory_ledger, "V-1") == usd("20.00")
    assert item["code"] == "36415"
    assert item["amount"] == "20.00"
    assert item["suggested_action"] == "correct_and_resubmit"
    assert "bundled" in item["adjustments"][0]["meaning"]
    assert item["remarks"][0]["code"] == "N206"


def test_unknown_claim_held_in_suspense(memory_ledger: Ledger) -> None:
    claim = "CLP*NOPE-1*1*100*70**12*ICN~SVC*HC:99213*100*70~CAS*CO*45*30"
    post_text(memory_ledger, era_text([claim], "70"))
    (item,) = queues.list_unmatched(memory_ledger)
    assert memory_ledger.balance(queues.SUSPENSE_REMITTANCES).posted == usd("70.00")
    assert item["era_claim"] == "NOPE-1"
    assert item["held"] == "70.00"


def test_match_moves_suspense_to_claim(memory_ledger: Ledger) -> None:
    claim = "CLP*NOPE-1*1*100*70**12*ICN~SVC*HC:99213*100*70~CAS*CO*45*30"
    post_text(memory_ledger, era_text([claim], "70"))
    sign_simple(memory_ledger, "V-9", [("99213", (), "100.00")])
    (item,) = queues.list_unmatched(memory_ledger)
    match_remittance(memory_ledger, item["key"], "V-9", actor="biller")
    assert memory_ledger.balance(queues.SUSPENSE_REMITTANCES).posted.is_zero()
    assert insurance_open(memory_ledger, "V-9").is_zero()
    assert not queues.list_unmatched(memory_ledger)


def test_match_to_wrong_claim_rejected(memory_ledger: Ledger) -> None:
    claim = "CLP*NOPE-1*1*100*70**12*ICN~SVC*HC:99213*100*70~CAS*CO*45*30"
    post_text(memory_ledger, era_text([claim], "70"))
    sign_simple(memory_ledger, "V-9", [("99214", (), "150.00")])
    (item,) = queues.list_unmatched(memory_ledger)
    with pytest.raises(
        RemittancePostingError, match="match no line billed on claim V-9"
    ):
        match_remittance(memory_ledger, item["key"], "V-9", actor="biller")
    assert memory_ledger.balance(queues.SUSPENSE_REMITTANCES).posted == usd("70.00")


def test_unmatched_line_held_rest_posts(memory_ledger: Ledger) -> None:
    sign_simple(memory_ledger, "V-1", [("99213", (), "100.00")])
    claim = (
        "CLP*V-1*1*120*90**12*ICN~SVC*HC:99213*100*80~CAS*CO*45*20"
        "~SVC*HC:36415*20*10~CAS*CO*45*10"
    )
    (outcome,) = post_text(memory_ledger, era_text([claim], "90"))
    assert insurance_open(memory_ledger, "V-1").is_zero()
    assert memory_ledger.balance(queues.SUSPENSE_REMITTANCES).posted == usd("10.00")
    assert outcome.claims[0].result == "partly unmatched"


def test_reversal_reopens_and_corrects(memory_ledger: Ledger) -> None:
    sign_simple(memory_ledger, "V-1", [("99213", (), "100.00")])
    paid = "CLP*V-1*1*100*80**12*ICN1~SVC*HC:99213*100*80~CAS*CO*45*20"
    post_text(memory_ledger, era_text([paid], "80", trace="TR-1"))
    reversal = "CLP*V-1*22*-100*-80**12*ICN1~SVC*HC:99213*-100*-80~CAS*CO*45*-20"
    corrected = "CLP*V-1*1*100*90**12*ICN2~SVC*HC:99213*100*90~CAS*CO*45*10"
    text = era_text([reversal, corrected], "10", trace="TR-2", method="CHK")
    (outcome,) = post_text(memory_ledger, text)
    assert outcome.claims[0].result == "reversed"
    assert insurance_open(memory_ledger, "V-1").is_zero()
    assert memory_ledger.balance("Income:Adjustments:Contractual").posted == usd(
        "-10.00"
    )
    assert memory_ledger.balance("Assets:Clearing:Undeposited").posted == usd("10.00")
    assert memory_ledger.balance("Assets:Clearing:Insurance").posted == usd("80.00")
    assert memory_ledger.verify().ok


def test_reversal_uses_ledger_reverse(memory_ledger: Ledger) -> None:
    sign_simple(memory_ledger, "V-1", [("99213", (), "100.00")])
    paid = "CLP*V-1*1*100*80**12*ICN1~SVC*HC:99213*100*80~CAS*CO*45*20"
    post_text(memory_ledger, era_text([paid], "80", trace="TR-1"))
    reversal = "CLP*V-1*22*-100*-80**12*ICN1~SVC*HC:99213*-100*-80~CAS*CO*45*-20"
    post_text(memory_ledger, era_text([reversal], "-80", trace="TR-2"))
    original = memory_ledger.entries(account="Income:Adjustments:Contractual")[0]
    reversed_by = memory_ledger.reversal_of(original.seq)
    assert reversed_by is not None
    assert "CLP02 22" in (reversed_by.reason or "")
    assert insurance_open(memory_ledger, "V-1") == usd("100.00")


def test_plb_interest_and_recovery(memory_ledger: Ledger) -> None:
    sign_simple(memory_ledger, "V-1", [("99213", (), "100.00")])
    claim = "CLP*V-1*1*100*80**12*ICN~SVC*HC:99213*100*80~CAS*CO*45*20"
    plb = "PLB*1234567893*20261231*L6*-5.00*WO:OLD-CLAIM*20.00"
    post_text(memory_ledger, era_text([claim], "65", plb=plb))
    (item,) = queues.list_unmatched(memory_ledger)
    assert memory_ledger.balance("Income:Interest").posted == usd("5.00")
    assert memory_ledger.balance(queues.SUSPENSE_REMITTANCES).posted == usd("-20.00")
    assert memory_ledger.balance("Assets:Clearing:Insurance").posted == usd("65.00")
    assert item["plb_reason"] == "WO"
    assert item["reference_id"] == "OLD-CLAIM"


def test_plb_recovery_resolved(memory_ledger: Ledger) -> None:
    sign_simple(memory_ledger, "V-1", [("99213", (), "100.00")])
    claim = "CLP*V-1*1*100*80**12*ICN~SVC*HC:99213*100*80~CAS*CO*45*20"
    plb = "PLB*1234567893*20261231*WO:OLD-CLAIM*20.00"
    post_text(memory_ledger, era_text([claim], "60", plb=plb))
    (item,) = queues.list_unmatched(memory_ledger)
    queues.resolve_unmatched(
        memory_ledger,
        item["key"],
        "Income:Adjustments:Administrative",
        actor="biller",
        reason="recovery of an overpayment refunded by check 881",
    )
    assert memory_ledger.balance(queues.SUSPENSE_REMITTANCES).posted.is_zero()
    assert not queues.list_unmatched(memory_ledger)


def test_reimport_same_trace_other_payer_posts(memory_ledger: Ledger) -> None:
    sign_simple(memory_ledger, "V-1", [("99213", (), "100.00")])
    sign_simple(memory_ledger, "V-2", [("99213", (), "100.00")])
    first = "CLP*V-1*1*100*80**12*ICN~SVC*HC:99213*100*80~CAS*CO*45*20"
    second = "CLP*V-2*1*100*80**12*ICN~SVC*HC:99213*100*80~CAS*CO*45*20"
    post_text(memory_ledger, era_text([first], "80", payer="1111111111"))
    post_text(memory_ledger, era_text([second], "80", payer="2222222222"))
    assert len(expected_deposits(memory_ledger)) == 2


# --- The command line -------------------------------------------------------------


def cli_ledger(tmp_path: Path, clock: FakeClock) -> tuple[str, Ledger]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    return url, open_ledger(url, "main", clock=clock)


def test_cli_posts_sample(
    tmp_path: Path, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    url, ledger = cli_ledger(tmp_path, clock)
    path = ERA_DIR / "lfh-managed-care.835"
    sign_claims(ledger, read_835(path).remittances[0])
    code = main(["post-era", str(path), "--db", url, "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert document["remittances"][0]["amount"] == "945.00"
    assert [c["result"] for c in document["remittances"][0]["claims"]] == [
        "posted",
        "posted",
    ]


def test_cli_text_lists_unmatched(
    tmp_path: Path, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ledger = cli_ledger(tmp_path, clock)
    code = main(["post-era", str(ERA_DIR / "lfh-tertiary-payment.835"), "--db", url])
    out = capsys.readouterr().out
    assert code == 0
    assert "0001000054" in out
    assert "unmatched" in out


def test_cli_unbalanced_exits_2(
    tmp_path: Path, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ledger = cli_ledger(tmp_path, clock)
    text = (ERA_DIR / "lfh-managed-care.835").read_text()
    bad = tmp_path / "bad.835"
    bad.write_text(text.replace("BPR*I*945.00", "BPR*I*940.00"))
    code = main(["post-era", str(bad), "--db", url])
    assert code == 2
    assert "off by 5.00" in capsys.readouterr().err


def test_cli_malformed_exits_2(
    tmp_path: Path, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ledger = cli_ledger(tmp_path, clock)
    bad = tmp_path / "bad.835"
    bad.write_text("ST*835*0001~CLP*X~SE*3*0001~")
    assert main(["post-era", str(bad), "--db", url]) == 2
    assert "ona-ledger:" in capsys.readouterr().err
