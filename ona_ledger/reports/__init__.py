"""Reports read from the maintained balances: trial balance, revenue and per-provider figures."""
