"""The `python -m bench` command: run every benchmark module and print its figures.

A benchmark module is any module of the bench package that defines
`run(quick: bool) -> list[Figure]`. The modules in FIRST run first, in that
order, and every other one after them by name, so a new bench/NAME.py needs no
change here.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import pkgutil
import platform
import sys
import time
from types import ModuleType

import sqlalchemy

import bench
from bench import Figure

FIRST = (
    "bench.posting",
    "bench.balances",
    "bench.comparison",
)

logger = logging.getLogger("bench")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Measure ona_ledger's benchmark figures."
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="use small sizes (seconds, not minutes); the figures are not comparable",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the figures as one JSON object"
    )
    parser.add_argument(
        "--only",
        metavar="MODULE",
        action="append",
        help="run only this module (such as bench.posting); repeatable",
    )
    args = parser.parse_args(argv)
    configure_logging()

    figures: list[Figure] = []
    started = time.perf_counter()
    for module in benchmark_modules(args.only):
        name = module.__name__
        module_start = time.perf_counter()
        logger.info("running %s", name)
        figures.extend(module.run(args.quick))
        logger.info("%s took %.1f s", name, time.perf_counter() - module_start)
    total_s = time.perf_counter() - started

    if args.json:
        print(json.dumps({f.name: f.as_json() for f in figures}, indent=2))
    else:
        print(format_table(figures, args.quick, total_s))
    return 0


def benchmark_modules(only: list[str] | None = None) -> list[ModuleType]:
    """Import the benchmark modules: those named in `only`, or every one found."""
    if only:
        return [importlib.import_module(name) for name in only]
    found = sorted(
        f"bench.{info.name}"
        for info in pkgutil.iter_modules(bench.__path__)
        if not info.name.startswith("_")
    )
    names = [*FIRST, *(name for name in found if name not in FIRST)]
    modules = [importlib.import_module(name) for name in names]
    return [module for module in modules if callable(getattr(module, "run", None))]


def configure_logging() -> None:
    """Log the suite's progress to stderr; the ledger's own INFO lines are left out."""
    logging.basicConfig(level=logging.INFO, format="bench: %(message)s")
    logging.getLogger("ona_ledger").setLevel(logging.WARNING)


def format_table(figures: list[Figure], quick: bool, total_s: float) -> str:
    """Format figures as an aligned text table with a header naming the machine."""
    header = ("figure", "value", "unit", "goal", "met")
    rows = [
        (f.name, _format_value(f.value), f.unit, f.goal, _format_met(f.met))
        for f in figures
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    lines = [
        f"ona_ledger benchmarks{' (quick sizes)' if quick else ''}: "
        f"Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}; total {total_s:.0f} s",
        "",
    ]
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[4]]).rstrip())
    notes = [f"  {f.name}: {f.note}" for f in figures if f.note]
    if notes:
        lines += ["", "notes:", *notes]
    return "\n".join(lines)


def _format_value(value: float | int | str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) or value >= 100:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _format_met(met: bool | None) -> str:
    if met is None:
        return "-"
    return "yes" if met else "NO"


if __name__ == "__main__":
    sys.exit(main())
