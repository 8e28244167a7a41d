"""The demo generator: deterministic bytes, real-world formats, calibration, geometry, dirt, and its mappings."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import shapely
import yaml
from python_calamine import CalamineWorkbook
from shapely.geometry import shape

from pipelines.demo import generate
from pipelines.demo.clock import SHANGHAI, resolve_range
from pipelines.demo.manifest import DIRT_KINDS, MANIFEST_NAME
from pipelines.demo.pools import build_pools
from pipelines.demo.profile import plan_district
from pipelines.demo.street import build_district

REPO = Path(__file__).resolve().parents[3]
SOURCES_DIR = REPO / "pipelines" / "sources"
CONTRACTS = yaml.safe_load((REPO / "pipelines" / "contracts.yaml").read_text(encoding="utf-8"))
SEEDS = REPO / "warehouse" / "seeds"
SOURCES = [
    "hotline_12345",
    "city_mgmt",
    "forum",
    "grid_reports",
    "iot",
    "ticket_events",
    "approvals",
    "enforcement",
    "party",
    "grid",
]
END = date(2026, 10, 3)  # the 7-day run crosses 1 October: a second monthly snapshot
SMALL = {"days": 7, "end": END, "scale": 0.05, "seed": 11}


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> tuple[Path, dict]:
    landing = tmp_path_factory.mktemp("demo") / "landing"
    return landing, generate(landing, **SMALL)


@pytest.fixture(scope="module")
def street_run(tmp_path_factory) -> tuple[Path, dict]:
    """One full street (scale 1), one day."""
    landing = tmp_path_factory.mktemp("street") / "landing"
    return landing, generate(landing, days=1, end=END, scale=1.0, seed=7)


def file_hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def files(landing: Path, source: str, pattern: str = "*") -> list[Path]:
    return sorted((landing / source).glob(f"*/{pattern}"))


def sheet_rows(path: Path, sheet: str) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()


def flatten(obj: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def export_rows(path: Path, spec: dict) -> list[dict]:
    """An export file's rows as {column: text}, read as the mapping describes (empty cells are None)."""
    if spec["format"] == "csv":
        raw = path.read_bytes()
        encoding = spec.get("encoding", "utf-8")
        lines = [line for line in raw.split(b"\n") if line.strip()]
        good = []
        for line in lines:
            try:
                good.append(line.decode(encoding).lstrip("\ufeff"))
            except UnicodeDecodeError:
                continue  # the injected undecodable row
        reader = csv.reader(io.StringIO("\n".join(good)))
        header = next(reader)
        return [{h: (v or None) for h, v in zip(header, row, strict=True)} for row in reader]
    if spec["format"] == "jsonl":
        return [
            {k: (None if v in (None, "") else str(v)) for k, v in flatten(json.loads(line)).items()}
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
    if spec["format"] == "xlsx":
        rows = sheet_rows(path, spec["sheet"])
        header = [str(h) for h in rows[0]]

        def text(v):
            if v in (None, ""):
                return None
            return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)

        return [{h: text(v) for h, v in zip(header, row, strict=True)} for row in rows[1:]]
    doc = json.loads(path.read_text(encoding="utf-8"))
    return [
        {**{k: str(v) for k, v in f["properties"].items()}, "geometry": json.dumps(f["geometry"])}
        for f in doc["features"]
    ]


def mappings() -> list[tuple[Path, dict]]:
    return [(p, yaml.safe_load(p.read_text(encoding="utf-8"))) for p in sorted(SOURCES_DIR.glob("*.yaml"))]


def seed_column(table: str, column: str) -> dict[str, str]:
    with (SEEDS / f"{table}.csv").open(encoding="utf-8", newline="") as f:
        return {row[column]: row["code"] for row in csv.DictReader(f)}


def accepted(table: str, field: str) -> set[str] | None:
    spec = CONTRACTS[table]["fields"][field]
    if "seed" in spec:
        return set(seed_column(spec["seed"], "code").values())
    return {str(v) for v in spec["allowed"]} if "allowed" in spec else None


def codes_of(spec: dict, field: str) -> dict[str, str]:
    codes = spec["codes"][field]
    if isinstance(codes, str):
        table, _, column = codes.removeprefix("seed:").partition(".")
        return seed_column(table, column)
    return {str(k): str(v) for k, v in codes.items()}


