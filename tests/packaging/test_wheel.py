"""The wheel carries every data file the code reads: a non-editable install must serve, load and generate.

The expected set comes from the source tree (every file in the package folders that is not Python), not
from a list kept here, so a new asset, seed, model or mapping is checked the day it is added. The wheel is
built from a clean copy of the sources: setuptools reuses a `build/` folder in the checkout, and a file
left there by an earlier build would hide a missing one (smoke.build_wheel). `tests/packaging/smoke.py`
installs the same wheel into a fresh venv and runs the cockpit from it.
"""

from __future__ import annotations

import zipfile
from importlib.resources import files
from pathlib import Path

import pytest

from tests.packaging.smoke import PACKAGES, build_wheel

REPO = Path(__file__).resolve().parents[2]
CODE_SUFFIXES = {".py", ".pyc"}


def source_data_files() -> set[str]:
    """Every non-code file in the package folders, as a wheel member name (`warehouse/seeds/category.csv`)."""
    found = set()
    for package in PACKAGES:
        for path in (REPO / package).rglob("*"):
            relative = path.relative_to(REPO)
            if (
                path.is_file()
                and path.suffix not in CODE_SUFFIXES
                and "__pycache__" not in relative.parts
                and not any(part.startswith(".") for part in relative.parts)
            ):
                found.add(relative.as_posix())
    return found


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"), REPO)


@pytest.fixture(scope="module")
def wheel_members(wheel) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_wheel_holds_every_data_file_of_the_source_tree(wheel_members):
    expected = source_data_files()
    # The kinds the app, the pipeline and the demo read; an empty kind means the walk above found nothing.
    for sample in ("cockpit/assets/cockpit.css", "cockpit/assets/wall.js", "warehouse/seeds/category.csv"):
        assert sample in expected
    missing = sorted(expected - wheel_members)
    assert not missing, f"not in the wheel: {missing}"


def test_wheel_holds_no_tests_and_no_checkout_leftovers(wheel_members):
    tops = {name.split("/", 1)[0] for name in wheel_members if not name.split("/", 1)[0].endswith(".dist-info")}
    assert tops == set(PACKAGES)
    assert not [name for name in wheel_members if "__pycache__" in name or name.endswith(".pyc")]


def test_wheel_declares_the_cockpit_command(wheel, wheel_members):
    (entry_points,) = [name for name in wheel_members if name.endswith(".dist-info/entry_points.txt")]
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read(entry_points).decode()
    assert "cockpit = cockpit.cli:main" in text


def test_the_app_serves_its_assets_from_inside_the_package(app):
    # Outside the package (a top-level assets/), a wheel install would serve unstyled pages and no wall.js.
    assets = Path(app.config.assets_folder).resolve()
    package = Path(str(files("cockpit"))).resolve()
    assert assets.is_relative_to(package)
    assert {"cockpit.css", "wall.css", "wall.js"} <= {path.name for path in assets.iterdir()}
