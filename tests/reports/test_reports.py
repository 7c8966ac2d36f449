"""Reports on a hand-worked book: statements, aging, revenue, splits, key figures, daily close."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ona_ledger import Entry, Ledger, Posting
from ona_ledger.errors import InvalidInputError
from ona_ledger.reports.aging import ar_aging, format_aging
from ona_ledger.reports.daily_close import daily_close
from ona_ledger.reports.kpis import key_figures
from ona_ledger.reports.revenue import (
    ProviderSplit,
    SplitBasis,
    provider_splits,
    revenue,
)
from ona_ledger.reports.statements import balance_sheet, income_statement
from ona_ledger.reports.trial_balance import trial_balance
from tests.reports.helpers import fill_clinic, store_visit_codes, usd

JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)


@pytest.fixture
def clinic(memory_ledger: Ledger) -> Ledger:
    fill_clinic(memory_ledger)
    store_visit_codes(memory_ledger)
    return memory_ledger


def figures(report: object, group: str, period: date) -> tuple[str, str, str]:
    for row in report.rows:  # type: ignore[attr-defined]
        if row.group == group and row.period_start == period:
            return str(row.charges), str(row.collections), str(row.adjustments)
    return ("-", "-", "-")


def test_revenue_by_provider(clinic: Ledger) -> None:
    report = revenue(clinic, group_by="provider", period="month")
    # DR-A: January charge 100.00 (E1). March: cash 60.00 collected (E4); the
    # courtesy write-off is 10.00 of adjustments and collects nothing (E6).
    assert figures(report, "DR-A", JAN) == ("100.00", "0.00", "0.00")
    assert figures(report, "DR-A", MAR) == ("0.00", "60.00", "10.00")
    # DR-B: February charge 150.00 (E2). March: charge 20.00 (E3); ACME settles
    # 140.00 of receivable of which 30.00 contractual and 20.00 moved to the
    # patient: collected 140 - 30 - 20 = 90.00; card 20.00 (E7): 110.00.
    assert figures(report, "DR-B", FEB) == ("150.00", "0.00", "0.00")
    assert figures(report, "DR-B", MAR) == ("20.00", "110.00", "30.00")
    assert len(report.rows) == 4


def test_revenue_by_location_week(clinic: Ledger) -> None:
    report = revenue(clinic, group_by="location", period="week", start=MAR)
    # Weeks start on Monday. E3's charge of 20.00 at LOC1 is on Sunday the
    # 15th, so in the week of the 9th. E4's 60.00 cash is in the week of the 16th.
    assert figures(report, "LOC1", date(2026, 3, 9)) == ("20.00", "0.00", "0.00")
    assert figures(report, "LOC1", date(2026, 3, 16)) == ("0.00", "60.00", "0.00")
    # Week of the 23rd: LOC1 write-off 10.00 (E6); LOC2 ACME 90.00 and 30.00 (E5).
    assert figures(report, "LOC1", date(2026, 3, 23)) == ("0.00", "0.00", "10.00")
    assert figures(report, "LOC2", date(2026, 3, 23)) == ("0.00", "90.00", "30.00")
    # Week of the 30th: card 20.00 at LOC1 (E7).
    assert figures(report, "LOC1", date(2026, 3, 30)) == ("0.00", "20.00", "0.00")


def test_revenue_by_payer(clinic: Ledger) -> None:
    report = revenue(clinic, group_by="payer", period="month")
    # ACME collected what it paid, 90.00; the 20.00 patient share is not ACME's.
    assert figures(report, "ACME", FEB) == ("150.00", "0.00", "0.00")
    assert figures(report, "ACME", MAR) == ("0.00", "90.00", "30.00")
    # Self-pay in March: charge 20.00; collected 60.00 + 20.00 = 80.00; write-off 10.00.
    assert figures(report, "self-pay", JAN) == ("100.00", "0.00", "0.00")
    assert figures(report, "self-pay", MAR) == ("20.00", "80.00", "10.00")


def test_revenue_by_code(clinic: Ledger) -> None:
    report = revenue(clinic, group_by="code", period="month", start=MAR)
    assert figures(report, "99213", MAR) == ("0.00", "60.00", "10.00")
    assert figures(report, "99214", MAR) == ("0.00", "90.00", "30.00")
    assert figures(report, "36415", MAR) == ("20.00", "20.00", "0.00")


def test_revenue_provider_matches_journal(clinic: Ledger) -> None:
    # The maintained-balance path and a journal walk give the same totals:
    # charges 270.00, collections 60 + 90 + 20 = 170.00, adjustments 40.00.
    totals = revenue(clinic, group_by="provider").totals()
    by_code = revenue(clinic, group_by="code").totals()
    assert totals == by_code
    assert str(totals["collections"]) == "170.00"


def test_revenue_real_time(clinic: Ledger) -> None:
    before = revenue(clinic, group_by="provider", start=MAR).totals()["charges"]
    clinic.post(
        Entry(
            date(2026, 3, 31),
            "Visit V4",
            (
                Posting("Assets:Receivable:Patients", usd("5.00"), provider="DR-A"),
                Posting("Income:Services", usd("-5.00"), provider="DR-A"),
            ),
            actor="test",
        )
    )
    after = revenue(clinic, group_by="provider", start=MAR).totals()["charges"]
    assert after - before == usd("5.00")


def test_revenue_rejects_bad_period(clinic: Ledger) -> None:
    with pytest.raises(InvalidInputError, match="period 'year' is not valid"):
        revenue(clinic, period="year")


def test_provider_splits_to_the_cent(clinic: Ledger) -> None:
    report = revenue(clinic, group_by="provider")
    rows = provider_splits(
        report,
        [
            ProviderSplit("DR-A", Decimal("0.6")),
            ProviderSplit("DR-B", Decimal("0.3333")),
            ProviderSplit("DR-C", Decimal("0.5"), SplitBasis.CHARGES),
        ],
    )
    by_provider = {row.provider: row for row in rows}
    # DR-A: 60% of 60.00 collected = 36.00, the clinic keeps 24.00.
    assert str(by_provider["DR-A"].provider_amount) == "36.00"
    assert str(by_provider["DR-A"].clinic_amount) == "24.00"
    # DR-B: 11000 cents x 0.3333 = 3666.3 and x 0.6667 = 7333.7; rounded down
    # 3666 + 7333 = 10999, the leftover cent goes to the larger remainder (.7).
    assert str(by_provider["DR-B"].provider_amount) == "36.66"
    assert str(by_provider["DR-B"].clinic_amount) == "73.34"
    # DR-C has no activity: nothing to split.
    assert str(by_provider["DR-C"].basis_amount) == "0.00"


def test_split_rejects_share_above_one() -> None:
    with pytest.raises(InvalidInputError, match="split share"):
        ProviderSplit("DR-A", Decimal("1.5"))


def test_aging_month_end(clinic: Ledger) -> None:
    report = ar_aging(clinic, as_of=date(2026, 3, 31))
    patients = {row.name: [str(a) for a in row.buckets] for row in report.patients}
    payers = {row.name: [str(a) for a in row.buckets] for row in report.payers}
    # P-1: L1 100 - 60 - 10 = 30.00 open, served 2026-01-10, 80 days before.
    # L3 is paid in full, so it is not listed.
    assert patients["P-1"] == ["0.00", "0.00", "30.00", "0.00", "0.00"]
    # P-2: the 20.00 share moved from ACME on 03-25 keeps L2's service date
    # 2026-02-20, 39 days before.
    assert patients["P-2"] == ["0.00", "20.00", "0.00", "0.00", "0.00"]
    # ACME: L2 150 - 140 = 10.00 open, 39 days.
    assert payers["ACME"] == ["0.00", "10.00", "0.00", "0.00", "0.00"]


def test_aging_bucket_edges(clinic: Ledger) -> None:
    # L1 was served 2026-01-10: 30 days old on 02-09, 31 days on 02-10.
    on_30 = ar_aging(clinic, as_of=date(2026, 2, 9)).patients[0]
    on_31 = ar_aging(clinic, as_of=date(2026, 2, 10)).patients[0]
    assert str(on_30.buckets[0]) == "100.00"
    assert str(on_31.buckets[1]) == "100.00"


def test_aging_over_120(clinic: Ledger) -> None:
    # 2026-05-20 is 130 days after 2026-01-10.
    report = ar_aging(clinic, as_of=date(2026, 5, 20))
    p1 = next(row for row in report.patients if row.name == "P-1")
    assert str(p1.buckets[4]) == "30.00"


def test_aging_total_matches_balances(clinic: Ledger) -> None:
    report = ar_aging(clinic, as_of=date(2026, 3, 31))
    patients = sum(row.total.cents for row in report.patients)
    payers = sum(row.total.cents for row in report.payers)
    assert patients == clinic.balance("Assets:Receivable:Patients").posted.cents
    assert payers == clinic.balance("Assets:Receivable:Insurance").posted.cents


def test_aging_format_lists_rows(clinic: Ledger) -> None:
    text = format_aging(ar_aging(clinic, as_of=date(2026, 3, 31)))
    assert "ACME" in text


def test_income_statement_march(clinic: Ledger) -> None:
    report = income_statement(clinic, start=MAR, end=date(2026, 3, 31))
    # Income: services 20.00 (E3), contractual -30.00, courtesy -10.00 = -20.00.
    assert str(report.total_income) == "-20.00"
    # Expenses: the card fee 0.88; net income -20.00 - 0.88 = -20.88.
    assert str(report.net_income) == "-20.88"


def test_balance_sheet_balances(clinic: Ledger) -> None:
    report = balance_sheet(clinic, as_of=date(2026, 3, 31))
    # Receivables 50.00 + 10.00, insurance clearing 90.00, processor 19.12,
    # bank 60.00: 229.12; earnings 270 - 30 - 10 - 0.88 = 229.12.
    assert str(report.total_assets) == "229.12"
    assert report.balanced


def test_trial_balance_balanced(clinic: Ledger) -> None:
    assert trial_balance(clinic).balanced


def test_key_figures_quarter(clinic: Ledger) -> None:
    result = key_figures(clinic, start=JAN, end=date(2026, 3, 31))
    # Net collection rate: 170.00 / (270.00 - 30.00) = 0.70833 -> 0.7083.
    assert result.net_collection_rate == Decimal("0.7083")
    # Days in A/R: 60.00 receivable / (270.00 / 90 days = 3.00 a day) = 20.0.
    assert result.days_in_ar == Decimal("20.0")
    # Payer mix of charges: ACME 150 / 270 = 0.5556, self-pay 120 / 270 = 0.4444.
    assert result.payer_mix == {
        "ACME": Decimal("0.5556"),
        "self-pay": Decimal("0.4444"),
    }


def test_key_figures_no_claims(clinic: Ledger) -> None:
    result = key_figures(clinic, start=JAN, end=date(2026, 3, 31))
    # No claims are stored, so no denial rate can be computed.
    assert result.denial_rate is None


def test_daily_close_card_and_deposit(clinic: Ledger) -> None:
    close = daily_close(clinic, date(2026, 3, 31))
    # Card 20.00 collected gross, 0.88 fee; the 60.00 cash of the 20th banked.
    assert {k: str(v) for k, v in close.collected.items()} == {"card": "20.00"}
    assert str(close.processor_fees) == "0.88"
    assert {k: str(v) for k, v in close.reached_bank.items()} == {"deposit": "60.00"}
    # Still in clearing: the card's 19.12 and ACME's 90.00.
    assert str(close.in_clearing["Assets:Clearing:Processor"]) == "19.12"


def test_daily_close_payer_eft(clinic: Ledger) -> None:
    close = daily_close(clinic, date(2026, 3, 25))
    # ACME's EFT: 90.00, without the contractual 30.00 or the patient's 20.00.
    assert {k: str(v) for k, v in close.collected.items()} == {"insurance EFT": "90.00"}
