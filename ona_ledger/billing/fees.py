"""Fee schedules: code and modifiers to price, with effective dates, loaded from CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ona_ledger.errors import FeeScheduleError
from ona_ledger.money import Money

SELF_PAY = "self-pay"
_COLUMNS = ("schedule", "code", "modifier", "price", "effective_from")


@dataclass(frozen=True, slots=True)
class Fee:
    """A price for a code (and optional modifier) in one schedule, from a date on."""

    schedule: str
    code: str
    modifier: str
    price: Money
    effective_from: date
    effective_to: date | None = None
    description: str = ""
    hsa_eligible: bool = True

    def applies_on(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )


class FeeSchedule:
    """The clinic's prices: a self-pay schedule and per-payer allowed amounts.

    A lookup matches the schedule, the code and the first modifier that has
    its own price, falling back to the code's price without a modifier. Among
    the rows in force on the day, the one with the latest effective_from wins.
    """

    def __init__(self, fees: Iterable[Fee] = ()):
        self._fees: dict[tuple[str, str, str], list[Fee]] = {}
        for fee in fees:
            self.add(fee)

    def add(self, fee: Fee) -> None:
        self._fees.setdefault((fee.schedule, fee.code, fee.modifier), []).append(fee)

    def schedules(self) -> set[str]:
        return {schedule for schedule, _, _ in self._fees}

    def find(
        self, code: str, modifiers: Iterable[str], day: date, schedule: str = SELF_PAY
    ) -> Fee:
        """Return the fee in force on `day`, or raise FeeScheduleError naming the code."""
        for modifier in [*modifiers, ""]:
            # A price change is a new row with a later effective_from; the latest
            # row in force wins, so an old row need not be given an end date.
            in_force = [
                fee
                for fee in self._fees.get((schedule, code, modifier), ())
                if fee.applies_on(day)
            ]
            if in_force:
                return max(in_force, key=lambda fee: fee.effective_from)
        raise FeeScheduleError(
            f"code {code} has no price in fee schedule {schedule!r} on {day}; add it to "
            "the fee schedule, or send a price override with a reason"
        )

    @classmethod
    def from_csv(cls, path: str | Path) -> FeeSchedule:
        """Load a schedule from CSV with columns schedule, code, modifier, price, effective_from.

        Optional columns: effective_to, description, hsa_eligible (yes/no).
        Prices are decimal strings; a bad row raises naming its line number.
        """
        schedule = cls()
        try:
            with open(path, newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
                if missing:
                    raise FeeScheduleError(
                        f"fee schedule {path} lacks column(s) {missing}; the header "
                        f"needs {', '.join(_COLUMNS)}"
                    )
                for number, row in enumerate(reader, start=2):
                    schedule.add(_fee_from_row(row, path, number))
        except UnicodeDecodeError as error:
            raise FeeScheduleError(
                f"fee schedule {path} is not UTF-8 text ({error.reason} at byte "
                f"{error.start}); save it as UTF-8"
            ) from None
        return schedule


def _fee_from_row(row: dict[str, str], path: str | Path, number: int) -> Fee:
    try:
        price = Money.of(row["price"])
        effective_from = date.fromisoformat(row["effective_from"])
        effective_to = (
            date.fromisoformat(row["effective_to"]) if row.get("effective_to") else None
        )
    except (ValueError, TypeError) as error:
        raise FeeScheduleError(f"fee schedule {path} line {number}: {error}") from None
    if price.cents < 0:
        raise FeeScheduleError(
            f"fee schedule {path} line {number}: price {price} is negative; prices are "
            "zero or more"
        )
    eligible = (row.get("hsa_eligible") or "yes").strip().lower() not in (
        "no",
        "false",
        "0",
    )
    return Fee(
        schedule=row["schedule"].strip(),
        code=row["code"].strip().upper(),
        modifier=(row.get("modifier") or "").strip().upper(),
        price=price,
        effective_from=effective_from,
        effective_to=effective_to,
        description=(row.get("description") or "").strip(),
        hsa_eligible=eligible,
    )
