"""Source mappings: declarative files that turn one system's export into contract rows.

The format is documented in pipelines/sources/README.md. A mapping is read with
a YAML loader that refuses repeated keys (YAML itself keeps the last one
silently), validated by a schema (pydantic: unknown keys are typos, not
options), and checked against the contracts, so a mistake in a mapping fails
the run at start with one line naming the file, not half-way through the night.

Two ways to say where a field comes from, both kept:
- `columns:` export column → field (or a list of fields: one column, two fields);
- `fields:` field → a column, `{template: "{年}-{月:02}"}` built from several
  columns, or `{constant: …}`.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from python_calamine import CalamineError, CalamineWorkbook

from pipelines.contracts import Contract, ContractError, load_contracts, seed_rows, seed_translation
from warehouse.documents import SAFE_LOADER

SOURCES_DIR = files("pipelines") / "sources"
# How often a source delivers: a monthly snapshot is not stale after two days.
CADENCE_DAYS = {"daily": 1, "weekly": 7, "monthly": 31}
# Placeholders of a template: {column} or {column:02} (zero-padded to 2).
TEMPLATE_PART = re.compile(r"\{([^{}:]+)(?::0(\d+))?\}")


class MappingError(ValueError):
    """A mapping file that cannot be used; the message is one line naming the file."""


# ---------------------------------------------------------------- reading YAML


class _StrictLoader(SAFE_LOADER):
    """A safe loader (libyaml's parser where there is one) that refuses a key written twice in one mapping."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} on line {line} repeats the key on line {seen[key]}", key_node.start_mark
            )
        seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path) -> Any:
    try:
        return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506 (a SafeLoader)
    except yaml.constructor.ConstructorError as exc:
        raise MappingError(f"{Path(path).name}: {exc.problem}") from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise MappingError(f"{Path(path).name}: cannot read mapping: {exc.problem or exc.context}{where}") from exc
    except (OSError, yaml.YAMLError) as exc:
        raise MappingError(f"{Path(path).name}: cannot read mapping: {str(exc).splitlines()[0]}") from exc


# ---------------------------------------------------------------- the schema


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Scalar = str | int | float | bool


class FieldFrom(_Strict):
    """Where one field's text comes from: exactly one of column, template, constant."""

    column: str | None = None
    template: str | None = None
    constant: Scalar | None = None


class CodeSpec(_Strict):
    """Export value → code for one field."""

    values: dict[str, str] = {}
    seed: str | None = None  # '<code table>.<column>': translate through a code table's column
    default: str | None = None  # code for any value that is neither translated nor a code already


class When(_Strict):
    """Emit a row only where `column` is filled (and, if given, equals one of the values)."""

    column: str
    equals: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")


class CodeListFile(_Strict):
    file: str  # .csv or .xlsx, relative to the mapping file
    sheet: str | None = None
    columns: dict[str, str | list[str]] = {}  # file column → code-table column(s)
    code: str | None = None  # a template over file columns ("{一级}/{二级}/{三级}"), when no one column is the code
    constants: dict[str, Scalar] = {}  # code-table columns the file does not carry, the same for every row


class FileEntry(_Strict):
    table: str
    pattern: str = "*"
    format: Literal["csv", "xlsx", "jsonl", "json", "geojson"]
    records: str | None = None  # json: the dotted path to the list of records ("data", "result.items")
    encoding: str | None = None
    sheet: str | None = None
    columns: dict[str, str | list[str]] = {}
    fields: dict[str, str | FieldFrom] = {}
    constants: dict[str, Scalar] = {}
    datetime_formats: dict[str, str | list[str]] = {}
    # CodeSpec first: {seed: …, default: …} is a spec, {市民: citizen} (unknown keys) a plain translation.
    codes: dict[str, Annotated[CodeSpec | dict[str, str] | str, Field(union_mode="left_to_right")]] = {}
    null_values: list[Scalar] = []
    trim: bool = True
    when: When | None = None
    crs: str | int | None = None  # geojson: the coordinate system the file is in (EPSG code or PROJ string)
    repeat: list[dict[str, Scalar]] | None = None  # one entry per item, ${name} in the entry replaced by its value


