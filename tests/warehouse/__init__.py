"""Tests of the warehouse: release build, models, checks."""
