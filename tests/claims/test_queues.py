"""The correction queue and the unmatched-remittance queue: list, assign, note, resolve."""

from __future__ import annotations

import pytest

from ona_ledger import Ledger, Money
from ona_ledger.claims import queues
from ona_ledger.claims.era import parse_835
from ona_ledger.claims.posting import post_remittance_file
from ona_ledger.errors import QueueItemError
from tests.claims.posting_helpers import era_text, insurance_open, sign_simple

DENIED = "CLP*V-1*4*100*0**12*ICN~SVC*HC:99213*100*0~CAS*CO*29*100"


def deny(ledger: Ledger) -> str:
    sign_simple(ledger, "V-1", [("99213", (), "100.00")])
    post_remittance_file(ledger, parse_835(era_text([DENIED], "0")))
    (item,) = queues.list_denials(ledger)
    return str(item["key"])


def test_denial_item_in_plain_words(memory_ledger: Ledger) -> None:
    deny(memory_ledger)
    (item,) = queues.list_denials(memory_ledger)
    assert item["claim"] == "V-1"
    assert item["adjustments"][0]["group"] == "CO"
    assert "time limit for filing" in item["adjustments"][0]["meaning"]
    assert item["suggested_action"] == "appeal"


def test_denial_assign_and_note(memory_ledger: Ledger) -> None:
    key = deny(memory_ledger)
    queues.assign(memory_ledger, queues.RECORD_DENIAL, key, "alex", actor="lead")
    queues.add_note(
        memory_ledger, queues.RECORD_DENIAL, key, "appeal sent", actor="alex"
    )
    item = queues.get_item(memory_ledger, queues.RECORD_DENIAL, key)
    assert item["assignee"] == "alex"
    assert [h["note"] for h in item["history"]] == ["assigned to alex", "appeal sent"]


def test_denial_write_off_posts_reason(memory_ledger: Ledger) -> None:
    key = deny(memory_ledger)
    entry = queues.resolve_denial(
        memory_ledger,
        key,
        queues.DenialAction.WRITE_OFF,
        actor="lead",
        reason="no proof of timely filing",
    )
    assert entry is not None
    assert entry.reason == "no proof of timely filing"
    assert insurance_open(memory_ledger, "V-1").is_zero()
    admin = memory_ledger.balance("Income:Adjustments:Administrative").posted
    assert admin == Money.of("-100.00")
    assert not queues.list_denials(memory_ledger)


def test_denial_bill_patient(memory_ledger: Ledger) -> None:
    key = deny(memory_ledger)
    queues.resolve_denial(
        memory_ledger,
        key,
        queues.DenialAction.BILL_PATIENT,
        actor="lead",
        reason="patient signed an advance notice",
    )
    owed = memory_ledger.balance("Assets:Receivable:Patients", patient="P-V-1")
    assert owed.posted == Money.of("100.00")
    assert insurance_open(memory_ledger, "V-1").is_zero()


def test_denial_appeal_keeps_amount_open(memory_ledger: Ledger) -> None:
    key = deny(memory_ledger)
    entry = queues.resolve_denial(
        memory_ledger, key, queues.DenialAction.APPEAL, actor="lead", reason="sent"
    )
    assert entry is None
    assert insurance_open(memory_ledger, "V-1") == Money.of("100.00")


def test_resolve_twice_rejected(memory_ledger: Ledger) -> None:
    key = deny(memory_ledger)
    action = queues.DenialAction.APPEAL
    queues.resolve_denial(memory_ledger, key, action, actor="lead", reason="sent")
    with pytest.raises(QueueItemError, match="already resolved"):
        queues.resolve_denial(memory_ledger, key, action, actor="lead", reason="x")


def test_unknown_item_rejected(memory_ledger: Ledger) -> None:
    with pytest.raises(QueueItemError, match="has no item 'nope'"):
        queues.assign(memory_ledger, queues.RECORD_DENIAL, "nope", "a", actor="b")


def test_list_all_includes_resolved(memory_ledger: Ledger) -> None:
    key = deny(memory_ledger)
    action = queues.DenialAction.APPEAL
    queues.resolve_denial(memory_ledger, key, action, actor="lead", reason="sent")
    assert len(queues.list_denials(memory_ledger, status=None)) == 1


def test_format_denial_names_action(memory_ledger: Ledger) -> None:
    deny(memory_ledger)
    (item,) = queues.list_denials(memory_ledger)
    text = queues.format_denial(item)
    assert text[-1] == "  suggested action: appeal"
