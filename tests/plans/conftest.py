"""Fixtures of the plans tests: the fee schedule, the card simulator and test cards."""

from __future__ import annotations

from pathlib import Path

import pytest

from ona_ledger.billing.fees import FeeSchedule
from ona_ledger.processors.simulator import SimulatorProcessor
from tests.billing.helpers import load_fees

GOOD_CARD = "4242424242424242"
INSUFFICIENT_FUNDS = "4000000000009995"
EXPIRED_CARD = "4000000000000069"
GENERIC_DECLINE = "4000000000000002"


@pytest.fixture
def fees(tmp_path: Path) -> FeeSchedule:
    return load_fees(tmp_path)


@pytest.fixture
def processor() -> SimulatorProcessor:
    return SimulatorProcessor()
