"""Validation: raw export rows → typed, masked contract rows, and quarantine rows with a reason.

One SQL statement per batch (all files of one kind, often many days at once)
does the renaming, code translation, typing, checks and masking in DuckDB:
row-by-row Python would not load a year of sensor readings in minutes.
Each row gets the first failing check, in contract field order, as its
reason; the checks are listed in pipelines/sources/README.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from pipelines.contracts import Contract, Field
from pipelines.mapping import FileSpec

# Formats every datetime field accepts after the mapping's own.
ISO_TIMESTAMP_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]
TRUE_WORDS = ["true", "1", "t", "y", "yes", "是", "已"]
FALSE_WORDS = ["false", "0", "f", "n", "no", "否", "未"]

# Mainland mobile numbers and 18-digit resident ID numbers, wherever they appear in free text.
PHONE_PATTERN = r"1[3-9][0-9]{9}"
ID_NUMBER_PATTERN = r"[0-9]{17}[0-9Xx]"
_PII_TEXT = re.compile(f"{ID_NUMBER_PATTERN}|{PHONE_PATTERN}")

QUARANTINE_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("table", pa.string()),
        ("day", pa.date32()),
        ("file", pa.string()),
        ("line", pa.int64()),
        ("reason", pa.string()),
        ("detail", pa.string()),
        ("raw", pa.string()),
    ]
)


def mask_free_text(text: str) -> str:
    return _PII_TEXT.sub("***", text)


def _literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _list_literal(values) -> str:
    return "[" + ", ".join(_literal(v) for v in values) + "]"


def _pii_sql(f: Field, value: str) -> str:
    """SQL that masks a text value according to the field's pii kind (salt bound as $salt)."""
    if f.pii == "hash":
        # Letters only: a hash can then never look like a phone or ID number to a later scan.
        digits = f"regexp_replace({value}, '[^0-9A-Za-z]', '', 'g')"
        return f"translate(sha256($salt || {digits})[:16], '0123456789', 'ghijklmnop')"
    if f.pii == "mask":
        return f"left({value}, 1) || repeat('*', greatest(length({value}) - 1, 1))"
    if f.pii == "text":
        return f"regexp_replace({value}, '{ID_NUMBER_PATTERN}|{PHONE_PATTERN}', '***', 'g')"
    return value


def _typed_sql(f: Field, value: str, spec: FileSpec) -> str:
    if f.type == "int":
        as_double = f"TRY_CAST({value} AS DOUBLE)"
        whole = f"CASE WHEN {as_double} = floor({as_double}) THEN CAST({as_double} AS BIGINT) END"
        return f"coalesce(TRY_CAST({value} AS BIGINT), {whole})"
    if f.type == "float":
        return f"TRY_CAST({value} AS DOUBLE)"
    if f.type == "bool":
        return (
            f"CASE WHEN lower({value}) IN ({', '.join(map(_literal, TRUE_WORDS))}) THEN true "
            f"WHEN lower({value}) IN ({', '.join(map(_literal, FALSE_WORDS))}) THEN false END"
        )
    if f.type in ("timestamp", "date"):
        formats = [*spec.datetime_formats.get(f.name, []), *ISO_TIMESTAMP_FORMATS]
        parsed = f"try_strptime({value}, {_list_literal(formats)})"
        return f"CAST({parsed} AS DATE)" if f.type == "date" else parsed
    return value


def _invalid_reason(f: Field) -> str:
    return {
        "int": "invalid_number",
        "float": "invalid_number",
        "bool": "invalid_value",
        "timestamp": "invalid_datetime",
        "date": "invalid_datetime",
    }.get(f.type, "invalid_value")


@dataclass
class ValidationResult:
    clean: pa.Table  # contract fields (typed, masked) + lineage columns + _day
    quarantine: pa.Table  # QUARANTINE_SCHEMA


