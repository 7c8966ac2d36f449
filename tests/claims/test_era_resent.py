"""An 835 re-sent under a new trace number: claims it already paid go to suspense, not twice to the payer."""

from __future__ import annotations

import pytest

from ona_ledger import Ledger, Money
from ona_ledger.claims import queues
from ona_ledger.claims.era import parse_835
from ona_ledger.claims.posting import (
    RemittanceOutcome,
    match_remittance,
    post_remittance_file,
)
from ona_ledger.errors import RemittancePostingError
from tests.claims.posting_helpers import era_text, insurance_open, sign_simple

PAID = "CLP*V-1*1*100*80**12*ICN1~SVC*HC:99213*100*80~CAS*CO*45*20"
# 40.00 paid, 10.00 written off, 50.00 denied (CO-16) and left open with the payer.
PARTLY_DENIED = (
    "CLP*V-1*1*100*40**12*ICN1~SVC*HC:99213*100*40~CAS*CO*45*10~CAS*CO*16*50"
)
REVERSAL = "CLP*V-1*22*-100*-80**12*ICN1~SVC*HC:99213*-100*-80~CAS*CO*45*-20"
CORRECTED = "CLP*V-1*1*100*90**12*ICN2~SVC*HC:99213*100*90~CAS*CO*45*10"


def usd(text: str) -> Money:
    return Money.of(text)


def post_text(ledger: Ledger, text: str) -> list[RemittanceOutcome]:
    return post_remittance_file(ledger, parse_835(text))


def suspense(ledger: Ledger) -> Money:
    return ledger.balance(queues.SUSPENSE_REMITTANCES).posted


def test_resent_paid_claim_held(memory_ledger: Ledger) -> None:
    sign_simple(memory_ledger, "V-1", [("99213", (), "100.00")])
    post_text(memory_ledger, era_text([PAID], "80", trace="TR-1"))
    (outcome,) = post_text(memory_ledger, era_text([PAID], "80", trace="TR-2"))
    (claim,) = outcome.claims
    assert claim.result == "unmatched"
    assert "already settled" in claim.notes[0]
    assert insurance_open(memory_ledger, "V-1").is_zero()
    assert suspense(memory_ledger) == usd("80.00")
    assert memory_ledger.verify().ok


def test_resent_claim_queued_for_review(memory_ledger: Ledger) -> None:
    sign_simple(memory_ledger, "V-1", [("99213", (), "100.00")])
    post_text(memory_ledger, era_text([PAID], "80", trace="TR-1"))
    post_text(memory_ledger, era_text([PAID], "80", trace="TR-2"))
    (item,) = queues.list_unmatched(memory_ledger)
    assert item["trace_number"] == "TR-2"
    assert item["held"] == "80.00"
    assert "CLP02 22" in item["reason"]


def test_resent_with_new_icn_held(memory_ledger: Ledger) -> None:
    sign_simple(memory_ledger, "V-1", [("99213", (), "100.00")])
    post_text(memory_ledger, era_text([PAID], "80", trace="TR-1"))
    other_icn = PAID.replace("ICN1", "ICN9")
    (outcome,) = post_text(memory_ledger, era_text([other_icn], "80", trace="TR-2"))
    assert outcome.claims[0].result == "unmatched"
    assert insurance_open(memory_ledger, "V-1").is_zero()


def test_resent_partly_denied_held(memory_ledger: Ledger) -> None:
    # The denied 50.00 stays open, so only the payer claim number and the
    # payment show that the claim was posted before.
    sign_simple(memory_ledger, "V-1", [("99213", (), "100.00")])
    post_text(memory_ledger, era_text([PARTLY_DENIED], "40", trace="TR-1"))
    assert insurance_open(memory_ledger, "V-1") == usd("50.00")
    (outcome,) = post_text(memory_ledger, era_text([PARTLY_DENIED], "40", trace="TR-2"))
    (claim,) = outcome.claims
    assert claim.result == "unmatched"
    assert "payer claim number ICN1" in claim.notes[0]
    assert insurance_open(memory_ledger, "V-1") == usd("50.00")
    assert suspense(memory_ledger) == usd("40.00")


def test_corrected_after_reversal_posts(memory_ledger: Ledger) -> None:
    sign_simple(memory_ledger, "V-1", [("99213", (), "100.00")])
    post_text(memory_ledger, era_text([PAID], "80", trace="TR-1"))
    post_text(memory_ledger, era_text([REVERSAL], "-80", trace="TR-2"))
    (outcome,) = post_text(memory_ledger, era_text([CORRECTED], "90", trace="TR-3"))
    assert outcome.claims[0].result == "posted"
    assert insurance_open(memory_ledger, "V-1").is_zero()
    assert suspense(memory_ledger).is_zero()


def test_later_payment_of_open_line_posts(memory_ledger: Ledger) -> None:
    # Two lines, paid in two remittances: the second settles only what is open.
    sign_simple(memory_ledger, "V-1", [("99213", (), "100.00"), ("36415", (), "20.00")])
    first = "CLP*V-1*1*100*80**12*ICN1~SVC*HC:99213*100*80~CAS*CO*45*20"
    second = "CLP*V-1*1*20*15**12*ICN2~SVC*HC:36415*20*15~CAS*CO*45*5"
    post_text(memory_ledger, era_text([first], "80", trace="TR-1"))
    (outcome,) = post_text(memory_ledger, era_text([second], "15", trace="TR-2"))
    assert outcome.claims[0].result == "posted"
    assert insurance_open(memory_ledger, "V-1").is_zero()


def test_match_resent_claim_rejected(memory_ledger: Ledger) -> None:
    sign_simple(memory_ledger, "V-1", [("99213", (), "100.00")])
    post_text(memory_ledger, era_text([PAID], "80", trace="TR-1"))
    post_text(memory_ledger, era_text([PAID], "80", trace="TR-2"))
    (item,) = queues.list_unmatched(memory_ledger)
    with pytest.raises(RemittancePostingError, match="already settled"):
        match_remittance(memory_ledger, item["key"], "V-1", actor="biller")
    assert insurance_open(memory_ledger, "V-1").is_zero()
    assert suspense(memory_ledger) == usd("80.00")
