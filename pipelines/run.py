"""The nightly run: landing → validate → mask → lake → build release → check → publish.

What is pending is decided per (source, landing day) from a fingerprint of
the day's files: a day is loaded again when its files changed, when asked
(`--day`), or for everything (`--all`). Rows of all pending days of one kind of
file are validated in one batch and then written back day by day, which keeps
a full-year load to a few dozen SQL statements.
"""

from __future__ import annotations

import hashlib
import json
import re
import resource
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines import freshness
from pipelines.contracts import load_contracts
from pipelines.geometry import BBox
from pipelines.lake import known_keys, partition_path, replace_day_partitions
from pipelines.mapping import FileSpec, Mapping, added_codes, load_mappings
from pipelines.pii import mask_free_text, mask_unreadable_line
from pipelines.readers import FileRejected, read_file
from pipelines.validate import QUARANTINE_SCHEMA, validate_batch
from warehouse import compaction
from warehouse.build import ReleaseBuildError, base_problem, build_release, build_signature, mart_names
from warehouse.checks import load_schema, run_checks
from warehouse.ledger import (
    LEDGER_SCHEMAS,
    LEDGER_TIME_ZONE,
    loaded_fingerprints,
    read_ledger,
    rejected_days,
    write_ledger,
)
from warehouse.paths import Home
from warehouse.releases import (
    BUILDING_SUFFIX,
    RELEASE_SUFFIX,
    BaseCopy,
    HomeBusy,
    build_files,
    current_release,
    discard,
    exclusive,
    open_release,
    pointer_problem,
    prune,
    publish,
)

TZ = LEDGER_TIME_ZONE
DAY_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")
BATCH_ROWS = 2_000_000  # rows validated in one statement: bounds memory at scale 10

EXIT_OK = 0
EXIT_FAILED = 1  # the release could not be built or did not pass its checks
EXIT_NOTHING_LOADED = 3  # there was landing data, but not one usable row in it

Progress = Callable[[str, int, int], None]


class PipelineError(Exception):
    """A run that cannot start or finish; the message is one line."""


@dataclass
class SourceDayStats:
    files: int = 0
    files_rejected: int = 0
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_filtered: int = 0  # left out by an entry's `when:` (not an error, but every row is accounted for)
    rows_flagged: int = 0  # loaded, with an optional value set to NULL


# The stages of a run, in order: the landing files read, checked and written to the lake; closed months compacted
# (a build from scratch); the release built; its checks; publishing it and pruning old ones.
STAGES = ("load", "compact", "build", "checks", "publish")
SLOWEST_STEPS = 10  # the build steps a summary lists


