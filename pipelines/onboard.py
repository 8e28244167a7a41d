"""Operator tools for onboarding an export: a dry run of a mapping, and a first draft of one.

`check_mapping` reads files exactly as a nightly run would (the same readers,
the same validation SQL, the references and code lists of the home) but writes
nothing: it reports, per entry of the mapping, what would load, what would be
quarantined and why (with examples), which values no code list knows, and the
first rows as the contract sees them.

`draft_mapping` turns a sample export's header into a starting mapping: it
guesses the contract table and which column feeds which field from the column
names (Chinese and English names real exports use), the time formats from the
values, and leaves what it cannot guess as TODO for the operator.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from pipelines.contracts import Contract, load_contracts, seed_codes
from pipelines.geometry import BBox
from pipelines.lake import known_keys
from pipelines.mapping import Mapping, added_codes, load_mapping, load_mappings
from pipelines.readers import FileRejected, read_csv, read_file, read_jsonl, read_xlsx
from pipelines.validate import validate_batch
from warehouse.paths import Home

EXAMPLES_PER_REASON = 3
FIRST_ROWS = 5


@dataclass
class EntryReport:
    """What one entry of a mapping would do with the files it matches."""

    index: int
    table: str
    pattern: str
    files: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (file, one-line reason)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_filtered: int = 0
    quarantined: Counter = field(default_factory=Counter)  # reason → rows
    examples: dict[str, list[str]] = field(default_factory=dict)  # reason → "file:line detail"
    unmapped: dict[str, Counter] = field(default_factory=dict)  # field → value → rows
    flagged: Counter = field(default_factory=Counter)  # "field:reason" → rows
    first_rows: list[dict] = field(default_factory=list)
    missing_columns: set[str] = field(default_factory=set)  # mapped columns a file lacks

    def emptied(self) -> list[str]:
        """Fields set to NULL on every row that would load: a wrong area, unit or column, not bad data."""
        per_field = Counter()
        for flag, rows in self.flagged.items():
            per_field[flag.split(":")[0]] += rows
        return sorted(name for name, rows in per_field.items() if self.rows_loaded and rows >= self.rows_loaded)

    @property
    def ok(self) -> bool:
        return (
            bool(self.files)
            and not self.rejected
            and self.rows_loaded > 0
            and not self.missing_columns
            and not self.emptied()
        )


def check_mapping(
    mapping_path: Path,
    home: Home,
    *,
    sample: Path | None = None,
    extra_mappings: tuple[Path, ...] = (),
    area: BBox | None = None,
) -> tuple[Mapping, list[EntryReport]]:
    """Dry-run a mapping over a sample file, or over every landing file of its source. Writes nothing."""
    mapping = load_mapping(mapping_path)
    others = [m for m in load_mappings(tuple(p for p in extra_mappings if Path(p) != Path(mapping_path)))]
    code_rows = added_codes([*[m for m in others if m.source != mapping.source], mapping])
    contracts = load_contracts()
    candidates = _candidates(mapping, home, sample)
    con = duckdb.connect()
    needed = {f.references for spec in mapping.files for f in contracts[spec.table].fields.values() if f.references}
    references = {ref: known_keys(home.lake, *ref) for ref in needed}
    reports = []
    try:
        for i, spec in enumerate(mapping.files):
            report = EntryReport(i, spec.table, spec.pattern)
            contract = contracts[spec.table]
            for day, path in candidates:
                if sample is None and not path.match(spec.pattern):
                    continue
                report.files.append(str(path))
                _check_file(con, report, mapping, spec, contract, path, day, references, code_rows, area)
            reports.append(report)
    finally:
        con.close()
    return mapping, reports


def _candidates(mapping: Mapping, home: Home, sample: Path | None) -> list[tuple[date, Path]]:
    if sample is not None:
        return [(date.today(), Path(sample))]
    folder = home.landing / mapping.source
    found = []
    for day_dir in sorted(folder.glob("????-??-??")) if folder.is_dir() else []:
        try:
            day = date.fromisoformat(day_dir.name)
        except ValueError:
            continue
        found += [(day, p) for p in sorted(day_dir.iterdir()) if p.is_file() and not p.name.startswith(".")]
    return found


def _check_file(con, report, mapping, spec, contract, path, day, references, code_rows, area) -> None:
    try:
        result = read_file(path, spec, area)
    except FileRejected as exc:
        report.rejected.append((path.name, str(exc)))
        return
    report.rows_read += result.rows_read
    report.missing_columns.update(result.missing_columns)
    for bad in result.bad_lines:
        report.quarantined[bad.reason] += 1
        _example(report, bad.reason, f"{path.name}:{bad.line} {bad.detail}")
    checked = validate_batch(
        con,
        result.batch(path.name, day),
        spec,
        contract,
        source=mapping.source,
        salt="dry-run",
        references=references,
        loaded_at=None,
        code_rows=code_rows,
        area=area,
    )
    report.rows_loaded += checked.clean.num_rows
    # What this entry loads is known to the entries after it (a register's units, then their boundaries).
    for (table, key), known in list(references.items()):
        if table == spec.table and checked.clean.num_rows:
            new = pa.table(
                {
                    "k": pc.cast(checked.clean.column(key), pa.string()),
                    "first_day": pa.array([day] * checked.clean.num_rows, pa.date32()),
                }
            )
            references[(table, key)] = pa.concat_tables([known.cast(new.schema), new])
    report.rows_filtered += sum(checked.filtered.values())
    for row in checked.quarantine.select(["line", "reason", "detail"]).to_pylist():
        report.quarantined[row["reason"]] += 1
        _example(report, row["reason"], f"{path.name}:{row['line']} {row['detail']}")
    for name, value, rows in checked.unmapped:
        report.unmapped.setdefault(name, Counter())[value] += rows
    for name, reason, rows in checked.flags:
        report.flagged[f"{name}:{reason}"] += rows
    if len(report.first_rows) < FIRST_ROWS:
        shown = checked.clean.select(list(contract.fields)).slice(0, FIRST_ROWS - len(report.first_rows))
        report.first_rows += shown.to_pylist()


def _example(report: EntryReport, reason: str, text: str) -> None:
    examples = report.examples.setdefault(reason, [])
    if len(examples) < EXAMPLES_PER_REASON:
        examples.append(text[:300])


def format_report(mapping: Mapping, reports: list[EntryReport]) -> str:
    """The dry run as plain text for a terminal: one block per entry."""
    lines = [f"{mapping.path.name}: source {mapping.source} ({mapping.title})"]
    for seed, rows in mapping.code_rows.items():
        lines.append(f"  adds {len(rows)} code(s) to {seed}")
    for r in reports:
        lines.append(f"files[{r.index}] → {r.table} ({r.pattern}): {len(r.files)} file(s)")
        if not r.files:
            lines.append("  no file matches this entry's pattern")
        for name, reason in r.rejected:
            lines.append(f"  rejected whole: {name}: {reason}")
        if r.missing_columns:
            lines.append(f"  mapped column(s) not in the file: {', '.join(sorted(r.missing_columns))} (a typo?)")
        for name in r.emptied():
            lines.append(f"  {name} would be empty on every row: check the column, its unit, or COCKPIT_AREA")
        lines.append(
            f"  rows read {r.rows_read:,} · would load {r.rows_loaded:,} · quarantine "
            f"{sum(r.quarantined.values()):,} · left out by when {r.rows_filtered:,}"
        )
        for reason, rows in r.quarantined.most_common():
            lines.append(f"  quarantined {reason}: {rows:,}")
            lines += [f"    e.g. {e}" for e in r.examples.get(reason, [])]
        for flag, rows in r.flagged.most_common():
            lines.append(f"  optional value set to NULL ({flag}): {rows:,}")
        for name, values in r.unmapped.items():
            shown = ", ".join(f"{v} ({n:,})" for v, n in values.most_common(10))
            lines.append(f"  未映射 {name} → default: {shown}")
        if r.first_rows:
            lines.append("  first rows as the contract sees them:")
            for row in r.first_rows:
                shown = ", ".join(f"{k}={_short(v)}" for k, v in row.items() if v is not None)
                lines.append(f"    {shown}")
    ok = all(r.ok for r in reports) and bool(reports)
    lines.append("ok: every entry would load rows" if ok else "not ok: see the entries above")
    return "\n".join(lines)


def _short(value) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "…"


# ---------------------------------------------------------------- drafting a mapping

# Header names real exports use for each contract field (compared without case, spaces or _-.).
SYNONYMS: dict[str, list[str]] = {
    "source_ticket_id": [
        "工单编号",
        "工单号",
        "留言编号",
        "事件编号",
        "案件编号",
        "诉求编号",
        "编号",
        "unique key",
        "ticket id",
        "case id",
        "service request id",
        "request id",
        "id",
    ],
    "received_at": [
        "受理时间",
        "来电时间",
        "留言时间",
        "上报时间",
        "创建时间",
        "登记时间",
        "立案时间",
        "created date",
        "created at",
        "open date",
        "opened",
        "received at",
        "submitted",
        "time",
        "date",
    ],
    "category": [
        "问题分类",
        "诉求类别",
        "事件类别",
        "诉求分类",
        "案件类别",
        "类别",
        "分类",
        "complaint type",
        "category",
        "request type",
        "type",
    ],
    "title": ["诉求标题", "留言主题", "标题", "主题", "subject", "title", "descriptor", "summary"],
    "content": [
        "诉求内容",
        "留言详情",
        "诉求描述",
        "事件描述",
        "内容",
        "详情",
        "描述",
        "description",
        "details",
        "content",
    ],
    "address": ["事发地址", "事发地点", "事发位置", "地址", "位置", "incident address", "address", "location"],
    "grid_id": ["网格编码", "所属网格", "网格", "微网格编码", "grid"],
    "lon": ["经度", "longitude", "lon", "lng"],
    "lat": ["纬度", "latitude", "lat"],
    "caller_name": ["来电人", "市民姓名", "留言用户", "上报人", "姓名", "联系人", "caller", "name"],
    "caller_phone": ["来电号码", "联系电话", "上报人电话", "电话", "手机", "phone", "telephone"],
    "device_id": ["设备编号", "设备", "站点", "监测点", "station", "device id", "device", "sensor id"],
    "measured_at": ["监测时间", "采集时间", "时间", "measured at", "timestamp", "datetime", "time", "ts"],
    "value": ["监测值", "数值", "读数", "value", "reading"],
    "metric": ["指标", "监测项目", "metric", "parameter", "pollutant"],
    "unit_id": ["编码", "区划代码", "adcode", "code", "unit id"],
    "name": ["名称", "name"],
    "geometry": ["geometry"],
}
# Parts of a time split over columns, for a template.
SPLIT_TIME = {"year": ["year", "年"], "month": ["month", "月"], "day": ["day", "日"], "hour": ["hour", "时", "小时"]}


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-.()（）]", "", str(text)).lower()


def _header_and_samples(path: Path) -> tuple[str, str | None, list[str], dict[str, list[str]]]:
    """(format, records path of a JSON document or None, header, up to 50 sample values per column)."""
    suffix = path.suffix.lower()
    records = None
    if suffix in (".xlsx", ".xlsm"):
        fmt, result = "xlsx", read_xlsx(path)
    elif suffix in (".jsonl", ".ndjson"):
        fmt, result = "jsonl", read_jsonl(path)
    elif suffix in (".json", ".geojson"):
        fmt, records, result = _read_some_json(path)
    else:
        fmt, result = "csv", read_csv(path)
    header = [c for c in result.table.column_names if c != "_line"]
    head = result.table.slice(0, 200)
    samples = {c: [v for v in head.column(c).to_pylist() if v not in (None, "")][:50] for c in header}
    return fmt, records, header, samples


def _loose(synonym: str) -> bool:
    """May a header merely contain this synonym? Chinese names and English phrases yes; a bare English word
    no ("Agency Name" is not a caller's name, "Resolution Description" not the complaint)."""
    return bool(re.search(r"[\u4e00-\u9fff]", synonym)) or " " in synonym.strip()


def _read_some_json(path: Path):
    """Boundaries (GeoJSON, Esri JSON) or a list of records (at the top, or under one key): (format, records, read)."""
    import json

    from pipelines.readers import read_geojson, read_json

    doc = json.loads(path.read_bytes().decode("utf-8-sig"))
    features = doc.get("features") if isinstance(doc, dict) else doc
    first = features[0] if isinstance(features, list) and features else None
    if isinstance(first, dict) and ("geometry" in first or first.get("type") == "Feature"):
        return "geojson", None, read_geojson(path)
    if isinstance(doc, dict):
        lists = [k for k, v in doc.items() if isinstance(v, list)]
        if len(lists) == 1:
            return "json", lists[0], read_json(path, lists[0])
    return "json", None, read_json(path)


def _guess_fields(header: list[str], contract: Contract) -> dict[str, str]:
    """Contract field → export column: exact names first, then a name containing a synonym."""
    taken: dict[str, str] = {}
    normalized = {_norm(h): h for h in header}
    for exact in (True, False):
        for name in contract.fields:
            if name in taken:
                continue
            for synonym in SYNONYMS.get(name, []) + [name]:
                s = _norm(synonym)
                if not exact and not _loose(synonym):
                    continue
                # a JSON path matches by its last part too: loc.lon is a longitude
                hits = [
                    h
                    for n, h in normalized.items()
                    if (n == s or _norm(h.rsplit(".", 1)[-1]) == s if exact else s in n)
                ]
                hits = [h for h in hits if h not in taken.values()]
                if hits:
                    taken[name] = hits[0]
                    break
    return taken


def _split_time(header: list[str]) -> str | None:
    found = {}
    for part, names in SPLIT_TIME.items():
        for h in header:
            if _norm(h) in names:
                found[part] = h
    if {"year", "month", "day"} <= set(found):
        template = f"{{{found['year']}}}-{{{found['month']}:02}}-{{{found['day']}:02}}"
        return template + (f" {{{found['hour']}:02}}:00:00" if "hour" in found else "")
    return None


def _datetime_format(values: list[str]) -> list[str] | None:
    """A strptime format that reads the sample values, for a field whose values the defaults may not read."""
    candidates = ["%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%m/%d/%Y %I:%M:%S %p", "%d/%m/%Y %H:%M", "%Y%m%d%H%M%S"]
    con = duckdb.connect()
    try:
        for fmt in candidates:
            ok = con.execute(
                "SELECT count(*) FILTER (WHERE try_strptime(v, $f) IS NOT NULL), count(*) FROM unnest($vs) AS t(v)",
                {"f": fmt, "vs": [str(v) for v in values]},
            ).fetchone()
            if values and ok[0] == ok[1]:
                return [fmt]
    finally:
        con.close()
    return None


def _unread_times(contract: Contract, fields: dict, formats: dict, samples: dict) -> dict[str, str]:
    """Time fields whose sample values neither a guessed format nor the defaults read: field → an example."""
    from pipelines.validate import DATETIME_FORMATS, datetime_sql

    unread = {}
    con = duckdb.connect()
    try:
        for name, column in fields.items():
            if contract.fields[name].type not in ("timestamp", "date") or column not in samples:
                continue
            values = [str(v) for v in samples[column]]
            parsed = datetime_sql("v", [*formats.get(name, []), *DATETIME_FORMATS])
            bad = con.execute(f"SELECT v FROM unnest($vs) AS t(v) WHERE ({parsed}) IS NULL LIMIT 1", {"vs": values})
            row = bad.fetchone()
            if row:
                unread[name] = row[0]
    finally:
        con.close()
    return unread


def _number(value, tokens: set[str]) -> bool:
    try:
        float(value)
        return True
    except ValueError:
        return str(value) in tokens


def draft_mapping(path: Path, source: str | None = None) -> str:
    """A starting mapping (YAML text) for a sample export, for the operator to finish."""
    fmt, records, header, samples = _header_and_samples(Path(path))
    contracts = load_contracts()
    split = _split_time(header)
    best, best_score, best_fields = None, -1.0, {}
    for table, contract in contracts.items():
        fields = _guess_fields(header, contract)
        if split:
            for name, f in contract.fields.items():
                if f.type == "timestamp" and f.required and name not in fields:
                    fields[name] = "(split)"
                    break
        required = contract.required
        score = sum(1 for f in required if f in fields) / max(len(required), 1) + 0.01 * len(fields)
        if score > best_score:
            best, best_score, best_fields = table, score, fields
    contract = contracts[best]
    source = source or re.sub(r"[^a-z0-9_]+", "_", Path(path).stem.lower()).strip("_") or "new_source"
    if not re.match(r"^[a-z]", source):
        source = f"source_{source}"
    entry: dict = {"table": best, "pattern": f"*{Path(path).suffix}", "format": fmt}
    if records:
        entry["records"] = records
    fields_out: dict = {}
    for name, column in best_fields.items():
        fields_out[name] = {"template": split} if column == "(split)" else column
    entry["fields"] = fields_out
    formats = {}
    for name, column in best_fields.items():
        if contract.fields[name].type in ("timestamp", "date") and column != "(split)":
            guessed = _datetime_format(samples.get(column, []))
            if guessed:
                formats[name] = guessed
    if formats:
        entry["datetime_formats"] = formats
    used = set(best_fields.values()) | {c for c in header if split and f"{{{c}" in split}
    tokens = {"NA", "N/A", "NaN", "null", "-", ""}
    if any(str(v) in tokens - {""} for c in header for v in samples.get(c, [])):
        entry["null_values"] = sorted({str(v) for c in header for v in samples.get(c, []) if str(v) in tokens - {""}})
    if best == "sensor_reading" and "value" not in best_fields:
        # A wide export: one column per metric. One entry, repeated per numeric column.
        numeric = [
            c for c in header if c not in used and samples.get(c) and all(_number(v, tokens) for v in samples[c])
        ]
        if numeric:
            known = set(seed_codes("sensor_metric"))
            guess = {c: re.sub(r"[^a-z0-9]", "", c.lower()) for c in numeric}
            entry["repeat"] = [
                {"column": c, "metric": guess[c] if guess[c] in known else f"TODO {guess[c]}"} for c in numeric
            ]
            fields_out["value"] = "${column}"
            entry["when"] = {"column": "${column}"}
            best_fields = {**best_fields, "value": "${column}", "metric": "${metric}"}
            entry.setdefault("constants", {})["metric"] = "${metric}"
            used |= set(numeric)
    missing = [f for f in contract.required if f not in best_fields]
    if missing:
        entry.setdefault("constants", {}).update({f: "TODO" for f in missing})
    unread = _unread_times(contract, best_fields, formats, samples)
    doc = {"source": source, "title": f"TODO: a title for {Path(path).name}", "files": [entry]}
    unused = [h for h in header if h not in used]
    notes = [
        f"# Draft mapping for {Path(path).name}: guessed table {best} from the header; check every line.",
        "# Fields marked TODO are required and were not found: map a column or set a constant.",
    ]
    if unused:
        notes.append(f"# Columns not mapped: {', '.join(unused)}")
    for name, example in unread.items():
        notes.append(
            f"# TODO {name}: values like {example!r} are not read by the default formats: add datetime_formats"
        )
    notes.append("# Try it: cockpit source check THIS_FILE --sample " + Path(path).name)
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=120)
    return "\n".join(notes) + "\n" + text