class MappingFile(_Strict):
    source: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    title: str | None = None
    order: int = 50
    cadence: Literal["daily", "weekly", "monthly"] = "daily"
    code_lists: dict[str, list[dict[str, Scalar | None]] | CodeListFile] = {}
    files: list[FileEntry] = []  # empty for a mapping that only brings code lists

    @field_validator("files", mode="before")
    @classmethod
    def _files_is_a_list(cls, value):
        if not isinstance(value, list):
            raise ValueError("'files' must be a list of entries")
        return value


_PARAMETER = re.compile(r"\$\{([^{}]+)\}")


def _repeated(path: Path, entry):
    """An entry with `repeat:` becomes one entry per item, each ${name} replaced by the item's value.

    For the export that carries many metrics in one row: one entry names the
    shape once, and `repeat` lists the columns (and the code each one is).
    """
    if not isinstance(entry, dict) or "repeat" not in entry:
        return [entry]
    items = entry["repeat"]
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise MappingError(f"{path.name}: repeat must be a list of mappings like {{column: PM2.5, code: pm25}}")
    body = {k: v for k, v in entry.items() if k != "repeat"}

    def fill(value, item):
        if isinstance(value, str):

            def put(match: re.Match) -> str:
                if match.group(1) not in item:
                    raise MappingError(f"{path.name}: ${{{match.group(1)}}} is not a key of every repeat item")
                return str(item[match.group(1)])

            return _PARAMETER.sub(put, value)
        if isinstance(value, dict):
            return {fill(k, item): fill(v, item) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v, item) for v in value]
        return value

    return [fill(body, item) for item in items]


def _schema_error(path: Path, exc: ValidationError) -> MappingError:
    """The schema's complaints as one line: where (as the YAML says it) and what, up to three."""
    said = []
    errors = exc.errors()
    # A value that fits no form of a union is reported once per form: keep the form the key was written for.
    typos = [e for e in errors if e["type"] == "extra_forbidden"]
    for error in typos or errors:
        # Union members show up in the location under their class names (CodeSpec, …): not the operator's words.
        loc = [p for p in error["loc"] if not (isinstance(p, str) and p[:1].isupper())]
        loc = [p for p in loc if not (isinstance(p, str) and ("[" in p or p in ("str", "int", "float", "bool")))]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        problem = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            problem = "unknown key (a typo?)"
        text = f"{where or 'mapping'}: {problem}"
        if text not in said:
            said.append(text)
    more = f" (and {len(said) - 3} more)" if len(said) > 3 else ""
    return MappingError(f"{path.name}: {'; '.join(said[:3])}{more}")


# ---------------------------------------------------------------- what the pipeline uses


@dataclass(frozen=True)
class Source:
    """One field's source: a column, a template over columns, or a constant."""

    kind: str  # column | template | constant
    value: str

    @property
    def columns(self) -> tuple[str, ...]:
        if self.kind == "column":
            return (self.value,)
        if self.kind == "template":
            return tuple(dict.fromkeys(m.group(1) for m in TEMPLATE_PART.finditer(self.value)))
        return ()


@dataclass(frozen=True)
class Codes:
    translate: dict[str, str]
    default: str | None = None


@dataclass(frozen=True)
class Condition:
    column: str
    values: tuple[str, ...] | None = None  # None: any non-empty value

    def describe(self) -> str:
        if self.values is None:
            return f"{self.column} is filled"
        return f"{self.column} in ({', '.join(self.values)})"


