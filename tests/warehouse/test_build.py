"""build_release: a complete release from a lake, the MARTS.md contract, and clean failures."""

import re
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.fixtures.lake import write_partition
from tests.warehouse.conftest import one, rows
from warehouse import build
from warehouse.build import ReleaseBuildError, build_release, lake_columns, load_contracts, load_models
from warehouse.checks import run_checks

MARTS = Path(build.__file__).resolve().parent / "MARTS.md"


def marts_contract() -> dict[str, list[str]]:
    """{table: columns} for every dimension and fact listed in MARTS.md."""
    text = MARTS.read_text(encoding="utf-8").split("## Dimensions", 1)[1]
    text = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    tables = {}
    for item in re.split(r"\n- ", "\n" + text):
        item = item.strip().split("\n\n", 1)[0]  # a blank line ends the list (a section's prose follows)
        match = re.match(r"`(\w+)`\s*(\([^)]*\))?\s*(:?)(.*)", item, re.S)
        if not match:
            continue
        listing = match.group(4) if match.group(3) else ""
        while re.search(r"\([^()]*\)", listing):
            listing = re.sub(r"\([^()]*\)", "", listing)
        words = [re.findall(r"\w+", chunk) for chunk in listing.split(",")]
        tables[match.group(1)] = [found[-1] for found in words if found]
    return tables


def test_marts_contract_parses_into_every_listed_table():
    contract = marts_contract()
    assert len(contract) == 33  # 11 dimensions, 19 facts, 3 rollups
    assert contract["agg_sensor_day"] == ["slot_date", "community_id", "grid_id", "kind", "slots", "ok_slots"]
    assert contract["fct_meeting"] == ["meeting_id", "area_id", "community_id", "held_on", "topic", "attendees"]
    assert contract["fct_ticket"][:3] == ["ticket_id", "channel", "category"]
    assert contract["raw_sensor_reading"] == []
    assert contract["fct_ticket_term"] == ["ticket_id", "term"]
    assert contract["fct_ticket_group"] == ["ticket_id", "focus_group", "tagged_by"]


def test_release_has_every_marts_table_with_its_listed_columns(release):
    present = {
        table: [name for name, *_ in release.execute(f"DESCRIBE {table}").fetchall()]
        for (table,) in release.execute(
            "SELECT table_name FROM duckdb_tables() UNION SELECT view_name FROM duckdb_views() WHERE NOT internal"
        ).fetchall()
    }
    for table, columns in marts_contract().items():
        assert table in present, f"{table} missing"
        missing = [column for column in columns if column not in present[table]]
        assert not missing, f"{table} lacks {missing}"


def test_inputs_have_the_documented_shape(release):
    assert rows(release, "DESCRIBE dim_calendar")[:5] == [
        {"column_name": name, "column_type": kind, "null": "YES", "key": None, "default": None, "extra": None}
        for name, kind in [
            ("day", "DATE"),
            ("is_workday", "BOOLEAN"),
            ("workday_index", "INTEGER"),
            ("holiday_name", "VARCHAR"),
            ("calendar_source", "VARCHAR"),
        ]
    ]
    for table in ("seed_channel", "seed_category", "seed_department", "seed_domain"):
        assert one(release, f"SELECT count(*) AS n FROM {table}")["n"] > 0


def test_meta_release_records_the_run_and_an_absolute_lake_path(release, fixture_lake):
    lake, _ = fixture_lake
    meta = one(release, "SELECT * FROM meta_release")
    assert meta["run_id"] == "fixture-run"
    assert meta["as_of"] == datetime(2026, 10, 13)
    assert meta["data_through"] == date(2026, 10, 12)
    assert meta["is_demo"] is True
    assert meta["lake_path"] == str(lake.resolve())
    assert Path(meta["lake_path"]).is_absolute()


def test_lake_views_carry_contract_lineage_and_day_columns(release):
    contracts = load_contracts()
    for table, contract in contracts.items():
        described = {row["column_name"]: row["column_type"] for row in rows(release, f"DESCRIBE lake_{table}")}
        assert described == lake_columns(contract), table


def test_raw_sensor_reading_is_a_view_over_the_lake_parquet_by_absolute_path(release, fixture_lake):
    lake, _ = fixture_lake
    assert one(release, "SELECT count(*) AS n FROM duckdb_views() WHERE view_name = 'raw_sensor_reading'")["n"] == 1
    assert one(release, "SELECT count(*) AS n FROM duckdb_tables() WHERE table_name LIKE '%sensor_reading'")["n"] == 0
    lake_view = one(release, "SELECT sql FROM duckdb_views() WHERE view_name = 'lake_sensor_reading'")["sql"]
    assert str(lake.resolve() / "sensor_reading") in lake_view
    # 25 readings plus one re-sent by a second export: the raw view shows the lake as it is
    assert one(release, "SELECT count(*) AS n FROM raw_sensor_reading")["n"] == 26


