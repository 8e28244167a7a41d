"""Reproducible performance runs that print figures and ratios (not timed tests)."""