def dirt_keys(manifest: dict, kind: str) -> list:
    return [k for tables in manifest["dirt"][kind].values() for entry in tables.values() for k in entry["keys"]]


# ----- determinism ---------------------------------------------------------------------------------------------
def test_same_arguments_give_byte_identical_files_and_another_seed_differs(tmp_path):
    args = {"days": 4, "end": date(2026, 7, 2), "scale": 0.04}
    generate(tmp_path / "a", seed=5, **args)
    generate(tmp_path / "b", seed=5, **args)
    generate(tmp_path / "c", seed=6, **args)
    a, b, c = (file_hashes(tmp_path / x) for x in "abc")
    assert a == b
    assert any(name.endswith(".xlsx") for name in a), "the hash covers the .xlsx snapshots too"
    common = set(a) & set(c)  # a quiet day may have no alarm or application file
    changed = [name for name in common if a[name] != c[name]]
    assert len(changed) > 0.9 * len(common), f"only {len(changed)} of {len(common)} files depend on the seed"


def test_range_ends_at_end_and_files_go_to_day_folders(small_run):
    landing, manifest = small_run
    assert (manifest["start"], manifest["end"], manifest["days"]) == ("2026-09-27", "2026-10-03", 7)
    for source in SOURCES:
        days = {p.name for p in (landing / source).iterdir() if p.is_dir()}
        assert days and days <= {f"2026-09-{d}" for d in (27, 28, 29, 30)} | {f"2026-10-0{d}" for d in (1, 2, 3)}
    assert json.loads((landing / MANIFEST_NAME).read_text(encoding="utf-8")) == manifest


def test_progress_reports_every_day(tmp_path):
    calls = []
    generate(
        tmp_path, days=3, end=END, scale=0.03, progress=lambda step, done, total: calls.append((step, done, total))
    )
    assert [c for c in calls if c[0] == "days"] == [("days", 1, 3), ("days", 2, 3), ("days", 3, 3)]


# ----- formats ---------------------------------------------------------------------------------------------------
def test_hotline_is_gb18030_with_exactly_the_injected_undecodable_lines(small_run):
    landing, manifest = small_run
    broken = 0
    for path in files(landing, "hotline_12345", "12345_*.csv"):
        raw = path.read_bytes()
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
        assert raw.split(b"\r\n")[0].decode("gb18030").startswith("工单编号,受理时间,问题分类")
        for line in raw.split(b"\n"):
            try:
                line.decode("gb18030")
            except UnicodeDecodeError:
                broken += 1
    assert broken == len(dirt_keys(manifest, "undecodable_row")) >= 1


def test_forum_has_a_bom_and_city_mgmt_nests_coordinates(small_run):
    landing, _ = small_run
    for path in files(landing, "forum", "*.csv"):
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
        path.read_bytes().decode("utf-8")
    records = [
        json.loads(line)
        for p in files(landing, "city_mgmt", "*.jsonl")
        for line in p.read_text(encoding="utf-8").splitlines()
    ]
    assert records
    for r in records:
        assert 120.6 < r["location"]["lon"] < 120.8 and 31.2 < r["location"]["lat"] < 31.4


def test_xlsx_exports_have_their_sheets(small_run):
    landing, _ = small_run
    enforcement = files(landing, "enforcement", "*.xlsx")
    assert len(enforcement) == 7
    assert CalamineWorkbook.from_path(str(enforcement[0])).sheet_names == ["检查记录", "隐患排查", "执法案件"]
    party = files(landing, "party", "*.xlsx")
    assert CalamineWorkbook.from_path(str(party[0])).sheet_names == [
        "组织",
        "党员",
        "共建单位",
        "揭榜领办",
        "项目",
        "会议",
        "志愿活动",
    ]
    grid = files(landing, "grid", "*.xlsx")
    assert CalamineWorkbook.from_path(str(grid[0])).sheet_names == ["网格"]


def test_snapshots_are_written_on_the_first_day_and_the_first_of_the_month(small_run):
    landing, _ = small_run
    for source, pattern in (
        ("grid", "*.xlsx"),
        ("grid", "*.geojson"),
        ("party", "*.xlsx"),
        ("iot", "devices_*"),
        ("approvals", "service_items_*"),
    ):
        assert [p.parent.name for p in files(landing, source, pattern)] == ["2026-09-27", "2026-10-01"], source


