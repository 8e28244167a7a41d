"""Readers: one export file → a table of strings, plus the lines that could not be read.

Every reader returns the file's columns as text exactly as exported (typing is
the validator's job) and a `_line` column with the line (CSV, JSON lines) or
sheet row (xlsx) each row came from, so a quarantined row can be found in the
original file. A file that cannot be read at all raises FileRejected with a
one-line reason; the run quarantines it and goes on with the rest.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import shapely
from charset_normalizer import from_bytes
from python_calamine import CalamineError, CalamineWorkbook

from pipelines.contracts import load_contracts
from pipelines.geometry import (
    BBox,
    GeometryError,
    crs_from_document,
    features_from_document,
    is_lon_lat,
    out_of_area_reason,
    polygon_shape,
    reproject_geometry,
)
from pipelines.mapping import FileSpec


class FileRejected(Exception):
    """A whole file that cannot be loaded; str(exc) is the one-line reason, starting with its code."""

    def __init__(self, code: str, detail: str):
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass
class BadLine:
    line: int
    reason: str  # undecodable | malformed
    detail: str
    raw: str


@dataclass
class ReadResult:
    table: pa.Table  # all columns pa.string(), plus _line int64
    encoding: str | None = None
    bad_lines: list[BadLine] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)  # mapped (optional) columns the file lacks

    @property
    def rows_read(self) -> int:
        return self.table.num_rows + len(self.bad_lines)

    def batch(self, file: str, day) -> pa.Table:
        """The rows as the validator takes them: with the file they came from and their landing day."""
        n = self.table.num_rows
        table = self.table.append_column("_file", pa.array([file] * n, pa.string()))
        return table.append_column("_day", pa.array([day] * n, pa.date32()))


def _undecodable(number: int, chunk: bytes, encoding: str, exc: UnicodeDecodeError) -> BadLine:
    return BadLine(
        number, "undecodable", f"not valid {encoding} at byte {exc.start}", chunk.decode(encoding, errors="replace")
    )


def detect_encoding(raw: bytes) -> str:
    """BOM → utf-8-sig; valid UTF-8 → utf-8; otherwise the best guess, GB18030 for Chinese exports."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(raw[:200_000]).best()
    # GBK and GB2312 are subsets of GB18030; decoding with the superset loses nothing.
    if best is None or best.encoding.lower() in {"gbk", "gb2312", "gb18030", "big5", "cp936", "hz"}:
        return "gb18030"
    return best.encoding


def _table_from_rows(header: list[str], rows: list[list], lines: list[int]) -> pa.Table:
    columns = {
        name: pa.array([r[i] if i < len(r) else None for r in rows], pa.string()) for i, name in enumerate(header)
    }
    columns["_line"] = pa.array(lines, pa.int64())
    return pa.table(columns)


def read_csv(path: Path, encoding: str | None = None) -> ReadResult:
    raw = path.read_bytes()
    encoding = encoding or detect_encoding(raw)
    bad: list[BadLine] = []
    try:
        text = raw.decode(encoding)
        kept_lines = None  # every physical line survived
    except LookupError as exc:
        raise FileRejected("unreadable_file", f"unknown encoding {encoding!r}") from exc
    except UnicodeDecodeError:
        # Decode line by line so that one broken row costs one row, not the file.
        good, kept_lines = [], []
        for number, chunk in enumerate(raw.split(b"\n"), start=1):
            try:
                good.append(chunk.decode(encoding))
                kept_lines.append(number)
            except UnicodeDecodeError as exc:
                bad.append(_undecodable(number, chunk, encoding, exc))
        text = "\n".join(good)
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise FileRejected("unreadable_file", "the file is empty")
    first, _, _ = text.partition("\n")
    header = next(csv.reader([first.rstrip("\r")]))
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        raise FileRejected("unknown_header", f"repeated column names in header: {header}")

    invalid: list[pacsv.InvalidRow] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        invalid.append(row)
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid, newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header}, strings_can_be_null=True, null_values=[""]
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise FileRejected("unreadable_file", str(exc).splitlines()[0]) from exc

    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if not invalid and kept_lines is None and table.num_rows == lines - 1:
        # Every line after the header is a row (the common case): no per-line bookkeeping needed.
        table = table.append_column("_line", pa.array(range(2, table.num_rows + 2), pa.int64()))
        return ReadResult(table, encoding, bad)
    # Physical line of each data row: the kept lines after the header, less blank and malformed ones.
    # pyarrow does not always number invalid rows, so they are matched back to their line by text.
    physical = list(range(1, text.count("\n") + 2)) if kept_lines is None else kept_lines
    pending = {}
    for row in invalid:
        pending.setdefault(row.text.rstrip("\r"), []).append(row)
    data_lines = []
    for number, line_text in zip(physical[1:], text.split("\n")[1:], strict=True):
        line_text = line_text.rstrip("\r")
        if not line_text.strip():
            continue
        if pending.get(line_text):
            row = pending[line_text].pop()
            bad.append(
                BadLine(number, "malformed", f"{row.actual_columns} fields, expected {row.expected_columns}", line_text)
            )
            continue
        data_lines.append(number)
    for rows in pending.values():
        bad.extend(
            BadLine(0, "malformed", f"{r.actual_columns} fields, expected {r.expected_columns}", r.text) for r in rows
        )
    if len(data_lines) != table.num_rows:  # quoted newlines: fall back to record numbers
        data_lines = list(range(2, table.num_rows + 2))
    table = table.append_column("_line", pa.array(data_lines, pa.int64()))
    return ReadResult(table, encoding, bad)


