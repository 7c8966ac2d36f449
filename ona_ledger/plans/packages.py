"""Packages and series of sessions sold up front: sale, sessions used, refunds and expiry.

The sale goes to Liabilities:Deferred:Packages (plan=package id); each session
used earns its share into Income:Packages; unused sessions can be refunded,
and on expiry what is left goes to Income:Breakage.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from ona_ledger.billing.common import CLEARING_PROCESSOR, CLEARING_UNDEPOSITED
from ona_ledger.billing.processing import Processor
from ona_ledger.entries import Entry, Posting
from ona_ledger.errors import LedgerError, PlanError
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money, split_evenly
from ona_ledger.plans.common import (
    DEFERRED_PACKAGES,
    INCOME_BREAKAGE,
    INCOME_PACKAGES,
    RECORD_PACKAGE,
    require_positive,
    sale_postings,
    today,
    undo_charge,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Package:
    """A package as stored: sessions bought, used, refunded, and its expiry."""

    package_id: str
    patient_id: str
    price: Money
    sessions: int
    used: int
    refunded: int
    expired: bool
    expires_on: date | None

    @property
    def session_shares(self) -> list[Money]:
        """Each session's share of the price; earlier sessions take the extra cents."""
        return split_evenly(self.price, self.sessions)

    @property
    def open_sessions(self) -> int:
        return 0 if self.expired else self.sessions - self.used - self.refunded


def sell_package(
    ledger: Ledger,
    patient_id: str,
    *,
    name: str,
    sessions: int,
    price: Money,
    processor: Processor | None = None,
    card_token: str | None = None,
    expires_on: date | None = None,
    package_id: str | None = None,
) -> Package:
    """Sell a package of `sessions` for `price`, paid by card (processor and token) or cash.

    Six sessions for the price of five is `sessions=6` with the price of five.
    """
    require_positive(price, "package price")
    if isinstance(sessions, bool) or not isinstance(sessions, int) or sessions < 1:
        raise PlanError(f"package session count {sessions!r} must be 1 or more")
    if price.cents < sessions:
        raise PlanError(
            f"package price {price} cannot be shared over {sessions} sessions"
        )
    day = today(ledger)
    if expires_on is not None and expires_on <= day:
        raise PlanError(f"package expiry {expires_on} must be after the sale day {day}")
    package_id = (
        package_id or f"PKG-{ledger.store.next_sequence(ledger.book_id, 'package'):06d}"
    )
    if ledger.store.get_record(ledger.book_id, RECORD_PACKAGE, package_id):
        raise PlanError(f"package {package_id} exists already; use another id")
    dims = {"patient": patient_id, "plan": package_id}
    charge, postings = sale_postings(
        ledger, processor, card_token, price, f"package:{package_id}",
        f"Package {package_id}", patient_id, dims,
    )  # fmt: skip
    postings.append(Posting.with_dimensions(DEFERRED_PACKAGES, -price, dims))
    record = {
        "package_id": package_id,
        "patient_id": patient_id,
        "name": name,
        "price_cents": price.cents,
        "sessions": sessions,
        "used": 0,
        "refunded": 0,
        "expired": False,
        "expires_on": expires_on.isoformat() if expires_on else None,
        "processor_id": charge.processor_id if charge else "",
        "sold_on": day.isoformat(),
    }
    try:
        with ledger.atomic() as tx:
            tx.post(
                Entry(
                    effective_date=day,
                    narration=f"Package {package_id} sold: {sessions} sessions",
                    postings=tuple(postings),
                    actor="desk",
                    meta={"type": "package_sale"},
                    idempotency_key=f"package-sale:{package_id}",
                )
            )
            tx.store.put_record(tx.book_id, RECORD_PACKAGE, package_id, record)
    except LedgerError:
        if charge is not None and processor is not None:
            undo_charge(processor, charge, ledger.book_id)
        raise
    return package_from_record(record)


def get_package(ledger: Ledger, package_id: str) -> Package:
    return package_from_record(_load(ledger, package_id))


def use_session(ledger: Ledger, package_id: str, *, visit: str, actor: str) -> Package:
    """Use one session at `visit`: its share moves from the deferred account into income.

    Using the same visit again returns the package unchanged.
    """
    with ledger.atomic() as tx:
        record = _load(tx, package_id)
        uses = record.setdefault("visits", [])
        if visit in uses:
            return package_from_record(record)
        package = package_from_record(record)
        if package.open_sessions < 1:
            raise PlanError(
                f"package {package_id} has no sessions left ({package.used} used, "
                f"{package.refunded} refunded{', expired' if package.expired else ''}); "
                "sell a new package"
            )
        share = package.session_shares[package.used]
        dims = {"patient": record["patient_id"], "plan": package_id}
        tx.post(
            Entry(
                effective_date=today(tx),
                narration=f"Package {package_id}: session {package.used + 1} used",
                postings=(
                    Posting.with_dimensions(
                        DEFERRED_PACKAGES, share, {**dims, "visit": visit}
                    ),
                    Posting.with_dimensions(
                        INCOME_PACKAGES, -share, {**dims, "visit": visit}
                    ),
                ),
                actor=actor,
                meta={"type": "package_session"},
                idempotency_key=f"package-session:{package_id}:{visit}",
            )
        )
        record["used"] += 1
        uses.append(visit)
        _save(tx, record)
    return package_from_record(record)