def test_party_snapshot_is_the_ledger_as_of_its_day(small_run):
    landing, _ = small_run
    first, second = files(landing, "party", "*.xlsx")
    for sheet, date_column in (("党员", 7), ("会议", 3), ("志愿活动", 3)):
        rows = sheet_rows(first, sheet)[1:]
        assert rows, sheet
        assert all(str(r[date_column]).replace(".", "-") <= "2026-09-27" for r in rows), sheet
        assert len(sheet_rows(second, sheet)) - 1 >= len(rows)
    levels = {r[2] for r in sheet_rows(first, "组织")[1:]}
    assert levels == {"街道大工委", "区域大党委", "社区党组织", "小区党支部", "楼道党小组"}


def test_raw_exports_carry_personal_data_for_the_pipeline_to_mask(small_run):
    landing, _ = small_run
    hotline = b"".join(p.read_bytes() for p in files(landing, "hotline_12345")).decode("gb18030", "replace")
    approvals = "".join(p.read_text(encoding="utf-8") for p in files(landing, "approvals", "applications_*"))
    party = sheet_rows(files(landing, "party", "*.xlsx")[0], "党员")
    assert re.search(r"1[3-9]\d{9}", hotline)
    assert re.search(r'"idCard":"\d{17}[\dX]"', approvals)
    assert all(re.fullmatch(r"\d{17}[\dX]", r[3]) for r in party[1:])


# ----- calibration -----------------------------------------------------------------------------------------------
def test_one_street_matches_the_published_figures(street_run):
    landing, manifest = street_run
    [units_file] = files(landing, "grid", "*.xlsx")
    units = sheet_rows(units_file, "网格")[1:]
    levels = [r[1] for r in units]
    assert (levels.count("社区"), levels.count("综合网格"), levels.count("专属网格"), levels.count("微网格")) == (
        57,
        204,
        129,
        1414,
    )
    micro = [r for r in units if r[1] == "微网格"]
    assert all(10 <= r[8] <= 100 for r in micro)
    assert sum(50 <= r[8] for r in micro) > 0.9 * len(micro)
    residents = sum(r[9] for r in micro)
    assert abs(residents - 400_000) <= 20_000
    assert abs(sum(r[10] for r in micro) - 228_000) <= 11_400
    assert len({r[7] for r in micro}) == 145

    [ledger] = files(landing, "party", "*.xlsx")
    kinds = [r[2] for r in sheet_rows(ledger, "共建单位")[1:]]
    assert {k: kinds.count(k) for k in set(kinds)} == {
        "机关单位": 18,
        "学校": 62,
        "物业公司": 46,
        "银行": 41,
        "医院": 8,
        "企业": 441,
    }
    areas = [r for r in sheet_rows(ledger, "组织")[1:] if r[2] == "区域大党委"]
    assert len(areas) == 11

    [devices] = files(landing, "iot", "devices_*")
    device_kinds = [line.split(",")[1] for line in devices.read_text(encoding="utf-8-sig").splitlines()[1:]]
    assert device_kinds.count("视频监控") == 7100
    [video] = files(landing, "iot", "video_status_*")
    assert len(video.read_text(encoding="utf-8").splitlines()) - 1 == 7100
    [readings] = files(landing, "iot", "readings_*")
    assert len(readings.read_text(encoding="utf-8").splitlines()) - 1 <= 15_000
    [items] = files(landing, "approvals", "service_items_*")
    departments = {line.split(",")[2] for line in items.read_text(encoding="utf-8").splitlines()[1:]}
    assert len(items.read_text(encoding="utf-8").splitlines()) - 1 == 107 and len(departments) == 12
    assert manifest["street"]["communities"] == 57


# ----- sensor outages --------------------------------------------------------------------------------------------
def silent_sensor_days(landing: Path) -> tuple[set[str], dict[str, set[str]]]:
    """The sensors (non-video devices) and, per day, those with no reading at all in that day's export."""
    sensors = set()
    for path in files(landing, "iot", "devices_*"):
        for line in path.read_text(encoding="utf-8-sig").splitlines()[1:]:
            device_id, kind = line.split(",")[:2]
            if kind != "视频监控":
                sensors.add(device_id)
    silent = {}
    for path in files(landing, "iot", "readings_*"):
        reporting = {line.split(",", 1)[0] for line in path.read_text(encoding="utf-8").splitlines()[1:]}
        silent[path.parent.name] = sensors - reporting
    return sensors, silent