@dataclass
class RunSummary:
    run_id: str
    mode: str
    status: str = "running"
    exit_code: int = EXIT_OK
    message: str = ""
    release: str | None = None
    release_path: str | None = None
    data_through: date | None = None
    duration_s: float = 0.0
    peak_rss_mb: float = 0.0
    stats: dict[tuple[str, date], SourceDayStats] = field(default_factory=lambda: defaultdict(SourceDayStats))
    reasons: dict[tuple[str, date, str, str], int] = field(default_factory=lambda: defaultdict(int))
    warnings: list[str] = field(default_factory=list)
    unmapped: dict[tuple[str, str, str, str], int] = field(default_factory=lambda: defaultdict(int))
    future_dated: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))  # (source, table)
    flagged: dict[tuple[str, str, str, str], int] = field(default_factory=lambda: defaultdict(int))
    cadence: dict[str, str] = field(default_factory=dict)  # source → daily | weekly | monthly
    build: str = ""  # how the release was built: from scratch (and why) or on which release
    # Wall-clock seconds of each stage run (STAGES, in that order), and of each step of the build (BuildResult.seconds).
    stages: dict[str, float] = field(default_factory=dict)
    steps: tuple[tuple[str, float], ...] = ()

    @contextmanager
    def timing(self, stage: str) -> Iterator[None]:
        """Add the block's wall-clock time to `stage`'s (a stage may run in several pieces: each source's load)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.stages[stage] = self.stages.get(stage, 0.0) + time.perf_counter() - started

    def totals(self) -> SourceDayStats:
        total = SourceDayStats()
        for s in self.stats.values():
            for name in vars(total):
                setattr(total, name, getattr(total, name) + getattr(s, name))
        return total

    def to_dict(self) -> dict:
        per_source: dict[str, dict] = {}
        for (source, _day), s in sorted(self.stats.items()):
            entry = per_source.setdefault(
                source,
                {
                    "days": 0,
                    "files": 0,
                    "files_rejected": 0,
                    "rows_read": 0,
                    "rows_loaded": 0,
                    "rows_quarantined": 0,
                    "rows_filtered": 0,
                    "rows_flagged": 0,
                    "quarantined_by_reason": {},
                    "flagged_by_field": {},
                    "unmapped": {},
                },
            )
            entry["days"] += 1
            for name, value in vars(s).items():
                entry[name] += value
        for (source, _day, _table, reason), rows in self.reasons.items():
            by_reason = per_source[source]["quarantined_by_reason"]
            by_reason[reason] = by_reason.get(reason, 0) + rows
        for (source, _table, name, reason), rows in sorted(self.flagged.items()):
            per_source[source]["flagged_by_field"][f"{name}:{reason}"] = rows
        for (source, _table, name, value), rows in sorted(self.unmapped.items()):
            per_source[source]["unmapped"].setdefault(name, {})[value] = rows
        return {
            "run_id": self.run_id,
            "mode": self.mode,
            "status": self.status,
            "exit_code": self.exit_code,
            "message": self.message,
            "release": self.release,
            "release_path": self.release_path,
            "data_through": self.data_through.isoformat() if self.data_through else None,
            "duration_s": round(self.duration_s, 2),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "build": self.build,
            "stages": {stage: round(self.stages[stage], 2) for stage in STAGES if stage in self.stages},
            "slowest_steps": [
                [label, round(seconds, 2)]
                for label, seconds in sorted(self.steps, key=lambda step: -step[1])[:SLOWEST_STEPS]
            ],
            "totals": vars(self.totals()),
            "sources": per_source,
            "warnings": self.warnings,
        }


def time_text(summary: dict, slowest: int = 3) -> str:
    """Where a run's time went, in a line, from its summary (`RunSummary.to_dict`, or its `--json`): each stage's
    seconds, and its `slowest` slowest build steps."""
    text = " · ".join(f"{stage} {seconds:.1f} s" for stage, seconds in summary["stages"].items())
    steps = ", ".join(f"{label} {seconds:.1f} s" for label, seconds in summary.get("slowest_steps", [])[:slowest])
    return text + (f"; slowest steps: {steps}" if steps else "")


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(TZ)
    return f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"


@contextmanager
def run_lock(home: Home) -> Iterator[None]:
    """One pipeline run (or rollback) per home at a time: cron overlap, an operator's manual run."""
    try:
        with exclusive(home):
            yield
    except HomeBusy as exc:
        raise PipelineError(str(exc)) from exc


