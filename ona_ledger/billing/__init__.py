"""Billing: fee schedules, visits from the chart, invoices, payments, refunds and adjustments."""