def test_some_sensors_are_offline_for_whole_days_but_only_a_few_percent(small_run):
    """Without outages the sensor online rate is always 100% and the wall never shows a device offline."""
    landing, _ = small_run
    sensors, silent = silent_sensor_days(landing)
    assert len(silent) == SMALL["days"]
    offline = sum(len(s) for s in silent.values())
    # ~1.3% of sensor-days at full scale; a small run always keeps one chronically dead sensor of ~40
    assert 0.002 <= offline / (len(sensors) * len(silent)) <= 0.05, offline


def test_a_sensor_falling_silent_raises_a_device_offline_alarm_that_day(small_run):
    landing, _ = small_run
    _, silent = silent_sensor_days(landing)
    raised = set()
    for path in files(landing, "iot", "alarms_*"):
        for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))):
            if row[2] == "设备离线" and row[4] == "告警产生":
                raised.add((row[5][:10], row[1]))
    assert raised, "the small run has a sensor falling silent inside the range"
    assert all(device in silent[day] for day, device in raised)
    days = sorted(silent)
    fell_silent = {
        (day, device) for before, day in zip(days, days[1:], strict=False) for device in silent[day] - silent[before]
    }
    assert fell_silent <= raised


# ----- geometry --------------------------------------------------------------------------------------------------
def test_grid_polygons_nest_and_do_not_overlap(small_run):
    landing, _ = small_run
    doc = json.loads(files(landing, "grid", "*.geojson")[0].read_text(encoding="utf-8"))
    units = {r[0]: r for r in sheet_rows(files(landing, "grid", "*.xlsx")[0], "网格")[1:]}
    by_level: dict[str, dict[str, shapely.Geometry]] = {}
    for feature in doc["features"]:
        geom = shape(feature["geometry"])
        assert geom.is_valid and geom.geom_type == "Polygon"
        by_level.setdefault(feature["properties"]["GRID_LEVEL"], {})[feature["properties"]["GRID_CODE"]] = geom
    assert set(by_level) == {"社区", "综合网格", "微网格"}, "dedicated grids have no polygon"
    assert len(by_level["微网格"]) == sum(1 for r in units.values() if r[1] == "微网格")
    for level, parent_level in (("微网格", "综合网格"), ("综合网格", "社区")):
        for unit_id, geom in by_level[level].items():
            parent = by_level[parent_level][units[unit_id][2]]
            assert geom.difference(parent).area < 1e-12, f"{unit_id} leaves its parent"
    for level, geoms in by_level.items():
        polys = list(geoms.values())
        pairs = shapely.STRtree(polys).query(polys, predicate="overlaps")
        assert pairs.shape[1] == 0, f"{level} polygons overlap"
        assert abs(shapely.union_all(polys).area - sum(p.area for p in polys)) < 1e-10
    lon0, lat0, lon1, lat1 = shapely.total_bounds(list(by_level["社区"].values()))
    assert 120.68 <= lon0 < lon1 <= 120.76 and 31.28 <= lat0 < lat1 <= 31.34


def test_a_district_tiles_streets_side_by_side_with_unique_ids():
    plans = plan_district(2)
    assert [(p.number, p.fraction) for p in plans] == [(1, 1.0), (2, 1.0)]
    assert plans[1].lon0 == pytest.approx(plans[0].lon0 + plans[0].width)
    district = build_district(plans, build_pools(1, 2), 1)
    ids = [*district.micro_id, *district.comp_id, *district.dedicated_id, *district.community_id]
    assert len(ids) == len(set(ids)) == 2 * (1414 + 204 + 129 + 57)
    communities = [shape(f["geometry"]) for f in district.features if f["properties"]["GRID_LEVEL"] == "社区"]
    assert shapely.STRtree(communities).query(communities, predicate="overlaps").shape[1] == 0
    assert plan_district(2.5)[-1].fraction == 0.5


def test_fractional_scale_keeps_at_least_two_communities():
    assert plan_district(0.01)[0].communities == 2


