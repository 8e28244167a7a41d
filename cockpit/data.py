"""The app's one way into the warehouse: the current release, read-only, a cursor per request.

One connection per process is kept to the release CURRENT points at. Every
request asks for a cursor (DuckDB connections must not be shared across
threads); before handing it out the pointer is checked (one small file read),
so a newly published release, or a rollback, is picked up on the next request
without a restart. Release files are versioned, so the new file is never one
DuckDB already has open (see warehouse/releases.py).

When CURRENT is missing, holds garbage, or names a release file that is gone or
does not open, the app keeps serving the newest kept release that opens and
says so (`ReleaseInfo.problem`, the red banner, the log) rather than failing
every page; the operator's `cockpit warehouse doctor` says what to do.
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pandas as pd
import pyarrow as pa

from cockpit import labels
from cockpit.access.accounts import Scope, ScopeKind
from cockpit.access.principal import current_principal
from cockpit.answers import KeptAnswers
from cockpit.metrics import Period, compute, data_from, get_metric
from cockpit.metrics.catalog import BRIDGE_DIMENSIONS, TIME_DIMENSIONS, UNKNOWN_PLACE, RowScope
from cockpit.metrics.records import RecordQuery, fact_columns, record_query
from cockpit.metrics.topics import TERMS_TABLE, TICKETS_KPI, Topic, hot_topics, window_counts
from cockpit.metrics.warning import (
    CategoryForecast,
    Forecast,
    Proactive,
    Surge,
    category_forecasts,
    forecast,
    next_month,
    proactive,
    surges,
)
from cockpit.status import sources_complete_through
from warehouse.groups import NO_GROUP
from warehouse.paths import Home
from warehouse.releases import META_COLUMNS, RELEASE_SUFFIX, Resolved, open_release, resolve_release

# Named lookups the screens need besides KPIs (filter options, boundaries, the grid tree).
# They read dimensions only, never a fact table, and are cached per release like KPIs.
# Filter options list the unknown place (未定位) too, last: an analyst may want the records with no place.
DATASETS: Mapping[str, str] = {
    "communities": (
        f"SELECT community_id, name FROM dim_community ORDER BY community_id = '{UNKNOWN_PLACE}', community_id"
    ),
    "grids": (
        "SELECT unit_id, name, level, parent_id, community_id FROM dim_grid "
        f"WHERE level IN ('comprehensive', 'dedicated', 'micro') OR unit_id = '{UNKNOWN_PLACE}' "
        f"ORDER BY unit_id = '{UNKNOWN_PLACE}', unit_id"
    ),
    "community_shapes": "SELECT community_id AS id, name, geometry FROM dim_community WHERE geometry IS NOT NULL",
    "grid_shapes": (
        "SELECT unit_id AS id, name, level, parent_id, community_id, geometry FROM dim_grid "
        "WHERE geometry IS NOT NULL AND level IN ('comprehensive', 'dedicated', 'micro')"
    ),
    # Every community, with or without grids under it, then the grids of known communities.
    "grid_tree": (
        "SELECT community_id AS unit_id, name, 'community' AS level, NULL AS parent_id, community_id, "
        f"households, residents FROM dim_community WHERE community_id <> '{UNKNOWN_PLACE}' UNION ALL "
        "SELECT g.unit_id, g.name, g.level, g.parent_id, g.community_id, g.households, g.residents "
        "FROM dim_grid AS g SEMI JOIN dim_community AS c USING (community_id) "
        "WHERE g.level IN ('comprehensive', 'dedicated', 'micro')"
    ),
    "departments": "SELECT department_id AS value, name_zh, name_en FROM dim_department ORDER BY 1",
    "channels": "SELECT channel AS value, name_zh, name_en FROM dim_channel ORDER BY 1",
    "categories": "SELECT category AS value, name_zh, name_en FROM dim_category ORDER BY 1",
    "focus_groups": (
        f"SELECT code AS value, name_zh, name_en FROM seed_focus_group WHERE code <> '{NO_GROUP}' ORDER BY 1"
    ),
    # the taxonomy's groups are names already (a flat category is its own group)
    "category_groups_1": "SELECT DISTINCT group_1 AS value, group_1 AS name_zh FROM dim_category ORDER BY 1",
    "category_groups_2": "SELECT DISTINCT group_2 AS value, group_2 AS name_zh FROM dim_category ORDER BY 1",
    "domains": "SELECT domain AS value, name_zh, name_en FROM dim_domain ORDER BY 1",
    "service_items": (
        "SELECT service_item_id AS value, name AS name_zh, name AS name_en FROM dim_service_item ORDER BY 1"
    ),
    "device_kinds": "SELECT DISTINCT kind AS value FROM dim_device ORDER BY 1",
}
# The datasets that list places: a scoped reader gets only theirs (the others are code lists).
PLACE_DATASETS = frozenset({"communities", "grids", "community_shapes", "grid_shapes", "grid_tree"})
CACHE_ENTRIES = 4096
# What the cache holds about the release itself, whichever view is read: its sources' last days, each fact's
# first day, its tables and columns, code lists, datasets and scopes, and what is made of its places alone
# (`place_memo`: a map level's shapes, the grid tree). A worker learns them with the first view it serves of a
# release (a server's warming serves several); `forget_views` keeps them.
RELEASE_FACTS = frozenset(
    {"sources_complete_through", "first_day", "has_table", "code-list", "dataset", "row_scope", "columns", "place-memo"}
)
# How long a thread waits for another that is computing the same cached answer before computing it itself
# (a safety net: cached answers depend on others without cycles, so the wait ends when the first is done).
FLIGHT_WAIT_SECONDS = 60.0
# Rows per Arrow batch when an export streams records: small enough to keep a worker's memory flat.
STREAM_BATCH_ROWS = 2_000

log = logging.getLogger(__name__)


_T = TypeVar("_T")


# How many of a request's independent questions run at once (a board's parts, a strip's KPIs, the focus groups',
# the key points'): DuckDB releases the GIL, so on two cores a few more threads than cores keep both busy.
SIDE_BY_SIDE_THREADS = 4


def side_by_side(calls: Sequence[Callable[[], _T]], threads: int = SIDE_BY_SIDE_THREADS) -> list[_T]:
    """Each call's result, in order, the calls run side by side on `threads` threads, each in a copy of the
    caller's context (the reader, their scope, the warehouse). DuckDB releases the GIL while it queries, and
    each question takes its own cursor: independent questions cost about the slowest of them, not their sum."""
    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(contextvars.copy_context().run, call) for call in calls]
        return [future.result() for future in futures]


class NoRelease(RuntimeError):
    """There is no published release yet; the message says what to run."""


@dataclass(frozen=True)
class ReleaseInfo:
    run_id: str
    path: Path
    built_at: datetime
    as_of: datetime
    data_through: date
    is_demo: bool
    # Why this release is served instead of the one CURRENT names (None: it is CURRENT's).
    problem: str | None = None


@dataclass
class RecordStream:
    """Rows of one record query on one release, read a batch at a time (see Warehouse.record_stream)."""

    info: ReleaseInfo
    total: int  # rows behind the KPI in all; the stream holds at most the query's limit of them
    reader: pa.RecordBatchReader
    cursor: duckdb.DuckDBPyConnection

    @property
    def schema(self) -> pa.Schema:
        return self.reader.schema

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        try:
            yield from self.reader
        finally:
            self.close()

    def close(self) -> None:
        self.cursor.close()


_MISSING = object()  # not in the cache (None is an answer)


class _Flight:
    """One cached answer being computed: its thread, then its value (_MISSING if it failed), then done."""

    def __init__(self) -> None:
        self.owner = threading.get_ident()
        self.value: Any = _MISSING
        self.done = threading.Event()


class _Switched(Exception):
    """A kept answer was built while the release switched under it: returned to its caller, never kept."""

    def __init__(self, value: Any):
        super().__init__("the release switched while an answer was built")
        self.value = value


class Warehouse:
    # The whole street: no rows are held back (a ScopedWarehouse has its reader's).
    row_scope: RowScope | None = None
    # Callbacks' answers kept on disk for every worker (create_app(keep_answers=True)); None: in memory only.
    answers: KeptAnswers | None = None

    def __init__(self, home: Home, stale_after_hours: int = 26):
        self.home = home
        self.stale_after_hours = stale_after_hours
        self._lock = threading.Lock()
        # (release info, connection), replaced as one value so a reader never pairs one release's
        # metadata with another release's tables.
        self._current: tuple[ReleaseInfo, duckdb.DuckDBPyConnection] | None = None
        self._retired: duckdb.DuckDBPyConnection | None = None
        # Results keyed by (release, question): a release never changes, so an entry is only
        # ever stale by belonging to an older release, and those are dropped on the switch.
        self._cache: OrderedDict[Hashable, Any] = OrderedDict()
        self._cache_lock = threading.Lock()
        # Answers being computed, by key: a thread that misses a key another is computing waits for it
        # instead of computing it again (a board's parts, or a reader and the warming, often ask alike).
        self._flights: dict[Hashable, _Flight] = {}
        # What CURRENT and its target looked like when the release to read was last chosen, and the choice:
        # checking a release opens it, so it is done only when this look changes.
        self._looked: tuple | None = None
        self._resolved: Resolved | None = None

    def _look(self) -> tuple:
        """CURRENT's bytes and its target's size and time: cheap, and changed by any switch, deletion or damage."""
        try:
            pointer = self.home.current_pointer.read_bytes()
        except OSError:
            return (None,)
        name = pointer.decode("utf-8", "replace").strip()
        try:
            stat = (self.home.releases / name).stat() if name and "/" not in name else None
        except OSError:
            stat = None
        return (pointer, stat and (stat.st_ino, stat.st_size, stat.st_mtime_ns))

    def _choose(self) -> Resolved:
        look = self._look()
        if look == self._looked and self._resolved is not None:
            return self._resolved
        with self._lock:
            if look == self._looked and self._resolved is not None:
                return self._resolved
            resolved = resolve_release(self.home)
            if resolved.problem and (self._resolved is None or self._resolved != resolved):
                if resolved.path is None:
                    log.error("no usable warehouse release: %s", resolved.problem)
                else:
                    log.error("%s; serving the newest release that opens, %s", resolved.problem, resolved.path.name)
            self._looked, self._resolved = look, resolved
            return resolved

    def _refresh(self) -> tuple[ReleaseInfo, duckdb.DuckDBPyConnection]:
        resolved = self._choose()
        path, problem = resolved.path, resolved.problem
        if path is None:
            if any(self.home.releases.glob(f"*{RELEASE_SUFFIX}")):
                raise NoRelease(f"no usable warehouse release ({problem}): run `cockpit warehouse doctor`")
            raise NoRelease(f"no warehouse release under {self.home.warehouse}: run `cockpit pipeline run`")
        current = self._current
        if current is not None and current[0].path == path and current[0].problem == problem:
            return current
        with self._lock:
            if self._current is not None and self._current[0].path == path and self._current[0].problem == problem:
                return self._current
            if self._current is not None and self._current[0].path == path:
                con = self._current[1]  # the same file, now served for another reason: keep its connection
                info = dataclasses.replace(self._current[0], problem=problem)
                self._current = (info, con)
                return self._current
            con = open_release(path)
            row = con.execute(f"SELECT {', '.join(META_COLUMNS)} FROM meta_release").fetchone()
            # Requests still reading the previous release keep their cursors; that connection is
            # closed one switch later rather than under their feet.
            if self._retired is not None:
                self._retired.close()
            self._retired = self._current[1] if self._current else None
            self._current = (ReleaseInfo(row[0], path, row[1], row[2], row[3], bool(row[4]), problem), con)
            with self._cache_lock:
                self._cache.clear()
            return self._current

    def open(self) -> tuple[ReleaseInfo, duckdb.DuckDBPyConnection]:
        """The current release's metadata and a cursor on it, for one request, from one look at CURRENT."""
        info, con = self._refresh()
        cursor = con.cursor()
        cursor.execute("USE release")  # a cursor starts in the in-memory catalog, not its parent's
        return info, cursor

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor on the current release for one request (close it, or use it as a context manager)."""
        return self.open()[1]

    @property
    def info(self) -> ReleaseInfo:
        return self._refresh()[0]

    def age_hours(self, now: datetime | None = None) -> float:
        """Hours since the end of the current release's data (its as_of)."""
        return ((now or datetime.now()) - self.info.as_of).total_seconds() / 3600

    # ---- cached questions ------------------------------------------------------------

    def _cached(self, key: tuple, answer: Callable[[duckdb.DuckDBPyConnection], Any]) -> Any:
        """`answer(cursor)` for `key` on the current release, computed once per release.

        A hit costs one look at CURRENT; a cursor is opened only to compute a miss, and by one thread: the others
        that miss the same key meanwhile wait for its answer (a thread asking its own key again computes it).
        """
        full_key = (self.info.run_id, *key)  # outside the lock: a release switch clears the cache under it
        with self._cache_lock:  # a hit; else one thread computes the key and the others asking meanwhile wait
            if full_key in self._cache:
                self._cache.move_to_end(full_key)
                return self._cache[full_key]
            flight = self._flights.get(full_key)
            if flight is None or flight.owner == threading.get_ident():
                flight = self._flights[full_key] = _Flight()
                computing = True
            else:
                computing = False
        if not computing:
            if not flight.done.wait(FLIGHT_WAIT_SECONDS):
                log.warning("%r took over %.0f s in another thread: computed here too", key[:2], FLIGHT_WAIT_SECONDS)
            elif flight.value is not _MISSING:
                return flight.value
            # else it failed there: ask again here, and fail (or not) on its own
        try:
            info, cur = self.open()
            with cur:
                value = answer(cur)
            self._remember((info.run_id, *key), value)
            flight.value = value
            return value
        finally:
            if computing:
                with self._cache_lock:
                    if self._flights.get(full_key) is flight:
                        del self._flights[full_key]
                flight.done.set()

    def forget_views(self) -> None:
        """Drop every cached answer of a view (KPIs, topics, forecasts, boards), keeping RELEASE_FACTS: this
        worker's memory as the first reader of a view no one has opened finds it (benchmarks.callbacks)."""
        with self._cache_lock:
            for key in [key for key in self._cache if key[1] not in RELEASE_FACTS]:
                del self._cache[key]

    def memo(self, key: tuple, build: Callable[[], Any]) -> Any:
        """Something derived from this release's datasets (map features…), built once per release.

        The caller must not change what it gets back.
        """
        return self._cached(("memo", *key), lambda _cursor: build())

    def place_memo(self, key: tuple, build: Callable[[], Any]) -> Any:
        """`memo` of something made of the release's places alone, whatever the view (a map level's shapes, the
        grid tree): one of the RELEASE_FACTS that `forget_views` keeps."""
        return self._cached(("place-memo", *key), lambda _cursor: build())

    def kept(self, key: tuple, build: Callable[[], Any]) -> Any:
        """A callback's answer, built once per release: `memo`, and with `answers` set, also kept on disk for
        every worker and over restarts, built once among them (cockpit/answers.py), and then returned as
        the plain JSON values its callback sends. The caller must not change what it gets back.
        """
        if self.answers is None:
            return self.memo(key, build)
        run_id = self.info.run_id
        full_key = (run_id, "kept", *key)
        if (hit := self._recall(full_key)) is not _MISSING:
            return hit
        try:
            value = self.answers.answer(run_id, key, self._on_release(run_id, build))
        except _Switched as switched:
            return switched.value  # this request's answer, kept nowhere
        self._remember(full_key, value)
        return value

    def keep_ahead(self, key: tuple, build: Callable[[], Any], *, wait: bool = True) -> bool:
        """`kept(key, build)` ahead of its first reader (a server's warming); whether it is ready now. With
        `answers` set, it is only made sure to be kept on disk (read from there when asked for, not held in this
        worker's memory till then), and without `wait` an answer another worker is computing is left to it:
        False, at once."""
        if self.answers is None:
            self.memo(key, build)
            return True
        run_id = self.info.run_id
        if wait:
            if not self.answers.has(run_id, key):
                self.kept(key, build)
            return True
        try:
            return self.answers.keep(run_id, key, self._on_release(run_id, build))
        except _Switched:
            return True  # built for a release no longer current: nothing to keep, nothing to wait for

    def _on_release(self, run_id: str, build: Callable[[], Any]) -> Callable[[], Any]:
        """`build`, refusing to be kept when the release switched from `run_id` while it ran (_Switched)."""

        def build_on_this_release() -> Any:
            value = build()
            if self.info.run_id != run_id:  # the release switched while it was built: not this release's answer
                raise _Switched(value)
            return value

        return build_on_this_release

    def _recall(self, full_key: tuple) -> Any:
        """What the cache holds for `full_key` (now its most recently used), or _MISSING."""
        with self._cache_lock:
            if full_key not in self._cache:
                return _MISSING
            self._cache.move_to_end(full_key)
            return self._cache[full_key]

    def _remember(self, full_key: tuple, value: Any) -> None:
        with self._cache_lock:
            self._cache[full_key] = value
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)

    def sources_complete_through(self) -> Mapping[str, date]:
        """Per source, the last landing day this release loaded from it (from its copy of the run ledger)."""
        return self._cached(("sources_complete_through",), sources_complete_through)

    def complete_through(self, metric_id: str) -> date | None:
        """The last day a KPI's sources are complete through on this release (None: not known)."""
        return get_metric(metric_id).complete_through(self.sources_complete_through())

    def first_day(self, metric_id: str) -> date | None:
        """The first day a KPI's fact holds data on this release (`data_from`): its comparisons start there."""
        metric = get_metric(metric_id)
        return self._cached(("first_day", metric.fact, metric.period_column), lambda cur: data_from(cur, metric))

    def metric(
        self,
        metric_id: str,
        period: Period,
        *,
        filters: Mapping[str, str] | None = None,
        group_by: str | None = None,
        compare: bool = True,
        scope: RowScope | None = None,
        lang: str = "zh",
    ) -> pd.DataFrame:
        """`compute()` on the current release, cached by release, KPI, period, filters, grouping and scope.

        The period is cut at the day the KPI's sources are complete through, and its comparisons start on
        the first day with data (see `compute()`). Groups are
        labelled in `lang` (compute() names them in Chinese; English names come from the code lists).
        """
        get_metric(metric_id)  # unknown ids fail before they reach the cache
        frozen = tuple(sorted(self._applicable(filters).items()))
        key = ("metric", metric_id, str(period), frozen, group_by, compare, scope)
        frame = self._cached(
            key,
            lambda cur: compute(
                cur,
                metric_id,
                period,
                filters=dict(frozen),
                group_by=group_by,
                compare=compare,
                scope=scope,
                complete_through=self.complete_through(metric_id),
                first_day=self.first_day(metric_id),
            ),
        )
        frame = frame.copy()
        if lang != "zh" and group_by and group_by in frame and group_by not in TIME_DIMENSIONS:
            names = self.code_list_names(group_by, lang)
            frame["label"] = [
                names.get(str(key), label) for key, label in zip(frame[group_by], frame["label"], strict=True)
            ]
        return frame

    def topics(
        self,
        period: Period,
        *,
        filters: Mapping[str, str] | None = None,
        rising: bool = False,
        limit: int = 10,
        bucket: str | None = None,
        scope: RowScope | None = None,
    ) -> list[Topic] | None:
        """`hot_topics()` on the current release, cached like `metric`; the period is cut where the tickets
        KPI it counts over is (its sources' last complete day), so the topics count the tile's tickets.

        None on a release built before ticket text was cut (it has no fct_ticket_term): the next pipeline
        run rebuilds it (pipelines/run.py `missing_marts`).
        """
        if not self.has_table(TERMS_TABLE):
            return None
        period = self._complete_window(TICKETS_KPI, period)
        frozen = tuple(sorted((filters or {}).items()))

        def answer(cur: duckdb.DuckDBPyConnection) -> list[Topic]:
            # the frequent and the rising topics (and the cloud) of one view rank the same counts: one pass
            counts = self._cached(
                ("topic-counts", str(period), frozen, scope),
                lambda cur: window_counts(cur, period, scope=scope, filters=dict(frozen)),
            )
            return hot_topics(
                cur, period, scope=scope, filters=dict(frozen), rising=rising, limit=limit, bucket=bucket, counts=counts
            )

        return self._cached(("topics", str(period), frozen, rising, limit, bucket, scope), answer)

    def surges(
        self, period: Period, *, filters: Mapping[str, str] | None = None, scope: RowScope | None = None
    ) -> list[Surge]:
        """The ticket surges of the period (cockpit/metrics/warning.py), cut where `topics` cuts, cached."""
        period = self._complete_window(TICKETS_KPI, period)
        frozen = tuple(sorted(self._applicable(filters).items()))
        first = first_data_day(self)
        return self._cached(
            ("surges", str(period), frozen, scope),
            lambda cur: surges(cur, period, scope=scope, filters=dict(frozen), first_day=first),
        )

    def _ticket_days(self) -> tuple[date, date | None]:
        """The last day the tickets are complete through, and the first day with a ticket (None: none)."""
        return self.complete_through(TICKETS_KPI) or self.info.data_through, first_data_day(self)

    def forecast(self, *, filters: Mapping[str, str] | None = None, scope: RowScope | None = None) -> Forecast | None:
        """The 7-day ticket forecast after the last complete day (cockpit/metrics/warning.py), cached; None with
        no tickets loaded."""
        through, first = self._ticket_days()
        if first is None or first > through:
            return None
        frozen = tuple(sorted(self._applicable(filters).items()))
        return self._cached(
            ("forecast", through, frozen, scope),
            lambda cur: forecast(cur, through, scope=scope, filters=dict(frozen), first_day=first),
        )

    def category_forecasts(
        self, *, filters: Mapping[str, str] | None = None, scope: RowScope | None = None, limit: int = 10
    ) -> list[CategoryForecast]:
        """The 7-day forecast of each of the categories with most tickets (cockpit/metrics/warning.py), cached."""
        through, first = self._ticket_days()
        if first is None:
            return []
        frozen = tuple(sorted(self._applicable(filters).items()))
        return self._cached(
            ("category-forecasts", through, frozen, scope, limit),
            lambda cur: category_forecasts(
                cur, through, scope=scope, filters=dict(frozen), first_day=first, limit=limit
            ),
        )

    def proactive(
        self, *, filters: Mapping[str, str] | None = None, scope: RowScope | None = None, limit: int = 10
    ) -> tuple[date, list[Proactive] | None]:
        """The 未诉先办 list for the month after the last complete day (cockpit/metrics/warning.py), cached:
        (that month's first day, the list or None without a past year's same month)."""
        through, first = self._ticket_days()
        month = next_month(through)
        if first is None:
            return month, None
        frozen = tuple(sorted(self._applicable(filters).items()))
        return month, self._cached(
            ("proactive", through, frozen, scope, limit),
            lambda cur: proactive(cur, month, first, through, scope=scope, filters=dict(frozen), limit=limit),
        )

    def has_table(self, name: str) -> bool:
        """Whether the current release has this table (a release built by an older version may lack one)."""
        return self._cached(
            ("has_table", name),
            lambda cur: (
                cur.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchone()[0] > 0
            ),
        )

    def code_list_names(self, listed: str, lang: str) -> dict[str, str]:
        """code → name of one code list (cockpit.labels) in `lang`, once per release."""
        return self._cached(("code-list", listed, lang), lambda cur: labels.names(cur, listed, lang))

    def dataset(self, name: str, scope: RowScope | None = None) -> pd.DataFrame:
        """One of DATASETS from the current release, cached per release, with only the rows of `scope`."""
        if name not in DATASETS:
            raise ValueError(f"unknown dataset {name!r}")
        frame = self._cached(("dataset", name), lambda cur: cur.execute(DATASETS[name]).df())
        if scope is not None and name in PLACE_DATASETS:
            # kept per scope too: filter options and map shapes are asked for on every page view
            frame = self._cached(("dataset", name, scope), lambda _cur: _in_scope(name, frame, scope))
        return frame.copy()

    def row_scope_of(self, scope: Scope) -> RowScope | None:
        """The rows an access scope sees on the current release (None: the whole street).

        A grid scope sees the communities its grids lie in, and within them only its grids' rows.
        """
        if scope.kind is ScopeKind.STREET:
            return None
        if scope.kind is ScopeKind.COMMUNITY:
            return RowScope(tuple(scope.unit_ids))

        def communities(cur: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
            sql = "SELECT DISTINCT community_id FROM dim_grid WHERE unit_id IN (SELECT unnest(?)) ORDER BY 1"
            return tuple(row[0] for row in cur.execute(sql, [list(scope.unit_ids)]).fetchall())

        return RowScope(self._cached(("row_scope", str(scope)), communities), tuple(scope.unit_ids))

    def scoped(self, scope: Scope) -> Warehouse | ScopedWarehouse:
        """The warehouse as a reader with this access scope sees it (itself for the whole street)."""
        return self if scope.kind is ScopeKind.STREET else ScopedWarehouse(self, scope)

    def record_columns(self, metric_id: str) -> list[tuple[str, str]]:
        fact = get_metric(metric_id).fact
        return self._cached(("columns", fact), lambda cur: fact_columns(cur, fact))

    def _coded_columns(self, metric_id: str) -> dict[str, str]:
        """column → code list of the coded columns of a KPI's record table (cockpit.labels)."""
        return labels.coded_columns(get_metric(metric_id).fact, self.record_columns(metric_id))

    def code_names(self, metric_id: str, lang: str = "zh") -> dict[str, dict[str, str]]:
        """column → (code → name in `lang`) for the coded columns of a KPI's record table, once per release."""
        return {column: self.code_list_names(listed, lang) for column, listed in self._coded_columns(metric_id).items()}

    def records(
        self,
        metric_id: str,
        period: Period,
        *,
        filters: Mapping[str, str] | None = None,
        sort: Sequence[Mapping[str, str]] = (),
        column_filters: Mapping[str, Mapping[str, Any]] | None = None,
        offset: int = 0,
        limit: int = 100,
        with_count: bool = True,
        scope: RowScope | None = None,
        lang: str | None = None,
    ) -> tuple[pd.DataFrame, int | None]:
        """One page of the rows behind a KPI and (optionally) how many there are in all; not cached.

        With `lang`, coded columns hold their names in that language (the columns keep their names).
        """
        query = self._record_query(
            metric_id,
            period,
            filters=filters,
            sort=sort,
            column_filters=column_filters,
            offset=offset,
            limit=limit,
            scope=scope,
            names=self.code_names(metric_id, lang) if lang else None,
            for_reading=True,
        )
        with self.cursor() as cur:
            rows = query.named_rows(cur.execute(query.rows_sql, query.params).df())
            total = cur.execute(query.count_sql, query.count_params).fetchone()[0] if with_count else None
        return rows, total

    def record_stream(
        self,
        metric_id: str,
        period: Period,
        *,
        filters: Mapping[str, str] | None = None,
        limit: int,
        batch_rows: int = STREAM_BATCH_ROWS,
        scope: RowScope | None = None,
        lang: str | None = None,
    ) -> RecordStream:
        """The rows behind a KPI (at most `limit`) as Arrow batches read lazily, with their full count.

        For exports: a batch at a time travels from DuckDB to the writer, so a
        large export never sits in memory whole. The count, the column types and
        the rows come from one cursor on one release; close the stream (or
        exhaust it) to free that cursor.

        With `lang`, the columns are titled in that language and coded columns hold names, each followed by a
        column of its codes (类别, 类别代码): what a person reads, and what a machine joins on.
        """
        options = {}
        if lang:
            columns = [name for name, _ in self.record_columns(metric_id)]
            options = {
                "names": self.code_names(metric_id, lang),
                "headers": {column: labels.header(column, lang) for column in columns},
                # A yes/no column needs no code column beside its 是/否.
                "code_headers": {
                    column: labels.code_header(column, lang)
                    for column, listed in self._coded_columns(metric_id).items()
                    if listed != labels.BOOLEAN
                },
            }
        query = self._record_query(metric_id, period, filters=filters, limit=limit, scope=scope, **options)
        info, cur = self.open()
        try:
            total = cur.execute(query.count_sql, query.count_params).fetchall()[0][
                0
            ]  # fetchall: the result is finished
            # sql(), not execute(): a DB-API result would copy every row before the first batch.
            reader = cur.sql(query.rows_sql, params=query.params).to_arrow_reader(batch_rows)
        except BaseException:
            cur.close()
            raise
        return RecordStream(info, total, reader, cur)

    def _record_query(self, metric_id: str, period: Period, **options) -> RecordQuery:
        columns = [name for name, _ in self.record_columns(metric_id)]
        # The rows behind a number add up to it: the period is cut where the KPI's value is (see metric()).
        window = self._complete_window(metric_id, period)
        if "filters" in options:
            options["filters"] = self._applicable(options["filters"])
        return record_query(get_metric(metric_id), window, columns, **options)

    def _complete_window(self, metric_id: str, period: Period) -> Period:
        """`period` cut at the day the KPI's sources are complete through (as compute() cuts its value)."""
        through = self.complete_through(metric_id)
        return (period.cut(through) or period) if through is not None else period

    def _applicable(self, filters: Mapping[str, str] | None) -> dict[str, str]:
        """The filters this release can apply: a term needs fct_ticket_term (a focus group fct_ticket_group),
        which a release built by an older version lacks until the next pipeline run (a link with ?term= then
        shows the unnarrowed numbers)."""
        filters = dict(filters or {})
        for key, (table, _, _) in BRIDGE_DIMENSIONS.items():
            if key in filters and not self.has_table(table):
                del filters[key]
        return filters


def _in_scope(name: str, frame: pd.DataFrame, scope: RowScope) -> pd.DataFrame:
    """A place dataset's rows that lie in the scope: its communities (never the unknown place), and its grids."""
    community = frame["community_id"] if "community_id" in frame else frame["id"]
    keep = community.isin(scope.communities)
    if scope.grids is not None and name != "communities" and name != "community_shapes":
        unit = frame["unit_id"] if "unit_id" in frame else frame["id"]
        # The grid tree keeps the community rows above the grids too, so the tree still has its roots.
        is_community = frame["level"].eq("community") if "level" in frame else False
        keep &= unit.isin(scope.grids) | is_community
    return frame[keep]


def scope_names(warehouse: Warehouse | ScopedWarehouse) -> list[str]:
    """The names of the units a reader's scope holds (their communities, or their grids); [] for the whole street."""
    scope = warehouse.row_scope
    if scope is None:
        return []
    if scope.grids is not None:
        return warehouse.dataset("grids")["name"].tolist()
    return warehouse.dataset("communities")["name"].tolist()


class ScopedWarehouse:
    """The warehouse as one reader sees it: every KPI, record, dataset and memo limited to their access scope.

    What the app hands a request whose principal is not street-wide (see `current_warehouse`), so a page
    cannot forget the scope: the cache key carries it, and raw cursors are for scope-aware code only
    (`row_scope` gives that code its conditions).
    """

    def __init__(self, base: Warehouse, scope: Scope):
        self.base, self.scope = base, scope
        self.home, self.stale_after_hours = base.home, base.stale_after_hours

    @property
    def info(self) -> ReleaseInfo:
        return self.base.info

    @property
    def row_scope(self) -> RowScope | None:
        return self.base.row_scope_of(self.scope)

    @property
    def answers(self) -> KeptAnswers | None:
        return self.base.answers

    def open(self) -> tuple[ReleaseInfo, duckdb.DuckDBPyConnection]:
        return self.base.open()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self.base.cursor()

    def age_hours(self, now: datetime | None = None) -> float:
        return self.base.age_hours(now)

    def memo(self, key: tuple, build: Callable[[], Any]) -> Any:
        return self.base.memo(("scope", str(self.scope), *key), build)

    def place_memo(self, key: tuple, build: Callable[[], Any]) -> Any:
        return self.base.place_memo(("scope", str(self.scope), *key), build)

    def kept(self, key: tuple, build: Callable[[], Any]) -> Any:
        return self.base.kept(("scope", str(self.scope), *key), build)

    def keep_ahead(self, key: tuple, build: Callable[[], Any], *, wait: bool = True) -> bool:
        return self.base.keep_ahead(("scope", str(self.scope), *key), build, wait=wait)

    def complete_through(self, metric_id: str) -> date | None:
        return self.base.complete_through(metric_id)

    def first_day(self, metric_id: str) -> date | None:
        return self.base.first_day(metric_id)

    def metric(self, metric_id: str, period: Period, **options) -> pd.DataFrame:
        return self.base.metric(metric_id, period, **options, scope=self.row_scope)

    def topics(self, period: Period, **options) -> list[Topic] | None:
        return self.base.topics(period, **options, scope=self.row_scope)

    def surges(self, period: Period, **options) -> list[Surge]:
        return self.base.surges(period, **options, scope=self.row_scope)

    def forecast(self, **options) -> Forecast | None:
        return self.base.forecast(**options, scope=self.row_scope)

    def category_forecasts(self, **options) -> list[CategoryForecast]:
        return self.base.category_forecasts(**options, scope=self.row_scope)

    def proactive(self, **options) -> tuple[date, list[Proactive] | None]:
        return self.base.proactive(**options, scope=self.row_scope)

    def has_table(self, name: str) -> bool:
        return self.base.has_table(name)

    def dataset(self, name: str) -> pd.DataFrame:
        return self.base.dataset(name, self.row_scope)

    def record_columns(self, metric_id: str) -> list[tuple[str, str]]:
        return self.base.record_columns(metric_id)

    def code_names(self, metric_id: str, lang: str = "zh") -> dict[str, dict[str, str]]:
        return self.base.code_names(metric_id, lang)

    def code_list_names(self, listed: str, lang: str) -> dict[str, str]:
        return self.base.code_list_names(listed, lang)

    def records(self, metric_id: str, period: Period, **options) -> tuple[pd.DataFrame, int | None]:
        return self.base.records(metric_id, period, **options, scope=self.row_scope)

    def record_stream(self, metric_id: str, period: Period, **options) -> RecordStream:
        return self.base.record_stream(metric_id, period, **options, scope=self.row_scope)

    def scoped(self, scope: Scope) -> ScopedWarehouse:
        raise TypeError("a scoped warehouse cannot be re-scoped: scope the base warehouse")


_current: Warehouse | None = None


def use_warehouse(warehouse: Warehouse) -> None:
    """Set by create_app(): the warehouse every page of this process reads."""
    global _current
    _current = warehouse


def first_data_day(warehouse: Warehouse | ScopedWarehouse) -> date | None:
    """The first day a ticket was received in the release: a fact of the release, not of any community's rows
    (briefs check periods by it); None when there is none."""
    return warehouse.first_day(TICKETS_KPI)


def current_warehouse() -> Warehouse | ScopedWarehouse:
    """The warehouse as the current request's principal sees it (the whole street for the command line)."""
    if _current is None:
        raise RuntimeError("create_app() has not set up the warehouse for this process")
    return _current.scoped(current_principal().scope)
