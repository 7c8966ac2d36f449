"""Matching speed: bank lines against ledger items at 50,000 and 100,000 of each.

The workload keeps a clinic's daily volume fixed (100 bank lines a day), so twice the
lines cover twice the days: 85% one-to-one deposits (30% of them with the payout id in
the memo), 5% deposits of three checks each, 10% lines with no ledger item.
"""

from __future__ import annotations

import gc
import logging
import random
import resource
import sys
import time
from datetime import date, timedelta

from bench import Figure, at_most
from ona_ledger.money import Money
from ona_ledger.reconcile.matching import (
    LedgerItem,
    LedgerItemKind,
    MatchResult,
    match_statement,
)
from ona_ledger.reconcile.statements import StatementLine

logger = logging.getLogger(__name__)

LINES_PER_DAY = 100
FIRST_DAY = date(2024, 1, 1)
SEED = 20261103


def workload(lines_count: int) -> tuple[list[StatementLine], list[LedgerItem]]:
    """Build `lines_count` bank lines and as many ledger items, deterministically."""
    rng = random.Random(SEED + lines_count)
    days = max(1, lines_count // LINES_PER_DAY)
    groups = lines_count * 5 // 100
    singles = lines_count * 85 // 100
    unmatched = lines_count - groups - singles
    lines: list[StatementLine] = []
    items: list[LedgerItem] = []

    def line(day: date, cents: int, memo: str = "") -> None:
        lines.append(
            StatementLine(
                "acct", f"F{len(lines)}", day, Money.from_minor(cents), memo=memo
            )
        )

    def item(kind: LedgerItemKind, day: date, cents: int, reference: str = "") -> None:
        items.append(
            LedgerItem(f"I{len(items)}", kind, Money.from_minor(cents), day, reference)
        )

    for number in range(singles):
        expected = FIRST_DAY + timedelta(days=rng.randrange(days))
        cents = rng.randrange(1_000, 500_000)
        reference = f"po_{number:08d}" if number % 10 < 3 else ""
        item(LedgerItemKind.PAYOUT, expected, cents, reference)
        posted = expected + timedelta(days=rng.randrange(3))
        line(posted, cents, f"STRIPE TRANSFER {reference}".strip())
    for _ in range(groups):
        posted = FIRST_DAY + timedelta(days=rng.randrange(days))
        checks = [rng.randrange(2_000, 100_000) for _ in range(3)]
        for cents in checks:
            received = posted - timedelta(days=rng.randrange(5))
            item(LedgerItemKind.OTHER, received, cents)
        line(posted, sum(checks), "DEPOSIT")
    for number in range(unmatched):
        posted = FIRST_DAY + timedelta(days=rng.randrange(days))
        if number % 5 == 0:
            line(posted, rng.randrange(1_000, 50_000), "INCOMING WIRE")
        else:
            line(posted, -rng.randrange(100, 5_000), "SERVICE FEE")
    return lines, items


def timed_match(lines_count: int) -> tuple[float, MatchResult]:
    lines, items = workload(lines_count)
    # The collector is off while timing, as timeit does: its full passes cost time in
    # proportion to every object alive, workload included, not to the matching.
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        result = match_statement(lines, items)
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    return elapsed, result


def peak_rss_mb() -> float:
    """Return the peak resident set size of this process in MiB (Linux reports KiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 1024 / 1024


def describe(result: MatchResult) -> str:
    return (
        f"{len(result.matches)} matches, {len(result.review)} to review, "
        f"{len(result.unmatched_lines)} lines and {len(result.unmatched_items)} items unmatched"
    )


def run(quick: bool) -> list[Figure]:
    full = 20_000 if quick else 100_000
    half = full // 2
    half_seconds, _ = timed_match(half)
    full_seconds, result = timed_match(full)
    growth = full_seconds / half_seconds
    logger.info("reconcile %d lines: %.2f s, %s", full, full_seconds, describe(result))
    label = f"{full:,} lines and items"
    return [
        at_most(
            "reconcile_100k_s",
            round(full_seconds, 2),
            "s",
            60,
            f"{label}; {describe(result)}",
        ),
        at_most(
            "reconcile_growth",
            round(growth, 2),
            "ratio",
            2.3,
            f"time at {full:,} over time at {half:,}",
        ),
        Figure(
            "reconcile_peak_rss_mb",
            round(peak_rss_mb(), 1),
            "MiB",
            note="peak of the whole benchmark process, workload included",
        ),
    ]
