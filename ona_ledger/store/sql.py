"""The SQL store of the ledger: SQLite or PostgreSQL through SQLAlchemy 2 Core."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.pool import StaticPool

from ona_ledger.accounts import Account
from ona_ledger.entries import (
    DIMENSIONS,
    GENESIS_HASH,
    EntryKind,
    JournalEntry,
    Posting,
    PostingStatus,
)
from ona_ledger.errors import BookNotFoundError
from ona_ledger.ledger import BookHead, LimitViolation, NewJournalRow
from ona_ledger.money import Money
from ona_ledger.store import schema

logger = logging.getLogger(__name__)

_CHUNK = 500  # largest IN list sent in one query


# Hot-path SQL, run through the driver with `?` placeholders (see
# SqlTransaction._driver), because compiling Core statements on every post
# cost more than the inserts. Column lists follow store/schema.py; both
# SQLite and PostgreSQL accept this ON CONFLICT syntax.
_LOCK_BOOK = (
    "UPDATE books SET head_seq = head_seq WHERE book_id = ? "
    "RETURNING head_seq, head_hash, closed_through"
)
_SET_HEAD = "UPDATE books SET head_seq = ?, head_hash = ? WHERE book_id = ?"
_INSERT_ENTRY = (
    "INSERT INTO entries (book_id, seq, kind, effective_date, recorded_at, narration, "
    "actor, reason, links, meta, idempotency_key, fingerprint, refers_to, prev_hash, "
    "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_POSTING = (
    "INSERT INTO postings (book_id, entry_seq, idx, account, currency, amount_cents, "
    f"status, effective_date, {', '.join(DIMENSIONS)}) VALUES "
    f"({', '.join(['?'] * (8 + len(DIMENSIONS)))})"
)
_UPSERT_BALANCE = (
    "INSERT INTO balances (book_id, account, currency, dim_name, dim_value, day, "
    "posted_cents, pending_cents) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (book_id, account, dim_name, dim_value, currency, day) DO UPDATE SET "
    "posted_cents = balances.posted_cents + excluded.posted_cents, "
    "pending_cents = balances.pending_cents + excluded.pending_cents"
)
_UPSERT_RECEIVABLE_ITEM = (
    "INSERT INTO receivable_items (book_id, account, currency, patient, invoice, "
    "invoice_line, day, payer, posted_cents) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (book_id, patient, invoice, invoice_line, currency, account, day) "
    "DO UPDATE SET posted_cents = receivable_items.posted_cents + "
    "excluded.posted_cents"
)
_UPSERT_RECEIVABLE_OPEN = (
    "INSERT INTO receivable_open (book_id, account, currency, patient, payer, "
    "service_date, posted_cents) VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (book_id, account, currency, patient, payer, service_date) "
    "DO UPDATE SET posted_cents = receivable_open.posted_cents + excluded.posted_cents"
)
_DELETE_CLOSED_RECEIVABLE_OPEN = (
    "DELETE FROM receivable_open WHERE book_id = ? AND account = ? AND currency = ? "
    "AND patient = ? AND payer = ? AND service_date = ? AND posted_cents = 0"
)
# Postings to accounts under this prefix are kept per invoice line for aging.
RECEIVABLE_PREFIX = "Assets:Receivable:"
# Invoice lines read per query by their key (patient, invoice, line, currency).
_LINE_CHUNK = 200
# The same SQL with PostgreSQL's placeholders, filled in on first use.
_POSTGRES_SQL: dict[str, str] = {}

# Built once, so each read reuses SQLAlchemy's compiled form.
_SELECT_RECORD = sa.select(schema.records.c.body).where(
    schema.records.c.book_id == sa.bindparam("book_id"),
    schema.records.c.kind == sa.bindparam("kind"),
    schema.records.c.key == sa.bindparam("key"),
)
_UPSERT_RECORD = sa.text(
    "INSERT INTO records (book_id, kind, key, body, updated_at) "
    "VALUES (:book_id, :kind, :key, :body, :updated_at) "
    "ON CONFLICT (book_id, kind, key) DO UPDATE SET body = excluded.body, "
    "updated_at = excluded.updated_at"
)


def create_engine(url: str, **options: Any) -> Engine:
    """Create an engine set up for the ledger.

    SQLite gets write-ahead logging, a busy timeout so concurrent writers wait
    instead of failing, and Python-side transaction control so savepoints work.
    `sqlite://` (no file) is one shared in-memory database.
    """
    if url.startswith("sqlite"):
        return _sqlite_engine(url, **options)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return sa.create_engine(url, **options)


def _sqlite_engine(url: str, **options: Any) -> Engine:
    in_memory = url in ("sqlite://", "sqlite:///:memory:")
    if in_memory:
        options.setdefault("poolclass", StaticPool)
        options.setdefault("connect_args", {"check_same_thread": False})
    engine = sa.create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            # Checkpoints are the only fsyncs in WAL mode with synchronous=NORMAL;
            # taking them every 20,000 pages (about 80 MB of log) instead of
            # SQLite's default 1,000 raised single posts from about 1,250 to
            # 2,050 a second on the benchmark machine.
            cursor.execute("PRAGMA wal_autocheckpoint=20000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        driver: Any = connection.connection.driver_connection
        driver.execute("BEGIN")

    return engine


class SqlStore:
    """A LedgerStore over an Engine, or over a host's Connection.

    With a Connection, the ledger's writes run in a savepoint of the host's
    transaction, so they commit or roll back with it.
    """

    def __init__(self, bind: Engine | Connection, *, in_unit: bool = False):
        self._engine = bind if isinstance(bind, Engine) else None
        self._connection = bind if isinstance(bind, Connection) else None
        # True for the store that unit_of_work yields: its connection is inside
        # a transaction that commits or rolls back as a whole.
        self._in_unit = in_unit
        dialect = bind.dialect.name
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        self.dialect = dialect

    @contextmanager
    def transaction(self) -> Iterator[SqlTransaction]:
        if self._connection is None:
            assert self._engine is not None
            with self._engine.begin() as connection:
                yield SqlTransaction(connection, self._insert)
            return
        connection = self._connection
        if connection.in_transaction():
            with connection.begin_nested():
                yield SqlTransaction(connection, self._insert)
        else:
            with connection.begin():
                yield SqlTransaction(connection, self._insert)

    @contextmanager
    def unit_of_work(self) -> Iterator[SqlStore]:
        """Yield a store bound to one connection in one transaction.

        Everything done through the yielded store commits together, or rolls back
        together when the block raises.
        """
        if self._connection is None:
            assert self._engine is not None
            with self._engine.begin() as connection:
                yield SqlStore(connection, in_unit=True)
            return
        connection = self._connection
        if connection.in_transaction():
            with connection.begin_nested():
                yield SqlStore(connection, in_unit=True)
        else:
            with connection.begin():
                yield SqlStore(connection, in_unit=True)

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """Yield a connection for a write of one or two statements.

        Inside a unit of work the statements run in its transaction without a
        savepoint of their own, which saved two round trips per write: a failed
        statement raises out of the unit, which then rolls back as a whole.
        Elsewhere they get a transaction (or a savepoint of the host's) of their own.
        """
        if self._in_unit and self._connection is not None:
            yield self._connection
            return
        with self.transaction() as tx:
            yield tx.connection

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """Yield a connection for reads: the host's, or a short-lived one of our own."""
        if self._connection is not None:
            yield self._connection
            return
        assert self._engine is not None
        with self._engine.connect() as connection:
            yield connection

    # Books and accounts --------------------------------------------------------

    def ensure_book(
        self, book_id: str, name: str, currency: str, created_at: datetime
    ) -> bool:
        """Create the book's row unless it exists; return True when this call created it."""
        statement = (
            self._insert(schema.books)
            .values(
                book_id=book_id,
                name=name,
                currency=currency,
                head_seq=0,
                head_hash=GENESIS_HASH,
                closed_through=None,
                created_at=created_at.isoformat(),
            )
            .on_conflict_do_nothing()
        )
        with self.transaction() as tx:
            return bool(tx.connection.execute(statement).rowcount)

    def book_exists(self, book_id: str) -> bool:
        with self.reading() as connection:
            return (
                connection.execute(
                    sa.select(schema.books.c.book_id).where(
                        schema.books.c.book_id == book_id
                    )
                ).first()
                is not None
            )

    def list_books(self) -> list[str]:
        with self.reading() as connection:
            rows = connection.execute(
                sa.select(schema.books.c.book_id).order_by("book_id")
            )
            return [row[0] for row in rows]

    def load_accounts(self, book_id: str) -> dict[str, Account]:
        table = schema.accounts
        with self.reading() as connection:
            rows = connection.execute(
                sa.select(table).where(table.c.book_id == book_id)
            ).all()
        return {
            row.name: Account(
                row.name,
                currency=row.currency,
                opened=row.opened,
                closed=row.closed,
                description=row.description,
            )
            for row in rows
        }

    def load_limits(self, book_id: str) -> dict[str, str]:
        table = schema.balance_limits
        with self.reading() as connection:
            rows = connection.execute(
                sa.select(table).where(table.c.book_id == book_id)
            ).all()
        return {f"{row.account}|{row.dimension}": row.dimension for row in rows}

    def save_account(self, book_id: str, account: Account) -> None:
        table = schema.accounts
        values = {
            "book_id": book_id,
            "name": account.name,
            "currency": account.currency,
            "opened": account.opened,
            "closed": account.closed,
            "description": account.description,
        }
        statement = self._insert(table).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=["book_id", "name"],
            set_={"opened": account.opened, "closed": account.closed},
        )
        with self.transaction() as tx:
            tx.connection.execute(statement)

    def save_limit(self, book_id: str, account: str, dimension: str) -> None:
        statement = (
            self._insert(schema.balance_limits)
            .values(book_id=book_id, account=account, dimension=dimension)
            .on_conflict_do_nothing()
        )
        with self.transaction() as tx:
            tx.connection.execute(statement)

    def closed_through(self, book_id: str) -> date | None:
        with self.reading() as connection:
            row = connection.execute(
                sa.select(schema.books.c.closed_through).where(
                    schema.books.c.book_id == book_id
                )
            ).first()
        if row is None:
            raise BookNotFoundError(
                f"book {book_id} does not exist; run `ona-ledger init`"
            )
        value: date | None = row[0]
        return value

    def head(self, book_id: str) -> BookHead:
        """Read a book's chain head and close date without locking the book."""
        table = schema.books
        with self.reading() as connection:
            row = connection.execute(
                sa.select(
                    table.c.head_seq, table.c.head_hash, table.c.closed_through
                ).where(table.c.book_id == book_id)
            ).first()
        if row is None:
            raise BookNotFoundError(
                f"book {book_id} does not exist; run `ona-ledger init`"
            )
        return BookHead(int(row[0]), str(row[1]), row[2])

    def next_sequence(self, book_id: str, name: str, count: int = 1) -> int:
        """Reserve `count` numbers of a per-book counter and return the first of them.

        Numbers are never handed out twice, also under concurrent callers: the
        counter row is locked by its own update.
        """
        table = schema.sequences
        with self._writing() as connection:
            seed = (
                self._insert(table)
                .values(book_id=book_id, name=name, value=0)
                .on_conflict_do_nothing()
            )
            connection.execute(seed)
            row = connection.execute(
                sa.update(table)
                .where(table.c.book_id == book_id, table.c.name == name)
                .values(value=table.c.value + count)
                .returning(table.c.value)
            ).one()
        return int(row[0]) - count + 1

    # Records -------------------------------------------------------------------

    def put_record(
        self, book_id: str, kind: str, key: str, body: Mapping[str, Any]
    ) -> None:
        """Store a JSON document beside the journal, replacing any with the same key."""
        params = {
            "book_id": book_id,
            "kind": kind,
            "key": key,
            "body": json.dumps(body, sort_keys=True, default=str),
            "updated_at": datetime.now(UTC).isoformat(),
        }
        with self._writing() as connection:
            connection.execute(_UPSERT_RECORD, params)

    def get_record(self, book_id: str, kind: str, key: str) -> dict[str, Any] | None:
        params = {"book_id": book_id, "kind": kind, "key": key}
        with self.reading() as connection:
            row = connection.execute(_SELECT_RECORD, params).first()
        if row is None:
            return None
        body: dict[str, Any] = json.loads(row[0])
        return body

    def list_records(self, book_id: str, kind: str) -> list[tuple[str, dict[str, Any]]]:
        table = schema.records
        with self.reading() as connection:
            rows = connection.execute(
                sa.select(table.c.key, table.c.body)
                .where(table.c.book_id == book_id, table.c.kind == kind)
                .order_by(table.c.key)
            ).all()
        return [(str(row[0]), json.loads(row[1])) for row in rows]

    # Balances ------------------------------------------------------------------

    def balance(
        self,
        book_id: str,
        account: str,
        currency: str,
        as_of: date | None,
        dimensions: Mapping[str, str],
        include_subaccounts: bool,
    ) -> tuple[int, int]:
        if len(dimensions) <= 1 and set(dimensions) <= set(
            schema.MAINTAINED_DIMENSIONS
        ):
            return self._maintained_balance(
                book_id, account, currency, as_of, dimensions, include_subaccounts
            )
        return self._posting_balance(
            book_id, account, currency, as_of, dimensions, include_subaccounts
        )

    def _maintained_balance(
        self,
        book_id: str,
        account: str,
        currency: str,
        as_of: date | None,
        dimensions: Mapping[str, str],
        include_subaccounts: bool,
    ) -> tuple[int, int]:
        table = schema.balances
        dim_name, dim_value = next(iter(dimensions.items()), ("", ""))
        query = sa.select(
            sa.func.coalesce(sa.func.sum(table.c.posted_cents), 0),
            sa.func.coalesce(sa.func.sum(table.c.pending_cents), 0),
        ).where(
            table.c.book_id == book_id,
            _account_filter(table.c.account, account, include_subaccounts),
            table.c.dim_name == dim_name,
            table.c.dim_value == dim_value,
            table.c.currency == currency,
        )
        if as_of is not None:
            query = query.where(table.c.day <= as_of)
        with self.reading() as connection:
            posted, pending = connection.execute(query).one()
        return int(posted), int(pending)

    def _posting_balance(
        self,
        book_id: str,
        account: str,
        currency: str,
        as_of: date | None,
        dimensions: Mapping[str, str],
        include_subaccounts: bool,
    ) -> tuple[int, int]:
        # NOTE: filters that combine dimensions go through the postings indexes
        # (patient, invoice, claim, visit); a combination of only provider,
        # payer, location or plan has no index and reads that account's postings.
        table = schema.postings
        query = (
            sa.select(table.c.status, sa.func.sum(table.c.amount_cents))
            .where(
                table.c.book_id == book_id,
                _account_filter(table.c.account, account, include_subaccounts),
                table.c.currency == currency,
                *(table.c[name] == value for name, value in dimensions.items()),
            )
            .group_by(table.c.status)
        )
        if as_of is not None:
            query = query.where(table.c.effective_date <= as_of)
        with self.reading() as connection:
            sums = {row[0]: int(row[1]) for row in connection.execute(query)}
        return sums.get("posted", 0), sums.get("pending", 0)

    def account_balances(
        self, book_id: str, as_of: date | None, since: date | None
    ) -> dict[tuple[str, str], tuple[int, int]]:
        table = schema.balances
        query = (
            sa.select(
                table.c.account,
                table.c.currency,
                sa.func.sum(table.c.posted_cents),
                sa.func.sum(table.c.pending_cents),
            )
            .where(table.c.book_id == book_id, table.c.dim_name == "")
            .group_by(table.c.account, table.c.currency)
        )
        if as_of is not None:
            query = query.where(table.c.day <= as_of)
        if since is not None:
            query = query.where(table.c.day >= since)
        with self.reading() as connection:
            return {
                (row[0], row[1]): (int(row[2]), int(row[3]))
                for row in connection.execute(query)
            }

    def dimension_balances(
        self, book_id: str, account: str, dimension: str, as_of: date | None
    ) -> dict[str, tuple[int, int]]:
        table = schema.balances
        query = (
            sa.select(
                table.c.dim_value,
                sa.func.sum(table.c.posted_cents),
                sa.func.sum(table.c.pending_cents),
            )
            .where(
                table.c.book_id == book_id,
                table.c.account == account,
                table.c.dim_name == dimension,
            )
            .group_by(table.c.dim_value)
        )
        if as_of is not None:
            query = query.where(table.c.day <= as_of)
        with self.reading() as connection:
            return {
                row[0]: (int(row[1]), int(row[2])) for row in connection.execute(query)
            }

    def daily_activity(
        self,
        book_id: str,
        accounts: Sequence[str],
        dimension: str,
        start: date | None,
        end: date | None,
    ) -> list[tuple[str, str, str, date, int]]:
        """Return posted cents per account, currency, dimension value and day.

        `accounts` are names or prefixes ending in ":" (all accounts under it).
        `dimension` "" reads the accounts as a whole.
        """
        table = schema.balances
        rows: list[tuple[str, str, str, date, int]] = []
        with self.reading() as connection:
            for name in accounts:
                query = sa.select(
                    table.c.account,
                    table.c.currency,
                    table.c.dim_value,
                    table.c.day,
                    table.c.posted_cents,
                ).where(table.c.book_id == book_id, table.c.dim_name == dimension)
                if name.endswith(":"):
                    # A range, not LIKE, so the primary key index finds the rows.
                    upper = name[:-1] + chr(ord(":") + 1)
                    query = query.where(table.c.account > name, table.c.account < upper)
                else:
                    query = query.where(table.c.account == name)
                if start is not None:
                    query = query.where(table.c.day >= start)
                if end is not None:
                    query = query.where(table.c.day <= end)
                rows += [
                    (row[0], row[1], row[2], _as_date(row[3]), int(row[4]))
                    for row in connection.execute(query)
                    if row[4]
                ]
        return rows

    def receivable_aging(
        self,
        book_id: str,
        as_of: date,
        bucket_starts: Sequence[date],
        accounts: Sequence[str],
    ) -> list[tuple[str, str, str, tuple[list[int], ...]]]:
        """Return open receivable per currency, patient and payer, by account and age bucket.

        An item is one invoice line (or invoice, or patient, where postings name
        no line). Its service date is its first day on any receivable account.
        Bucket i holds items whose service date is on or after
        `bucket_starts[i]` and before the previous start; the last bucket holds
        everything older. Each row carries, for each of `accounts`, its open
        cents per bucket.

        The maintained receivable_open summary holds every line as it is now.
        Lines with postings dated after `as_of` are taken out of it and added
        back as they stood on `as_of`, from their receivable_items rows.
        """
        sums: dict[tuple[str, str, str], tuple[list[int], ...]] = {}
        column = {account: index for index, account in enumerate(accounts)}
        width = len(bucket_starts) + 1

        def row_of(key: tuple[str, str, str]) -> tuple[list[int], ...]:
            found = sums.get(key)
            if found is None:
                found = sums[key] = tuple([0] * width for _ in accounts)
            return found

        with self.reading() as connection:
            for account, currency, patient, payer, *since in connection.execute(
                _open_receivable_query(book_id, as_of, bucket_starts, accounts)
            ):
                target = row_of((currency, patient, payer))[column[account]]
                newer = 0
                for bucket, cents in enumerate(since):
                    target[bucket] += int(cents) - newer
                    newer = int(cents)
            late = _lines_posted_after(connection, book_id, as_of)
            for (patient, _invoice, _line, currency), rows in late.items():
                then = {key: value for key, value in rows.items() if key[1] <= as_of}
                for state, sign in ((rows, -1), (then, 1)):
                    if not state:
                        continue
                    service_date, payer, per_account = _line_state(state)
                    if service_date > as_of:
                        continue
                    bucket = _bucket(service_date, bucket_starts)
                    for account, cents in per_account.items():
                        if account in column:
                            target = row_of((currency, patient, payer))[column[account]]
                            target[bucket] += sign * cents
        return [(*key, buckets) for key, buckets in sums.items()]

    # Entries -------------------------------------------------------------------

    def entries(
        self,
        book_id: str,
        dimensions: Mapping[str, str],
        start: date | None,
        end: date | None,
        account: str | None,
    ) -> list[JournalEntry]:
        postings = schema.postings
        query = (
            sa.select(postings.c.entry_seq)
            .where(postings.c.book_id == book_id)
            .distinct()
        )
        for name, value in dimensions.items():
            query = query.where(postings.c[name] == value)
        if account is not None:
            query = query.where(_account_filter(postings.c.account, account, True))
        if start is not None:
            query = query.where(postings.c.effective_date >= start)
        if end is not None:
            query = query.where(postings.c.effective_date <= end)
        with self.reading() as connection:
            seqs = sorted(row[0] for row in connection.execute(query))
            return _load_entries(connection, book_id, seqs)

    def line_postings(
        self,
        book_id: str,
        account: str,
        patient: str,
        invoices: Sequence[str] | None,
    ) -> list[tuple[date, Posting]]:
        """Return a patient's postings to `account` that name an invoice line.

        Each comes with its entry's effective date, in journal order, pending
        ones included. With `invoices`, only postings on those invoices are read,
        through the invoice index; otherwise the patient index is used.
        """
        params: dict[str, Any] = {
            "book_id": book_id,
            "account": account,
            "patient": patient,
        }
        statement = _PATIENT_LINE_POSTINGS
        if invoices:
            statement = _INVOICE_LINE_POSTINGS
            params["invoices"] = list(invoices)
        with self.reading() as connection:
            rows = list(connection.execute(statement, params))
        # Sorted here: an ORDER BY makes SQLite walk the primary key of the
        # whole book instead of the invoice or patient index.
        rows.sort(key=lambda row: (row.entry_seq, row.idx))
        return [(_as_date(row.effective_date), _posting_from_row(row)) for row in rows]

    def get_entry(self, book_id: str, seq: int) -> JournalEntry | None:
        with self.reading() as connection:
            found = _load_entries(connection, book_id, [seq])
        return found[0] if found else None

    def referring_entries(
        self, book_id: str, seqs: Sequence[int]
    ) -> dict[int, JournalEntry]:
        table = schema.entries
        result: dict[int, JournalEntry] = {}
        with self.reading() as connection:
            for chunk in _chunks(list(seqs)):
                rows = connection.execute(
                    sa.select(table.c.seq, table.c.refers_to).where(
                        table.c.book_id == book_id, table.c.refers_to.in_(chunk)
                    )
                ).all()
                loaded = _load_entries(connection, book_id, [row[0] for row in rows])
                for row, entry in zip(rows, loaded, strict=True):
                    result[int(row[1])] = entry
        return result

    def iter_chain(self, book_id: str) -> Iterator[tuple[JournalEntry, str]]:
        table = schema.entries
        after = 0
        while True:
            with self.reading() as connection:
                rows = connection.execute(
                    sa.select(table.c.seq, table.c.fingerprint)
                    .where(table.c.book_id == book_id, table.c.seq > after)
                    .order_by(table.c.seq)
                    .limit(2000)
                ).all()
                if not rows:
                    return
                loaded = _load_entries(connection, book_id, [row[0] for row in rows])
            fingerprints = {int(row[0]): str(row[1]) for row in rows}
            for entry in loaded:
                yield entry, fingerprints[entry.seq]
            after = int(rows[-1][0])