def validate_batch(
    con: duckdb.DuckDBPyConnection,
    batch: pa.Table,
    spec: FileSpec,
    contract: Contract,
    *,
    source: str,
    salt: str,
    references: dict[tuple[str, str], pa.Table],
    loaded_at,
) -> ValidationResult:
    """Validate a batch of raw rows (string columns + _file, _line, _day) against the contract.

    `references` maps (table, field) to a table of known keys (k, first_day): a
    value resolves when it was loaded on or before the row's landing day.
    """
    con.register("raw_batch", batch)
    joins, registered = [], ["raw_batch"]
    raw_cols, value_cols = {}, {}
    # 1. one raw text expression per contract field: an export column, a constant, or nothing
    for name in contract.fields:
        columns = [col for col, target in spec.columns.items() if target == name]
        if name in spec.constants:
            raw_cols[name] = _literal(spec.constants[name])
        elif columns:
            raw_cols[name] = f"nullif(trim(CAST(raw_batch.{_ident(columns[0])} AS VARCHAR)), '')"
        else:
            raw_cols[name] = "CAST(NULL AS VARCHAR)"
    # 2. code translation through small lookup tables
    for name, codes in spec.codes.items():
        view = f"codes_{name}"
        con.register(view, pa.table({"k": list(codes), "v": list(codes.values())}))
        registered.append(view)
        joins.append(f"LEFT JOIN {view} ON {view}.k = r.{_ident(name + '__raw')}")
        value_cols[name] = f"coalesce({view}.v, r.{_ident(name + '__raw')})"
    select_raw = ",\n      ".join(f"{expr} AS {_ident(name + '__raw')}" for name, expr in raw_cols.items())
    coded = ",\n      ".join(
        f"{value_cols.get(name, 'r.' + _ident(name + '__raw'))} AS {_ident(name + '__val')}" for name in contract.fields
    )
    # 3. typing, references and the ordered checks
    typed, checks, ref_joins = [], [], []
    for name, f in contract.fields.items():
        raw, val = f"c.{_ident(name + '__raw')}", f"c.{_ident(name + '__val')}"
        # Personal data never goes into a reason: the detail names the field only.
        shown = _literal(name) if f.pii else f"{_literal(name + '=')} || {raw}"
        typed_expr = _typed_sql(f, val, spec)
        typed.append(f"{typed_expr} AS {_ident(name)}")
        if f.required:
            checks.append((f"{raw} IS NULL", "missing_required", _literal(name)))
        if f.type not in ("string", "json"):
            checks.append((f"{raw} IS NOT NULL AND ({typed_expr}) IS NULL", _invalid_reason(f), shown))
        accepted = f.accepted_values()
        if accepted is not None:
            checks.append(
                (f"{val} IS NOT NULL AND NOT list_contains({_list_literal(accepted)}, {val})", "unknown_code", shown)
            )
        if f.min is not None:
            checks.append((f"({typed_expr}) < {f.min}", "out_of_range", shown))
        if f.max is not None:
            checks.append((f"({typed_expr}) > {f.max}", "out_of_range", shown))
        if f.references and f.references in references:
            view = f"ref_{f.references[0]}_{f.references[1]}_{name}"
            con.register(view, references[f.references])
            registered.append(view)
            ref_joins.append(f"LEFT JOIN {view} ON {view}.k = ({typed_expr}) AND {view}.first_day <= c._day")
            checks.append((f"({typed_expr}) IS NOT NULL AND {view}.k IS NULL", "unknown_reference", shown))
    reason = "CASE " + " ".join(f"WHEN {cond} THEN {_literal(code)}" for cond, code, _ in checks) + " END"
    detail = "CASE " + " ".join(f"WHEN {cond} THEN {det}" for cond, _, det in checks) + " END"
    if not checks:
        reason = detail = "CAST(NULL AS VARCHAR)"
    masked_raw = ", ".join(
        f"{_ident(name)} := {_pii_sql(f, 'c.' + _ident(name + '__raw'))}" for name, f in contract.fields.items()
    )
    key = ", ".join(_ident(k) for k in contract.key) or "c._line"
    sql = f"""
    CREATE OR REPLACE TEMP TABLE validated AS
    WITH r AS (
      SELECT raw_batch._file, raw_batch._line, raw_batch._day,
      {select_raw}
      FROM raw_batch
    ), c AS (
      SELECT r._file, r._line, r._day, r.* EXCLUDE (_file, _line, _day),
      {coded}
      FROM r {" ".join(joins)}
    ), t AS (
      SELECT c._file, c._line, c._day,
        {", ".join(typed)},
        {reason} AS reason,
        {detail} AS detail,
        CAST(to_json(struct_pack({masked_raw})) AS VARCHAR) AS raw
      FROM c {" ".join(ref_joins)}
    )
    SELECT *,
      CASE WHEN reason IS NULL AND row_number() OVER (
             PARTITION BY _file, reason IS NULL, {key} ORDER BY _line) > 1
           THEN 'duplicate_key' ELSE reason END AS final_reason
    FROM t
    """
    try:
        con.execute(sql, {"salt": salt} if "$salt" in sql else None)
        pii = {name: _pii_sql(f, _ident(name)) for name, f in contract.fields.items()}
        fields_sql = ", ".join(f"{pii[name]} AS {_ident(name)}" for name in contract.fields)
        clean = con.sql(
            f"""SELECT {fields_sql}, {_literal(source)} AS _source, _file, _line,
                       CAST($loaded_at AS TIMESTAMP) AS _loaded_at, _day
                FROM validated WHERE final_reason IS NULL ORDER BY _day, _file, _line""",
            params={"salt": salt, "loaded_at": loaded_at} if "$salt" in fields_sql else {"loaded_at": loaded_at},
        ).to_arrow_table()
        quarantine = con.sql(
            f"""SELECT {_literal(source)} AS source, {_literal(contract.table)} AS "table", _day AS day,
                       _file AS file, _line AS line, final_reason AS reason,
                       CASE WHEN final_reason = 'duplicate_key' THEN {_literal(", ".join(contract.key))}
                            ELSE detail END AS detail, raw
                FROM validated WHERE final_reason IS NOT NULL ORDER BY _day, _file, _line""",
        ).to_arrow_table()
    finally:
        for view in registered:
            con.unregister(view)
        con.execute("DROP TABLE IF EXISTS validated")
    return ValidationResult(clean, quarantine.cast(QUARANTINE_SCHEMA))
