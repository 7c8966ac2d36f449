"""Bank reconciliation: statement lines in from OFX and CSV, matched to the ledger items expected at the bank."""