def _cell_text(value) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    return str(value).strip()


def read_xlsx(path: Path, sheet: str | None = None) -> ReadResult:
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        names = workbook.sheet_names
        if sheet is not None and sheet not in names:
            raise FileRejected("unknown_header", f"no sheet {sheet!r}; sheets are {', '.join(names)}")
        rows = workbook.get_sheet_by_name(sheet or names[0]).to_python(skip_empty_area=False)
    except CalamineError as exc:
        raise FileRejected("unreadable_file", f"not a readable .xlsx: {str(exc).splitlines()[0]}") from exc
    except (OSError, ValueError) as exc:
        raise FileRejected("unreadable_file", str(exc).splitlines()[0]) from exc
    if not rows:
        raise FileRejected("unreadable_file", "the sheet is empty")
    header = [_cell_text(h) or f"column_{i + 1}" for i, h in enumerate(rows[0])]
    body, lines = [], []
    for number, row in enumerate(rows[1:], start=2):
        cells = [_cell_text(v) for v in row]
        if any(c is not None for c in cells):
            body.append(cells)
            lines.append(number)
    return ReadResult(_table_from_rows(header, body, lines))


def _flatten(obj: dict, prefix: str = "") -> dict[str, str | None]:
    flat: dict[str, str | None] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, list):
            flat[name] = json.dumps(value, ensure_ascii=False)
        elif isinstance(value, bool):
            flat[name] = "true" if value else "false"
        elif value is None or value == "":
            flat[name] = None
        else:
            flat[name] = str(value)
    return flat


def _arrow_jsonl(raw: bytes) -> pa.Table | None:
    """Clean UTF-8 JSON lines parsed by Arrow, nested objects flattened to dotted text columns.

    None when the file needs the careful path: blank or broken lines, mixed types, a BOM.
    """
    if not raw.strip() or b"\n\n" in raw or raw.startswith(b"\xef\xbb\xbf"):
        return None
    try:
        table = pajson.read_json(io.BytesIO(raw))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    if any(pa.types.is_nested(f.type) for f in table.schema):
        return None  # lists: leave them to the careful path, which writes them as JSON text
    lines = raw.count(b"\n") + (0 if raw.endswith(b"\n") else 1)
    if table.num_rows != lines:
        return None
    columns = {}
    for column_type, name, column in zip(table.schema.types, table.column_names, table.columns, strict=True):
        if pa.types.is_boolean(column_type):
            column = pc.if_else(column, "true", "false")
        elif pa.types.is_timestamp(column_type):
            column = pc.strftime(column, "%Y-%m-%d %H:%M:%S")
        columns[name] = column.cast(pa.string())
    columns["_line"] = pa.array(range(1, table.num_rows + 1), pa.int64())
    return pa.table(columns)