class SqlTransaction:
    """The writes of one post, on one connection inside one transaction."""

    def __init__(self, connection: Connection, insert: Any):
        self.connection = connection
        self._insert = insert
        self._postgres = connection.dialect.name == "postgresql"
        self._raw: Any = None

    def lock_book(self, book_id: str) -> BookHead:
        # A no-op UPDATE takes the row's write lock on PostgreSQL and the
        # database write lock on SQLite before anything is read.
        row = self._driver(_LOCK_BOOK, (book_id,)).fetchone()
        if row is None:
            raise BookNotFoundError(
                f"book {book_id} does not exist; create it with `ona-ledger init` or "
                "open_ledger(..., create=True)"
            )
        closed = row[2]
        if isinstance(closed, str):
            closed = date.fromisoformat(closed)
        return BookHead(int(row[0]), str(row[1]), closed)

    def set_head(self, book_id: str, seq: int, hash_: str) -> None:
        self._driver(_SET_HEAD, (seq, hash_, book_id))

    def _driver(self, sql: str, params: Any) -> Any:
        """Run hot-path SQL on the driver's own cursor, inside this transaction.

        Skipping SQLAlchemy's statement handling roughly halves the cost of a
        single post. The SQL is written with `?` placeholders; PostgreSQL's
        driver takes `%s`. A list of rows runs as one executemany.
        """
        if self._postgres:
            sql = _POSTGRES_SQL.get(sql) or _POSTGRES_SQL.setdefault(
                sql, sql.replace("?", "%s")
            )
        cursor = self._driver_connection().cursor()
        if isinstance(params, list):
            if params:
                cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)
        return cursor

    def _driver_connection(self) -> Any:
        if self._raw is None:
            self._raw = self.connection.connection.driver_connection
        return self._raw

    def _day(self, day: date) -> date | str:
        return day if self._postgres else day.isoformat()

    def set_closed_through(self, book_id: str, day: date) -> None:
        table = schema.books
        self.connection.execute(
            sa.update(table)
            .where(table.c.book_id == book_id)
            .values(closed_through=day)
        )

    def find_by_idempotency_keys(
        self, book_id: str, keys: Sequence[str]
    ) -> dict[str, tuple[JournalEntry, str]]:
        table = schema.entries
        found: dict[str, tuple[JournalEntry, str]] = {}
        for chunk in _chunks(sorted(set(keys))):
            rows = self.connection.execute(
                sa.select(
                    table.c.seq, table.c.idempotency_key, table.c.fingerprint
                ).where(table.c.book_id == book_id, table.c.idempotency_key.in_(chunk))
            ).all()
            loaded = {
                e.seq: e
                for e in _load_entries(self.connection, book_id, [r[0] for r in rows])
            }
            for row in rows:
                found[str(row[1])] = (loaded[int(row[0])], str(row[2]))
        return found

    def find_entry(self, book_id: str, seq: int) -> JournalEntry | None:
        found = _load_entries(self.connection, book_id, [seq])
        return found[0] if found else None

    def find_referring_entry(self, book_id: str, seq: int) -> JournalEntry | None:
        table = schema.entries
        row = self.connection.execute(
            sa.select(table.c.seq).where(
                table.c.book_id == book_id, table.c.refers_to == seq
            )
        ).first()
        return None if row is None else self.find_entry(book_id, int(row[0]))

    def insert_entries(
        self, rows: Sequence[NewJournalRow], head: tuple[int, str] | None = None
    ) -> None:
        entry_rows: list[tuple[Any, ...]] = []
        posting_rows: list[tuple[Any, ...]] = []
        deltas: dict[tuple[str, str, str, str, date], list[int]] = {}
        items: dict[tuple[str, str, str, str, str, date], list[Any]] = {}
        for row in rows:
            entry = row.entry
            day = self._day(entry.effective_date)
            entry_rows.append(_entry_row(entry, row.fingerprint, day))
            for index, posting in enumerate(entry.postings):
                posting_rows.append(_posting_row(entry, index, posting, day))
                _add_deltas(deltas, posting, entry.effective_date)
                _add_receivable_item(items, posting, entry.effective_date)
        book_id = rows[0].entry.book_id
        # Sorted keys make concurrent upserts take row locks in one order.
        balance_rows = [
            (book_id, account, currency, dim_name, dim_value, self._day(day), *amounts)
            for (account, currency, dim_name, dim_value, day), amounts in sorted(
                deltas.items()
            )
        ]
        item_rows = [
            (book_id, *key[:5], self._day(key[5]), payer, cents)
            for key, (payer, cents) in sorted(items.items())
        ]
        open_rows = self._receivable_open_rows(book_id, items) if items else []

        with self._batch():
            self._driver(_INSERT_ENTRY, entry_rows)
            self._driver(_INSERT_POSTING, posting_rows)
            self._driver(_UPSERT_BALANCE, balance_rows)
            self._driver(_UPSERT_RECEIVABLE_ITEM, item_rows)
            self._driver(_UPSERT_RECEIVABLE_OPEN, open_rows)
            self._driver(_DELETE_CLOSED_RECEIVABLE_OPEN, [r[:6] for r in open_rows])
            if head is not None:
                self._driver(_SET_HEAD, (head[0], head[1], book_id))

    def _receivable_open_rows(
        self,
        book_id: str,
        items: Mapping[tuple[str, str, str, str, str, date], list[Any]],
    ) -> list[tuple[Any, ...]]:
        """Return the receivable_open changes that the batch's receivable items make.

        Each touched line's rows are read first (the book is locked, so they
        cannot change meanwhile). A line whose service date or payer the batch
        changes moves its whole open amount from its old group to its new one.
        """
        batch: dict[tuple[str, str, str, str], dict[tuple[str, date], list[Any]]] = {}
        for (account, currency, patient, invoice, line, day), item in items.items():
            key = (patient, invoice, line, currency)
            batch.setdefault(key, {})[(account, day)] = item
        stored = _read_line_rows(
            lambda sql, params: self._driver(sql, params).fetchall(),
            book_id,
            list(batch),
        )
        deltas: dict[tuple[str, str, str, str, date], int] = {}
        for key, added in batch.items():
            before = stored.get(key, {})
            after = {row: list(value) for row, value in before.items()}
            for row, (payer, cents) in added.items():
                if row in after:
                    # An existing row keeps its payer, as receivable_items does.
                    after[row][1] += cents
                else:
                    after[row] = [payer, cents]
            patient, currency = key[0], key[3]
            for rows, sign in ((before, -1), (after, 1)):
                if not rows:
                    continue
                service_date, payer, per_account = _line_state(rows)
                for account, cents in per_account.items():
                    group = (account, currency, patient, payer, service_date)
                    deltas[group] = deltas.get(group, 0) + sign * cents
        # Sorted keys make concurrent upserts take row locks in one order.
        return [
            (book_id, *group[:4], self._day(group[4]), cents)
            for group, cents in sorted(deltas.items())
            if cents
        ]

    @contextmanager
    def _batch(self) -> Iterator[None]:
        """Send the statements of the block in one round trip on PostgreSQL (pipeline mode)."""
        if not self._postgres:
            yield
            return
        self._driver_connection()
        with self._raw.pipeline():
            yield

    def check_limits(
        self,
        book_id: str,
        keys: Sequence[tuple[str, str, str]],
        signs: Mapping[str, int],
    ) -> LimitViolation | None:
        table = schema.balances
        for account, dimension, value in keys:
            row = self.connection.execute(
                sa.select(
                    table.c.currency,
                    sa.func.sum(table.c.posted_cents),
                    sa.func.sum(table.c.pending_cents),
                )
                .where(
                    table.c.book_id == book_id,
                    table.c.account == account,
                    table.c.dim_name == dimension,
                    table.c.dim_value == value,
                )
                .group_by(table.c.currency)
            ).all()
            for currency, posted, pending in row:
                posted_normal = signs[account] * int(posted)
                available = posted_normal + min(0, signs[account] * int(pending))
                if posted_normal < 0 or available < 0:
                    return LimitViolation(
                        account,
                        dimension,
                        value,
                        Money(min(posted_normal, available), currency),
                    )
        return None


