"""Paths and small builders shared by the 835 tests."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import SHARED_DATA

ERA_DIR = SHARED_DATA / "x12" / "835"
EXPECTED_DIR = SHARED_DATA / "x12" / "835-expected"
ERA_FILES = sorted(ERA_DIR.glob("*.835"))
# SE01 of this companion-guide excerpt is 33 but its set has 32 segments.
MISCOUNTED = "e8p-blue_cross_nc_sample.835"


def era_text(name: str) -> str:
    return (ERA_DIR / name).read_text(encoding="utf-8")


def strict_counts(path: Path) -> bool:
    return path.name != MISCOUNTED
