"""Deterministic writers for landing extracts: CSV (any encoding, optional BOM), JSON lines, .xlsx, GeoJSON.

The same rows always give the same bytes: nothing reads the clock, .xlsx
files are built in memory (xlsxwriter then stamps every zip entry 1980-01-01)
with fixed document properties, and JSON keys keep the order they are given in.
Files are written under a dot-name and renamed, so the pipeline (which skips
dot-files) never reads half a file.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

import xlsxwriter

# A private-use character marks where a row's bytes are to be broken; it never occurs in generated text.
UNDECODABLE_MARK = "\ue000"
# 0x80 and 0xFF are neither lead nor trail bytes in GB18030 (nor valid in UTF-8).
UNDECODABLE_BYTES = b"\x80\xff"


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def csv_bytes(
    header: Sequence[str],
    rows: Iterable[Sequence],
    *,
    encoding: str = "utf-8",
    bom: bool = False,
    line_end: str = "\r\n",
) -> bytes:
    """CSV text in `encoding`; a field containing UNDECODABLE_MARK gets bytes no decoder accepts there."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=line_end)
    writer.writerow(header)
    writer.writerows(rows)
    text = buf.getvalue()
    data = UNDECODABLE_BYTES.join(part.encode(encoding) for part in text.split(UNDECODABLE_MARK))
    return (b"\xef\xbb\xbf" if bom else b"") + data


def plain_csv_bytes(header: Sequence[str], lines: list[str], *, line_end: str = "\n") -> bytes:
    """Fast path for large numeric files: `lines` are already joined, with no field needing quotes."""
    return (line_end.join([",".join(header), *lines]) + line_end).encode("utf-8")


# One encoder for the run: json.dumps with non-default arguments builds a new encoder on every call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def json_line(record: dict) -> str:
    return _ENCODER.encode(record)


def jsonl_bytes(records: Iterable[dict | str]) -> bytes:
    """JSON lines; a record may be a dict or an already encoded line."""
    lines = [r if isinstance(r, str) else json_line(r) for r in records]
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def xlsx_bytes(
    sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence]]], created: datetime, author: str = ""
) -> bytes:
    """A workbook with one sheet per (name, header, rows); strings stay text, numbers stay numbers, None is blank."""
    buf = io.BytesIO()
    # in_memory: zip entries get a fixed timestamp; without it they carry the temp files' mtime.
    book = xlsxwriter.Workbook(
        buf, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False}
    )
    book.set_properties({"created": created, "author": author, "comments": "演示数据 demo data"})
    bold = book.add_format({"bold": True})
    for name, header, rows in sheets:
        sheet = book.add_worksheet(name)
        for c, title in enumerate(header):
            sheet.write_string(0, c, title, bold)
        write_string, write_number = sheet.write_string, sheet.write_number
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, str):
                    write_string(r, c, value)
                else:
                    write_number(r, c, value)
        sheet.freeze_panes(1, 0)
    book.close()
    return buf.getvalue()


def geojson_bytes(features: list[dict]) -> bytes:
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "features": features,
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
