"""`cockpit warehouse doctor`: what is wrong with a home's releases, lake and disk, and what to do about each.

Read-only: it opens releases read-only, reads the ledger and lists files; it never repairs. Each finding is
one line an operator can act on; `problems` decide the exit code, `notes` (rejected days) do not.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from warehouse import compaction
from warehouse.ledger import loaded_days, rejected_days, written_days
from warehouse.manifest import MANIFEST_TABLE, changes, lake_files
from warehouse.paths import Home
from warehouse.releases import (
    HomeBusy,
    ReleaseError,
    current_release,
    exclusive,
    list_releases,
    pointer_problem,
    stray_build_files,
    verify_release,
)

GIB = 2**30
# A build needs room for a new release beside the kept ones, and its WAL and spill on top.
FREE_SPACE_RELEASES = 3
SHOWN = 5  # examples named in one line


@dataclass(frozen=True)
class Finding:
    level: str  # ok | problem | note
    what: str
    todo: str = ""

    def line(self) -> str:
        return f"{self.level}: {self.what}" + (f" → {self.todo}" if self.todo else "")


def examine(home: Home, min_free_bytes: int | None = None) -> list[Finding]:
    """Every check, in the order an operator would fix things: pointer, releases, builds, lake, disk, rejections."""
    return [
        *_pointer(home),
        *_releases(home),
        *_stray_builds(home),
        *_lake_against_ledger(home),
        *_lake_since_release(home),
        *_free_space(home, min_free_bytes),
        *_rejected(home),
    ]


def _pointer(home: Home) -> list[Finding]:
    problem = pointer_problem(home)
    if problem is None:
        return [Finding("ok", f"CURRENT names {current_release(home).name}, which opens")]
    good = [r.run_id for r in list_releases(home) if _opens(r.path)]
    todo = (
        f"`cockpit warehouse rollback {good[-1]}` points it at the newest release that opens, "
        "or `cockpit pipeline run` builds a new one"
        if good
        else "`cockpit pipeline run` builds a new release (no kept release opens)"
    )
    return [Finding("problem", problem, todo)]


def _opens(path: Path) -> bool:
    try:
        verify_release(path)
    except ReleaseError:
        return False
    return True


def _releases(home: Home) -> list[Finding]:
    releases = list_releases(home)
    broken = []
    for release in releases:
        try:
            verify_release(release.path)
        except ReleaseError as exc:
            broken.append(Finding("problem", str(exc), f"delete {release.path} (it cannot be rolled back to)"))
    if not broken:
        return [Finding("ok", f"{len(releases)} kept release(s) open and have their meta_release")]
    return broken


def _stray_builds(home: Home) -> list[Finding]:
    strays = stray_build_files(home)
    if not strays:
        return [Finding("ok", "no leftover build files")]
    try:
        with exclusive(home):
            pass
    except HomeBusy:
        return [Finding("ok", f"a pipeline run is in progress ({len(strays)} build file(s) are its own)")]
    size = sum(p.stat().st_size for p in strays if p.is_file()) / 2**20
    names = ", ".join(p.name for p in strays[:SHOWN])
    return [
        Finding(
            "problem",
            f"{len(strays)} leftover build file(s), {size:.1f} MiB, of failed or killed builds: {names}",
            f"delete them from {home.releases} (no run is in progress), or let the next `cockpit pipeline run` do it",
        )
    ]


def _lake_files(home: Home) -> dict[tuple[str, date], list[Path]]:
    """The lake's files by (source, landing day): <table>/day=YYYY-MM-DD/<source>[.<part>].parquet."""
    found: dict[tuple[str, date], list[Path]] = {}
    for path in home.lake.glob("*/day=*/*.parquet"):
        try:
            day = date.fromisoformat(path.parent.name.removeprefix("day="))
        except ValueError:
            continue
        found.setdefault((path.name.split(".")[0], day), []).append(path)
    for path in compaction.month_files(home.lake):  # a compacted month holds its days' rows
        for day in compaction.month_days(path):
            found.setdefault((compaction.source_of(path), day), []).append(path)
    return found


