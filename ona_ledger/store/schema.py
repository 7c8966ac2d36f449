"""The ledger's tables, as SQLAlchemy Core metadata; every row carries its book id."""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from ona_ledger.entries import MAINTAINED_DIMENSIONS as _MAINTAINED

metadata = MetaData()

ID = 200  # longest opaque id, matching the check on posting dimensions

schema_version = Table(
    "ona_schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", String(40), nullable=False),
)

# One row per book (clinic). The row is the book's chain head: every post
# locks it, so posts within a book take sequence numbers and hashes in order.
books = Table(
    "books",
    metadata,
    Column("book_id", String(ID), primary_key=True),
    Column("name", String(400), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("head_seq", BigInteger, nullable=False),
    Column("head_hash", String(64), nullable=False),
    Column("closed_through", Date, nullable=True),
    Column("created_at", String(40), nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("book_id", String(ID), nullable=False),
    Column("name", String(400), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("opened", Date, nullable=False),
    Column("closed", Date, nullable=True),
    Column("description", Text, nullable=False, default=""),
    PrimaryKeyConstraint("book_id", "name"),
)

# A never-below-zero rule: for the account as a whole (dimension "") or for
# each value of one maintained dimension, such as each patient's credit.
balance_limits = Table(
    "balance_limits",
    metadata,
    Column("book_id", String(ID), nullable=False),
    Column("account", String(400), nullable=False),
    Column("dimension", String(40), nullable=False),
    PrimaryKeyConstraint("book_id", "account", "dimension"),
)

entries = Table(
    "entries",
    metadata,
    Column("book_id", String(ID), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("effective_date", Date, nullable=False),
    Column("recorded_at", String(40), nullable=False),
    Column("narration", Text, nullable=False),
    Column("actor", String(ID), nullable=False),
    Column("reason", Text, nullable=True),
    Column("links", Text, nullable=False),
    Column("meta", Text, nullable=False),
    Column("idempotency_key", String(400), nullable=True),
    Column("fingerprint", String(64), nullable=False),
    Column("refers_to", BigInteger, nullable=True),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    PrimaryKeyConstraint("book_id", "seq"),
    UniqueConstraint("book_id", "idempotency_key", name="uq_entries_idempotency"),
    # An entry is reversed, posted from pending or voided at most once.
    UniqueConstraint("book_id", "refers_to", name="uq_entries_refers_to"),
    Index("ix_entries_date", "book_id", "effective_date"),
)

DIMENSION_COLUMNS: Final = (
    "patient",
    "invoice",
    "invoice_line",
    "visit",
    "claim",
    "provider",
    "payer",
    "location",
    "plan",
)

postings = Table(
    "postings",
    metadata,
    Column("book_id", String(ID), nullable=False),
    Column("entry_seq", BigInteger, nullable=False),
    Column("idx", Integer, nullable=False),
    Column("account", String(400), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("status", String(10), nullable=False),
    Column("effective_date", Date, nullable=False),
    *(Column(name, String(ID), nullable=True) for name in DIMENSION_COLUMNS),
    PrimaryKeyConstraint("book_id", "entry_seq", "idx"),
    # Subledger lookups that are not maintained as balances go through these.
    Index("ix_postings_patient", "book_id", "patient"),
    Index("ix_postings_invoice", "book_id", "invoice"),
    Index("ix_postings_claim", "book_id", "claim"),
    Index("ix_postings_visit", "book_id", "visit"),
)

# Maintained balances: one row per book, account, currency, day and
# dimension value ("" and "" for the account as a whole). A balance as of a
# day is the sum of a key's rows up to that day, never a scan of postings.
MAINTAINED_DIMENSIONS: Final = _MAINTAINED

balances = Table(
    "balances",
    metadata,
    Column("book_id", String(ID), nullable=False),
    Column("account", String(400), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("dim_name", String(40), nullable=False),
    Column("dim_value", String(ID), nullable=False),
    Column("day", Date, nullable=False),
    Column("posted_cents", BigInteger, nullable=False),
    Column("pending_cents", BigInteger, nullable=False),
    PrimaryKeyConstraint(
        "book_id", "account", "dim_name", "dim_value", "currency", "day"
    ),
)

# Maintained receivable per invoice line and day, for aging by date of service:
# one row per book, patient, invoice, invoice line, currency, receivable
# account and posting day ("" where a posting has no such dimension). A line's
# first day is its charge's effective date, which billing sets to the date of
# service. The payer is kept from the first posting of the row's key.
receivable_items = Table(
    "receivable_items",
    metadata,
    Column("book_id", String(ID), nullable=False),
    Column("account", String(400), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("patient", String(ID), nullable=False),
    Column("invoice", String(ID), nullable=False),
    Column("invoice_line", String(ID), nullable=False),
    Column("day", Date, nullable=False),
    Column("payer", String(ID), nullable=False),
    Column("posted_cents", BigInteger, nullable=False),
    # Line first, so aging groups lines across accounts in key order, unsorted.
    PrimaryKeyConstraint(
        "book_id", "patient", "invoice", "invoice_line", "currency", "account", "day"
    ),
)

# Maintained open receivable per patient, payer and date of service, the
# summary that aging reads: one row per book, receivable account, currency,
# patient, payer and service date, holding the open cents of every invoice line
# (item of receivable_items) whose service date and payer these are. A line's
# service date is its first day and its payer the largest of its rows' payers,
# both over all receivable accounts. Rows that reach zero are deleted, so the
# table grows with open groups, not with history.
receivable_open = Table(
    "receivable_open",
    metadata,
    Column("book_id", String(ID), nullable=False),
    Column("account", String(400), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("patient", String(ID), nullable=False),
    Column("payer", String(ID), nullable=False),
    Column("service_date", Date, nullable=False),
    Column("posted_cents", BigInteger, nullable=False),
    # Key order lets aging sum each patient's buckets in one unsorted pass.
    PrimaryKeyConstraint(
        "book_id", "account", "currency", "patient", "payer", "service_date"
    ),
    # On SQLite the key is then the table itself, so that pass reads no other index.
    sqlite_with_rowid=False,
)

# Per-book counters that must never repeat, such as X12 control numbers.
sequences = Table(
    "sequences",
    metadata,
    Column("book_id", String(ID), nullable=False),
    Column("name", String(100), nullable=False),
    Column("value", BigInteger, nullable=False),
    PrimaryKeyConstraint("book_id", "name"),
)

# Documents and state that modules above the core keep beside the journal
# (visits, invoices, claims, plans, statement lines), as JSON per key.
records = Table(
    "records",
    metadata,
    Column("book_id", String(ID), nullable=False),
    Column("kind", String(60), nullable=False),
    Column("key", String(400), nullable=False),
    Column("body", Text, nullable=False),
    Column("updated_at", String(40), nullable=False),
    PrimaryKeyConstraint("book_id", "kind", "key"),
)

# Bank statement lines imported for reconciliation, one per (bank account, FITID),
# with the match that reconciled each line once there is one.
statement_lines = Table(
    "statement_lines",
    metadata,
    Column("book_id", String(ID), nullable=False),
    Column("bank_account_id", String(ID), nullable=False),
    Column("fitid", String(ID), nullable=False),
    Column("account", String(400), nullable=False),
    Column("posted_date", Date, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("payee", Text, nullable=False),
    Column("memo", Text, nullable=False),
    Column("check_number", String(ID), nullable=False),
    Column("reference", Text, nullable=False),
    Column("transaction_type", String(40), nullable=False),
    Column("fitid_generated", Boolean, nullable=False),
    Column("source", Text, nullable=False),
    Column("imported_at", String(40), nullable=False),
    Column("match_id", String(ID), nullable=True),
    Column("match_rule", String(40), nullable=True),
    Column("match_score", Integer, nullable=True),
    Column("matched_items", Text, nullable=True),
    PrimaryKeyConstraint("book_id", "bank_account_id", "fitid"),
    Index("ix_statement_lines_date", "book_id", "account", "posted_date"),
)
