"""Fixtures of the processor tests: a ledger with a signed self-pay visit and the fake Stripe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ona_ledger import Ledger
from ona_ledger.billing.fees import FeeSchedule
from ona_ledger.processors.stripe import StripeProcessor
from ona_ledger.processors.stripe_fake import FakeStripeServer
from tests.billing.helpers import load_fees
from tests.conftest import FakeClock
from tests.processors.fake_stripe import fake_stripe


@pytest.fixture
def fees(tmp_path: Path) -> FeeSchedule:
    return load_fees(tmp_path)


@pytest.fixture
def stripe_env(clock: FakeClock) -> Iterator[tuple[FakeStripeServer, StripeProcessor]]:
    with fake_stripe(clock) as env:
        yield env


@pytest.fixture
def server(stripe_env: tuple[FakeStripeServer, StripeProcessor]) -> FakeStripeServer:
    return stripe_env[0]


@pytest.fixture
def stripe_processor(
    stripe_env: tuple[FakeStripeServer, StripeProcessor],
) -> StripeProcessor:
    return stripe_env[1]


@pytest.fixture
def book(tmp_path: Path, clock: FakeClock) -> Ledger:
    """A SQLite file ledger, so payments and webhooks see one database."""
    from ona_ledger import open_ledger

    return open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}", "clinic-1", clock=clock)
