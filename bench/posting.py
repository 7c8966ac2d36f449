"""Posting speed: post_many against a bare SQLite insert, and one entry per commit."""

from __future__ import annotations

import logging
import os
import sqlite3
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import (
    Figure,
    at_least,
    bench_clock,
    clinic_batches,
    clinic_entry,
    seconds,
    sqlite_url,
)
from ona_ledger import Entry, Ledger, open_ledger
from ona_ledger.store import create_engine

logger = logging.getLogger(__name__)

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PATIENTS = 2_000
# One batch of stored rows: its entry rows and the posting rows of those entries.
RowBatch = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]
WARMUP_POSTS = 20


def run(quick: bool) -> list[Figure]:
    bulk_entries = 2_000 if quick else 20_000
    batch_size = 500 if quick else 1_000
    single_posts = 200 if quick else 3_000
    with tempfile.TemporaryDirectory(prefix="ona-bench-") as folder:
        figures = bulk_figures(Path(folder), bulk_entries, batch_size)
        figures.append(single_post_sqlite(Path(folder) / "single.db", single_posts))
    figures.append(single_post_postgres(single_posts))
    return figures


def bulk_figures(folder: Path, count: int, batch_size: int) -> list[Figure]:
    """Time post_many, then a bare executemany of the rows it stored, on SQLite files."""
    ledger_path = folder / "bulk.db"
    engine = create_engine(sqlite_url(ledger_path))
    ledger = open_ledger(engine, "bench", clock=bench_clock)
    batches = list(clinic_batches(count, batch_size, PATIENTS))
    logger.info("post_many: %d entries in batches of %d", count, batch_size)
    ledger_s = seconds(lambda: _post_batches(ledger, batches))
    engine.dispose()

    entry_batches, columns = _stored_rows(ledger_path, batch_size)
    logger.info("bare executemany of the same rows")
    raw_s = _raw_insert_seconds(folder / "raw.db", entry_batches, columns)

    posting_count = sum(len(postings) for _, postings in entry_batches)
    ledger_rate = count / ledger_s
    raw_rate = count / raw_s
    sizes = f"{count} entries, {posting_count} postings, batches of {batch_size}"
    return [
        at_least(
            "bulk_post_vs_raw_sqlite",
            round(ledger_rate / raw_rate, 4),
            "ratio",
            0.5,
            f"post_many rate / bare executemany rate; {sizes}",
        ),
        Figure("bulk_post_per_s_sqlite", round(ledger_rate), "entries/s", note=sizes),
        Figure("raw_insert_per_s_sqlite", round(raw_rate), "entries/s", note=sizes),
    ]


def _post_batches(ledger: Ledger, batches: Sequence[list[Entry]]) -> None:
    for batch in batches:
        ledger.post_many(batch)


def _stored_rows(
    path: Path, batch_size: int
) -> tuple[list[RowBatch], dict[str, list[str]]]:
    """Read back the entry and posting rows the ledger stored, grouped in batches."""
    connection = sqlite3.connect(path)
    columns: dict[str, list[str]] = {}
    rows: dict[str, list[tuple[Any, ...]]] = {}
    for table, order in (("entries", "seq"), ("postings", "entry_seq, idx")):
        cursor = connection.execute(f"SELECT * FROM {table} ORDER BY {order}")
        columns[table] = [column[0] for column in cursor.description]
        rows[table] = cursor.fetchall()
    connection.close()

    seq_column = columns["postings"].index("entry_seq")
    postings_by_seq: dict[int, list[tuple[Any, ...]]] = {}
    for row in rows["postings"]:
        postings_by_seq.setdefault(row[seq_column], []).append(row)
    batches = []
    entry_rows = rows["entries"]
    seq_of_entry = columns["entries"].index("seq")
    for first in range(0, len(entry_rows), batch_size):
        chunk = entry_rows[first : first + batch_size]
        postings = [p for e in chunk for p in postings_by_seq[e[seq_of_entry]]]
        batches.append((chunk, postings))
    return batches, columns


def _raw_insert_seconds(
    path: Path,
    batches: Sequence[RowBatch],
    columns: dict[str, list[str]],
) -> float:
    """Insert the rows with the stdlib sqlite3 module into tables without indexes.

    The connection uses the ledger's own settings (write-ahead log,
    synchronous=NORMAL) and commits once per batch, as post_many does.
    """
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    statements = {}
    for table, names in columns.items():
        connection.execute(f"CREATE TABLE raw_{table} ({', '.join(names)})")
        marks = ", ".join("?" for _ in names)
        statements[table] = f"INSERT INTO raw_{table} VALUES ({marks})"

    def insert_all() -> None:
        for entry_rows, posting_rows in batches:
            connection.execute("BEGIN")
            connection.executemany(statements["entries"], entry_rows)
            connection.executemany(statements["postings"], posting_rows)
            connection.execute("COMMIT")

    elapsed = seconds(insert_all)
    connection.close()
    return elapsed


def single_post_sqlite(path: Path, count: int) -> Figure:
    """Post `count` entries one per transaction into a SQLite file."""
    engine = create_engine(sqlite_url(path))
    ledger = open_ledger(engine, "bench", clock=bench_clock)
    logger.info("Ledger.post on SQLite: %d entries, one per commit", count)
    rate = _single_post_rate(ledger, count)
    engine.dispose()
    return at_least(
        "single_post_per_s_sqlite",
        round(rate),
        "entries/s",
        3_000,
        f"{count} entries of 2-4 postings, one per commit, SQLite file",
    )


def single_post_postgres(count: int) -> Figure:
    """Post `count` entries one per transaction into a throwaway PostgreSQL database."""
    name = "single_post_per_s_postgres"
    server_url = os.environ.get("ONA_LEDGER_BENCH_POSTGRES") or DEFAULT_POSTGRES_URL
    database = f"ona_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(
        server_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{database}"'))
    except sa.exc.OperationalError as error:
        admin.dispose()
        reason = str(error.orig).strip().splitlines()[0]
        logger.warning("PostgreSQL at %s is unreachable: %s", server_url, reason)
        text = f"not measured: PostgreSQL at {server_url} is unreachable ({reason})"
        return Figure(name, text, "entries/s", ">= 1500")

    try:
        engine = create_engine(f"{server_url.rsplit('/', 1)[0]}/{database}")
        ledger = open_ledger(engine, "bench", clock=bench_clock)
        logger.info("Ledger.post on PostgreSQL: %d entries, one per commit", count)
        rate = _single_post_rate(ledger, count)
        engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(
                sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            )
        admin.dispose()
    return at_least(
        name,
        round(rate),
        "entries/s",
        1_500,
        f"{count} entries of 2-4 postings, one per commit, PostgreSQL on 127.0.0.1",
    )


def _single_post_rate(ledger: Ledger, count: int) -> float:
    """Return entries per second of Ledger.post, after a few untimed warm-up posts."""
    for index in range(WARMUP_POSTS):
        ledger.post(clinic_entry(index, PATIENTS))
    entries = [clinic_entry(WARMUP_POSTS + i, PATIENTS) for i in range(count)]

    def post_each() -> None:
        for entry in entries:
            ledger.post(entry)

    return count / seconds(post_each)
