"""Instalment due dates and the smart-retry schedule of declined autopay charges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from dateutil.relativedelta import relativedelta
from dateutil.rrule import WEEKLY, rrule

from ona_ledger.billing.processing import DeclineCategory
from ona_ledger.errors import PlanError


class Frequency(StrEnum):
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"


def due_dates(first: date, frequency: Frequency, count: int) -> list[date]:
    """Return `count` due dates from `first` on, one every period.

    Monthly dates count months from the first date (dateutil's relativedelta),
    so a plan that starts on 31 January falls due on 28 or 29 February, 31
    March and 30 April: on the last day of each shorter month.
    """
    if count < 0:
        raise PlanError(f"instalment count {count} is negative; pass 0 or more")
    if frequency is Frequency.MONTHLY:
        return [first + relativedelta(months=index) for index in range(count)]
    interval = 1 if frequency is Frequency.WEEKLY else 2
    return [
        moment.date()
        for moment in rrule(WEEKLY, interval=interval, dtstart=first, count=count)
    ]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Days to wait after each soft decline before the next attempt.

    The default (1, 3, 5: four attempts within nine days of the due date) is
    this library's own choice, kept well inside two published limits. Stripe's
    Smart Retries documentation (docs.stripe.com/billing/revenue-recovery/
    smart-retries) never retries hard declines and suggests 8 tries within 2
    weeks. Visa's excessive-reattempt rule fines more than 15 reattempts of one
    declined transaction within 30 days (20 from May 2025, as card acquirers
    such as Checkout.com describe it). Hard declines are never retried here.
    """

    delays_days: tuple[int, ...] = (1, 3, 5)

    def __post_init__(self) -> None:
        if any(days < 1 for days in self.delays_days):
            raise PlanError(
                f"retry delays {self.delays_days} must each be 1 day or more"
            )

    @property
    def max_attempts(self) -> int:
        return 1 + len(self.delays_days)

    def next_attempt(self, attempt: int, day: date) -> date | None:
        """Return when to try again after failed attempt number `attempt`, or None."""
        if attempt >= self.max_attempts:
            return None
        return day + timedelta(days=self.delays_days[attempt - 1])


def is_soft_decline(category: str) -> bool:
    """Whether a decline may succeed later with the same card, off session.

    Unclear declines (generic_decline, do_not_honor) are retried as soft ones.
    A card that must be replaced, or a charge the patient must authenticate,
    cannot succeed without the patient, so retrying it only adds declines.
    """
    return category in (
        DeclineCategory.RETRY_LATER.value,
        DeclineCategory.UNCLEAR.value,
    )