def read_jsonl(path: Path, encoding: str | None = None) -> ReadResult:
    raw = path.read_bytes()
    encoding = encoding or detect_encoding(raw)
    if encoding in ("utf-8", "utf-8-sig") and (fast := _arrow_jsonl(raw)) is not None:
        return ReadResult(fast, encoding)
    records, lines, bad = [], [], []
    keys: dict[str, None] = {}
    for number, chunk in enumerate(raw.split(b"\n"), start=1):
        if not chunk.strip():
            continue
        try:
            text = chunk.decode(encoding).lstrip("\ufeff")
        except UnicodeDecodeError as exc:
            bad.append(_undecodable(number, chunk, encoding, exc))
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            bad.append(BadLine(number, "malformed", f"invalid JSON: {exc.msg}", text))
            continue
        if not isinstance(obj, dict):
            bad.append(BadLine(number, "malformed", "a line is not a JSON object", text))
            continue
        flat = _flatten(obj)
        keys.update(dict.fromkeys(flat))
        records.append(flat)
        lines.append(number)
    if not records and not bad:
        raise FileRejected("unreadable_file", "the file is empty")
    header = list(keys)
    rows = [[r.get(k) for k in header] for r in records]
    return ReadResult(_table_from_rows(header, rows, lines), encoding, bad)


def read_json(path: Path, records: str | None = None, encoding: str | None = None) -> ReadResult:
    """A JSON document holding a list of records: the document itself, or the list at a dotted path.

    Each record is one row, numbered from 1 in the list; nested objects become dotted columns as in JSON lines.
    """
    raw = path.read_bytes()
    try:
        doc = json.loads(raw.decode(encoding or detect_encoding(raw)).lstrip("\ufeff"))
    except (UnicodeDecodeError, json.JSONDecodeError, LookupError) as exc:
        raise FileRejected("unreadable_file", f"not JSON: {str(exc).splitlines()[0]}") from exc
    for key in records.split(".") if records else []:
        if not isinstance(doc, dict) or key not in doc:
            raise FileRejected("unknown_header", f"no {key!r} in the document (records: {records})")
        doc = doc[key]
    if not isinstance(doc, list):
        found = ", ".join(list(doc)[:10]) if isinstance(doc, dict) else type(doc).__name__
        raise FileRejected("unknown_header", f"not a list of records; set records: to its path (found {found})")
    rows, lines, bad, keys = [], [], [], {}
    for number, record in enumerate(doc, start=1):
        if not isinstance(record, dict):
            bad.append(BadLine(number, "malformed", "a record is not a JSON object", json.dumps(record)[:2000]))
            continue
        flat = _flatten(record)
        keys.update(dict.fromkeys(flat))
        rows.append(flat)
        lines.append(number)
    header = list(keys)
    return ReadResult(_table_from_rows(header, [[r.get(k) for k in header] for r in rows], lines), None, bad)


def read_geojson(path: Path, crs: str | None = None, area: BBox | None = None) -> ReadResult:
    """Boundary features (GeoJSON, a bare array of Features, Esri JSON), reprojected to lon/lat.

    The file's coordinate system is the mapping's `crs:`, else the one the document
    declares, else lon/lat. A feature that is not a polygon, cannot be reprojected or
    lands outside the street's area is a bad line with its reason, not a lost row.
    """
    try:
        doc = json.loads(path.read_bytes().decode("utf-8-sig"))
        features = features_from_document(doc)
        crs = crs or crs_from_document(doc)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileRejected("unreadable_file", f"not JSON: {exc}") from exc
    except GeometryError as exc:
        raise FileRejected("unreadable_file", str(exc)) from exc
    candidates, bad = [], []
    for number, feature in enumerate(features, start=1):
        flat = _flatten(feature.get("properties") or {})
        geometry = feature.get("geometry")
        if geometry and crs and not is_lon_lat(crs):
            try:
                geometry = reproject_geometry(geometry, crs)
            except GeometryError as exc:
                bad.append(BadLine(number, "invalid_geometry", str(exc), _brief(flat)))
                continue
        flat["geometry"] = json.dumps(geometry, ensure_ascii=False, separators=(",", ":")) if geometry else None
        candidates.append((number, flat, geometry))
    # Shapes and centroids of the whole file at once (a street's register holds thousands of outlines);
    # only a feature that fails asks the one-feature functions for its reason.
    texts = [flat["geometry"] for _, flat, _ in candidates]
    shapes = shapely.from_geojson([t or "null" for t in texts], on_invalid="ignore")
    polygons = np.isin(shapely.get_type_id(shapes), [3, 6])  # Polygon, MultiPolygon
    centroids = shapely.centroid(shapes)
    xs, ys = shapely.get_x(centroids), shapely.get_y(centroids)
    records, lines = [], []
    keys = {"geometry": None}
    for i, (number, flat, geometry) in enumerate(candidates):
        if geometry:
            if not polygons[i]:
                try:
                    polygon_shape(geometry)
                    reason = "not a polygon"
                except GeometryError as exc:
                    reason = str(exc)
                bad.append(BadLine(number, "invalid_geometry", reason, _brief(flat)))
                continue
            inside = area is None or (area[0] <= xs[i] <= area[2] and area[1] <= ys[i] <= area[3])
            reason = None if inside else out_of_area_reason(geometry, area)
            if reason:
                bad.append(BadLine(number, "out_of_area", reason.removeprefix("out_of_area: "), _brief(flat)))
                continue
        keys.update(dict.fromkeys(flat))
        records.append(flat)
        lines.append(number)
    header = list(keys)
    rows = [[r.get(k) for k in header] for r in records]
    return ReadResult(_table_from_rows(header, rows, lines), None, sorted(bad, key=lambda b: b.line))


