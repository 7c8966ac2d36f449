"""Fixtures of the billing tests: the test fee schedule and the card simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from ona_ledger.billing.fees import FeeSchedule
from ona_ledger.processors.simulator import SimulatorProcessor
from tests.billing.helpers import load_fees


@pytest.fixture
def fees(tmp_path: Path) -> FeeSchedule:
    return load_fees(tmp_path)


@pytest.fixture
def processor() -> SimulatorProcessor:
    return SimulatorProcessor()
