"""The demo street's identity lives in one data file (pipelines/demo/street.toml) and reaches the app as settings."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from cockpit.settings import Settings
from pipelines.demo.profile import DemoStreet, plan_district

ROOT = Path(__file__).resolve().parents[3]
STREET_FILE = ROOT / "pipelines" / "demo" / "street.toml"


def _demo_file() -> dict:
    return tomllib.loads(STREET_FILE.read_text(encoding="utf-8"))


def _cockpit(home: Path, *args: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COCKPIT_")}
    return subprocess.run(
        [sys.executable, "-m", "cockpit.cli", *args],
        env={**environment, "COCKPIT_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_no_code_names_the_demo_street():
    """Only the demo's own data file may: screens, briefs and the generator take the name from settings."""
    short = _demo_file()["street"]["short_name"]
    found = []
    for folder in ("cockpit", "warehouse", "pipelines"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path != STREET_FILE and path.suffix not in (".pyc", ".woff2", ".ttf", ".png"):
                if short in path.read_text(encoding="utf-8", errors="ignore"):
                    found.append(str(path.relative_to(ROOT)))
    assert found == []


def test_cockpit_demo_configures_a_new_home_with_the_demo_street(tmp_path):
    result = _cockpit(tmp_path, "demo", "--days", "1", "--scale", "0.02")
    assert result.returncode == 0, result.stderr
    written = tomllib.loads((tmp_path / "cockpit.toml").read_text(encoding="utf-8"))
    assert written["street"] == _demo_file()["street"]
    settings = Settings.load({"COCKPIT_HOME": str(tmp_path)})
    expected = _demo_file()["street"]
    assert (settings.street.name, settings.street.name_en, settings.street.admin_code) == (
        expected["name"],
        expected["name_en"],
        expected["admin_code"],
    )
    assert settings.area == tuple(expected["area"])
    # Run again: the config is the operator's now, and is left as it is.
    (tmp_path / "cockpit.toml").write_text('[street]\nname = "某某街道"\n', encoding="utf-8")
    again = _cockpit(tmp_path, "demo", "--days", "1", "--scale", "0.02", "--clean")
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "cockpit.toml").read_text(encoding="utf-8") == '[street]\nname = "某某街道"\n'
    assert "某某街道" in again.stdout


def test_a_district_of_ten_streets_fits_the_demo_area_and_names_each_street_once():
    street = DemoStreet.from_file()
    plans = plan_district(10, street)
    west, south, east, north = _demo_file()["street"]["area"]
    for plan in plans:
        assert west <= plan.lon0 and plan.lon0 + plan.width <= east
        assert south <= plan.lat0 and plan.lat0 + plan.height <= north
    names = [plan.name for plan in plans]
    assert names[0] == _demo_file()["street"]["name"]
    assert names[1:] == _demo_file()["district"]["streets"]


def test_a_configured_street_leads_its_district_inside_its_own_area():
    street = DemoStreet.configured("澄湖街道", (100.0, 20.0, 100.5, 20.5))
    (plan,) = plan_district(1, street)
    assert plan.name == "澄湖街道"
    assert 100.0 < plan.lon0 and plan.lon0 + plan.width < 100.5 and 20.0 < plan.lat0 and plan.lat0 + plan.height < 20.5


def test_a_district_too_big_for_the_area_is_refused_with_one_line(tmp_path):
    with pytest.raises(ValueError, match="needs more room than the area") as refused:
        plan_district(2, DemoStreet.configured("澄湖街道", (100.0, 20.0, 100.1, 20.1)))
    assert "\n" not in str(refused.value)
    (tmp_path / "cockpit.toml").write_text('[street]\nname = "澄湖街道"\narea = [100.0, 20.0, 100.1, 20.1]\n')
    result = _cockpit(tmp_path, "demo", "--days", "1", "--scale", "2")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "needs more room than the area" in result.stderr
