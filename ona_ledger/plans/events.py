"""Notifications as events: an in-process subscriber registry and a persisted outbox.

The library only records that a payment failed, a card is expiring or a plan
completed; sending texts and emails is the host's job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Final

from ona_ledger.ledger import Ledger

logger = logging.getLogger(__name__)

RECORD_EVENT: Final = "plan_event"


class EventType(StrEnum):
    PAYMENT_SUCCEEDED = "payment_succeeded"
    PAYMENT_FAILED = "payment_failed"
    CARD_EXPIRING = "card_expiring"
    NEEDS_NEW_CARD = "needs_new_card"
    PLAN_COMPLETED = "plan_completed"
    PLAN_DELINQUENT = "plan_delinquent"
    MEMBERSHIP_BILLED = "membership_billed"


@dataclass(frozen=True, slots=True)
class PlanEvent:
    """One notification: its outbox number, type, day, subject and details.

    `subject` is the plan, membership or package id; `data` holds opaque ids,
    amounts and decline codes, never a name or a card number.
    """

    seq: int
    type: EventType
    day: date
    subject: str
    patient_id: str
    data: dict[str, str]

    def as_record(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "type": self.type.value,
            "day": self.day.isoformat(),
            "subject": self.subject,
            "patient_id": self.patient_id,
            "data": self.data,
        }

    @classmethod
    def from_record(cls, body: dict[str, Any]) -> PlanEvent:
        return cls(
            int(body["seq"]),
            EventType(body["type"]),
            date.fromisoformat(body["day"]),
            body["subject"],
            body["patient_id"],
            dict(body["data"]),
        )


Subscriber = Callable[[PlanEvent], None]


class EventBus:
    """Subscribers called in process after an event is stored in the outbox.

    A subscriber that raises is logged and skipped; the event stays in the
    outbox, so a host that polls the outbox misses nothing.
    """

    def __init__(self) -> None:
        self._subscribers: list[tuple[EventType | None, Subscriber]] = []

    def subscribe(
        self, subscriber: Subscriber, event_type: EventType | None = None
    ) -> None:
        """Call `subscriber` for every event, or only for events of `event_type`."""
        self._subscribers.append((event_type, subscriber))

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers = [s for s in self._subscribers if s[1] is not subscriber]

    def publish(self, event: PlanEvent) -> None:
        for event_type, subscriber in list(self._subscribers):
            if event_type is not None and event_type is not event.type:
                continue
            try:
                subscriber(event)
            except Exception:
                logger.exception(
                    "subscriber %r failed on event %d (%s)",
                    subscriber,
                    event.seq,
                    event.type.value,
                )


# The bus the plans modules publish to unless a caller passes its own.
default_bus = EventBus()


def record_event(
    ledger: Ledger,
    event_type: EventType,
    day: date,
    subject: str,
    patient_id: str,
    data: dict[str, str] | None = None,
) -> PlanEvent:
    """Store an event in the book's outbox and return it; publishing is the caller's step.

    Call it inside the `Ledger.atomic` block that makes the change, so the event
    commits with it, and publish after the block.
    """
    seq = ledger.store.next_sequence(ledger.book_id, RECORD_EVENT)
    event = PlanEvent(seq, event_type, day, subject, patient_id, dict(data or {}))
    ledger.store.put_record(
        ledger.book_id, RECORD_EVENT, f"{seq:012d}", event.as_record()
    )
    return event


def poll_events(ledger: Ledger, after: int = 0, limit: int = 100) -> list[PlanEvent]:
    """Return up to `limit` outbox events numbered after `after`, oldest first.

    The host keeps the number of the last event it handled and passes it back.
    """
    # NOTE: list_records reads the whole outbox kind; a host with a very long
    # outbox should poll often so that `after` stays near the end.
    events = [
        PlanEvent.from_record(body)
        for _, body in ledger.store.list_records(ledger.book_id, RECORD_EVENT)
    ]
    return [event for event in events if event.seq > after][:limit]
