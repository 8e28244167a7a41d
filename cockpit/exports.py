"""Record exports: spreadsheet-safe CSV and Excel writers that stream, and background jobs for large exports.

Ticket text is written by citizens, and a spreadsheet evaluates a cell that
starts with "=" (or "+", "-", "@", a tab or a carriage return) as a formula:
`=HYPERLINK(…)` or a DDE call in an export attacks whoever opens it. So the
Excel writer writes every string as a string (never a formula, never a link)
and numbers as numbers, and the CSV writer follows OWASP's rule: such text
gets a leading apostrophe, and every text cell is quoted. The header block
(KPI, filters from the query string…) goes through the same writers.

Writers take the rows as Arrow batches (cockpit.data.RecordStream), so a large
export never sits in a worker's memory whole: CSV leaves in chunks, Excel goes
through xlsxwriter's constant-memory mode into a file.

Above the direct-download cap an export becomes a job: it runs in a thread of
the worker that got the request, writes into $COCKPIT_HOME/exports/ (0700,
files 0600), and keeps its state in a JSON file beside the export, so that
whichever worker answers the poll can read it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import xlsxwriter

from cockpit.data import RecordStream, ReleaseInfo, Warehouse
from cockpit.metrics import Period

FORMATS = {
    "csv": "text/csv",  # Flask adds "; charset=utf-8" to text types
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# What makes a spreadsheet read a cell as a formula (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_PATTERN = "^[" + re.escape("".join(_FORMULA_START)) + "]"
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
# A job that has not reported for this long died with its worker (a restart): say so.
STALLED_AFTER_S = 600
# Finished exports are kept this long for their download, then removed when the next job starts.
KEEP_S = 24 * 3600
# Jobs queued or running at once on one home; more are refused until some finish.
MAX_ACTIVE_JOBS = 4
# One export written at a time per worker process (each keeps a CPU busy); others queue.
_WRITING = threading.Semaphore(1)

Header = Sequence[tuple[str, str]]


def csv_text(value: str) -> str:
    """Text a spreadsheet shows as text: a leading apostrophe before what it would read as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


# ---- cells by Arrow type ----------------------------------------------------------------


def _is_number(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)


def _finite(value: Any) -> bool:
    return value is not None and math.isfinite(float(value))


def _csv_column(column: pa.Array) -> pa.Array:
    """One column as the CSV writer gets it: numbers as they are (NaN empty), everything else safe text."""
    kind = column.type
    if pa.types.is_floating(kind):
        return pc.if_else(pc.is_nan(column), pa.scalar(None, kind), column)
    if _is_number(kind):
        return column
    if pa.types.is_timestamp(kind):
        return pc.strftime(column, "%Y-%m-%d %H:%M:%S")
    if pa.types.is_date(kind) or pa.types.is_boolean(kind):
        return column.cast(pa.string())
    text = column.cast(pa.string())
    return pc.if_else(
        pc.match_substring_regex(text, _FORMULA_PATTERN), pc.binary_join_element_wise("'", text, ""), text
    )