def test_release_opens_read_only_through_attach_like_the_cockpit_does(release_path):
    con = duckdb.connect(":memory:")
    con.execute(f"ATTACH '{release_path}' AS release (READ_ONLY)")
    con.execute("USE release")
    assert con.execute("SELECT count(*) FROM raw_sensor_reading").fetchall() == [(26,)]
    assert run_checks(con) == []
    con.close()


def test_lake_partitions_after_data_through_are_ignored(release):
    assert one(release, "SELECT max(day) AS last FROM lake_alarm_event")["last"] == date(2026, 10, 12)


def test_models_run_in_dependency_order_inferred_from_the_sql():
    order = [model.name for model in load_models()]
    assert order.index("stg_ticket_intake") < order.index("fct_ticket_event") < order.index("fct_ticket")
    assert order.index("dim_device") < order.index("fct_sensor_hourly") < order.index("fct_device_status")
    models = {model.name: model for model in load_models()}
    assert models["fct_ticket"].depends_on >= {"fct_ticket_event", "int_place", "stg_ticket_intake", "dim_category"}
    assert models["raw_sensor_reading"].materialized == "view"
    assert models["fct_ticket"].grain.startswith("one ticket")


def test_a_dependency_cycle_is_reported(tmp_path):
    (tmp_path / "model_a.sql").write_text("-- grain: a\nSELECT * FROM model_b\n")
    (tmp_path / "model_b.sql").write_text("-- grain: b\nSELECT * FROM model_a\n")
    with pytest.raises(ReleaseBuildError, match="cycle: model_a, model_b"):
        load_models(tmp_path)


def test_a_model_without_a_grain_line_is_refused(tmp_path):
    (tmp_path / "model_a.sql").write_text("SELECT 1 AS x\n")
    with pytest.raises(ReleaseBuildError, match="model_a: the first line must be '-- grain: …'"):
        load_models(tmp_path)


def test_extra_tables_are_copied_in_and_progress_is_reported(fixture_lake, tmp_path):
    lake, facts = fixture_lake
    steps = []
    ops_run = pa.table({"run_id": ["r1"], "status": ["published"]})
    build_release(
        lake,
        tmp_path / "r.duckdb",
        run_id="r1",
        data_through=facts["data_through"],
        is_demo=False,
        extra_tables={"ops_run": ops_run},
        progress=lambda step, done, total: steps.append((step, done, total)),
    )
    con = duckdb.connect(str(tmp_path / "r.duckdb"), read_only=True)
    assert rows(con, "SELECT * FROM ops_run") == [{"run_id": "r1", "status": "published"}]
    assert one(con, "SELECT is_demo FROM meta_release")["is_demo"] is False
    con.close()
    total = steps[0][2]
    assert [done for _, done, _ in steps] == list(range(1, total + 1))
    assert {"lake", "fct_ticket", "checkpoint"} <= {step for step, _, _ in steps}
    assert not (tmp_path / "r.duckdb.wal").exists()


def test_an_extra_table_may_not_replace_a_warehouse_table(fixture_lake, tmp_path):
    lake, facts = fixture_lake
    with pytest.raises(ReleaseBuildError, match="fct_ticket would replace"):
        build_release(
            lake,
            tmp_path / "r.duckdb",
            run_id="r",
            data_through=facts["data_through"],
            is_demo=False,
            extra_tables={"fct_ticket": pa.table({"x": [1]})},
        )


def test_an_existing_target_is_never_overwritten(release_path, fixture_lake):
    lake, facts = fixture_lake
    size = release_path.stat().st_size
    with pytest.raises(ReleaseBuildError, match="already exists"):
        build_release(lake, release_path, run_id="again", data_through=facts["data_through"], is_demo=True)
    assert release_path.stat().st_size == size


def test_a_failing_model_raises_a_one_line_error_naming_it(fixture_lake, tmp_path, monkeypatch):
    lake, facts = fixture_lake
    models = tmp_path / "models"
    shutil.copytree(build.MODELS_DIR, models)
    (models / "fct_broken.sql").write_text("-- grain: nothing\nSELECT no_such_column FROM fct_ticket\n")
    monkeypatch.setattr(build, "MODELS_DIR", models)
    with pytest.raises(ReleaseBuildError) as failure:
        build_release(lake, tmp_path / "r.duckdb", run_id="r", data_through=facts["data_through"], is_demo=True)
    message = str(failure.value)
    assert message.startswith("model fct_broken failed:")
    assert "no_such_column" in message
    assert "\n" not in message