def _account_filter(
    column: sa.ColumnElement[str], account: str, include_subaccounts: bool
) -> sa.ColumnElement[bool]:
    if include_subaccounts:
        return sa.or_(column == account, column.like(account + ":%"))
    return column == account


def _add_deltas(
    deltas: dict[tuple[str, str, str, str, date], list[int]],
    posting: Posting,
    day: date,
) -> None:
    column = 0 if posting.status is PostingStatus.POSTED else 1
    currency = posting.amount.currency
    keys = [(posting.account, currency, "", "", day)]
    for name in schema.MAINTAINED_DIMENSIONS:
        value = getattr(posting, name)
        if value is not None:
            keys.append((posting.account, currency, name, value, day))
    for key in keys:
        amounts = deltas.get(key)
        if amounts is None:
            amounts = deltas[key] = [0, 0]
        amounts[column] += posting.amount.cents


def _add_receivable_item(
    items: dict[tuple[str, str, str, str, str, date], list[Any]],
    posting: Posting,
    day: date,
) -> None:
    if posting.status is not PostingStatus.POSTED:
        return
    if not posting.account.startswith(RECEIVABLE_PREFIX):
        return
    key = (
        posting.account,
        posting.amount.currency,
        posting.patient or "",
        posting.invoice or "",
        posting.invoice_line or "",
        day,
    )
    item = items.get(key)
    if item is None:
        items[key] = [posting.payer or "", posting.amount.cents]
        return
    item[1] += posting.amount.cents
    if not item[0] and posting.payer:
        item[0] = posting.payer