def csv_chunks(header: Header, schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
    """The export as UTF-8 CSV (with BOM: what Excel on a Chinese desktop needs), one chunk per batch.

    Numbers are left bare (a spreadsheet reads them as numbers); every text cell is quoted. The
    rows are converted and written by Arrow a batch at a time, not a Python call per cell.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC)
    buffer.write("\ufeff")
    for key, value in header:
        writer.writerow([csv_text(f"# {key}"), csv_text(str(value))])
    writer.writerow([csv_text(name) for name in schema.names])
    yield buffer.getvalue().encode("utf-8")
    options = pa_csv.WriteOptions(include_header=False, quoting_style="needed")
    for batch in batches:
        safe = pa.RecordBatch.from_arrays([_csv_column(column) for column in batch.columns], names=schema.names)
        out = io.BytesIO()
        pa_csv.write_csv(safe, out, options)
        yield out.getvalue()


def write_xlsx(
    out: IO[bytes] | str,
    header: Header,
    schema: pa.Schema,
    batches: Iterable[pa.RecordBatch],
    sheet_name: str,
    progress: Callable[[int], None] | None = None,
) -> None:
    """The export as one Excel sheet: the header block, a blank row, the column names, the rows.

    constant_memory flushes each row to disk as it is written. Strings are never
    formulas, links or numbers: a citizen's "=…" stays the text they wrote.
    """
    workbook = xlsxwriter.Workbook(
        out,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "remove_timezone": True,
        },
    )
    sheet = workbook.add_worksheet(sheet_name)
    formats = {
        "timestamp": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        "date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
        "bold": workbook.add_format({"bold": True}),
    }
    sheet.set_column(0, max(len(schema) - 1, 1), 18)
    for row, (key, value) in enumerate(header):
        sheet.write_string(row, 0, str(key), formats["bold"])
        sheet.write_string(row, 1, str(value))
    row = len(header) + 1
    for col, name in enumerate(schema.names):
        sheet.write_string(row, col, name, formats["bold"])
    writers = [_xlsx_cell(sheet, field.type, formats) for field in schema]
    done = 0
    for batch in batches:
        columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        for values in zip(*columns, strict=True):
            row += 1
            for col, (write, value) in enumerate(zip(writers, values, strict=True)):
                if value is not None:
                    write(row, col, value)
        done += batch.num_rows
        if progress:
            progress(done)
    workbook.close()


def _xlsx_cell(sheet, kind: pa.DataType, formats: dict) -> Callable[[int, int, Any], None]:
    if _is_number(kind):
        return lambda r, c, v: sheet.write_number(r, c, float(v)) if _finite(v) else None
    if pa.types.is_timestamp(kind):
        return lambda r, c, v: sheet.write_datetime(r, c, v, formats["timestamp"])
    if pa.types.is_date(kind):
        return lambda r, c, v: sheet.write_datetime(r, c, datetime(v.year, v.month, v.day), formats["date"])
    if pa.types.is_boolean(kind):
        return lambda r, c, v: sheet.write_boolean(r, c, v)
    return lambda r, c, v: sheet.write_string(r, c, str(v))


def write_export(
    fmt: str,
    out: IO[bytes],
    header: Header,
    stream: RecordStream,
    sheet_name: str,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Write the whole stream to `out` as `fmt` (csv or xlsx)."""
    if fmt == "csv":
        for chunk in csv_chunks(header, stream.schema, _counted(stream, progress)):
            out.write(chunk)
    else:
        write_xlsx(out, header, stream.schema, stream, sheet_name, progress)


def _counted(batches: Iterable[pa.RecordBatch], progress: Callable[[int], None] | None) -> Iterator[pa.RecordBatch]:
    done = 0
    for batch in batches:
        yield batch
        done += batch.num_rows
        if progress:
            progress(done)


# ---- background jobs ------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportSpec:
    """What one export holds: the rows behind a KPI for a period and filters, in a format and a language."""

    kpi: str
    period: Period
    filters: dict[str, str]
    fmt: str
    lang: str
    owner: str = ""  # the user who asked: only they may fetch a background job's file
    by: str = ""  # how the header names them (导出人)
    scope: str = ""  # the data scope the rows were kept to, for the header (数据范围)

    @property
    def filename(self) -> str:
        return f"{self.kpi}_{self.period.start:%Y%m%d}-{self.period.end:%Y%m%d}.{self.fmt}"


# The header block of an export, from the release it reads, the rows it holds and how many there are in all.
HeaderBuilder = Callable[[ExportSpec, ReleaseInfo, int, int], Header]


def private_file(path: Path) -> IO[bytes]:
    """A new file only its owner may read (exports hold personal data, masked or not)."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")


class ExportJobs:
    """Background exports under one directory: start, state, file."""

    def __init__(self, directory: Path, direct_rows: int, max_rows: int):
        self.directory = directory
        self.direct_rows = direct_rows
        self.max_rows = max_rows

    def _state_path(self, job_id: str) -> Path:
        return self.directory / f"{job_id}.json"

    def _write_state(self, job_id: str, **state) -> None:
        partial = self.directory / f"{job_id}.json.part"
        with private_file(partial) as f:
            f.write(json.dumps(state, ensure_ascii=False).encode("utf-8"))
        partial.replace(self._state_path(job_id))

    def state(self, job_id: str) -> dict | None:
        """{'status': queued|running|done|failed, 'rows_done', 'rows_total', 'filename', 'error'}; None if unknown."""
        if not JOB_ID.match(job_id or ""):
            return None
        path = self._state_path(job_id)
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            return None
        if state["status"] in ("queued", "running") and age > STALLED_AFTER_S:
            return {**state, "status": "failed", "error": "the export stopped (the server restarted?): start it again"}
        return state

    def file(self, job_id: str) -> tuple[Path, str] | None:
        """The finished export of a job and the name to download it as; None while not done or unknown."""
        state = self.state(job_id)
        if not state or state["status"] != "done":
            return None
        path = self.directory / f"{job_id}.{state['fmt']}"
        return (path, state["filename"]) if path.is_file() else None

    def active(self) -> int:
        """Jobs queued or running now (on every worker of this home)."""
        if not self.directory.exists():
            return 0
        return sum(
            1
            for path in self.directory.glob("*.json")
            if (state := self.state(path.stem)) and state["status"] in ("queued", "running")
        )

    def prune(self, now: float | None = None) -> None:
        """Remove exports, and their states, older than KEEP_S."""
        cutoff = (now or time.time()) - KEEP_S
        for path in self.directory.glob("*"):
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)

    def start(self, warehouse: Warehouse, spec: ExportSpec, header: HeaderBuilder, sheet_name: str) -> str:
        """Queue an export in a thread of this process; returns the job id. Raises JobRefused when too many run."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.prune()
        if self.active() >= MAX_ACTIVE_JOBS:
            raise JobRefused(f"{MAX_ACTIVE_JOBS} exports are already in progress: try again when one has finished")
        job_id = uuid.uuid4().hex
        # The KPI decides who may download it, the owner whether it is theirs to download.
        base = {"fmt": spec.fmt, "filename": spec.filename, "kpi": spec.kpi, "owner": spec.owner}
        self._write_state(job_id, status="queued", rows_done=0, rows_total=None, **base)
        thread = threading.Thread(
            target=self._run, args=(job_id, warehouse, spec, header, sheet_name, base), daemon=True
        )
        thread.start()
        return job_id

    def _run(self, job_id, warehouse, spec: ExportSpec, header: HeaderBuilder, sheet_name: str, base) -> None:
        out = self.directory / f"{job_id}.{spec.fmt}"
        partial = out.with_name(out.name + ".part")
        try:
            # Waiting behind another export: say so now and then, or the wait would look like a dead job.
            while not _WRITING.acquire(timeout=STALLED_AFTER_S / 4):
                self._write_state(job_id, status="queued", rows_done=0, rows_total=None, **base)
            stream = None
            try:
                stream = warehouse.record_stream(
                    spec.kpi, spec.period, filters=spec.filters, limit=self.max_rows, lang=spec.lang
                )
                shown = min(stream.total, self.max_rows)
                self._write_state(job_id, status="running", rows_done=0, rows_total=shown, **base)

                def progress(done: int) -> None:
                    self._write_state(job_id, status="running", rows_done=done, rows_total=shown, **base)

                block = header(spec, stream.info, shown, stream.total)
                with private_file(partial) as f:
                    write_export(spec.fmt, f, block, stream, sheet_name, progress)
                partial.replace(out)
            finally:
                _WRITING.release()
                if stream is not None:
                    stream.close()
        except Exception as exc:  # noqa: BLE001 - a job must always end in a state the page can show
            partial.unlink(missing_ok=True)
            self._write_state(job_id, status="failed", error=f"{type(exc).__name__}: {exc}", **base)
            raise
        self._write_state(job_id, status="done", rows_done=shown, rows_total=shown, **base)


class JobRefused(RuntimeError):
    """An export job that cannot start now; the message is one line."""
