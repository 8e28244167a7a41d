"""The street's identity as settings: [street] in cockpit.toml, COCKPIT_STREET_* over it, each bad value one line."""

from __future__ import annotations

import json

import pytest
from shapely.geometry import shape

from cockpit.i18n import romanise
from cockpit.settings import DEFAULT_AREA, Settings, SettingsError, Street


def _load(tmp_path, config: str = "", **env: str) -> Settings:
    if config:
        (tmp_path / "cockpit.toml").write_text(config, encoding="utf-8")
    return Settings.load({"COCKPIT_HOME": str(tmp_path), **env})


@pytest.mark.parametrize(
    ("chinese", "english"),
    [
        ("澳韵社区", "Aoyun Community"),
        ("斜塘街道", "Xietang Street"),
        ("澄湖街道", "Chenghu Street"),
        ("西安街道", "Xi'an Street"),  # an apostrophe keeps xi-an from reading as xian
        ("长安村", "Chang'an Village"),
        ("唯亭镇", "Weiting Town"),
        ("星湖", "Xinghu"),
        ("", ""),
    ],
)
def test_romanise_writes_a_place_name_as_an_english_address_does(chinese, english):
    assert romanise(chinese) == english


def test_an_unconfigured_home_has_no_street_name_and_the_old_default_area(tmp_path):
    settings = _load(tmp_path)
    assert settings.street.name == "" and not settings.street.configured
    assert settings.street.label("zh") == "" and settings.street.label("en") == ""
    assert settings.area == DEFAULT_AREA


def test_the_street_table_gives_names_code_and_area_and_no_centre_unless_set(tmp_path):
    settings = _load(
        tmp_path, '[street]\nname = "斜塘街道"\nadmin_code = "320571003000"\narea = [120.7, 31.2, 120.9, 31.4]\n'
    )
    assert settings.street == Street(
        name="斜塘街道", name_en="Xietang Street", short_name="斜塘", admin_code="320571003000", centre=None
    )
    assert settings.area == (120.7, 31.2, 120.9, 31.4)
    assert settings.street.label("en") == "Xietang Street" and settings.street.label("zh") == "斜塘街道"


def test_given_english_and_short_names_win_over_the_defaults(tmp_path):
    config = (
        '[street]\nname = "金山街道"\nname_en = "Jinshan Subdistrict"\nshort_name = "金山"\ncentre = "120.5,31.5"\n'
    )
    street = _load(tmp_path, config).street
    assert (street.name_en, street.short_name, street.centre) == ("Jinshan Subdistrict", "金山", (120.5, 31.5))


def test_the_environment_overrides_the_street_table(tmp_path):
    config = '[street]\nname = "斜塘街道"\nadmin_code = "320571003"\narea = [120.7, 31.2, 120.9, 31.4]\n'
    settings = _load(
        tmp_path,
        config,
        COCKPIT_STREET_NAME="漕湖街道",
        COCKPIT_STREET_ADMIN_CODE="320507",
        COCKPIT_STREET_AREA="120.5,31.4,120.6,31.5",
    )
    assert (settings.street.name, settings.street.name_en, settings.street.admin_code) == (
        "漕湖街道",
        "Caohu Street",
        "320507",
    )
    assert settings.area == (120.5, 31.4, 120.6, 31.5)


def test_the_older_area_setting_still_works_and_the_street_area_wins_over_it(tmp_path):
    assert _load(tmp_path, "area = [113.7, 22.1, 114.6, 22.9]\n").area == (113.7, 22.1, 114.6, 22.9)
    assert _load(tmp_path, COCKPIT_AREA="115.4,39.4,117.5,41.1").area == (115.4, 39.4, 117.5, 41.1)
    both = "area = [113.7, 22.1, 114.6, 22.9]\n[street]\narea = [120.7, 31.2, 120.9, 31.4]\n"
    assert _load(tmp_path, both).area == (120.7, 31.2, 120.9, 31.4)