def test_an_empty_lake_builds_empty_typed_marts_that_pass_the_checks(tmp_path):
    build_release(
        tmp_path / "lake", tmp_path / "r.duckdb", run_id="empty", data_through=date(2026, 10, 12), is_demo=True
    )
    con = duckdb.connect(str(tmp_path / "r.duckdb"), read_only=True)
    assert one(con, "SELECT count(*) AS n FROM fct_ticket")["n"] == 0
    assert one(con, "SELECT count(*) AS n FROM raw_sensor_reading")["n"] == 0
    assert one(con, "SELECT table_type FROM information_schema.tables WHERE table_name = 'lake_ticket_intake'") == {
        "table_type": "BASE TABLE"
    }
    assert one(con, "SELECT min(day) AS first, max(day) AS last FROM dim_calendar") == {
        "first": date(2026, 8, 13),
        "last": date(2027, 11, 16),
    }
    assert run_checks(con) == []
    con.close()


def test_files_missing_optional_columns_or_with_narrower_types_still_load(tmp_path):
    lake = tmp_path / "lake"
    write_partition(
        lake,
        "ticket_intake",
        date(2026, 10, 12),
        "hotline_12345",
        [
            {
                "channel": "hotline_12345",
                "source_ticket_id": "H1",
                "received_at": datetime(2026, 10, 12, 9),
                "category": "noise",
                "grid_id": "M1",
                "lon": 120.7,
                "lat": 31.3,
            },
        ],
    )
    # another export of the same table with only the required columns, written by a different writer
    narrow = lake / "ticket_intake" / "day=2026-10-12" / "forum.parquet"
    pq.write_table(
        pa.table(
            {
                "channel": ["forum"],
                "source_ticket_id": ["F1"],
                "received_at": pa.array([datetime(2026, 10, 12, 10)], pa.timestamp("ms")),
                "category": ["noise"],
                "grid_id": ["M1"],
                "_source": ["forum"],
            }
        ),
        narrow,
    )
    build_release(lake, tmp_path / "r.duckdb", run_id="r", data_through=date(2026, 10, 12), is_demo=True)
    con = duckdb.connect(str(tmp_path / "r.duckdb"), read_only=True)
    assert rows(con, "SELECT ticket_id, lon, received_at FROM fct_ticket ORDER BY ticket_id") == [
        {"ticket_id": "forum:F1", "lon": None, "received_at": datetime(2026, 10, 12, 10)},
        {"ticket_id": "hotline_12345:H1", "lon": 120.7, "received_at": datetime(2026, 10, 12, 9)},
    ]
    con.close()


def test_a_build_on_a_base_starts_the_calendar_at_an_earlier_day_the_added_files_bring(tmp_path):
    """Over a base, the first data day is the base's or an earlier one of the added files (a receipt before
    any landing day, a late file of an earlier landing day): the calendar a build from scratch makes."""

    def ticket(ticket_id: str, received: datetime) -> dict:
        return {"channel": "hotline_12345", "source_ticket_id": ticket_id, "received_at": received, "category": "noise"}

    lake = tmp_path / "lake"
    write_partition(
        lake, "ticket_intake", date(2026, 10, 12), "hotline_12345", [ticket("H1", datetime(2026, 10, 12, 9))]
    )
    base = tmp_path / "base.duckdb"
    build_release(lake, base, run_id="base", data_through=date(2026, 10, 12), is_demo=True)
    steps = [
        (date(2026, 10, 13), date(2026, 10, 13), datetime(2026, 9, 1, 8), date(2026, 9, 1)),  # an old receipt
        (date(2026, 10, 2), date(2026, 10, 13), datetime(2026, 10, 2, 8), date(2026, 9, 1)),  # later than that
        (date(2026, 8, 20), date(2026, 10, 13), datetime(2026, 8, 20, 8), date(2026, 8, 20)),  # an earlier late day
    ]
    for step, (day, through, received, first) in enumerate(steps):
        write_partition(lake, "ticket_intake", day, "forum", [ticket(f"F{step}", received)])
        on_base, scratch = tmp_path / f"night-{step}.duckdb", tmp_path / f"scratch-{step}.duckdb"
        result = build_release(lake, on_base, run_id=f"n{step}", data_through=through, is_demo=True, base=base)
        assert result.mode == "incremental", result.describe()
        build_release(lake, scratch, run_id=f"s{step}", data_through=through, is_demo=True)
        calendars = []
        for path in (on_base, scratch):
            with duckdb.connect(str(path), read_only=True) as con:
                calendars.append(
                    one(con, "SELECT min(day) AS first, max(day) AS last, count(*) AS n FROM dim_calendar")
                )
        assert calendars[0] == calendars[1]
        assert calendars[0]["first"] == first - timedelta(days=60)
        base = on_base
