"""Names billing shares: account names, entry types and the metadata keys it writes."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

RECEIVABLE_PATIENTS: Final = "Assets:Receivable:Patients"
RECEIVABLE_INSURANCE: Final = "Assets:Receivable:Insurance"
INCOME_SERVICES: Final = "Income:Services"
PATIENT_CREDIT: Final = "Liabilities:PatientCredit"
PAYER_REFUNDS: Final = "Liabilities:PayerRefunds"
CLEARING_PROCESSOR: Final = "Assets:Clearing:Processor"
CLEARING_UNDEPOSITED: Final = "Assets:Clearing:Undeposited"
CLEARING_INSURANCE: Final = "Assets:Clearing:Insurance"
BANK: Final = "Assets:Bank:Operating"
PROCESSOR_FEES: Final = "Expenses:ProcessorFees"
CONTRACTUAL: Final = "Income:Adjustments:Contractual"
ADJUSTMENTS_PREFIX: Final = "Income:Adjustments:"

RECORD_VISIT: Final = "visit"
RECORD_INVOICE: Final = "invoice"
RECORD_PAYMENT: Final = "payment"


class EntryType(StrEnum):
    """The billing event an entry records, kept in its metadata under 'type'."""

    CHARGE = "charge"
    PAYMENT = "payment"
    REFUND = "refund"
    ADJUSTMENT = "adjustment"
    CREDIT_APPLIED = "credit_applied"
    INSURANCE_PAYMENT = "insurance_payment"
    PAYOUT = "payout"
    DEPOSIT = "deposit"
