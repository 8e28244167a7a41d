"""Settings: environment over file, paths resolved, bad values refused with one line."""

from pathlib import Path

import pytest

from cockpit.settings import Settings, SettingsError


def test_environment_overrides_the_file(tmp_path):
    (tmp_path / "cockpit.toml").write_text('keep_releases = 3\nbuild_memory = "2GB"\n', encoding="utf-8")
    settings = Settings.load({"COCKPIT_HOME": str(tmp_path), "COCKPIT_KEEP_RELEASES": "5"})
    assert (settings.home, settings.keep_releases, settings.build_memory) == (tmp_path.resolve(), 5, "2GB")


def test_extra_mappings_from_the_file_resolve_beside_it(tmp_path):
    mapping = tmp_path / "maps" / "x.yaml"
    mapping.parent.mkdir()
    mapping.write_text("source: x\n", encoding="utf-8")
    (tmp_path / "cockpit.toml").write_text('extra_mappings = ["maps/x.yaml"]\n', encoding="utf-8")
    assert Settings.load({"COCKPIT_HOME": str(tmp_path)}).extra_mappings == (mapping.resolve(),)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"COCKPIT_BUILD_MEMORY": "lots"}, "COCKPIT_BUILD_MEMORY must be a size like 6GB"),
        ({"COCKPIT_KEEP_RELEASES": "many"}, "bad setting"),
        ({"COCKPIT_CONFIG": "nowhere.toml"}, "COCKPIT_CONFIG names a missing file"),
    ],
)
def test_bad_settings_fail_with_one_line(tmp_path, env, message):
    with pytest.raises(SettingsError, match=message) as exc:
        Settings.load({"COCKPIT_HOME": str(tmp_path), **env})
    assert "\n" not in str(exc.value)


def test_salt_is_generated_once_and_kept(tmp_path):
    settings = Settings(home=tmp_path)
    salt = settings.salt()
    assert len(salt) == 32 and settings.salt() == salt
    assert (Path(tmp_path) / "secret" / "pii_salt").stat().st_mode & 0o077 == 0


def test_the_street_area_comes_from_the_environment_or_the_file(tmp_path):
    assert Settings.load({"COCKPIT_HOME": str(tmp_path), "COCKPIT_AREA": "115.4, 39.4, 117.5, 41.1"}).area == (
        115.4,
        39.4,
        117.5,
        41.1,
    )
    (tmp_path / "cockpit.toml").write_text("area = [113.7, 22.1, 114.6, 22.9]\n", encoding="utf-8")
    assert Settings.load({"COCKPIT_HOME": str(tmp_path)}).area == (113.7, 22.1, 114.6, 22.9)


@pytest.mark.parametrize("area", ["120,31,119,32", "120,31,121", "east,31,121,32", "120,-95,121,32"])
def test_an_area_that_is_not_a_lon_lat_box_is_refused(tmp_path, area):
    with pytest.raises(SettingsError, match="COCKPIT_AREA"):
        Settings.load({"COCKPIT_HOME": str(tmp_path), "COCKPIT_AREA": area})
