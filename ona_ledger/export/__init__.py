"""Exports for accountants: beancount files and other journal formats."""