@dataclass(frozen=True)
class FileSpec:
    table: str
    pattern: str
    format: str
    sources: dict[str, Source]  # contract field → where its text comes from
    encoding: str | None = None
    sheet: str | None = None
    datetime_formats: dict[str, list[str]] = field(default_factory=dict)
    codes: dict[str, Codes] = field(default_factory=dict)
    null_values: tuple[str, ...] = ()
    trim: bool = True
    when: Condition | None = None
    crs: str | None = None
    records: str | None = None
    part: str = ""  # suffix of this entry's lake files when several entries of a source feed one table

    @property
    def constants(self) -> dict[str, str]:
        return {name: s.value for name, s in self.sources.items() if s.kind == "constant"}

    @property
    def columns(self) -> tuple[str, ...]:
        """Every export column the entry reads, in mapping order."""
        used = [c for s in self.sources.values() for c in s.columns]
        if self.when:
            used.append(self.when.column)
        return tuple(dict.fromkeys(used))

    def required_columns(self, contract: Contract) -> list[str]:
        """Export columns that must be in a file's header: those feeding a required field, and `when`'s."""
        needed = [c for name, s in self.sources.items() if contract.fields[name].required for c in s.columns]
        if self.when:
            needed.append(self.when.column)
        return list(dict.fromkeys(needed))


@dataclass(frozen=True)
class Mapping:
    source: str
    title: str
    order: int
    files: tuple[FileSpec, ...]
    path: Path
    cadence: str = "daily"
    code_rows: dict[str, tuple[dict[str, str], ...]] = field(default_factory=dict)  # code table → rows it adds
    digest: str = ""  # of the mapping's text and its code files: a changed mapping reloads what it loaded

    @property
    def cadence_days(self) -> int:
        return CADENCE_DAYS[self.cadence]


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _sources(where: str, entry: FileEntry) -> dict[str, Source]:
    sources: dict[str, Source] = {}

    def put(name: str, source: Source) -> None:
        if name in sources:
            raise MappingError(f"{where}: field {name!r} is given twice ({sources[name].kind} and {source.kind})")
        sources[name] = source

    for column, targets in entry.columns.items():
        for name in [targets] if isinstance(targets, str) else targets:
            put(name, Source("column", str(column)))
    for name, spec in entry.fields.items():
        if isinstance(spec, str):
            put(name, Source("column", spec))
            continue
        given = [k for k in ("column", "template", "constant") if getattr(spec, k) is not None]
        if len(given) != 1:
            raise MappingError(f"{where}: field {name!r} needs exactly one of column, template, constant")
        kind = given[0]
        if kind == "template" and not TEMPLATE_PART.search(spec.template):
            raise MappingError(f"{where}: template of {name!r} names no column (write columns as {{列名}})")
        put(name, Source(kind, _text(getattr(spec, kind))))
    for name, value in entry.constants.items():
        put(name, Source("constant", _text(value)))
    return sources


def _codes(where: str, name: str, spec) -> Codes:
    if isinstance(spec, str):
        spec = CodeSpec(seed=spec.removeprefix("seed:")) if spec.startswith("seed:") else None
        if spec is None:
            raise MappingError(f"{where}: codes for {name} must be a mapping, 'seed:<table>.<column>' or {{values:…}}")
    elif isinstance(spec, dict):
        spec = CodeSpec(values=spec)
    translate: dict[str, str] = {}
    if spec.seed:
        seed, _, column = spec.seed.partition(".")
        try:
            translate.update(seed_translation(seed, column or "code"))
        except ContractError as exc:
            raise MappingError(f"{where}: codes for {name}: {exc}") from exc
    translate.update({str(k): str(v) for k, v in spec.values.items()})
    return Codes(translate, spec.default)