def landing_days(home: Home, source: str) -> dict[date, list[Path]]:
    folder = home.landing / source
    days = {}
    if folder.is_dir():
        for day_dir in sorted(folder.iterdir()):
            if day_dir.is_dir() and DAY_FOLDER.match(day_dir.name):
                try:
                    day = date.fromisoformat(day_dir.name)
                except ValueError:
                    continue
                days[day] = sorted(p for p in day_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    return days


_HEX_TO_LETTERS = str.maketrans("0123456789", "ghijklmnop")


def fingerprint(files: list[Path], mapping_digest: str = "") -> str:
    """What a loaded day depends on: its files (name, size, time) and the mapping that read them.

    A corrected mapping therefore reloads the days it already loaded, on the next run.
    """
    digest = hashlib.sha1(mapping_digest.encode())
    for path in files:
        stat = path.stat()
        digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    # Letters only, like the PII hashes: a later scan for phone/ID numbers must never trip on it.
    return digest.hexdigest().translate(_HEX_TO_LETTERS)


def _peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Run:
    def __init__(
        self,
        home: Home,
        summary: RunSummary,
        salt: str,
        progress: Progress | None,
        code_rows: dict[str, tuple[dict[str, str], ...]],
        area: BBox | None,
    ):
        self.home = home
        self.summary = summary
        self.salt = salt
        self.progress = progress or (lambda *_: None)
        self.contracts = load_contracts()
        self.con = duckdb.connect()
        self.con.execute("SET enable_progress_bar = false")  # the CLI draws its own; cron logs stay clean
        self.loaded_at = datetime.now(TZ).replace(tzinfo=None)
        self.references: dict[tuple[str, str], pa.Table] = {}
        self.code_rows = code_rows
        self.area = area
        self.referenced = {f.references for c in self.contracts.values() for f in c.fields.values() if f.references}

    def reference_tables(self) -> dict[tuple[str, str], pa.Table]:
        for ref in self.referenced:
            if ref not in self.references:
                self.references[ref] = known_keys(self.home.lake, *ref)
        return self.references

    def load_source(self, mapping: Mapping, days: dict[date, list[Path]]) -> None:
        quarantine: list[pa.Table] = []
        matched: set[Path] = set()
        for spec in mapping.files:
            files = [(day, p) for day, paths in days.items() for p in paths if p.match(spec.pattern)]
            matched.update(p for _, p in files)
            for day, _ in files:
                self.summary.stats[(mapping.source, day)]  # every day with files gets a ledger row
            quarantine += self.load_spec(mapping, spec, files, sorted(days))
            for ref in [r for r in self.references if r[0] == spec.table]:
                del self.references[ref]  # the table just changed: reload its keys when next needed
        for day, paths in days.items():
            stats = self.summary.stats[(mapping.source, day)]
            for path in paths:
                if path not in matched:
                    stats.files += 1
                    stats.files_rejected += 1
                    self.summary.reasons[(mapping.source, day, "", "unmapped_file")] += 1
                    quarantine.append(
                        self.file_rejection(
                            mapping.source,
                            "",
                            day,
                            path,
                            "unmapped_file",
                            "no file pattern of the mapping matches this file",
                        )
                    )
        rows = pa.concat_tables(quarantine) if quarantine else QUARANTINE_SCHEMA.empty_table()
        rows = rows.sort_by([("day", "ascending")]).rename_columns(
            [*rows.column_names[:2], "_day", *rows.column_names[3:]]
        )
        replace_day_partitions(self.home.quarantine, mapping.source, sorted(days), rows)

    def file_rejection(self, source: str, table: str, day: date, path: Path, reason: str, detail: str) -> pa.Table:
        return pa.table(
            {
                "source": [source],
                "table": [table],
                "day": [day],
                "file": [self.relative(path)],
                "line": [None],
                "reason": [reason],
                "detail": [detail],
                "raw": [None],
            },
            schema=QUARANTINE_SCHEMA,
        )

    def relative(self, path: Path) -> str:
        return path.relative_to(self.home.landing).as_posix()

    def load_spec(
        self, mapping: Mapping, spec: FileSpec, files: list[tuple[date, Path]], days: list[date]
    ) -> list[pa.Table]:
        contract = self.contracts[spec.table]
        lake_name = lake_file_stem(mapping, spec)
        quarantine: list[pa.Table] = []
        pending: list[pa.Table] = []
        pending_rows = 0
        written_days: set[date] = set()
        read_per_file: dict[str, int] = {}
        missing_said: set[tuple] = set()

        def flush() -> None:
            nonlocal pending, pending_rows
            if not pending:
                return
            batch = pa.concat_tables(pending, promote_options="default")
            result = validate_batch(
                self.con,
                batch,
                spec,
                contract,
                source=mapping.source,
                salt=self.salt,
                references=self.reference_tables(),
                loaded_at=self.loaded_at,
                code_rows=self.code_rows,
                area=self.area,
            )
            loaded = self.account(mapping.source, spec, batch, result, read_per_file)
            batch_days = sorted(pc.unique(batch.column("_day")).to_pylist())
            replace_day_partitions(self.home.lake / spec.table, lake_name, batch_days, result.clean)
            written_days.update(batch_days)
            for name, n in loaded.items():
                self.summary.stats[(mapping.source, _landing_day(name))].rows_loaded += n
            flags = result.clean.column("_flags")
            if flags.null_count < len(flags):
                for day, n in _count_by(result.clean.filter(pc.is_valid(flags)), ["_day"]):
                    self.summary.stats[(mapping.source, day)].rows_flagged += n
            for name, reason, n in result.flags:
                self.summary.flagged[(mapping.source, spec.table, name, reason)] += n
            _count_future_dated(self.summary, mapping.source, contract, result.clean)
            for name, value, n in result.unmapped:
                self.summary.unmapped[(mapping.source, spec.table, name, mask_free_text(value))] += n
            quarantine.append(result.quarantine)
            for (day, reason), n in _count_by(result.quarantine, ["day", "reason"]):
                self.summary.stats[(mapping.source, day)].rows_quarantined += n
                self.summary.reasons[(mapping.source, day, spec.table, reason)] += n
            pending, pending_rows = [], 0

        for i, (day, path) in enumerate(files):
            self.progress(f"{mapping.source} · {spec.table}", i, len(files))
            # A batch ends only between days: a day's partition is written once, from all its files.
            if pending_rows >= BATCH_ROWS and pending[-1].column("_day")[0].as_py() != day:
                flush()
            stats = self.summary.stats[(mapping.source, day)]
            stats.files += 1
            try:
                result = read_file(path, spec, self.area)
            except FileRejected as exc:
                stats.files_rejected += 1
                quarantine.append(self.file_rejection(mapping.source, spec.table, day, path, exc.code, exc.detail))
                self.summary.reasons[(mapping.source, day, spec.table, exc.code)] += 1
                continue
            stats.rows_read += result.rows_read
            read_per_file[self.relative(path)] = result.table.num_rows
            if result.missing_columns and (spec.table, *result.missing_columns) not in missing_said:
                missing_said.add((spec.table, *result.missing_columns))
                self.summary.warnings.append(
                    f"{mapping.source}: {path.name}: mapped column(s) {', '.join(result.missing_columns)} "
                    f"not in the file, so {spec.table} loads them empty (a typo in the mapping?)"
                )
            if result.bad_lines:
                quarantine.append(
                    pa.table(
                        {
                            "source": [mapping.source] * len(result.bad_lines),
                            "table": [spec.table] * len(result.bad_lines),
                            "day": [day] * len(result.bad_lines),
                            "file": [self.relative(path)] * len(result.bad_lines),
                            "line": [b.line for b in result.bad_lines],
                            "reason": [b.reason for b in result.bad_lines],
                            "detail": [b.detail for b in result.bad_lines],
                            # Unparsed, so no field tells a name from a category: see mask_unreadable_line.
                            "raw": [mask_unreadable_line(b.raw) for b in result.bad_lines],
                        },
                        schema=QUARANTINE_SCHEMA,
                    )
                )
                stats.rows_quarantined += len(result.bad_lines)
                for b in result.bad_lines:
                    self.summary.reasons[(mapping.source, day, spec.table, b.reason)] += 1
            pending.append(result.batch(self.relative(path), day))
            pending_rows += result.table.num_rows
        flush()
        self.progress(f"{mapping.source} · {spec.table}", len(files), len(files))
        # Pending days without a usable file of this kind still replace what an earlier run loaded.
        stale = [d for d in days if d not in written_days]
        if stale:
            replace_day_partitions(
                self.home.lake / spec.table, lake_name, stale, pa.table({"_day": pa.array([], pa.date32())})
            )
        return quarantine

    def account(
        self, source: str, spec: FileSpec, batch: pa.Table, result, read_per_file: dict[str, int]
    ) -> dict[str, int]:
        """Every row read is loaded, quarantined or left out by `when:`; stop the run before writing if not."""
        loaded = dict(_count_by(result.clean, ["_file"]))
        quarantined = dict(_count_by(result.quarantine, ["file"]))
        for name in sorted(pc.unique(batch.column("_file")).to_pylist()):
            read = read_per_file[name]
            got = loaded.get(name, 0) + quarantined.get(name, 0) + result.filtered.get(name, 0)
            if got != read:
                raise PipelineError(
                    f"{source} {spec.table}: {name}: {read} rows read but {loaded.get(name, 0)} loaded, "
                    f"{quarantined.get(name, 0)} quarantined and {result.filtered.get(name, 0)} left out by when:"
                    " — nothing of this entry was written"
                )
        for name, n in result.filtered.items():
            self.summary.stats[(source, _landing_day(name))].rows_filtered += n
        return loaded


def drop_orphan_partitions(home: Home, source: str, landing: set[date]) -> list[str]:
    """Delete a source's lake and quarantine partitions whose landing day is gone; say what went."""
    dropped = []
    held = [*home.lake.glob(f"*/month=*/{source}.parquet"), *home.lake.glob(f"*/month=*/{source}.*.parquet")]
    for month_file in held:  # a compacted month holding a gone day goes back to day files first
        if not compaction.holds_only(month_file, landing):
            compaction.open_month(home.lake, source, compaction.month_start(month_file))
    lake_files = [*home.lake.glob(f"*/day=*/{source}.parquet"), *home.lake.glob(f"*/day=*/{source}.*.parquet")]
    for path in [*lake_files, *home.quarantine.glob(f"day=*/{source}.parquet")]:
        day = date.fromisoformat(path.parent.name.removeprefix("day="))
        if day not in landing:
            path.unlink()
            dropped.append(f"{source}: dropped {path.relative_to(home.root)} (its landing day is gone)")
    return dropped


def lake_file_stem(mapping: Mapping, spec: FileSpec) -> str:
    """The name of an entry's lake files: the source, and the entry's part when several feed one table."""
    return f"{mapping.source}{spec.part}"


def _landing_day(file: str) -> date:
    """The landing day of a file named as the run names them: <source>/<YYYY-MM-DD>/<file>."""
    return date.fromisoformat(file.split("/")[1])


def _unread_landing(home: Home, mappings: list[Mapping]) -> list[str]:
    """Landing folders no run will ever read: a source no mapping names, a day folder not named YYYY-MM-DD."""
    if not home.landing.is_dir():
        return []
    sources = {m.source for m in mappings}
    warnings = []
    for folder in sorted(p for p in home.landing.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if folder.name not in sources:
            warnings.append(f"landing/{folder.name}/ is not read: no mapping has source {folder.name!r}")
            continue
        for day_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if not DAY_FOLDER.match(day_dir.name):
                warnings.append(f"landing/{folder.name}/{day_dir.name}/ is not read: a day folder is named YYYY-MM-DD")
    return warnings


def _count_future_dated(summary: RunSummary, source: str, contract, clean: pa.Table) -> None:
    """Rows dated after the landing day that delivered them: a clock error or a future-dated export, loaded but said."""
    when = next((f.name for f in contract.fields.values() if f.type == "timestamp" and f.required), None)
    if when is None or clean.num_rows == 0:
        return
    later = pc.greater(pc.cast(clean.column(when), pa.date32()), clean.column("_day"))
    n = pc.sum(later).as_py() or 0
    if n:
        summary.future_dated[(source, contract.table)] += n


def _check_lake_rows(home: Home, mapping: Mapping, summary: RunSummary, days: list[date]) -> None:
    """The lake holds, per landing day, exactly the rows the run counted as loaded for this source.

    Read from the Parquet footers (no data is scanned). Two entries writing one file, a batch
    overwriting an earlier one: any such loss stops the run here, before a release is built.
    """
    for day in days:
        kept = sum(
            pq.ParquetFile(path).metadata.num_rows
            for spec in mapping.files
            if (path := partition_path(home.lake / spec.table, day, lake_file_stem(mapping, spec))).exists()
        )
        counted = summary.stats[(mapping.source, day)].rows_loaded
        if kept != counted:
            raise PipelineError(
                f"{mapping.source} {day.isoformat()}: {counted} rows loaded but the lake keeps {kept}; "
                "the run stops before publishing"
            )


def _count_by(table: pa.Table, keys: list[str]) -> list[tuple]:
    """(key, rows) per distinct key, counted in Arrow: millions of rows never become Python objects."""
    if table.num_rows == 0:
        return []
    counts = table.group_by(keys).aggregate([([], "count_all")]).to_pylist()
    return [(r[keys[0]] if len(keys) == 1 else tuple(r[k] for k in keys), r["count_all"]) for r in counts]


def run_pipeline(
    home: Home,
    *,
    salt: str,
    keep_releases: int = 7,
    extra_mappings: tuple[Path, ...] = (),
    day: date | None = None,
    rebuild_all: bool = False,
    stale_after_days: int = freshness.stale_after_days(),
    build_memory: str | None = None,
    progress: Progress | None = None,
    area: BBox | None = None,
    full: bool = False,
    full_build_every_days: int = 7,
    engine: str = "duckdb",
    spark_master: str | None = None,
) -> RunSummary:
    """Load what is pending, build and check a new release, publish it. Never raises on bad data.

    The release is built on the current one (only the models whose inputs changed are built again) unless
    `full`, `rebuild_all`, a current release that is broken or lacks marts, or one whose line of builds has
    not started from scratch for `full_build_every_days` (0: every build starts from scratch). `engine="spark"`
    builds the SQL models with Spark (`spark_master`: a cluster's URL, default local), always from scratch."""
    started = time.perf_counter()
    started_at = datetime.now(TZ).replace(tzinfo=None)
    summary = RunSummary(new_run_id(), "all" if rebuild_all else ("day" if day else "incremental"))
    with run_lock(home), ExitStack() as cleanup:
        mappings = load_mappings(tuple(extra_mappings))
        done = {} if (rebuild_all or day) else loaded_fingerprints(home)
        # A rollback's rejection holds a day back while its files stay the ones rejected, whatever the mode.
        held_back = {(r.source, r.day): r.fingerprint for r in rejected_days(home)}
        skipped: list[tuple[str, date]] = []
        code_rows = added_codes(mappings)
        run = _Run(home, summary, salt, progress, code_rows, area)
        fingerprints: dict[tuple[str, date], str] = {}
        all_days: dict[str, dict[date, list[Path]]] = {}
        summary.cadence = {m.source: m.cadence for m in mappings}
        to_load: list[tuple[Mapping, dict[date, list[Path]]]] = []
        for mapping in mappings:
            days = landing_days(home, mapping.source)
            all_days[mapping.source] = days
            pending = {}
            for d, files in days.items():
                if day is None or d == day:
                    day_print = fingerprint(files, mapping.digest)
                    if held_back.get((mapping.source, d), "") == day_print:
                        skipped.append((mapping.source, d))
                    elif done.get((mapping.source, d)) != day_print:
                        pending[d] = files
                        fingerprints[(mapping.source, d)] = day_print
            to_load.append((mapping, pending))
        current, broken = current_release(home), pointer_problem(home)

        def from_scratch(missing: list[str]) -> str:
            """Why the release is built from scratch, in a few words; "" when it is built on the current one."""
            if full:
                return "asked for (--full)"
            if engine == "spark":
                return "Spark builds from scratch"
            if rebuild_all:
                return "every landing day reloaded (--all)"
            if current is None:
                return "no release yet"
            if missing or broken:
                return "the current release is broken or lacks marts"
            if not full_build_every_days:
                return "COCKPIT_FULL_BUILD_EVERY_DAYS is 0"
            problem = base_problem(
                current, lake=home.lake, signature=build_signature(code_rows), full_every_days=full_build_every_days
            )
            return problem or ""

        # A night with files to load builds on the current release, if it can: its copy starts now, beside the load.
        why_full = from_scratch([]) if fingerprints else None
        base_copy = None
        if why_full == "":
            base_copy = BaseCopy(current, _building_path(home, summary.run_id))
            cleanup.callback(base_copy.discard)  # unless the build took it
        for mapping, pending in to_load:
            days = all_days[mapping.source]
            if pending:
                with summary.timing("load"):
                    run.load_source(mapping, pending)
                    _check_lake_rows(home, mapping, summary, sorted(pending))
            if rebuild_all:
                summary.warnings.extend(drop_orphan_partitions(home, mapping.source, set(days)))
        summary.warnings.extend(_unread_landing(home, mappings))
        summary.warnings.extend(
            f"{source} {d.isoformat()}: rejected by a rollback, not loaded (`cockpit pipeline accept {d.isoformat()} "
            f"--source {source}`, or deliver the day again)"
            for source, d in skipped
        )
        if day is not None and not fingerprints:
            if skipped:
                raise PipelineError(
                    f"{day.isoformat()} was rejected by a rollback: `cockpit pipeline accept {day.isoformat()}` first"
                )
            raise PipelineError(f"no landing files for {day.isoformat()} under {home.landing}")

        totals = summary.totals()
        if not any(all_days.values()):
            raise PipelineError(f"no landing data under {home.landing}: run `cockpit demo` or deliver exports there")
        # Nothing new and a sound release: it stays, unless an older version built it without some mart.
        missing = missing_marts(home) if not fingerprints and broken is None else []
        if fingerprints and totals.rows_loaded == 0:
            summary.status, summary.exit_code = "no_usable_data", EXIT_NOTHING_LOADED
            summary.message = (
                f"nothing usable loaded: {totals.rows_quarantined} rows and {totals.files_rejected} files quarantined"
            )
        elif not fingerprints and broken is None and not missing and not full and engine == "duckdb":
            summary.status, summary.message = "up_to_date", "no new landing files; the current release stays"
            _describe_current(home, summary)
        else:
            if broken is not None and any(home.releases.glob(f"*{RELEASE_SUFFIX}")):
                summary.warnings.append(f"{broken}: building a new release from the lake")
            elif missing:
                summary.warnings.append(
                    f"the current release lacks {'; '.join(missing)} (built by an older version): "
                    "building a new release from the lake"
                )
            loaded_days = [d for source, days in all_days.items() for d in days if (source, d) not in skipped]
            summary.data_through = max(loaded_days) if loaded_days else None
            _freshness_warnings(summary, mappings, all_days, stale_after_days)
            summary.warnings.extend(
                f"{source}: {n} {table} row(s) dated after the landing day that delivered them (loaded all the same)"
                for (source, table), n in sorted(summary.future_dated.items())
            )
            if why_full is None:
                why_full = from_scratch(missing)
            base = None if why_full else current
            if base is None and summary.data_through is not None:
                # A build from scratch reads every file anyway: the closed months become month files first
                # (warehouse/compaction.py), so that this build and the nights after it read fewer files.
                with summary.timing("compact"):
                    compacted = compaction.compact(home.lake, summary.data_through)
                if compacted.months:
                    why_full += f"; {compacted.describe()}"
                summary.warnings.extend(f"lake: not compacted, {each}" for each in compacted.skipped)
            _build_and_publish(
                home,
                summary,
                run,
                started_at,
                fingerprints,
                keep_releases,
                build_memory,
                base=base,
                full_build_every_days=full_build_every_days,
                why_full=why_full,
                engine=engine,
                spark_master=spark_master,
                base_copy=base_copy,
            )
        _require_valid_current(home, summary)
        summary.duration_s = time.perf_counter() - started
        summary.peak_rss_mb = _peak_rss_mb()
        write_ledger(home, summary.run_id, _ledger_rows(summary, started_at, fingerprints))
    return summary


def _require_valid_current(home: Home, summary: RunSummary) -> None:
    """A run reports success only when CURRENT names a release that opens; otherwise it fails, saying why."""
    if summary.exit_code != EXIT_OK:
        return
    problem = pointer_problem(home)
    if problem is not None:
        summary.status, summary.exit_code = "failed", EXIT_FAILED
        summary.message = f"no valid current release after the run: {problem}"


def missing_marts(home: Home) -> list[str]:
    """The marts this version builds that the current release lacks, or holds without a column this version
    writes: it was built by an older version, and a run with no new landing files rebuilds it rather than leave
    pages without them (or a KPI over a new column failing) until new data comes."""
    path = current_release(home)
    if path is None:
        return []
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            rows = con.execute("SELECT table_name, column_name FROM duckdb_columns()").fetchall()
    except duckdb.Error:
        return []  # a release that does not open is the pointer check's to report
    present: dict[str, set[str]] = {}
    for table, column in rows:
        present.setdefault(table, set()).add(column)
    models = load_schema()["models"]
    outdated = []
    for mart in sorted(mart_names()):
        lacking = set((models.get(mart) or {}).get("columns") or {}) - present.get(mart, set())
        if mart not in present:
            outdated.append(mart)
        elif lacking:
            outdated.append(f"{mart} ({', '.join(sorted(lacking))})")
    return outdated


def _describe_current(home: Home, summary: RunSummary) -> None:
    """Name the release that stays current, and how far its data goes."""
    release = current_release(home)
    if release is None:
        return
    con = open_release(release)
    try:
        summary.data_through = con.execute("SELECT data_through FROM meta_release").fetchone()[0]
    finally:
        con.close()
    summary.release, summary.release_path = release.name, str(release)


def _freshness_warnings(
    summary: RunSummary, mappings: list[Mapping], all_days: dict[str, dict[date, list[Path]]], stale_after_days: int
) -> None:
    if summary.data_through is None:
        return
    for mapping in [m for m in mappings if m.files]:  # a mapping of code lists only delivers no files
        days = all_days.get(mapping.source, {})
        last = max(days) if days else None
        if last is None:
            summary.warnings.append(f"{mapping.source}: no landing data at all")
        elif freshness.is_stale(last, summary.data_through, mapping.cadence, stale_after_days):
            behind = (summary.data_through - last).days
            summary.warnings.append(
                f"{mapping.source}: last landing day {last.isoformat()} is stale ({behind} days behind, "
                f"{mapping.cadence} delivery)"
            )


def _building_path(home: Home, run_id: str) -> Path:
    return home.releases / f"{run_id}{BUILDING_SUFFIX}"


def _build_and_publish(
    home: Home,
    summary: RunSummary,
    run: _Run,
    started_at: datetime,
    fingerprints: dict,
    keep_releases: int,
    build_memory: str | None,
    base: Path | None = None,
    full_build_every_days: int | None = None,
    why_full: str = "",
    engine: str = "duckdb",
    spark_master: str | None = None,
    base_copy: BaseCopy | None = None,
) -> None:
    building = _building_path(home, summary.run_id)
    final = home.releases / f"{summary.run_id}{RELEASE_SUFFIX}"
    summary.status, summary.release = "published", final.name  # as the release will record it
    history = _ledger_rows(summary, started_at, fingerprints)
    extra = {name: pa.concat_tables([read_ledger(home, name), rows]) for name, rows in history.items()}
    published = False
    try:
        try:
            with summary.timing("build"):
                built = build_release(
                    home.lake,
                    building,
                    run_id=summary.run_id,
                    data_through=summary.data_through,
                    is_demo=home.demo_manifest.exists(),
                    extra_tables=extra,
                    progress=run.progress,
                    memory_limit=build_memory,
                    code_rows=run.code_rows,
                    cache_dir=home.cache,
                    base=base,
                    full_every_days=full_build_every_days,
                    engine=engine,
                    spark_master=spark_master,
                    base_copy=base_copy,
                )
            summary.steps = built.seconds
            summary.build = built.describe() if base is not None else f"built from scratch: {why_full}"
            with summary.timing("checks"):
                con = open_release(building)
                try:
                    failures = run_checks(con, changed=built.changed, scopes=built.scopes)
                finally:
                    con.close()
        except ReleaseBuildError as exc:
            failures = [str(exc)]
        if failures:
            summary.status, summary.exit_code, summary.release = "failed", EXIT_FAILED, None
            summary.message = f"release not published: {failures[0]}" + (
                f" (and {len(failures) - 1} more check failures)" if len(failures) > 1 else ""
            )
            summary.warnings.extend(failures[1:20])
            return
        with summary.timing("publish"):
            building.rename(final)
            publish(home, final)
        published = True
        summary.release_path = str(final)
        summary.message = f"published {final.name}"
    finally:
        # Whatever stopped the build (a failed check, a full disk), it leaves no file behind, and old
        # releases and leftovers of killed builds are pruned all the same: a full disk must not stay full.
        with summary.timing("publish"):
            if not published:
                discard(build_files(building))
            prune(home, keep_releases)


def _ledger_rows(summary: RunSummary, started_at: datetime, fingerprints: dict) -> dict[str, pa.Table]:
    totals = summary.totals()
    now = datetime.now(TZ).replace(tzinfo=None)
    run = pa.Table.from_pylist(
        [
            {
                "run_id": summary.run_id,
                "started_at": started_at,
                "finished_at": now,
                "status": summary.status,
                "mode": summary.mode,
                "days": len({d for _, d in summary.stats}),
                "sources": len({s for s, _ in summary.stats}),
                "rows_read": totals.rows_read,
                "rows_loaded": totals.rows_loaded,
                "rows_quarantined": totals.rows_quarantined,
                "files_rejected": totals.files_rejected,
                "release": summary.release,
                "data_through": summary.data_through,
                "duration_s": summary.duration_s,
                "peak_rss_mb": summary.peak_rss_mb,
                "message": summary.message,
            }
        ],
        schema=LEDGER_SCHEMAS["ops_run"],
    )
    loads = pa.Table.from_pylist(
        [
            {
                "run_id": summary.run_id,
                "source": source,
                "day": day,
                "fingerprint": fingerprints.get((source, day)),
                "cadence": summary.cadence.get(source, "daily"),
                "loaded_at": now,
                **vars(stats),
            }
            for (source, day), stats in sorted(summary.stats.items())
        ],
        schema=LEDGER_SCHEMAS["ops_source_load"],
    )
    reasons = pa.Table.from_pylist(
        [
            {"run_id": summary.run_id, "source": source, "day": day, "table": table, "reason": reason, "rows": rows}
            for (source, day, table, reason), rows in sorted(summary.reasons.items())
        ],
        schema=LEDGER_SCHEMAS["ops_quarantine"],
    )
    unmapped = pa.Table.from_pylist(
        [
            {"run_id": summary.run_id, "source": source, "table": table, "field": name, "value": value, "rows": rows}
            for (source, table, name, value), rows in sorted(summary.unmapped.items())
        ],
        schema=LEDGER_SCHEMAS["ops_unmapped"],
    )
    flagged = pa.Table.from_pylist(
        [
            {"run_id": summary.run_id, "source": source, "table": table, "field": name, "reason": reason, "rows": rows}
            for (source, table, name, reason), rows in sorted(summary.flagged.items())
        ],
        schema=LEDGER_SCHEMAS["ops_flagged"],
    )
    return {
        "ops_run": run,
        "ops_source_load": loads,
        "ops_quarantine": reasons,
        "ops_unmapped": unmapped,
        "ops_flagged": flagged,
    }


def summary_json(summary: RunSummary) -> str:
    return json.dumps(summary.to_dict(), ensure_ascii=False, indent=2)


def yesterday() -> date:
    return datetime.now(TZ).date() - timedelta(days=1)
