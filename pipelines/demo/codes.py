"""Code tables the generator draws from: the warehouse seeds (categories, departments, channels, domains, metrics).

Exports carry the Chinese names (name_zh) the mappings translate back through
`seed:<table>.name_zh`, so the generator reads the same files as the pipeline.
"""

from __future__ import annotations

import csv
from functools import cache

from warehouse.build import SEEDS_DIR


@cache
def seed(name: str) -> tuple[dict[str, str], ...]:
    with (SEEDS_DIR / f"{name}.csv").open(encoding="utf-8", newline="") as f:
        return tuple(csv.DictReader(f))


def name_zh(table: str) -> dict[str, str]:
    """code → Chinese name."""
    return {row["code"]: row["name_zh"] for row in seed(table)}


def categories() -> dict[str, dict[str, str]]:
    return {row["code"]: row for row in seed("category")}


def department_codes() -> list[str]:
    return [row["code"] for row in seed("department")]
