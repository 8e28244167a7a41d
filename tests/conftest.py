"""Shared fixtures: a small demo street generated and loaded once per test session."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from pipelines.demo import generate
from pipelines.demo.profile import write_street_config
from pipelines.run import RunSummary, run_pipeline
from warehouse.paths import Home
from warehouse.releases import current_release

# Real exports no one on the project wrote, kept beside the checkout (never copied into it).
REALDATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "realdata"
DEMO_START = date(2026, 9, 26)  # spans the National Day holiday and its make-up workday
DEMO_DAYS = 7
DEMO_SCALE = 0.05
SALT = "test-salt"


@dataclass
class LoadedDemo:
    home: Home
    manifest: dict
    summary: RunSummary

    @property
    def release(self) -> Path:
        return current_release(self.home)


def load_demo(root: Path, **run_options) -> LoadedDemo:
    home = Home(root).ensure()
    write_street_config(root / "cockpit.toml")  # as `cockpit demo` configures a new home
    manifest = generate(home.landing, days=DEMO_DAYS, start=DEMO_START, scale=DEMO_SCALE, seed=11)
    summary = run_pipeline(home, salt=SALT, **run_options)
    return LoadedDemo(home, manifest, summary)


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The shared folder of real exports; its absence fails the test (CI has it), it never skips."""
    if not REALDATA.is_dir():
        pytest.fail(f"real exports not found at {REALDATA}: check out the shared folder beside the repository")
    return REALDATA


@pytest.fixture(scope="session")
def demo_landing(tmp_path_factory) -> Path:
    """Demo landing files generated once; copy them before changing anything."""
    root = tmp_path_factory.mktemp("demo-landing")
    generate(root / "landing", days=DEMO_DAYS, start=DEMO_START, scale=DEMO_SCALE, seed=11)
    return root / "landing"


@pytest.fixture(scope="session")
def loaded_demo(tmp_path_factory, demo_landing) -> LoadedDemo:
    """A home with the demo landing loaded and published once (read-only for tests)."""
    root = tmp_path_factory.mktemp("loaded-demo")
    shutil.copytree(demo_landing, root / "landing")
    home = Home(root).ensure()
    write_street_config(root / "cockpit.toml")  # as `cockpit demo` configures a new home
    summary = run_pipeline(home, salt=SALT)
    import json

    manifest = json.loads((home.landing / "_demo_manifest.json").read_text(encoding="utf-8"))
    return LoadedDemo(home, manifest, summary)


# Six weeks of a small street, for what a week cannot show: rarer events (缓办, 重办) and a whole month (考核通报).
MONTH_STREET_END = date(2026, 11, 10)
MONTH_STREET_DAYS = 45


def _small_street(tmp_path_factory, name: str, days: int, end: date) -> Home:
    """A home with `days` of a small demo street (scale 0.1, seed 5) ending `end`, loaded and published."""
    root = tmp_path_factory.mktemp(name)
    home = Home(root).ensure()
    write_street_config(root / "cockpit.toml")
    generate(home.landing, days=days, end=end, scale=0.1, seed=5)
    run_pipeline(home, salt=SALT)
    return home


@pytest.fixture(scope="session")
def month_street(tmp_path_factory) -> Home:
    """A home with six weeks of a small demo street (2026-09-27 … 11-10) loaded and published (read-only)."""
    return _small_street(tmp_path_factory, "month-street", MONTH_STREET_DAYS, MONTH_STREET_END)


@pytest.fixture(scope="session")
def live_alarm_street(tmp_path_factory, month_street) -> Home:
    """The month street with the alarms raised on its last day with alarms never cleared: live when its data
    ends, as on a real night (the generator clears its alarms within hours). Its landing's alarm exports are
    the month street's, less those alarms' 已消除 (cleared) lines."""
    root = tmp_path_factory.mktemp("live-alarm-street")
    shutil.copytree(month_street.landing, root / "landing")
    home = Home(root).ensure()
    write_street_config(root / "cockpit.toml")
    exports = sorted(home.landing.glob("iot/*/alarms_*.csv"))
    last = exports[-1].read_text(encoding="utf-8").splitlines()[1:]
    raised = {line.split(",")[0] for line in last if line.split(",")[4] == "告警产生"}
    assert raised, exports[-1]
    for export in exports:
        lines = export.read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if not (line.split(",")[0] in raised and line.split(",")[4] == "已消除")]
        export.write_text("\n".join(kept) + "\n", encoding="utf-8")
    run_pipeline(home, salt=SALT)
    return home


# Fifteen weeks of a small street: eight weeks of baseline, then the generator's labelled surges (pipelines/demo/
# tickets.py), the last of them on the last day loaded, for early warning and forecasts.
WARNING_STREET_END = date(2026, 11, 10)
WARNING_STREET_DAYS = 105


@pytest.fixture(scope="session")
def warning_street(tmp_path_factory) -> Home:
    """A home with fifteen weeks of a small demo street (2026-07-29 … 11-10) loaded and published (read-only)."""
    return _small_street(tmp_path_factory, "warning-street", WARNING_STREET_DAYS, WARNING_STREET_END)


@pytest.fixture
def fresh_home(tmp_path, demo_landing) -> Home:
    """A private home with a copy of the demo landing, nothing loaded yet."""
    shutil.copytree(demo_landing, tmp_path / "landing")
    return Home(tmp_path).ensure()


@pytest.fixture(scope="session")
def app(loaded_demo):
    """The real Dash app on the loaded demo street.

    One Dash app per process, as in production: Dash's page registry and the
    app's warehouse are process-wide, so every test that needs the app shares this one.
    """
    from cockpit.app import create_app
    from cockpit.settings import Settings

    return create_app(Settings.load({"COCKPIT_HOME": str(loaded_demo.home.root)}))