# ----- dirt and the manifest ---------------------------------------------------------------------------------------
def test_every_kind_of_dirt_is_injected_in_a_week(small_run):
    _, manifest = small_run
    counts = {kind: len(dirt_keys(manifest, kind)) for kind in DIRT_KINDS}
    assert all(n >= 1 for n in counts.values()), counts
    [header] = dirt_keys(manifest, "changed_header_file")
    assert header["renamed"] == {"发帖时间": "发布时间"} and header["file"].startswith("forum/")
    assert manifest["tables"]["forum"]["ticket_intake"]["files_rejected"] == {"unknown_header": 1}


def test_dirt_stays_rare_at_full_volume(street_run):
    _, manifest = street_run
    rows = sum(t["rows"] for tables in manifest["tables"].values() for t in tables.values())
    dirty = sum(len(dirt_keys(manifest, kind)) for kind in DIRT_KINDS)
    assert dirty < 0.002 * rows


def test_manifest_rows_match_the_files_and_reconcile(small_run):
    landing, manifest = small_run
    for path, mapping in mappings():
        for spec in mapping["files"]:
            expected = manifest["tables"][mapping["source"]][spec["table"]]
            written = sum(len(export_rows(p, spec)) for p in files(landing, mapping["source"], spec["pattern"]))
            undecodable = (
                len(dirt_keys(manifest, "undecodable_row"))
                if (mapping["source"], spec["table"]) == ("hotline_12345", "ticket_intake")
                else 0
            )
            assert written + undecodable == expected["rows"], (path.name, spec["table"])
            assert expected["rows"] == (
                expected["loaded"] + sum(expected["quarantined"].values()) + expected["rows_in_rejected_files"]
            )


def test_late_and_out_of_order_events_land_as_recorded(small_run):
    landing, manifest = small_run
    landed = {}
    for path in files(landing, "ticket_events"):
        for line in path.read_text(encoding="utf-8").splitlines():
            event = json.loads(line)
            landed[event["eventId"]] = (path.parent.name, event["actionTime"][:10])
    assert dirt_keys(manifest, "late_event") and dirt_keys(manifest, "out_of_order_event")
    on_time = sum(day == happened for day, happened in landed.values())
    assert on_time == len(landed) - len(dirt_keys(manifest, "late_event")) - len(
        dirt_keys(manifest, "out_of_order_event")
    ), "every other event lands on the day it happened"
    for key in dirt_keys(manifest, "late_event"):
        day, happened = landed[key["event_id"]]
        assert day == key["landing_day"] and 2 <= (date.fromisoformat(day) - date.fromisoformat(happened)).days <= 5
    for key in dirt_keys(manifest, "out_of_order_event"):
        day, happened = landed[key["event_id"]]
        successor_day, _ = landed[key["overtaken_by"]]
        assert successor_day < day and (date.fromisoformat(day) - date.fromisoformat(happened)).days == 1


def test_cross_channel_duplicates_share_address_and_category(small_run):
    landing, manifest = small_run
    rejected = {k["file"] for k in dirt_keys(manifest, "changed_header_file")}
    intake = {}
    for _, mapping in mappings():
        for spec in mapping["files"]:
            if spec["table"] != "ticket_intake":
                continue
            channel = spec["constants"]["channel"]
            inverse = {v: k for k, v in spec["columns"].items()}
            for p in files(landing, mapping["source"], spec["pattern"]):
                if p.relative_to(landing).as_posix() in rejected:
                    continue
                for row in export_rows(p, spec):
                    intake[f"{channel}:{row[inverse['source_ticket_id']]}"] = (
                        row[inverse["address"]],
                        row[inverse["category"]],
                        row[inverse["received_at"]],
                    )
    pairs = dirt_keys(manifest, "cross_channel_duplicate")
    assert pairs
    for pair in pairs:
        dup, orig = intake[pair["duplicate"]], intake[pair["original"]]
        assert pair["duplicate"].split(":")[0] in ("forum", "city_mgmt")
        assert pair["original"].startswith("hotline_12345:")
        assert dup[:2] == orig[:2]


# ----- mappings ----------------------------------------------------------------------------------------------------
def test_every_source_has_a_mapping_in_its_load_order():
    found = {m["source"]: m for _, m in mappings()}
    assert set(SOURCES) <= set(found)
    order = {
        "grid": 10,
        "party": 15,
        "iot": 15,
        "approvals": 15,
        "hotline_12345": 20,
        "city_mgmt": 20,
        "forum": 20,
        "grid_reports": 20,
        "enforcement": 20,
        "ticket_events": 30,
    }
    assert {s: found[s]["order"] for s in order} == order
    assert found["approvals"]["files"][0]["table"] == "service_item"


