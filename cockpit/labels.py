"""What a person reads instead of a column name or a code: headers and code names in the reader's language.

Both are declared once, in warehouse/schema.yaml's `display` section: the header
of every mart column, which code list names the values of a coded column, and
the names of the code lists that have no table. A code list's names come from,
in order: the dimension's name table (`catalog.LABEL_TABLES`: communities,
grids, departments…), a seed table `seed_<list>` (the sources' own: each source
mapping's title), and the schema's own lists; in English, a name table's name_en,
and place names (communities, grids) in pinyin. A code no list names is shown as it
is: never a blank. Record tables, the wall's lists, briefs and exports use this
module; an export writes each code beside its name (类别, 类别代码).
"""

from __future__ import annotations

import functools

import duckdb

from cockpit.i18n import romanise, t
from cockpit.metrics.catalog import LABEL_TABLES, PLACE_DIMENSIONS, UNKNOWN_PLACE, value_labels
from cockpit.status import table_columns
from warehouse.checks import load_schema

# The code list of true/false columns (是/否).
BOOLEAN = "boolean"
# Code lists named by a table that is no KPI dimension: (table, key column, name column).
NAME_TABLES = {
    "party_org": ("dim_party_org", "org_id", "name"),
    "partner_unit": ("dim_partner_unit", "partner_id", "name"),
    "device": ("dim_device", "device_id", "name"),
}
# Place code lists: their unknown member reads 未定位 / Unlocated; an English reader gets them in pinyin.
PLACE_LISTS = (*PLACE_DIMENSIONS, "micro_grid")
WORKER_LIST, WORKER_TABLE = "grid_worker", "dim_grid_worker"


def worker_label(grid: str, count: int) -> str:
    """A grid worker in English: 'Grid worker, Lanzhu Community Grid 1 (+1 grid)'."""
    more = count - 1
    return f"Grid worker, {romanise(grid)}" + (f" (+{more} grid{'s' if more > 1 else ''})" if more > 0 else "")


@functools.cache
def _display() -> dict:
    return load_schema()["display"]


def header(column: str, lang: str = "zh") -> str:
    """The column's header in `lang` (schema.yaml display.headers); the column name only if undocumented."""
    pair = (_display().get("headers") or {}).get(column)
    if not pair:
        return column
    return str(pair[1] if lang == "en" else pair[0])


def code_header(column: str, lang: str = "zh") -> str:
    """The header of the column an export keeps a coded column's codes in: 类别代码 / Category code."""
    return f"{header(column, lang)} code" if lang == "en" else f"{header(column, lang)}代码"


def code_list(fact: str, column: str) -> str | None:
    """The code list naming the values of `fact.column` (a model-specific entry wins), or None."""
    codes = _display().get("codes") or {}
    return codes[f"{fact}.{column}"] if f"{fact}.{column}" in codes else codes.get(column)


def coded_columns(fact: str, columns: list[tuple[str, str]]) -> dict[str, str]:
    """column → code list for the (name, DuckDB type) columns of `fact` whose values a person reads as names.

    Coded columns come from schema.yaml; true/false columns read 是/否.
    """
    coded = {}
    for name, kind in columns:
        listed = code_list(fact, name)
        if listed is not None:
            coded[name] = listed
        elif kind.upper() == "BOOLEAN":
            coded[name] = BOOLEAN
    return coded


def names(cur: duckdb.DuckDBPyConnection, listed: str, lang: str = "zh") -> dict[str, str]:
    """code → name of one code list in `lang`, read from the open release (see the module docstring)."""
    found: dict[str, str] = {}
    # The schema's own list first, so that a table's names (read after) win where both name a code.
    found.update(value_labels(listed, lang))
    tables = []
    if listed in LABEL_TABLES or listed in NAME_TABLES:
        tables.append(LABEL_TABLES.get(listed) or NAME_TABLES[listed])
    tables.append((f"seed_{listed}", "code", "name_zh"))
    for table, key, name in tables:
        present = table_columns(cur, table)
        if not present:
            continue
        # English where the table has it, else the Chinese name: a code a mapping added may have no English one.
        shown = f'coalesce("name_en", "{name}")' if lang == "en" and "name_en" in present else f'"{name}"'
        rows = cur.execute(f'SELECT CAST("{key}" AS VARCHAR), {shown} AS name FROM {table} WHERE name IS NOT NULL')
        rows = rows.fetchall()
        found.update({code: str(text) for code, text in rows if code is not None})
    if listed == WORKER_LIST and lang == "en" and "grid_name" in table_columns(cur, WORKER_TABLE):
        # a grid worker is named by their grid: in English, the grid's name in pinyin
        rows = cur.execute(f"SELECT worker_id, grid_name, grid_count FROM {WORKER_TABLE} WHERE grid_name IS NOT NULL")
        found.update({worker: worker_label(grid, count) for worker, grid, count in rows.fetchall()})
    if listed in PLACE_LISTS:
        if lang == "en":  # places have Chinese names only: English readers get them in pinyin
            found = {code: romanise(name) for code, name in found.items()}
        found[UNKNOWN_PLACE] = t("unlocated", lang)
    return found