def _open_receivable_query(
    book_id: str, as_of: date, bucket_starts: Sequence[date], accounts: Sequence[str]
) -> sa.Select[Any]:
    """Sum receivable_open per account, currency, patient and payer.

    The columns after the four keys are the open cents served on or after
    each bucket start, then the total: cumulative sums, one comparison per row
    each, which the caller turns into buckets. The grouping follows the
    table's key, so the database reads it in one pass without sorting.
    """
    table = schema.receivable_open
    service_date, cents = table.c.service_date, table.c.posted_cents
    return (
        sa.select(
            table.c.account,
            table.c.currency,
            table.c.patient,
            table.c.payer,
            *(
                sa.func.sum(sa.case((service_date >= start, cents), else_=0))
                for start in bucket_starts
            ),
            sa.func.sum(cents),
        )
        .where(
            table.c.book_id == book_id,
            table.c.account.in_(list(accounts)),
            service_date <= as_of,
        )
        .group_by(table.c.account, table.c.currency, table.c.patient, table.c.payer)
    )


def _lines_posted_after(
    connection: Connection, book_id: str, as_of: date
) -> dict[tuple[str, str, str, str], dict[tuple[str, date], list[Any]]]:
    """Return the receivable_items rows of every line with a receivable posting after `as_of`.

    The lines are found through the entries' date index, so the work grows
    with what was posted after `as_of`, not with the journal.
    """
    entries, postings = schema.entries, schema.postings
    upper = RECEIVABLE_PREFIX[:-1] + chr(ord(":") + 1)
    query = (
        sa.select(
            sa.func.coalesce(postings.c.patient, ""),
            sa.func.coalesce(postings.c.invoice, ""),
            sa.func.coalesce(postings.c.invoice_line, ""),
            postings.c.currency,
        )
        .distinct()
        .select_from(
            entries.join(
                postings,
                sa.and_(
                    postings.c.book_id == entries.c.book_id,
                    postings.c.entry_seq == entries.c.seq,
                ),
            )
        )
        .where(
            entries.c.book_id == book_id,
            entries.c.effective_date > as_of,
            postings.c.account > RECEIVABLE_PREFIX,
            postings.c.account < upper,
            postings.c.status == PostingStatus.POSTED.value,
        )
    )
    keys = [(row[0], row[1], row[2], row[3]) for row in connection.execute(query)]
    if not keys:
        return {}
    postgres = connection.dialect.name == "postgresql"

    def fetch(sql: str, params: tuple[Any, ...]) -> Any:
        if postgres:
            sql = sql.replace("?", "%s")
        return connection.exec_driver_sql(sql, params).all()

    return _read_line_rows(fetch, book_id, keys)


