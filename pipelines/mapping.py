"""Source mappings: declarative files that turn one system's export into contract rows.

The format is documented in pipelines/sources/README.md. A mapping is checked
against the contracts when it is loaded, so a typo in a mapping fails the run
at start with one line naming the file, not half-way through the night.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipelines.contracts import Contract, ContractError, load_contracts, seed_translation

SOURCES_DIR = Path(__file__).with_name("sources")
FORMATS = {"csv", "xlsx", "jsonl", "geojson"}
# How often a source delivers: a monthly snapshot is not stale after two days.
CADENCE_DAYS = {"daily": 1, "weekly": 7, "monthly": 31}


class MappingError(ValueError):
    """A mapping file that cannot be used; the message is one line naming the file."""


@dataclass(frozen=True)
class FileSpec:
    table: str
    pattern: str
    format: str
    columns: dict[str, str]  # export column → contract field
    encoding: str | None = None
    sheet: str | None = None
    datetime_formats: dict[str, list[str]] = field(default_factory=dict)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)

    def required_columns(self, contract: Contract) -> list[str]:
        """Export columns that must be in a file's header: those feeding a required field."""
        return [col for col, name in self.columns.items() if contract.fields[name].required]


@dataclass(frozen=True)
class Mapping:
    source: str
    title: str
    order: int
    files: tuple[FileSpec, ...]
    path: Path
    cadence: str = "daily"

    @property
    def cadence_days(self) -> int:
        return CADENCE_DAYS[self.cadence]


def _codes(path: Path, field_name: str, spec) -> dict[str, str]:
    if isinstance(spec, dict):
        return {str(k): str(v) for k, v in spec.items()}
    if isinstance(spec, str) and spec.startswith("seed:"):
        seed, _, column = spec.removeprefix("seed:").partition(".")
        try:
            return seed_translation(seed, column or "code")
        except ContractError as exc:
            raise MappingError(f"{path.name}: codes for {field_name}: {exc}") from exc
    raise MappingError(f"{path.name}: codes for {field_name} must be a mapping or 'seed:<table>.<column>'")


def load_mapping(path: Path, contracts: dict[str, Contract] | None = None) -> Mapping:
    contracts = contracts or load_contracts()
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MappingError(f"{Path(path).name}: cannot read mapping: {str(exc).splitlines()[0]}") from exc
    if not isinstance(raw, dict) or "source" not in raw or not raw.get("files"):
        raise MappingError(f"{Path(path).name}: a mapping needs 'source' and 'files'")
    files = []
    for i, spec in enumerate(raw["files"]):
        where = f"{Path(path).name} files[{i}]"
        table = spec.get("table")
        if table not in contracts:
            raise MappingError(f"{where}: unknown table {table!r}")
        contract = contracts[table]
        if spec.get("format") not in FORMATS:
            raise MappingError(f"{where}: format must be one of {sorted(FORMATS)}")
        columns = {str(k): str(v) for k, v in (spec.get("columns") or {}).items()}
        constants = {str(k): str(v) for k, v in (spec.get("constants") or {}).items()}
        for name in [*columns.values(), *constants]:
            if name not in contract.fields:
                raise MappingError(f"{where}: {name!r} is not a field of {table}")
        missing = [f for f in contract.required if f not in columns.values() and f not in constants]
        if missing:
            raise MappingError(f"{where}: required field(s) {', '.join(missing)} of {table} are not mapped")
        formats = {k: [v] if isinstance(v, str) else list(v) for k, v in (spec.get("datetime_formats") or {}).items()}
        files.append(
            FileSpec(
                table=table,
                pattern=spec.get("pattern", "*"),
                format=spec["format"],
                columns=columns,
                encoding=spec.get("encoding"),
                sheet=spec.get("sheet"),
                datetime_formats=formats,
                codes={k: _codes(Path(path), k, v) for k, v in (spec.get("codes") or {}).items()},
                constants=constants,
            )
        )
    cadence = raw.get("cadence", "daily")
    if cadence not in CADENCE_DAYS:
        raise MappingError(f"{Path(path).name}: cadence must be one of {', '.join(CADENCE_DAYS)}")
    title = raw.get("title", raw["source"])
    return Mapping(raw["source"], title, int(raw.get("order", 50)), tuple(files), Path(path), cadence)


def load_mappings(extra: list[Path] | tuple[Path, ...] = ()) -> list[Mapping]:
    """The built-in mappings plus extra ones from configuration, in load order."""
    contracts = load_contracts()
    mappings = [load_mapping(p, contracts) for p in sorted(SOURCES_DIR.glob("*.yaml"))]
    mappings += [load_mapping(Path(p), contracts) for p in extra]
    seen: dict[str, Path] = {}
    for m in mappings:
        if m.source in seen:
            raise MappingError(f"{m.path.name}: source {m.source!r} is already defined by {seen[m.source].name}")
        seen[m.source] = m.path
    return sorted(mappings, key=lambda m: (m.order, m.source))
