"""Payment plans, autopay with smart retries, memberships, packages and gift cards.

Everything here schedules or books money through billing and the ledger core;
plans and notifications are records beside the journal, never balances.
"""
