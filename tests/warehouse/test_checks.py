"""run_checks: the schema.yaml tests pass on a good release and name what is wrong on a broken one."""

import shutil

import duckdb
import pytest
import yaml

from warehouse.build import load_models
from warehouse.checks import SCHEMA_PATH, load_schema, run_checks


@pytest.fixture
def broken(release_path, tmp_path):
    """A writable copy of the fixture release, to break on purpose."""
    path = tmp_path / "broken.duckdb"
    shutil.copy(release_path, path)
    con = duckdb.connect(str(path))
    yield con
    con.close()


def test_the_fixture_release_passes_every_check(release):
    assert run_checks(release) == []


def test_every_model_and_every_column_is_documented_with_a_grain():
    schema = load_schema()
    assert set(schema["models"]) == {model.name for model in load_models()} | {"fct_ticket_term", "fct_ticket_group"}
    for name, spec in {**schema["inputs"], **schema["models"]}.items():
        assert spec["grain"].strip(), name
        assert all(isinstance(text, str) and text.strip() for text in spec["columns"].values()), name


def test_a_duplicated_key_fails_unique(broken):
    broken.execute("INSERT INTO fct_ticket SELECT * FROM fct_ticket WHERE ticket_id = 'forum:F001'")
    assert run_checks(broken) == ["fct_ticket.ticket_id: unique failed, 1 values appear more than once"]


def test_a_duplicated_compound_key_fails_unique_key(broken):
    broken.execute("INSERT INTO fct_sensor_hourly SELECT * FROM fct_sensor_hourly LIMIT 2")
    assert run_checks(broken) == [
        "fct_sensor_hourly: unique_key (device_id, metric, hour) failed, 2 keys appear more than once"
    ]


def test_nulls_unknown_codes_and_dangling_references_fail(broken):
    broken.execute("UPDATE fct_ticket SET status = 'lost' WHERE ticket_id = 'forum:F001'")
    broken.execute("UPDATE fct_ticket SET department_id = 'nobody' WHERE ticket_id = 'hotline_12345:H001'")
    broken.execute("UPDATE fct_alarm SET is_live = NULL WHERE alarm_id = 'AL1'")
    # an orphan event may point nowhere; a non-orphan may not
    broken.execute("UPDATE fct_ticket_event SET ticket_id = 'forum:gone' WHERE event_id IN ('E901', 'E101')")
    assert sorted(run_checks(broken)) == [
        "fct_alarm.is_live: not_null failed, 1 NULL values",
        "fct_ticket.department_id: relationships failed, 1 values not found in dim_department.department_id",
        "fct_ticket.status: accepted_values failed, 1 rows outside [open, resolved, closed]",
        "fct_ticket_event.ticket_id: relationships (where NOT is_orphan) failed, "
        "1 values not found in fct_ticket.ticket_id",
    ]


def test_a_missing_or_undocumented_column_fails(broken):
    broken.execute("ALTER TABLE fct_pledge DROP COLUMN stage")
    broken.execute("ALTER TABLE fct_project ADD COLUMN owner_phone VARCHAR")
    assert run_checks(broken) == [
        "fct_pledge.stage: documented but missing from the release",
        "fct_project.owner_phone: in the release but not documented in schema.yaml",
    ]


def test_a_missing_table_and_a_second_meta_row_fail(broken):
    broken.execute("DROP TABLE fct_meeting")
    broken.execute("INSERT INTO meta_release SELECT * FROM meta_release")
    assert run_checks(broken) == [
        "meta_release: single_row failed, it has 2 rows",
        "fct_meeting: missing from the release",
    ]


def test_an_undocumented_model_fails(release, tmp_path):
    schema = yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))
    del schema["models"]["fct_meeting"]
    edited = tmp_path / "schema.yaml"
    edited.write_text(yaml.safe_dump(schema, allow_unicode=True), encoding="utf-8")
    assert run_checks(release, edited) == ["model fct_meeting has no entry in schema.yaml"]


def test_a_build_on_a_base_checks_what_it_changed_and_the_relationships_into_it(broken):
    """Checks after a build on a checked release (warehouse/build.py `BuildResult.changed` and `scopes`): a kept
    table is not checked again, a patched one in its patched rows, and a reference into a changed table always."""
    broken.execute("INSERT INTO fct_sensor_hourly SELECT * FROM fct_sensor_hourly ORDER BY hour DESC LIMIT 1")
    broken.execute("UPDATE fct_alarm SET is_live = NULL WHERE alarm_id = 'AL1'")
    latest = broken.execute("SELECT max(hour) FROM fct_sensor_hourly").fetchall()[0][0]
    duplicate = "fct_sensor_hourly: unique_key (device_id, metric, hour) failed, 1 keys appear more than once"
    alarm = "fct_alarm.is_live: not_null failed, 1 NULL values"
    assert sorted(run_checks(broken)) == [alarm, duplicate]
    # fct_alarm kept as it was in a checked base: not checked again
    assert run_checks(broken, changed={"fct_sensor_hourly"}) == [duplicate]
    patched = {"fct_sensor_hourly": (("hour",), f"hour >= TIMESTAMP '{latest}'")}
    assert run_checks(broken, changed={"fct_sensor_hourly"}, scopes=patched) == [duplicate]
    before = {"fct_sensor_hourly": (("hour",), f"hour < TIMESTAMP '{latest}'")}  # rows the patch did not write
    assert run_checks(broken, changed={"fct_sensor_hourly"}, scopes=before) == []
    # a kept table's reference into a changed table is checked; uniqueness beyond the patched key is whole
    broken.execute("UPDATE fct_ticket_event SET ticket_id = 'forum:gone' WHERE event_id = 'E101'")
    broken.execute("INSERT INTO fct_ticket SELECT * FROM fct_ticket WHERE ticket_id = 'forum:F001'")
    by_channel = {"fct_ticket": (("channel",), "channel = 'hotline_12345'")}
    assert sorted(run_checks(broken, changed={"fct_ticket"}, scopes=by_channel)) == [
        "fct_ticket.ticket_id: unique failed, 1 values appear more than once",
        "fct_ticket_event.ticket_id: relationships (where NOT is_orphan) failed, "
        "1 values not found in fct_ticket.ticket_id",
    ]