def refund_unused(
    ledger: Ledger,
    package_id: str,
    *,
    actor: str,
    reason: str,
    processor: Processor | None = None,
) -> Money:
    """Refund every unused session's share, to the card it was paid with or in cash."""
    with ledger.atomic() as tx:
        record = _load(tx, package_id)
        package = package_from_record(record)
        open_sessions = package.open_sessions
        if open_sessions < 1:
            raise PlanError(f"package {package_id} has no unused sessions to refund")
        shares = package.session_shares[package.used : package.used + open_sessions]
        amount = Money(sum(share.cents for share in shares))
        card = bool(record["processor_id"])
        if card and processor is None:
            raise PlanError(
                f"package {package_id} was paid by card; pass its processor"
            )
        account = CLEARING_PROCESSOR if card else CLEARING_UNDEPOSITED
        dims = {"patient": record["patient_id"], "plan": package_id}
        tx.post(
            Entry(
                effective_date=today(tx),
                narration=f"Package {package_id}: {open_sessions} unused sessions refunded",
                postings=(
                    Posting.with_dimensions(DEFERRED_PACKAGES, amount, dims),
                    Posting(account, -amount, **dims),
                ),
                actor=actor,
                reason=reason,
                meta={"type": "package_refund"},
                idempotency_key=f"package-refund:{package_id}",
            )
        )
        record["refunded"] += open_sessions
        _save(tx, record)
        if card and processor is not None:
            processor.refund(
                record["processor_id"],
                amount,
                f"{tx.book_id}:package-refund:{package_id}",
            )
    return amount


def expire_packages(ledger: Ledger, as_of: date) -> Money:
    """Expire packages whose expiry day has passed; their unused shares go to breakage.

    Breakage policy: a package's unused sessions are recognised as
    Income:Breakage on the day after it expires, never earlier, and only for
    packages sold with an expiry date. Packages are services, not gift cards,
    but some states restrict expiry of prepaid services too: a clinic sets
    `expires_on` only where its state allows it.
    """
    total = Money.zero()
    for package_id, _ in ledger.store.list_records(ledger.book_id, RECORD_PACKAGE):
        with ledger.atomic() as tx:
            record = _load(tx, package_id)
            expiry = record["expires_on"]
            if (
                record["expired"]
                or expiry is None
                or date.fromisoformat(expiry) >= as_of
            ):
                continue
            package = package_from_record(record)
            open_sessions = package.open_sessions
            record["expired"] = True
            if open_sessions:
                shares = package.session_shares[package.used :][:open_sessions]
                amount = Money(sum(share.cents for share in shares))
                total = total + amount
                dims = {"patient": record["patient_id"], "plan": package_id}
                tx.post(
                    Entry(
                        effective_date=as_of,
                        narration=f"Package {package_id} expired: {open_sessions} sessions unused",
                        postings=(
                            Posting.with_dimensions(DEFERRED_PACKAGES, amount, dims),
                            Posting.with_dimensions(INCOME_BREAKAGE, -amount, dims),
                        ),
                        actor="autopay",
                        meta={"type": "package_breakage"},
                        idempotency_key=f"package-breakage:{package_id}",
                    )
                )
            _save(tx, record)
    return total


def package_from_record(record: dict[str, Any]) -> Package:
    return Package(
        package_id=record["package_id"],
        patient_id=record["patient_id"],
        price=Money(record["price_cents"]),
        sessions=record["sessions"],
        used=record["used"],
        refunded=record["refunded"],
        expired=record["expired"],
        expires_on=date.fromisoformat(record["expires_on"])
        if record["expires_on"]
        else None,
    )


def _load(ledger: Ledger, package_id: str) -> dict[str, Any]:
    record = ledger.store.get_record(ledger.book_id, RECORD_PACKAGE, package_id)
    if record is None:
        raise PlanError(f"package {package_id} does not exist in book {ledger.book_id}")
    return record


def _save(ledger: Ledger, record: dict[str, Any]) -> None:
    ledger.store.put_record(
        ledger.book_id, RECORD_PACKAGE, record["package_id"], record
    )
