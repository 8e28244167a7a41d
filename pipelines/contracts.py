"""The canonical contracts (pipelines/contracts.yaml) and the code tables (warehouse/seeds) they refer to."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path

from pipelines.pii import PII_KINDS
from warehouse.build import LAKE_TYPES, SEEDS_DIR
from warehouse.documents import load_yaml

CONTRACTS_PATH = files("pipelines") / "contracts.yaml"
# The lake's column types and lineage columns are the warehouse's to define: it reads the lake.
FIELD_TYPES = LAKE_TYPES


class ContractError(ValueError):
    """A contract file that does not describe a table the pipeline can validate."""


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    required: bool = False
    allowed: tuple[str, ...] | None = None
    seed: str | None = None
    min: float | None = None
    max: float | None = None
    references: tuple[str, str] | None = None  # (table, field)
    pii: str | None = None
    area: str | None = None  # lon | lat: bounded by the street's configured area
    range_by: str | None = None  # a field whose code row (valid_min, valid_max) bounds this one

    @property
    def sql_type(self) -> str:
        return FIELD_TYPES[self.type]

    def accepted_values(self) -> tuple[str, ...] | None:
        if self.seed:
            return seed_codes(self.seed)
        return self.allowed


@dataclass(frozen=True)
class Contract:
    table: str
    grain: str
    key: tuple[str, ...]
    snapshot: bool
    fields: dict[str, Field] = field(default_factory=dict)

    @property
    def required(self) -> list[str]:
        return [f.name for f in self.fields.values() if f.required]


def _parse_field(table: str, name: str, spec: dict) -> Field:
    kind = spec.get("type")
    if kind not in FIELD_TYPES:
        raise ContractError(f"{table}.{name}: unknown type {kind!r}")
    if spec.get("pii") not in (None, *PII_KINDS):
        raise ContractError(f"{table}.{name}: unknown pii kind {spec['pii']!r}")
    references = None
    if "references" in spec:
        ref_table, _, ref_field = spec["references"].partition(".")
        references = (ref_table, ref_field)
    allowed = spec.get("allowed")
    if spec.get("area") not in (None, "lon", "lat"):
        raise ContractError(f"{table}.{name}: area must be lon or lat")
    return Field(
        name=name,
        type=kind,
        required=bool(spec.get("required", False)),
        allowed=tuple(str(v) for v in allowed) if allowed is not None else None,
        seed=spec.get("seed"),
        min=spec.get("min"),
        max=spec.get("max"),
        references=references,
        pii=spec.get("pii"),
        area=spec.get("area"),
        range_by=spec.get("range_by"),
    )


@cache
def load_contracts(path: Path = CONTRACTS_PATH) -> dict[str, Contract]:
    raw = load_yaml(path.read_text(encoding="utf-8"))
    contracts = {}
    for table, spec in raw.items():
        fields = {name: _parse_field(table, name, f) for name, f in spec["fields"].items()}
        key = tuple(spec.get("key", ()))
        unknown = [k for k in key if k not in fields]
        if unknown:
            raise ContractError(f"{table}: key field(s) {unknown} are not fields")
        contracts[table] = Contract(table, spec.get("grain", ""), key, bool(spec.get("snapshot")), fields)
    for contract in contracts.values():
        for f in contract.fields.values():
            if f.range_by and not (f.range_by in contract.fields and contract.fields[f.range_by].seed):
                raise ContractError(f"{contract.table}.{f.name}: range_by names no coded field {f.range_by!r}")
            if f.references and (
                f.references[0] not in contracts or f.references[1] not in contracts[f.references[0]].fields
            ):
                raise ContractError(f"{contract.table}.{f.name}: references unknown {'.'.join(f.references)}")
    return contracts


@cache
def seed_rows(seed: str) -> tuple[dict[str, str], ...]:
    path = SEEDS_DIR / f"{seed}.csv"
    if not path.exists():
        raise ContractError(f"no code table {path.name} in warehouse/seeds")
    with path.open(encoding="utf-8", newline="") as f:
        return tuple(csv.DictReader(f))


def seed_codes(seed: str) -> tuple[str, ...]:
    return tuple(row["code"] for row in seed_rows(seed))


def seed_translation(seed: str, column: str) -> dict[str, str]:
    """Export value → code through one column of a seed (e.g. category.name_zh: 噪音扰民 → noise)."""
    rows = seed_rows(seed)
    if rows and column not in rows[0]:
        raise ContractError(f"code table {seed} has no column {column!r}")
    return {row[column]: row["code"] for row in rows}
