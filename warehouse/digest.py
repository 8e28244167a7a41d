"""A release's content as an order-independent digest, table by table: two builds of one lake hold the same rows
when their digests are equal. The oracle of any build that does not start from scratch (an incremental build
must equal a full one), and of a build's determinism (the same lake, built twice, must give the same marts).

Digested: every table the models and the Python marts build, the seeds and the calendar. Not digested: the
lake views (they read files, not the release), `meta_release` (its run id and build time are the build's own)
and the pipeline's `ops_*` ledger copies (a run's own record).
"""

from __future__ import annotations

import duckdb

# Tables that describe the build rather than the street.
BUILD_TABLES = ("meta_release",)
BUILD_PREFIXES = ("ops_",)


def table_digests(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    """{table: (rows, sum of the rows' hashes)} for every table of the release but the build's own."""
    tables = [
        name
        for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_type = 'BASE TABLE' ORDER BY table_name"
        ).fetchall()
        if name not in BUILD_TABLES and not name.startswith(BUILD_PREFIXES)
    ]
    # A row's hash is that of its text: one value per row whatever its column types, summed in any order.
    return {
        name: tuple(
            int(v or 0)
            for v in con.execute(f'SELECT count(*), sum(hash(CAST(row AS VARCHAR))) FROM "{name}" AS row').fetchone()
        )
        for name in tables
    }


def differences(left: dict[str, tuple[int, int]], right: dict[str, tuple[int, int]]) -> list[str]:
    """The tables whose digests differ or that only one side has, each as one line."""
    lines = []
    for name in sorted(set(left) | set(right)):
        if name not in right:
            lines.append(f"{name}: only in the first")
        elif name not in left:
            lines.append(f"{name}: only in the second")
        elif left[name] != right[name]:
            (rows_a, _), (rows_b, _) = left[name], right[name]
            lines.append(
                f"{name}: {rows_a} rows vs {rows_b} rows"
                if rows_a != rows_b
                else f"{name}: {rows_a} rows each, other content"
            )
    return lines
