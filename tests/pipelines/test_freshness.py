"""One staleness rule: the pipeline's warnings and the 数据管道 page's table call the same sources stale.

Each case is a source whose last landing day is one day inside or one day outside what its
cadence (or the configured allowance, when longer) lets it lag behind the release. The
expected verdicts are worked out by hand from the cadences' meaning: a daily source may miss
no day, a weekly one six, a monthly one thirty.
"""

from __future__ import annotations

import inspect
from dataclasses import replace
from datetime import date, datetime, timedelta

import duckdb
import pytest

from cockpit.status import source_freshness
from pipelines.freshness import freshness_status, stale_after_days
from pipelines.mapping import load_mappings
from pipelines.run import RunSummary, _freshness_warnings

DATA_THROUGH = date(2026, 11, 30)

# source → (cadence, days its last landing day lies behind the release, stale with the default 26 h, with 72 h)
CASES = {
    "daily_inside": ("daily", 0, False, False),
    "daily_outside": ("daily", 1, True, False),
    "daily_two_behind": ("daily", 2, True, False),
    "daily_three_behind": ("daily", 3, True, True),
    "weekly_inside": ("weekly", 6, False, False),
    "weekly_outside": ("weekly", 7, True, True),
    "monthly_inside": ("monthly", 30, False, False),
    "monthly_outside": ("monthly", 31, True, True),
}


def _last_day(source: str) -> date:
    return DATA_THROUGH - timedelta(days=CASES[source][1])


def pipeline_stale(stale_after_hours: int) -> set[str]:
    """The sources the pipeline run warns about, given each case's last landing day."""
    template = next(mapping for mapping in load_mappings() if mapping.files)
    mappings = [replace(template, source=source, cadence=cadence) for source, (cadence, *_) in CASES.items()]
    all_days = {source: {_last_day(source) - timedelta(days=3): [], _last_day(source): []} for source in CASES}
    summary = RunSummary("run-test", "incremental", data_through=DATA_THROUGH)
    _freshness_warnings(summary, mappings, all_days, stale_after_days(stale_after_hours))
    return {source for source in CASES for warning in summary.warnings if warning.startswith(f"{source}: ")}


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    """A release's copy of the run ledger with one published load per case (and an older one before it)."""
    con = duckdb.connect(str(tmp_path_factory.mktemp("freshness") / "release.duckdb"))
    con.execute("CREATE TABLE meta_release (data_through DATE)")
    con.execute("INSERT INTO meta_release VALUES (?)", [DATA_THROUGH])
    con.execute("CREATE TABLE ops_run (run_id VARCHAR, status VARCHAR)")
    con.execute("INSERT INTO ops_run VALUES ('run-test', 'published')")
    con.execute(
        "CREATE TABLE ops_source_load (run_id VARCHAR, source VARCHAR, day DATE, rows_loaded BIGINT, "
        "cadence VARCHAR, loaded_at TIMESTAMP)"
    )
    for source, (cadence, *_) in CASES.items():
        for day in (_last_day(source) - timedelta(days=3), _last_day(source)):
            con.execute(
                "INSERT INTO ops_source_load VALUES ('run-test', ?, ?, 5, ?, ?)",
                [source, day, cadence, datetime(2026, 12, 1, 2, 30)],
            )
    yield con
    con.close()


def page_stale(ledger, stale_after_hours: int) -> set[str]:
    """The sources the 数据管道 page's table marks stale."""
    frame = source_freshness(ledger, stale_after_hours)
    return set(frame.loc[frame["status"] == "stale", "source"])


@pytest.mark.parametrize(("stale_after_hours", "column"), [(26, 2), (72, 3)])
def test_the_pipeline_and_the_status_page_call_the_same_sources_stale(ledger, stale_after_hours, column):
    expected = {source for source, case in CASES.items() if case[column]}
    assert pipeline_stale(stale_after_hours) == expected
    assert page_stale(ledger, stale_after_hours) == expected


def test_the_page_counts_days_behind_the_release(ledger):
    frame = source_freshness(ledger).set_index("source")
    for source, (_cadence, behind, *_rest) in CASES.items():
        assert frame.loc[source, "days_behind"] == behind


@pytest.mark.parametrize(
    ("hours", "status"),
    [(0, "green"), (26, "green"), (26.01, "amber"), (52, "amber"), (52.01, "red"), (500, "red")],
)
def test_the_freshness_scale_is_green_then_amber_past_the_allowance_then_red_past_twice_it(hours, status):
    assert freshness_status(hours, 26) == status


def test_a_pipeline_run_by_default_allows_what_the_cockpit_settings_allow(tmp_path):
    # The run's own default once allowed two days where the status page, from the same settings, allowed one.
    from cockpit.settings import Settings
    from pipelines.run import run_pipeline

    default = inspect.signature(run_pipeline).parameters["stale_after_days"].default
    assert default == stale_after_days(Settings(home=tmp_path).stale_after_hours) == 1
