"""Reports from the maintained balances: statements, aging, revenue, splits, key figures, daily close, charts."""