def _bucket(service_date: date, bucket_starts: Sequence[date]) -> int:
    for index, start in enumerate(bucket_starts):
        if service_date >= start:
            return index
    return len(bucket_starts)


def _read_line_rows(
    fetch: Any, book_id: str, keys: Sequence[tuple[str, str, str, str]]
) -> dict[tuple[str, str, str, str], dict[tuple[str, date], list[Any]]]:
    """Read the receivable_items rows of invoice lines, keyed by line, then account and day.

    `fetch(sql, params)` runs `?`-placeholder SQL and returns its rows.
    """
    found: dict[tuple[str, str, str, str], dict[tuple[str, date], list[Any]]] = {}
    for start in range(0, len(keys), _LINE_CHUNK):
        chunk = keys[start : start + _LINE_CHUNK]
        # A join from the wanted keys, not a row-value IN, which SQLite 3.40
        # answers by scanning the whole book.
        sql = (
            "WITH wanted (patient, invoice, invoice_line, currency) AS (VALUES "
            + ", ".join(["(?, ?, ?, ?)"] * len(chunk))
            + ") SELECT r.patient, r.invoice, r.invoice_line, r.currency, r.account, "
            "r.day, r.payer, r.posted_cents FROM wanted JOIN receivable_items r "
            "ON r.book_id = ? AND r.patient = wanted.patient "
            "AND r.invoice = wanted.invoice AND r.invoice_line = wanted.invoice_line "
            "AND r.currency = wanted.currency"
        )
        params = (*(value for key in chunk for value in key), book_id)
        for row in fetch(sql, params):
            line = found.setdefault((row[0], row[1], row[2], row[3]), {})
            line[(row[4], _as_date(row[5]))] = [row[6], int(row[7])]
    return found


