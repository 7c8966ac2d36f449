"""ona_ledger: a double-entry billing ledger for clinics.

The public API is re-exported here; see docs/ for guides.
"""

from ona_ledger.accounts import (
    CLINIC_CHART,
    Account,
    AccountType,
    account_type,
    clinic_chart,
)
from ona_ledger.entries import (
    DIMENSIONS,
    Entry,
    EntryKind,
    JournalEntry,
    Posting,
    PostingStatus,
)
from ona_ledger.errors import (
    AccountClosedError,
    AlreadyReversedError,
    BalanceLimitError,
    BookNotFoundError,
    CurrencyMismatchError,
    EntryNotFoundError,
    IdempotencyConflictError,
    InvalidAccountNameError,
    InvalidAmountError,
    InvalidInputError,
    LedgerError,
    PendingStateError,
    PeriodClosedError,
    SchemaError,
    UnbalancedEntryError,
    UnknownAccountError,
)
from ona_ledger.ledger import Balance, Clock, Ledger, VerifyResult, system_clock
from ona_ledger.money import Money, allocate, split_evenly, total
from ona_ledger.store import SqlStore, create_engine, migrate, open_ledger

__version__ = "0.1.0"

__all__ = [
    "CLINIC_CHART",
    "DIMENSIONS",
    "Account",
    "AccountClosedError",
    "AccountType",
    "AlreadyReversedError",
    "Balance",
    "BalanceLimitError",
    "BookNotFoundError",
    "Clock",
    "CurrencyMismatchError",
    "Entry",
    "EntryKind",
    "EntryNotFoundError",
    "IdempotencyConflictError",
    "InvalidAccountNameError",
    "InvalidAmountError",
    "InvalidInputError",
    "JournalEntry",
    "Ledger",
    "LedgerError",
    "Money",
    "PendingStateError",
    "PeriodClosedError",
    "Posting",
    "PostingStatus",
    "SchemaError",
    "SqlStore",
    "UnbalancedEntryError",
    "UnknownAccountError",
    "VerifyResult",
    "account_type",
    "allocate",
    "clinic_chart",
    "create_engine",
    "migrate",
    "open_ledger",
    "split_evenly",
    "system_clock",
    "total",
]