def _bounds(path) -> tuple[float, float, float, float]:
    """The box around a DataV-style array of features, straight from shapely (the oracle)."""
    features = json.loads(path.read_text(encoding="utf-8"))
    boxes = [shape(feature["geometry"]).bounds for feature in features]
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def test_an_outline_file_gives_its_bounds_as_the_area(tmp_path, realdata):
    outline = realdata / "boundaries" / "suzhou_districts.json"
    settings = _load(tmp_path, f'[street]\nname = "某某街道"\noutline = "{outline}"\n')
    assert settings.area == pytest.approx(_bounds(outline))
    assert settings.street.centre is None  # unset: the map centres on the polygons it draws


def test_a_projected_outline_is_read_in_its_declared_system(tmp_path, realdata):
    projected = realdata / "boundaries" / "suzhou_districts_epsg4549.geojson"
    with pytest.raises(SettingsError, match="street.outline.*outline_crs") as undeclared:
        _load(tmp_path, f'[street]\noutline = "{projected}"\n')
    assert "\n" not in str(undeclared.value)
    settings = _load(tmp_path, f'[street]\noutline = "{projected}"\noutline_crs = "EPSG:4549"\n')
    # The same districts as the lon/lat file, to within about a hundred metres.
    assert settings.area == pytest.approx(_bounds(realdata / "boundaries" / "suzhou_districts.json"), abs=1e-3)


def test_an_outline_relative_to_the_config_file(tmp_path):
    square = {
        "type": "Polygon",
        "coordinates": [[[120.1, 30.1], [120.3, 30.1], [120.3, 30.4], [120.1, 30.4], [120.1, 30.1]]],
    }
    (tmp_path / "outline.geojson").write_text(json.dumps({"type": "Feature", "geometry": square}), encoding="utf-8")
    assert _load(tmp_path, '[street]\noutline = "outline.geojson"\n').area == (120.1, 30.1, 120.3, 30.4)


@pytest.mark.parametrize(
    ("config", "env", "message"),
    [
        ('[street]\nadmin_code = "32057100"\n', {}, "street.admin_code must be 6, 9 or 12 digits"),
        ('[street]\nadmin_code = "32O571"\n', {}, "street.admin_code must be 6, 9 or 12 digits"),
        ("[street]\nadmin_code = 320571\n", {}, "street.admin_code must be text"),
        ("", {"COCKPIT_STREET_ADMIN_CODE": "３２０５７１"}, "COCKPIT_STREET_ADMIN_CODE must be 6, 9 or 12 digits"),
        ("[street]\nname = 7\n", {}, "street.name must be text"),
        ("", {"COCKPIT_STREET_NAME": "两行\n名字"}, "COCKPIT_STREET_NAME must be one line"),
        ('[street]\nnmae = "斜塘街道"\n', {}, "unknown key.*nmae"),
        ('street = "斜塘街道"\n', {}, "street in cockpit.toml must be a table"),
        ("[street]\narea = [120, 31, 119, 32]\n", {}, "street.area must be min_lon"),
        ("", {"COCKPIT_STREET_AREA": "east,31,121,32"}, "COCKPIT_STREET_AREA must be four numbers"),
        ('[street]\noutline = "nowhere.geojson"\n', {}, "street.outline names a missing file"),
        ('[street]\noutline = "x.geojson"\narea = [120, 31, 121, 32]\n', {}, "either street.outline or street.area"),
        ("[street]\narea = [120, 31, 121, 32]\ncentre = [125, 31.5]\n", {}, "street.centre .* outside"),
        ("", {"COCKPIT_STREET_CENTRE": "120.5"}, "COCKPIT_STREET_CENTRE must be lon,lat"),
        ("", {"COCKPIT_STREET_CENTRE": "north,east"}, "COCKPIT_STREET_CENTRE must be two numbers"),
    ],
)
def test_a_bad_street_setting_is_one_line_naming_it(tmp_path, config, env, message):
    with pytest.raises(SettingsError, match=message) as refused:
        _load(tmp_path, config, **env)
    assert "\n" not in str(refused.value)


def test_an_outline_that_is_not_a_boundary_is_refused_with_one_line(tmp_path):
    (tmp_path / "points.json").write_text('{"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}}')
    with pytest.raises(SettingsError, match="street.outline: .*Point is not a boundary") as refused:
        _load(tmp_path, '[street]\noutline = "points.json"\n')
    assert "\n" not in str(refused.value)
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(SettingsError, match="street.outline: .*not a readable JSON"):
        _load(tmp_path, '[street]\noutline = "broken.json"\n')