def _read_code_file(mapping_path: Path, spec: CodeListFile) -> list[dict[str, str]]:
    path = (mapping_path.parent / spec.file).resolve()
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
            book = CalamineWorkbook.from_path(str(path))
            rows = book.get_sheet_by_name(spec.sheet or book.sheet_names[0]).to_python()
            header = [str(h).strip() for h in rows[0]]
            cells = (["" if v is None else str(v).strip() for v in r] for r in rows[1:])
            records = [dict(zip(header, r, strict=False)) for r in cells]
        else:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                records = list(csv.DictReader(handle))
    except (OSError, CalamineError, IndexError, ValueError) as exc:
        raise MappingError(f"{mapping_path.name}: code list file {spec.file}: {str(exc).splitlines()[0]}") from exc
    named = [*spec.columns, *(m.group(1) for m in TEMPLATE_PART.finditer(spec.code or ""))]
    missing = [c for c in named if records and c not in records[0]]
    if missing:
        raise MappingError(f"{mapping_path.name}: code list file {spec.file} has no column(s) {', '.join(missing)}")
    out = []
    for r in records:
        row = {}
        for column, targets in spec.columns.items():
            for target in [targets] if isinstance(targets, str) else targets:
                row[target] = r.get(column, "")
        if spec.code:
            row["code"] = TEMPLATE_PART.sub(lambda m, r=r: r.get(m.group(1), ""), spec.code)
        row.update({k: _text(v) for k, v in spec.constants.items()})
        out.append(row)
    return out


def _code_rows(path: Path, raw: dict) -> dict[str, tuple[dict[str, str], ...]]:
    """Codes a mapping adds to the code tables (warehouse/seeds): rows with the seed's columns."""
    added = {}
    for seed, spec in raw.items():
        try:
            columns = list(seed_rows(seed)[0])
        except ContractError as exc:
            raise MappingError(f"{path.name}: code_lists: {exc}") from exc
        rows = _read_code_file(path, spec) if isinstance(spec, CodeListFile) else spec
        out, seen = [], set()
        for i, row in enumerate(rows):
            row = {str(k): "" if v is None else _text(v).strip() for k, v in row.items()}
            unknown = [k for k in row if k not in columns]
            if unknown:
                raise MappingError(
                    f"{path.name}: code_lists.{seed}[{i}]: unknown column(s) {', '.join(unknown)}; "
                    f"the code table has {', '.join(columns)}"
                )
            if not row.get("code"):
                raise MappingError(f"{path.name}: code_lists.{seed}[{i}]: a code row needs 'code'")
            if row["code"] in seen:
                continue  # a taxonomy repeats its parents on every leaf row; one row per code
            seen.add(row["code"])
            out.append({c: row.get(c, "") for c in columns})
        added[seed] = tuple(out)
    return added


def load_mapping(path: Path, contracts: dict[str, Contract] | None = None) -> Mapping:
    contracts = contracts or load_contracts()
    path = Path(path)
    raw = read_yaml(path)
    if not isinstance(raw, dict) or "source" not in raw or not (raw.get("files") or raw.get("code_lists")):
        raise MappingError(f"{path.name}: a mapping needs 'source' and 'files' (or only 'code_lists')")
    if isinstance(raw.get("files"), list):
        raw = {**raw, "files": [e for entry in raw["files"] for e in _repeated(path, entry)]}
    try:
        doc = MappingFile.model_validate(raw)
    except ValidationError as exc:
        raise _schema_error(path, exc) from exc
    files = []
    per_table: dict[str, int] = {}
    for entry in doc.files:
        per_table[entry.table] = per_table.get(entry.table, 0) + 1
    seen_tables: dict[str, int] = {}
    for i, entry in enumerate(doc.files):
        where = f"{path.name} files[{i}]"
        if entry.table not in contracts:
            raise MappingError(f"{where}: unknown table {entry.table!r}")
        contract = contracts[entry.table]
        sources = _sources(where, entry)
        named = [*sources, *entry.datetime_formats, *entry.codes]
        for name in named:
            if name not in contract.fields:
                raise MappingError(f"{where}: {name!r} is not a field of {entry.table}")
        missing = [f for f in contract.required if f not in sources]
        if missing:
            raise MappingError(f"{where}: required field(s) {', '.join(missing)} of {entry.table} are not mapped")
        when = None
        if entry.when is not None:
            values = (
                entry.when.in_
                if entry.when.in_ is not None
                else ([entry.when.equals] if entry.when.equals is not None else None)
            )
            when = Condition(entry.when.column, tuple(_text(v) for v in values) if values is not None else None)
        n = seen_tables.get(entry.table, 0)
        seen_tables[entry.table] = n + 1
        files.append(
            FileSpec(
                table=entry.table,
                pattern=entry.pattern,
                format=entry.format,
                sources=sources,
                encoding=entry.encoding,
                sheet=entry.sheet,
                datetime_formats={k: [v] if isinstance(v, str) else list(v) for k, v in entry.datetime_formats.items()},
                codes={k: _codes(where, k, v) for k, v in entry.codes.items()},
                null_values=tuple(_text(v) for v in entry.null_values),
                trim=entry.trim,
                when=when,
                crs=None if entry.crs is None else str(entry.crs),
                records=entry.records,
                # The first entry of a table keeps the plain file name, so one-entry sources keep their layout.
                part="" if n == 0 else f".{n}",
            )
        )
    _check_no_double_reading(path, files)
    digest = hashlib.sha1(path.read_bytes())
    for spec in doc.code_lists.values():
        if isinstance(spec, CodeListFile) and (path.parent / spec.file).is_file():
            digest.update((path.parent / spec.file).read_bytes())
    return Mapping(
        doc.source,
        doc.title or doc.source,
        doc.order,
        tuple(files),
        path,
        doc.cadence,
        _code_rows(path, doc.code_lists),
        digest.hexdigest(),
    )


