"""Key figures' denial rate, counted from the payer decisions of posted 835s."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ona_ledger import Ledger
from ona_ledger.claims.era import parse_835
from ona_ledger.claims.posting import post_remittance_file
from ona_ledger.reports.kpis import format_key_figures, key_figures
from tests.claims.posting_helpers import era_text, sign_simple

MARCH = date(2026, 3, 1), date(2026, 3, 31)
PAID = "CLP*V-1*1*100*80**12*PCN-1~SVC*HC:99213*100*80~CAS*CO*45*20"
DENIED = "CLP*V-2*4*100*0**12*PCN-2~SVC*HC:99213*100*0~CAS*CO*197*100"
LINE_DENIED = (
    "CLP*V-3*1*120*100**12*PCN-3~SVC*HC:99213*100*100~SVC*HC:36415*20*0~CAS*CO*16*20"
)


def three_claims(ledger: Ledger) -> None:
    """Sign V-1 to V-3 and post one 835 that pays V-1, denies V-2, pays V-3 but a line."""
    sign_simple(ledger, "V-1", [("99213", (), "100.00")])
    sign_simple(ledger, "V-2", [("99213", (), "100.00")])
    sign_simple(ledger, "V-3", [("99213", (), "100.00"), ("36415", (), "20.00")])
    text = era_text([PAID, DENIED, LINE_DENIED], "180", payment_date="20260320")
    post_remittance_file(ledger, parse_835(text))


def test_denial_rate_counts_claims(memory_ledger: Ledger) -> None:
    three_claims(memory_ledger)
    figures = key_figures(memory_ledger, start=MARCH[0], end=MARCH[1])
    assert figures.claims_adjudicated == 3
    assert figures.claims_denied == 1
    assert figures.denial_rate == Decimal("0.3333")
    assert figures.claims_with_denied_lines == 1


def test_denial_rate_outside_period(memory_ledger: Ledger) -> None:
    three_claims(memory_ledger)
    figures = key_figures(memory_ledger, start=date(2026, 4, 1), end=date(2026, 4, 30))
    assert figures.claims_adjudicated == 0
    assert figures.denial_rate is None


def test_later_payment_keeps_first_denial(memory_ledger: Ledger) -> None:
    three_claims(memory_ledger)
    paid_on_appeal = "CLP*V-2*1*100*100**12*PCN-2B~SVC*HC:99213*100*100"
    text = era_text([paid_on_appeal], "100", trace="TR-2", payment_date="20260325")
    post_remittance_file(memory_ledger, parse_835(text))
    figures = key_figures(memory_ledger, start=MARCH[0], end=MARCH[1])
    assert figures.claims_adjudicated == 3
    assert figures.claims_denied == 1


def test_denial_rate_text(memory_ledger: Ledger) -> None:
    three_claims(memory_ledger)
    text = format_key_figures(key_figures(memory_ledger, start=MARCH[0], end=MARCH[1]))
    assert "33.33% (1 of 3 claims)" in text