def _line_state(
    rows: Mapping[tuple[str, date], Sequence[Any]],
) -> tuple[date, str, dict[str, int]]:
    """Return a line's service date, payer and cents per account from its item rows."""
    per_account: dict[str, int] = {}
    for (account, _day), (_payer, cents) in rows.items():
        per_account[account] = per_account.get(account, 0) + cents
    service_date = min(day for _account, day in rows)
    payer = max(payer for payer, _cents in rows.values())
    return service_date, payer, per_account


def _as_date(value: date | str) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _entry_row(
    entry: JournalEntry, fingerprint: str, day: date | str
) -> tuple[Any, ...]:
    return (
        entry.book_id,
        entry.seq,
        entry.kind.value,
        day,
        entry.recorded_at.isoformat(),
        entry.narration,
        entry.actor,
        entry.reason,
        json.dumps(list(entry.links)),
        json.dumps(dict(entry.meta), sort_keys=True),
        entry.idempotency_key,
        fingerprint,
        entry.refers_to,
        entry.prev_hash,
        entry.hash,
    )


def _posting_row(
    entry: JournalEntry, index: int, posting: Posting, day: date | str
) -> tuple[Any, ...]:
    return (
        entry.book_id,
        entry.seq,
        index,
        posting.account,
        posting.amount.currency,
        posting.amount.cents,
        posting.status.value,
        day,
        *(getattr(posting, name) for name in DIMENSIONS),
    )