def _lake_against_ledger(home: Home) -> list[Finding]:
    lake = _lake_files(home)
    loaded = loaded_days(home)
    missing = sorted(key for key, (_, rows) in loaded.items() if rows > 0 and key not in lake)
    unknown = sorted(key for key in lake if key not in written_days(home))
    findings = []
    if missing:
        days = ", ".join(f"{source} {day}" for source, day in missing[:SHOWN])
        first = missing[0][1].isoformat()
        findings.append(
            Finding(
                "problem",
                f"the ledger lists {len(missing)} loaded landing day(s) the lake has no file for: {days}",
                f"`cockpit pipeline run --day {first}` (each day) reloads them from landing, "
                "or `cockpit pipeline run --all` reloads everything",
            )
        )
    if unknown:
        days = ", ".join(f"{source} {day}" for source, day in unknown[:SHOWN])
        findings.append(
            Finding(
                "problem",
                f"the lake holds {len(unknown)} source-day(s) no run of the ledger wrote: {days}",
                f"move those files out of {home.lake} (a rebuild would publish them), "
                "or `cockpit pipeline run --all` to reload from landing",
            )
        )
    if not findings:
        findings.append(Finding("ok", f"the lake and the ledger agree on {len(loaded)} loaded source-day(s)"))
    return findings


def _lake_since_release(home: Home) -> list[Finding]:
    """The lake against the current release's record of it (meta_lake_file), over the days that release read."""
    release = current_release(home)
    if release is None or not _opens(release):
        return []
    con = duckdb.connect(str(release), read_only=True)
    try:
        tables = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        if (MANIFEST_TABLE,) not in tables:
            return [Finding("note", f"{release.name} was built before releases recorded their lake")]
        ((through,),) = con.execute("SELECT data_through FROM meta_release").fetchall()
        recorded = con.sql(f"SELECT * FROM {MANIFEST_TABLE}").to_arrow_table()
    finally:
        con.close()
    changed = changes(recorded, lake_files(home.lake, through))
    if not changed:
        return [Finding("ok", f"the lake is as {release.name} found it ({recorded.num_rows} files through {through})")]
    counts = f"{len(changed.added)} new, {len(changed.rewritten)} rewritten, {len(changed.removed)} gone"
    return [
        Finding(
            "note",
            f"the lake changed since {release.name} was built, in the days it read ({counts}): "
            + ", ".join(changed.files[:SHOWN]),
            "a later load, a rollback or a run that did not publish changed them; "
            "`cockpit pipeline run` builds a release from the lake as it is now",
        )
    ]


def _free_space(home: Home, min_free_bytes: int | None) -> list[Finding]:
    newest = max((r.size_bytes for r in list_releases(home)), default=0)
    needed = min_free_bytes if min_free_bytes is not None else max(GIB, FREE_SPACE_RELEASES * newest)
    free = shutil.disk_usage(home.root).free
    if free < needed:
        return [
            Finding(
                "problem",
                f"{free / GIB:.1f} GiB free under {home.root}, less than the {needed / GIB:.1f} GiB a build needs",
                "free disk space (old briefs, set_aside/ after review), or lower COCKPIT_KEEP_RELEASES",
            )
        ]
    return [Finding("ok", f"{free / GIB:.1f} GiB free (a build needs {needed / GIB:.1f} GiB)")]


def _rejected(home: Home) -> list[Finding]:
    rejected = rejected_days(home)
    if not rejected:
        return []
    days = ", ".join(f"{r.source} {r.day}" for r in rejected[:SHOWN])
    return [
        Finding(
            "note",
            f"{len(rejected)} landing day(s) rejected by a rollback are not loaded: {days}",
            "`cockpit pipeline accept DAY [--source S]` once the delivery is right, or deliver the day again",
        )
    ]
