"""Fee schedules from CSV: effective dates, modifier prices and payer allowed amounts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ona_ledger import Ledger
from ona_ledger.billing.fees import FeeSchedule
from ona_ledger.errors import FeeScheduleError
from tests.billing.helpers import insured, journal_length, sign, usd


def test_price_before_change(fees: FeeSchedule) -> None:
    assert fees.find("99213", [], date(2026, 6, 30)).price == usd("100.00")


def test_price_after_change(fees: FeeSchedule) -> None:
    assert fees.find("99213", [], date(2026, 7, 1)).price == usd("110.00")


def test_price_before_schedule_starts(fees: FeeSchedule) -> None:
    with pytest.raises(FeeScheduleError):
        fees.find("99213", [], date(2025, 12, 31))


def test_modifier_price(fees: FeeSchedule) -> None:
    assert fees.find("99213", ["25"], date(2026, 3, 2)).price == usd("105.00")


def test_unpriced_modifier_falls_back(fees: FeeSchedule) -> None:
    assert fees.find("99214", ["25"], date(2026, 3, 2)).price == usd("150.00")


def test_payer_allowed_amount(fees: FeeSchedule) -> None:
    fee = fees.find("99213", [], date(2026, 3, 2), schedule="ACME")
    assert fee.price == usd("80.00")


def test_hsa_flag_read(fees: FeeSchedule) -> None:
    assert not fees.find("15788", [], date(2026, 3, 2)).hsa_eligible


def test_effective_to_ends_price(tmp_path: Path) -> None:
    path = tmp_path / "fees.csv"
    path.write_text(
        "schedule,code,modifier,price,effective_from,effective_to\n"
        "self-pay,99213,,90.00,2026-01-01,2026-01-31\n",
        encoding="utf-8",
    )
    schedule = FeeSchedule.from_csv(path)
    with pytest.raises(FeeScheduleError):
        schedule.find("99213", [], date(2026, 2, 1))


def test_missing_column_message(tmp_path: Path) -> None:
    path = tmp_path / "fees.csv"
    path.write_text("schedule,code,price\nself-pay,99213,90.00\n", encoding="utf-8")
    with pytest.raises(FeeScheduleError, match=r"lacks column\(s\) \['modifier'"):
        FeeSchedule.from_csv(path)


def test_bad_price_names_line(tmp_path: Path) -> None:
    path = tmp_path / "fees.csv"
    path.write_text(
        "schedule,code,modifier,price,effective_from\n"
        "self-pay,99213,,90.00,2026-01-01\n"
        "self-pay,99214,,12.345,2026-01-01\n",
        encoding="utf-8",
    )
    with pytest.raises(FeeScheduleError, match="line 3"):
        FeeSchedule.from_csv(path)


def test_short_row_names_line(tmp_path: Path) -> None:
    path = tmp_path / "fees.csv"
    path.write_text(
        "schedule,code,modifier,price,effective_from\nself-pay,99213\n",
        encoding="utf-8",
    )
    with pytest.raises(FeeScheduleError, match="line 2"):
        FeeSchedule.from_csv(path)


def test_missing_code_names_code(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    with pytest.raises(FeeScheduleError, match="code 99999 has no price"):
        sign(memory_ledger, fees, lines=[{"code": "99213"}, {"code": "99999"}])


def test_missing_code_posts_nothing(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    with pytest.raises(FeeScheduleError):
        sign(memory_ledger, fees, lines=[{"code": "99213"}, {"code": "99999"}])
    assert journal_length(memory_ledger) == 0


def test_sign_uses_date_of_service_price(
    memory_ledger: Ledger, fees: FeeSchedule
) -> None:
    signed = sign(memory_ledger, fees, date_of_service="2026-07-15")
    assert signed.lines[0].amount == usd("110.00")


def test_sign_uses_modifier_price(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    signed = sign(memory_ledger, fees, lines=[{"code": "99213", "modifiers": ["25"]}])
    assert signed.lines[0].amount == usd("105.00")


def test_sign_keeps_allowed_amount(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    lines = [{"code": "99214", "units": 2}]
    signed = sign(memory_ledger, fees, lines=lines, coverage=insured())
    assert signed.lines[0].allowed == usd("240.00")


def test_sign_charges_units(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    signed = sign(memory_ledger, fees, lines=[{"code": "J1885", "units": 3}])
    assert signed.lines[0].amount == usd("45.00")


def test_price_override_used(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    override = {"price": "60.00", "reason": "sliding scale"}
    signed = sign(
        memory_ledger, fees, lines=[{"code": "99213", "price_override": override}]
    )
    assert signed.lines[0].amount == usd("60.00")
