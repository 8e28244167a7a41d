"""Validation: raw export rows → typed, masked contract rows, and quarantine rows with their reasons.

One SQL statement per batch (all files of one kind, often many days at once)
does the field building, code translation, typing, checks and masking in
DuckDB: row-by-row Python would not load a year of sensor readings in minutes.

A failed check on a *required* field quarantines the row; every failed check
of the row is listed in `detail`, the first names `reason`. A failed check on
an *optional* field does not cost the row: the value becomes NULL and the row
carries a flag (`_flags`: `field:reason;…`) that the run counts. The checks are
listed in pipelines/sources/README.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.contracts import Contract, Field, seed_rows
from pipelines.geometry import BBox
from pipelines.mapping import TEMPLATE_PART, Condition, FileSpec, Source
from pipelines.pii import field_sql, mask_free_text, sql_literal

TIME_ZONE = "Asia/Shanghai"
# Formats every datetime field tries after the mapping's own; then ISO 8601 and Excel serials.
DATETIME_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y-%m-%d %I:%M:%S %p",
    "%Y-%m-%d %I:%M %p",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日",
    "%Y.%m.%d %H:%M:%S",
    "%Y.%m.%d",
    "%Y%m%d%H%M%S",
    "%Y%m%d",
]
# Text that means "no value" in a number, date or flag column of real exports.
NUMBER_NULL_TOKENS = ["NA", "N/A", "n/a", "na", "NaN", "nan", "NULL", "null", "None", "-", "--", "—", "/"]
TRUE_WORDS = ["true", "1", "t", "y", "yes", "是", "已"]
FALSE_WORDS = ["false", "0", "f", "n", "no", "否", "未"]

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


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _list_literal(values) -> str:
    return "[" + ", ".join(sql_literal(v) for v in values) + "]"


def datetime_sql(value: str, formats: list[str]) -> str:
    """A timestamp from text: the mapping's formats and the common ones, then ISO 8601 (fractional
    seconds, and a time zone turned into Shanghai time), then an Excel serial day number."""
    offset = r"T?[0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?\s*(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
    serial = f"TRY_CAST({value} AS DOUBLE)"
    return (
        f"coalesce(try_strptime({value}, {_list_literal(formats)}), "
        f"CASE WHEN regexp_matches({value}, {sql_literal(offset)}) "
        f"THEN timezone({sql_literal(TIME_ZONE)}, TRY_CAST({value} AS TIMESTAMPTZ)) END, "
        f"TRY_CAST({value} AS TIMESTAMP), "
        # Excel counts days from 1899-12-30; five digits (1954–2119) cannot be a compact yyyymmdd.
        f"CASE WHEN regexp_full_match({value}, '[0-9]{{5}}(\\.[0-9]+)?') "
        f"THEN TIMESTAMP '1899-12-30' + to_seconds(CAST(round({serial} * 86400) AS BIGINT)) END)"
    )


def _grouped_number(value: str) -> str:
    """1,200 or 12,345.6: thousands separators as exports write them (only where the groups are of three)."""
    return (
        f"CASE WHEN regexp_full_match({value}, '-?[0-9]{{1,3}}(,[0-9]{{3}})+(\\.[0-9]+)?') "
        f"THEN TRY_CAST(replace({value}, ',', '') AS DOUBLE) END"
    )


def _typed_sql(f: Field, value: str, spec: FileSpec) -> str:
    if f.type == "int":
        as_double = f"TRY_CAST({value} AS DOUBLE)"
        whole = f"CASE WHEN {as_double} = floor({as_double}) THEN CAST({as_double} AS BIGINT) END"
        return f"coalesce(TRY_CAST({value} AS BIGINT), {whole}, CAST({_grouped_number(value)} AS BIGINT))"
    if f.type == "float":
        return f"coalesce(TRY_CAST({value} AS DOUBLE), {_grouped_number(value)})"
    if f.type == "bool":
        return (
            f"CASE WHEN lower({value}) IN ({', '.join(map(sql_literal, TRUE_WORDS))}) THEN true "
            f"WHEN lower({value}) IN ({', '.join(map(sql_literal, FALSE_WORDS))}) THEN false END"
        )
    if f.type in ("timestamp", "date"):
        parsed = datetime_sql(value, [*spec.datetime_formats.get(f.name, []), *DATETIME_FORMATS])
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


def _prepared(batch: pa.Table, spec: FileSpec, contract: Contract) -> pa.Table:
    """The columns an entry reads, trimmed and with every "no value" text made NULL, in Arrow.

    Trimming strips Unicode whitespace (ASCII, full-width U+3000, no-break) and a stray BOM at both
    ends, unless the mapping says `trim: false`. Empty text, the mapping's `null_values` and, for
    columns that feed a number, date or flag field (or `when:`), the usual placeholders (NA, -, …)
    become NULL. Vectorised here, this costs a fraction of doing it per value in the SQL over a year
    of sensor readings.
    """
    typed = {
        column
        for name, source in spec.sources.items()
        if contract.fields[name].type not in ("string", "json")
        for column in source.columns
    }
    if spec.when:
        typed.add(spec.when.column)
    for name in spec.columns:
        if name not in batch.column_names or not pa.types.is_string(batch.schema.field(name).type):
            continue
        column = batch.column(name)
        if spec.trim:
            column = pc.utf8_trim_whitespace(pc.utf8_trim(pc.utf8_trim_whitespace(column), "\ufeff"))
        tokens = ["", *spec.null_values, *(NUMBER_NULL_TOKENS if name in typed else ())]
        column = pc.if_else(pc.is_in(column, pa.array(tokens, pa.string())), pa.scalar(None, pa.string()), column)
        batch = batch.set_column(batch.column_names.index(name), name, column)
    return batch


def _cleaned(column: str) -> str:
    """One export column as text, as _prepared left it."""
    return f"CAST(raw_batch.{_ident(column)} AS VARCHAR)"


def _source_sql(source: Source) -> str:
    if source.kind == "constant":
        return sql_literal(source.value)
    if source.kind == "column":
        return _cleaned(source.value)
    # A template is NULL when any column it names is empty: half a timestamp is no timestamp.
    parts, pos, needed = [], 0, []
    for match in TEMPLATE_PART.finditer(source.value):
        if match.start() > pos:
            parts.append(sql_literal(source.value[pos : match.start()]))
        column = _cleaned(match.group(1))
        needed.append(f"{column} IS NULL")
        width = match.group(2)
        parts.append(f"lpad({column}, {int(width)}, '0')" if width else column)
        pos = match.end()
    if pos < len(source.value):
        parts.append(sql_literal(source.value[pos:]))
    return f"CASE WHEN {' OR '.join(needed)} THEN NULL ELSE concat({', '.join(parts)}) END"


def when_sql(condition: Condition, spec: FileSpec) -> str:
    # "Filled" means a value: NA, -, — and the like are not one (see _prepared).
    value = _cleaned(condition.column)
    if condition.values is None:
        return f"{value} IS NOT NULL"
    return f"{value} IN ({', '.join(map(sql_literal, condition.values))})"


@dataclass
class ValidationResult:
    clean: pa.Table  # contract fields (typed, masked) + lineage columns (_flags among them) + _day
    quarantine: pa.Table  # QUARANTINE_SCHEMA
    filtered: dict[str, int] = field(default_factory=dict)  # file → rows the entry's `when:` left out
    unmapped: list[tuple[str, str, int]] = field(default_factory=list)  # (field, export value, rows) → default
    flags: list[tuple[str, str, int]] = field(default_factory=list)  # (field, reason, rows) of optional fields


@dataclass(frozen=True)
class _Check:
    field: str
    condition: str
    reason: str
    detail: str  # SQL text expression
    required: bool  # quarantines the row (else: the value becomes NULL and the row is flagged)


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
    code_rows: dict[str, tuple[dict[str, str], ...]] | None = None,
    area: BBox | None = None,
) -> ValidationResult:
    """Validate a batch of raw rows (string columns + _file, _line, _day) against the contract.

    `references` maps (table, field) to a table of known keys (k, first_day): a
    value resolves when it was loaded on or before the row's landing day.
    `code_rows` are the rows mappings add to the code tables (their codes are
    accepted too, their valid_min/valid_max bound `range_by` fields); `area`
    (min lon, min lat, max lon, max lat) bounds fields whose contract says
    `area: lon` or `area: lat`.
    """
    code_rows = code_rows or {}
    extra_codes = {seed: tuple(row["code"] for row in rows) for seed, rows in code_rows.items()}
    batch = _prepared(batch, spec, contract)
    con.register("raw_batch", batch)
    joins, registered = [], ["raw_batch"]
    raw_cols, value_cols = {}, {}
    # 1. one raw text expression per contract field: a column, a template over columns, a constant, or nothing
    for name in contract.fields:
        source_of = spec.sources.get(name)
        raw_cols[name] = _source_sql(source_of) if source_of else "CAST(NULL AS VARCHAR)"
    # 2. code translation through small lookup tables; a code list's default catches the rest
    unmapped_sql = []
    for name, codes in spec.codes.items():
        view = f"codes_{name}"
        raw = f"r.{_ident(name + '__raw')}"
        con.register(view, pa.table({"k": list(codes.translate), "v": list(codes.translate.values())}, schema=_KV))
        registered.append(view)
        joins.append(f"LEFT JOIN {view} ON {view}.k = {raw}")
        value = f"coalesce({view}.v, {raw})"
        accepted = _accepted(contract.fields[name], extra_codes)
        if codes.default is not None:
            misses = f"{raw} IS NOT NULL AND {view}.v IS NULL"
            if accepted is not None:
                misses += f" AND NOT list_contains({_list_literal(accepted)}, {raw})"
            value = f"CASE WHEN {misses} THEN {sql_literal(codes.default)} ELSE {value} END"
            unmapped_sql.append((name, misses, raw))
        value_cols[name] = value
    select_raw = ",\n      ".join(f"{expr} AS {_ident(name + '__raw')}" for name, expr in raw_cols.items())
    coded = ",\n      ".join(
        f"{value_cols.get(name, 'r.' + _ident(name + '__raw'))} AS {_ident(name + '__val')}" for name in contract.fields
    )
    unmapped_cols = "".join(
        f",\n      CASE WHEN {cond} THEN {raw} END AS {_ident(name + '__unmapped')}" for name, cond, raw in unmapped_sql
    )
    # 3. typing, references and the checks
    typed, checks, ref_joins = {}, [], []
    for name, f in contract.fields.items():
        raw, val = f"c.{_ident(name + '__raw')}", f"c.{_ident(name + '__val')}"
        # Personal data never goes into a reason: a pii field is named only, any other value is shown, and
        # the whole detail masked as free text when quarantined (a phone typed into the category).
        shown = sql_literal(name) if f.pii else f"{sql_literal(name + '=')} || {raw}"
        typed_expr = _typed_sql(f, val, spec)
        typed[name] = typed_expr
        if f.required:
            checks.append(_Check(name, f"{raw} IS NULL", "missing_required", sql_literal(name), True))
        if f.type not in ("string", "json"):
            checks.append(
                _Check(name, f"{raw} IS NOT NULL AND ({typed_expr}) IS NULL", _invalid_reason(f), shown, f.required)
            )
        accepted = _accepted(f, extra_codes)
        if accepted is not None:
            condition = f"{val} IS NOT NULL AND NOT list_contains({_list_literal(accepted)}, {val})"
            checks.append(_Check(name, condition, "unknown_code", shown, f.required))
        low, high = _bounds(f, area)
        if low is not None:
            checks.append(_Check(name, f"({typed_expr}) < {low}", "out_of_range", shown, f.required))
        if high is not None:
            checks.append(_Check(name, f"({typed_expr}) > {high}", "out_of_range", shown, f.required))
        if f.range_by:
            seed = contract.fields[f.range_by].seed
            view = f"range_{name}"
            con.register(view, _ranges(seed, code_rows.get(seed, ())))
            registered.append(view)
            ref_joins.append(f"LEFT JOIN {view} ON {view}.k = c.{_ident(f.range_by + '__val')}")
            # Below the floor is a device fault; above the ceiling loads and is flagged a spike by the
            # warehouse, because a real surge (a gas leak) must reach the screen, not the quarantine.
            checks.append(_Check(name, f"({typed_expr}) < {view}.lo", "out_of_range", shown, f.required))
        if f.references and f.references in references:
            view = f"ref_{f.references[0]}_{f.references[1]}_{name}"
            con.register(view, references[f.references])
            registered.append(view)
            ref_joins.append(f"LEFT JOIN {view} ON {view}.k = ({typed_expr}) AND {view}.first_day <= c._day")
            condition = f"({typed_expr}) IS NOT NULL AND {view}.k IS NULL"
            checks.append(_Check(name, condition, "unknown_reference", shown, f.required))
    hard = [c for c in checks if c.required]
    soft = [c for c in checks if not c.required]
    reason = "CASE " + " ".join(f"WHEN {c.condition} THEN {sql_literal(c.reason)}" for c in hard) + " END"
    first_detail = "CASE " + " ".join(f"WHEN {c.condition} THEN {c.detail}" for c in hard) + " END"
    listed = ", ".join(f"CASE WHEN {c.condition} THEN {sql_literal(c.reason + ': ')} || {c.detail} END" for c in hard)
    all_failures = f"list_filter([{listed}], lambda x: x IS NOT NULL)"
    # Only a failing row pays for listing its failures (CASE evaluates a branch for the rows that take it).
    detail = (
        f"CASE WHEN ({reason}) IS NULL THEN NULL "
        f"WHEN len({all_failures}) > 1 THEN array_to_string({all_failures}, '; ') ELSE {first_detail} END"
    )
    if not hard:
        reason = detail = "CAST(NULL AS VARCHAR)"
    soft_by_field: dict[str, list[_Check]] = {}
    for c in soft:
        soft_by_field.setdefault(c.field, []).append(c)
    flag_items = ", ".join(f"CASE WHEN {c.condition} THEN {sql_literal(c.field + ':' + c.reason)} END" for c in soft)
    flags = f"nullif(concat_ws(';', {flag_items}), '')" if soft else "CAST(NULL AS VARCHAR)"
    typed_cols = []
    for name, expr in typed.items():
        failing = soft_by_field.get(name)
        if failing:
            expr = f"CASE WHEN {' OR '.join(c.condition for c in failing)} THEN NULL ELSE {expr} END"
        typed_cols.append(f"{expr} AS {_ident(name)}")
    raw_names = ", ".join(f"c.{_ident(name + '__raw')}" for name in contract.fields)
    key_columns = [_ident(k) for k in contract.key] or ["_line"]
    key_list = ", ".join(key_columns)
    key_match = " AND ".join(f"repeated.{k} IS NOT DISTINCT FROM t.{k}" for k in key_columns)
    keep = when_sql(spec.when, spec) if spec.when else "true"
    sql = f"""
    CREATE OR REPLACE TEMP TABLE validated AS
    WITH r AS (
      SELECT raw_batch._file, raw_batch._line, raw_batch._day,
      {select_raw}
      FROM raw_batch
      WHERE {keep}
    ), c AS (
      SELECT r._file, r._line, r._day, r.* EXCLUDE (_file, _line, _day),
      {coded}{unmapped_cols}
      FROM r {" ".join(joins)}
    ), t AS MATERIALIZED (
      SELECT c._file, c._line, c._day,
        {", ".join(typed_cols)},
        {reason} AS reason,
        {detail} AS detail,
        {flags} AS _flags,
        {raw_names}
        {"".join(f", c.{_ident(name + '__unmapped')}" for name, _, _ in unmapped_sql)}
      FROM c {" ".join(ref_joins)}
    )
    , repeated AS (
      -- A key that passed twice in one file: its first line loads, the later ones are duplicates. Counted by
      -- grouping (no sort of every row by key: a year of readings is tens of millions).
      SELECT _file, {key_list}, min(_line) AS first_line
      FROM t WHERE reason IS NULL GROUP BY ALL HAVING count(*) > 1
    )
    SELECT t.*,
      CASE WHEN t.reason IS NULL AND t._line > repeated.first_line THEN 'duplicate_key' ELSE t.reason END
        AS final_reason
    FROM t LEFT JOIN repeated ON repeated._file = t._file AND {key_match}
    """
    try:
        filtered = {}
        if spec.when:
            filtered = dict(
                con.execute(
                    f"SELECT _file, count(*) FROM raw_batch WHERE NOT coalesce({keep}, false) GROUP BY 1"
                ).fetchall()
            )
        con.execute(sql, {"salt": salt} if "$salt" in sql else None)
        pii = {name: field_sql(f.pii, _ident(name)) for name, f in contract.fields.items()}
        fields_sql = ", ".join(f"{pii[name]} AS {_ident(name)}" for name in contract.fields)
        clean = con.sql(
            f"""SELECT {fields_sql}, {sql_literal(source)} AS _source, _file, _line,
                       CAST($loaded_at AS TIMESTAMP) AS _loaded_at, _flags, _day
                FROM validated WHERE final_reason IS NULL ORDER BY _day, _file, _line""",
            params={"salt": salt, "loaded_at": loaded_at} if "$salt" in fields_sql else {"loaded_at": loaded_at},
        ).to_arrow_table()
        quarantine = _quarantined(con, contract, source, salt)
        unmapped = []
        for name, _, _ in unmapped_sql:
            column = _ident(name + "__unmapped")
            unmapped += [
                (name, value, rows)
                for value, rows in con.execute(
                    f"SELECT {column}, count(*) FROM validated WHERE final_reason IS NULL AND {column} IS NOT NULL "
                    "GROUP BY 1 ORDER BY 2 DESC, 1"
                ).fetchall()
            ]
        flag_counts = []
        if soft:
            flag_counts = [
                (name, code, rows)
                for name, code, rows in con.execute(
                    """SELECT split_part(flag, ':', 1), split_part(flag, ':', 2), count(*)
                       FROM (SELECT unnest(string_split(_flags, ';')) AS flag
                             FROM validated WHERE final_reason IS NULL AND _flags IS NOT NULL)
                       GROUP BY ALL ORDER BY 1, 2"""
                ).fetchall()
            ]
    finally:
        for view in registered:
            con.unregister(view)
        con.execute("DROP TABLE IF EXISTS validated")
    return ValidationResult(clean, quarantine, filtered, unmapped, flag_counts)


_KV = pa.schema([("k", pa.string()), ("v", pa.string())])
_SALTED = ("hash", "mask", "id")  # pii kinds masked in SQL; free text is masked in Python (see _quarantined)


def _quarantined(con: duckdb.DuckDBPyConnection, contract: Contract, source: str, salt: str) -> pa.Table:
    """The quarantined rows of `validated`, every field of the row as read masked: by its pii kind, or as
    free text when it has none (a quarantined value is by definition not what the field should hold, so a
    phone can sit in the category column). The detail is masked as free text too.

    Free text is masked in Python: a batch has few quarantined rows, and one regular expression per field
    in SQL costs more to plan than those rows cost to mask.
    """
    if not con.execute("SELECT count(*) FROM validated WHERE final_reason IS NOT NULL").fetchall()[0][0]:
        return QUARANTINE_SCHEMA.empty_table()
    names = list(contract.fields)
    kinds = {name: f.pii for name, f in contract.fields.items()}
    values = ", ".join(
        f"{field_sql(kinds[name], _ident(name + '__raw')) if kinds[name] in _SALTED else _ident(name + '__raw')}"
        f" AS {_ident('v_' + name)}"
        for name in names
    )
    rows = con.sql(
        f"""SELECT _day AS day, _file AS file, _line AS line, final_reason AS reason,
                   CASE WHEN final_reason = 'duplicate_key' THEN {sql_literal(", ".join(contract.key))}
                        ELSE detail END AS detail, {values}
            FROM validated WHERE final_reason IS NOT NULL ORDER BY _day, _file, _line""",
        params={"salt": salt} if "$salt" in values else None,
    ).to_arrow_table()

    def masked(name: str, value):
        return value if value is None or kinds[name] in _SALTED else mask_free_text(value)

    columns = [rows.column("v_" + name).to_pylist() for name in names]
    raw = [
        json.dumps({name: masked(name, v) for name, v in zip(names, row, strict=True)}, ensure_ascii=False)
        for row in zip(*columns, strict=True)
    ]
    n = rows.num_rows
    return pa.table(
        {
            "source": [source] * n,
            "table": [contract.table] * n,
            "day": rows.column("day"),
            "file": rows.column("file"),
            "line": rows.column("line"),
            "reason": rows.column("reason"),
            "detail": [None if d is None else mask_free_text(d) for d in rows.column("detail").to_pylist()],
            "raw": raw,
        },
        schema=QUARANTINE_SCHEMA,
    )


def _accepted(f: Field, extra_codes: dict[str, tuple[str, ...]]) -> tuple[str, ...] | None:
    accepted = f.accepted_values()
    if accepted is not None and f.seed and extra_codes.get(f.seed):
        accepted = (*accepted, *extra_codes[f.seed])
    return accepted


def _ranges(seed: str, added: tuple[dict[str, str], ...]) -> pa.Table:
    """(code, valid_min, valid_max) of a code table and the rows mappings add; empty → unbounded."""

    def number(row: dict, column: str) -> float | None:
        text = (row.get(column) or "").strip()
        return float(text) if text else None

    rows = {row["code"]: row for row in seed_rows(seed)}
    for row in added:
        rows.setdefault(row["code"], row)
    return pa.table(
        {
            "k": pa.array(list(rows), pa.string()),
            "lo": pa.array([number(r, "valid_min") for r in rows.values()], pa.float64()),
            "hi": pa.array([number(r, "valid_max") for r in rows.values()], pa.float64()),
        }
    )


def _bounds(f: Field, area: BBox | None) -> tuple[float | None, float | None]:
    """A field's numeric range: the contract's, or the street's configured area for coordinates."""
    if f.area and area:
        return (area[0], area[2]) if f.area == "lon" else (area[1], area[3])
    return f.min, f.max