@pytest.mark.parametrize("path", sorted(SOURCES_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_mapping_targets_contract_fields_and_covers_required_ones(path):
    mapping = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert mapping["source"] == path.stem
    for spec in mapping["files"]:
        fields = CONTRACTS[spec["table"]]["fields"]
        mapped = set(spec["columns"].values()) | set(spec.get("constants", {}))
        assert set(spec["columns"].values()) <= set(fields), spec["table"]
        required = {name for name, f in fields.items() if f.get("required")}
        assert required <= mapped, (spec["table"], required - mapped)
        for field, value in spec.get("constants", {}).items():
            allowed = accepted(spec["table"], field)
            assert allowed is None or str(value) in allowed
        for field in spec.get("codes", {}):
            assert field in fields
            allowed = accepted(spec["table"], field)
            assert allowed is None or set(codes_of(spec, field).values()) <= allowed, (spec["table"], field)


def parses(value: str, formats: list[str]) -> bool:
    for fmt in [*formats, "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]:
        try:
            datetime.strptime(value, fmt.replace("%-H", "%H"))
            return True
        except ValueError:
            continue
    return False


def test_exports_match_their_mappings_and_each_fault_is_the_only_one(small_run):
    """Reading every export through its mapping finds exactly the injected faults, one kind per row."""
    landing, manifest = small_run
    rejected = {k["file"] for k in dirt_keys(manifest, "changed_header_file")}
    for _, mapping in mappings():
        source = mapping["source"]
        for spec in mapping["files"]:
            table = spec["table"]
            fields = CONTRACTS[table]["fields"]
            column_of = {f: c for c, f in spec["columns"].items()}
            key = [column_of[k] for k in CONTRACTS[table]["key"] if k in column_of]
            codes = {column_of[f]: codes_of(spec, f) for f in spec.get("codes", {})}
            formats = {
                column_of[f]: spec.get("datetime_formats", {}).get(f, [])
                for f in column_of
                if fields[f]["type"] in ("date", "timestamp")
            }
            required = [column_of[f] for f, spec_f in fields.items() if spec_f.get("required") and f in column_of]
            found = {"missing_required": 0, "unknown_code": 0, "impossible_date": 0, "duplicate_row": 0}
            paths = files(landing, source, spec["pattern"])
            assert paths, (source, spec["pattern"])
            exported = set()
            for path in paths:
                rows = export_rows(path, spec)
                exported |= set().union(*(r.keys() for r in rows)) if rows else set()
                if path.relative_to(landing).as_posix() in rejected:
                    continue
                seen = set()
                for r in rows:
                    faults = [
                        any(r.get(c) is None for c in required),
                        any(r.get(c) is not None and r[c] not in table_codes for c, table_codes in codes.items()),
                        any(r.get(c) is not None and not parses(r[c], f) for c, f in formats.items()),
                    ]
                    assert sum(faults) <= 1, (source, table, r)
                    for kind, hit in zip(("missing_required", "unknown_code", "impossible_date"), faults, strict=True):
                        found[kind] += hit
                    k = tuple(r.get(c) for c in key)
                    if not any(faults):
                        found["duplicate_row"] += k in seen
                        seen.add(k)
            # JSON lines leave out a nested object that is null (a camera-detected case has no reporter)
            assert not set(spec["columns"]) - exported, (source, table, set(spec["columns"]) - exported)
            injected = {kind: manifest["dirt"][kind].get(source, {}).get(table, {}).get("count", 0) for kind in found}
            assert found == injected, (source, table)


def test_default_range_ends_yesterday_in_shanghai():
    today = datetime.now(SHANGHAI).date()
    assert resolve_range(30, None, None) == (today - timedelta(days=30), today - timedelta(days=1))
    assert resolve_range(3, date(2026, 1, 30), None) == (date(2026, 1, 30), date(2026, 2, 1))


def test_a_range_shorter_than_the_surge_warm_up_has_no_labelled_surges(small_run):
    # surges start after eight weeks, so that a detector has a baseline (tests/cockpit/test_warning_street.py
    # checks a longer street's surges against its warehouse)
    _, manifest = small_run
    assert manifest["surges"] == []