def _check_no_double_reading(path: Path, files: list[FileSpec]) -> None:
    """Two entries that feed one table from the same files, with no `when:` to split the rows, load them twice."""
    seen: dict[tuple[str, str], int] = {}
    for i, spec in enumerate(files):
        if spec.when is not None:
            continue
        key = (spec.table, spec.pattern)
        if key in seen:
            raise MappingError(
                f"{path.name}: files[{seen[key]}] and files[{i}] both read {spec.pattern!r} into {spec.table} "
                "with no when: to tell their rows apart: every row would load twice"
            )
        seen[key] = i


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
    check_code_targets(mappings, contracts)
    return sorted(mappings, key=lambda m: (m.order, m.source))


def check_code_targets(mappings: list[Mapping], contracts: dict[str, Contract]) -> None:
    """Every code a mapping translates to (or defaults to) must be a code: a typo there would quarantine good rows."""
    added = added_codes(mappings)
    for m in mappings:
        for i, spec in enumerate(m.files):
            for name, codes in spec.codes.items():
                f = contracts[spec.table].fields[name]
                accepted = f.accepted_values()
                if accepted is None:
                    continue
                accepted = {*accepted, *(row["code"] for row in added.get(f.seed or "", ()))}
                wrong = sorted({v for v in [*codes.translate.values(), codes.default] if v and v not in accepted})
                if wrong:
                    table = f"code table {f.seed}" if f.seed else f"the accepted values of {spec.table}.{name}"
                    raise MappingError(
                        f"{m.path.name} files[{i}]: codes for {name}: {', '.join(map(repr, wrong[:5]))} "
                        f"not in {table} (add it under code_lists:, or fix the spelling)"
                    )


def added_codes(mappings: list[Mapping]) -> dict[str, tuple[dict[str, str], ...]]:
    """Every code table's added rows over all mappings (first definition of a code wins, in load order)."""
    merged: dict[str, dict[str, dict[str, str]]] = {}
    for m in mappings:
        for seed, rows in m.code_rows.items():
            table = merged.setdefault(seed, {})
            for row in rows:
                table.setdefault(row["code"], row)
    # Each source's title names its code in the `source` code table (数据来源 on screens and in exports).
    merged.setdefault("source", {})
    for m in mappings:
        merged["source"].setdefault(m.source, {"code": m.source, "name_zh": m.title or m.source})
    return {seed: tuple(rows.values()) for seed, rows in merged.items()}