def _load_entries(
    connection: Connection, book_id: str, seqs: Sequence[int]
) -> list[JournalEntry]:
    """Load entries with their postings, in the order of `seqs`."""
    if not seqs:
        return []
    entries_table, postings_table = schema.entries, schema.postings
    entry_rows: dict[int, Any] = {}
    posting_rows: dict[int, list[Posting]] = {}
    for chunk in _chunks(list(seqs)):
        for row in connection.execute(
            sa.select(entries_table).where(
                entries_table.c.book_id == book_id, entries_table.c.seq.in_(chunk)
            )
        ):
            entry_rows[int(row.seq)] = row
        for row in connection.execute(
            sa.select(postings_table)
            .where(
                postings_table.c.book_id == book_id,
                postings_table.c.entry_seq.in_(chunk),
            )
            .order_by(postings_table.c.entry_seq, postings_table.c.idx)
        ):
            posting_rows.setdefault(int(row.entry_seq), []).append(
                _posting_from_row(row)
            )
    result = []
    for seq in seqs:
        entry_row = entry_rows.get(seq)
        if entry_row is None:
            continue
        row = entry_row
        result.append(
            JournalEntry(
                book_id=book_id,
                seq=int(row.seq),
                kind=EntryKind(row.kind),
                effective_date=row.effective_date,
                recorded_at=datetime.fromisoformat(row.recorded_at),
                narration=row.narration,
                postings=tuple(posting_rows.get(seq, ())),
                actor=row.actor,
                reason=row.reason,
                links=tuple(json.loads(row.links)),
                meta=json.loads(row.meta),
                idempotency_key=row.idempotency_key,
                refers_to=None if row.refers_to is None else int(row.refers_to),
                prev_hash=row.prev_hash,
                hash=row.hash,
            )
        )
    return result


def _posting_from_row(row: Any) -> Posting:
    return Posting(
        row.account,
        Money(int(row.amount_cents), row.currency),
        status=PostingStatus(row.status),
        **{name: getattr(row, name) for name in DIMENSIONS},
    )


def _line_postings_query(by_invoice: bool) -> sa.Select[Any]:
    table = schema.postings
    query = sa.select(table).where(
        table.c.book_id == sa.bindparam("book_id"),
        table.c.account == sa.bindparam("account"),
        table.c.patient == sa.bindparam("patient"),
        table.c.invoice_line.is_not(None),
    )
    if by_invoice:
        return query.where(
            table.c.invoice.in_(sa.bindparam("invoices", expanding=True))
        )
    return query.where(table.c.invoice.is_not(None))


# Built once, so each call reuses SQLAlchemy's compiled form.
_INVOICE_LINE_POSTINGS = _line_postings_query(by_invoice=True)
_PATIENT_LINE_POSTINGS = _line_postings_query(by_invoice=False)


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]
