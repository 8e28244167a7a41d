"""A second street deployed by configuration alone: its name everywhere, no trace of the demo street's.

The home is configured before anything runs (cockpit.toml's [street]), then made as an operator
makes one: `cockpit demo`, `cockpit pipeline run`, the app from the home's settings, `cockpit brief`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import openpyxl
import pytest
from pypdf import PdfReader

from tests.conftest import DEMO_START
from warehouse.paths import Home
from warehouse.releases import current_release

NAME, NAME_EN, CODE = "澄湖街道", "Chenghu Street", "320506120"
AREA = (120.80, 31.05, 120.95, 31.20)
CONFIG = f"""
[street]
name = "{NAME}"
admin_code = "{CODE}"
area = [{", ".join(str(each) for each in AREA)}]
"""
DEMO_STREET = "金鸡湖"  # the demo street's name, which must not appear anywhere
DAYS = 3


def _cockpit(home: Path, *args: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COCKPIT_")}
    result = subprocess.run(
        [sys.executable, "-m", "cockpit.cli", *args],
        env={**environment, "COCKPIT_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result


@pytest.fixture(scope="module")
def second_street(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("second-street")
    (home / "cockpit.toml").write_text(CONFIG, encoding="utf-8")
    made = _cockpit(home, "demo", "--start", f"{DEMO_START}", "--days", str(DAYS), "--scale", "0.03")
    assert NAME in made.stdout
    _cockpit(home, "pipeline", "run")
    assert (home / "cockpit.toml").read_text(encoding="utf-8") == CONFIG, "cockpit demo rewrote an existing config"
    return home


@pytest.fixture(scope="module")
def shown(second_street, tmp_path_factory) -> dict:
    """What the app shows, from a process of its own (tests/cockpit/street_probe.py)."""
    xlsx = tmp_path_factory.mktemp("second-street-export") / "records.xlsx"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COCKPIT_")}
    result = subprocess.run(
        [sys.executable, "-m", "tests.cockpit.street_probe", str(xlsx)],
        env={**environment, "COCKPIT_HOME": str(second_street)},
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return {**json.loads(result.stdout), "xlsx": xlsx}


def test_every_page_is_framed_by_the_configured_street_and_shows_nothing_of_the_demo_street(shown):
    for lang, name in (("zh", NAME), ("en", NAME_EN)):
        seen = shown[lang]
        assert name in seen["shell"] and name in seen["login"], lang
        assert len(seen["pages"]) >= 11  # the six boards, metrics, pipeline, briefs, audit, wall
        for path, page in seen["pages"].items():
            assert DEMO_STREET not in page, f"{lang} {path}"
        assert DEMO_STREET not in seen["shell"] + seen["login"]


def test_the_wall_is_titled_with_the_configured_street(shown):
    for lang, name in (("zh", NAME), ("en", NAME_EN)):
        wall = shown[lang]["wall"]
        assert name in wall and DEMO_STREET not in wall


def test_the_demo_data_itself_names_the_configured_street(second_street):
    # Ticket addresses and the street's party committee carry the configured name (read from the landing files).
    texts = [path.read_bytes() for path in (second_street / "landing").rglob("*") if path.is_file()]
    decoded = []
    for raw in texts:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                decoded.append(raw.decode(encoding))
                break
            except UnicodeDecodeError:
                continue
    assert any(NAME in text for text in decoded)
    assert not [text for text in decoded if DEMO_STREET in text]


def test_the_demo_street_lies_in_the_configured_area_and_its_data_was_kept(second_street):
    with duckdb.connect(str(current_release(Home(second_street))), read_only=True) as con:
        devices, west, east, south, north = con.execute(
            "SELECT count(*), min(lon), max(lon), min(lat), max(lat) FROM dim_device"
        ).fetchone()
    assert devices > 0
    assert AREA[0] <= west <= east <= AREA[2] and AREA[1] <= south <= north <= AREA[3]


def test_an_excel_export_names_the_street_and_nothing_of_the_demo_street(shown):
    sheet = openpyxl.load_workbook(shown["xlsx"]).active
    cells = [str(cell.value) for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert any(NAME in cell for cell in cells[:40])  # the header block's data scope
    assert len(cells) > 40  # rows were exported, not only the header
    assert [cell for cell in cells if DEMO_STREET in cell] == []


def test_a_brief_names_the_street_on_every_page_and_nothing_of_the_demo_street(second_street, tmp_path):
    out = tmp_path / "brief.pdf"
    period = f"{DEMO_START}:{DEMO_START.fromordinal(DEMO_START.toordinal() + DAYS - 1)}"
    _cockpit(second_street, "brief", "--period", period, "--out", str(out))
    pages = [re.sub(r"\s+", "", page.extract_text()) for page in PdfReader(out).pages]
    assert len(pages) > 3
    assert all(NAME in page for page in pages)  # the running header carries the title
    assert f"{NAME}数字驾驶舱" in pages[0]
    assert [number for number, page in enumerate(pages, 1) if DEMO_STREET in page] == []