def _brief(properties: dict) -> str:
    """A feature's properties as the quarantine's raw text (the geometry is left out: it can be megabytes)."""
    return json.dumps(properties, ensure_ascii=False)[:2000]


def read_file(path: Path, spec: FileSpec, area: BBox | None = None) -> ReadResult:
    """Read one export file as its mapping describes; raise FileRejected when it cannot be used at all."""
    if spec.format == "csv":
        result = read_csv(path, spec.encoding)
    elif spec.format == "xlsx":
        result = read_xlsx(path, spec.sheet)
    elif spec.format == "jsonl":
        result = read_jsonl(path, spec.encoding)
    elif spec.format == "json":
        result = read_json(path, spec.records, spec.encoding)
    else:
        result = read_geojson(path, spec.crs, area)
    present = set(result.table.column_names)
    # JSON lines have no header: a key counts as present when any row carries it.
    missing = [col for col in spec.columns if col not in present]
    required_missing = [c for c in missing if c in spec.required_columns(load_contracts()[spec.table])]
    # A header-less file (JSON) whose every row was bad has no keys to judge: its bad lines say why.
    if required_missing and not (result.table.num_rows == 0 and result.bad_lines):
        found = ", ".join(c for c in result.table.column_names if c != "_line")
        raise FileRejected("unknown_header", f"missing column(s) {', '.join(required_missing)}; found {found}")
    for col in missing:  # optional columns the export left out are empty, and the run says so
        result.table = result.table.append_column(col, pa.nulls(result.table.num_rows, pa.string()))
    if result.table.num_rows:
        result.missing_columns = missing
    result.table = _settle_day_month_order(result.table, spec)
    return result


# d/m/yyyy or m/d/yyyy (any of / . - between), at the start of a value.
_SHORT_DATE = r"^\s*(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})[/.-](?P<y>\d{4})"


def _settle_day_month_order(table: pa.Table, spec: FileSpec) -> pa.Table:
    """Rewrite dd/mm/yyyy or mm/dd/yyyy dates of a column to yyyy-mm-dd, deciding the order per file.

    A file decides by its rows: a first number above 12 means day-first, a second
    one above 12 means month-first. When every row reads both ways the file is
    refused rather than guessed (3/4/2024 is 3 April in London and 4 March in
    New York). Fields with their own datetime_formats are left as the mapping says.
    """
    contract = load_contracts()[spec.table]
    for name, source in spec.sources.items():
        if source.kind != "column" or name in spec.datetime_formats:
            continue
        if contract.fields[name].type not in ("date", "timestamp"):
            continue
        column = table.column(source.value)
        parts = pc.extract_regex(column, _SHORT_DATE)
        valid = pc.is_valid(parts)
        if not pc.any(valid).as_py():
            continue
        first = pc.cast(pc.struct_field(parts, "a"), pa.int32())
        second = pc.cast(pc.struct_field(parts, "b"), pa.int32())
        day_first_possible = not pc.any(pc.greater(second, 12)).as_py()
        month_first_possible = not pc.any(pc.greater(first, 12)).as_py()
        differs = pc.any(pc.not_equal(first, second)).as_py()
        if day_first_possible and month_first_possible and differs:
            example = pc.filter(column, pc.and_(valid, pc.not_equal(first, second)))[0].as_py()
            raise FileRejected(
                "ambiguous_date",
                f"{source.value}: every date reads both day-first and month-first (e.g. {example!r}); "
                f"declare datetime_formats for {name}",
            )
        order = r"\3-\1-\2" if month_first_possible else r"\3-\2-\1"
        rewritten = pc.replace_substring_regex(column, _SHORT_DATE, order)
        table = table.set_column(table.column_names.index(source.value), source.value, rewritten)
    return table
