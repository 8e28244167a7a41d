"""Nightly pipelines: landing extracts → validated, masked lake partitions → a published warehouse release."""
