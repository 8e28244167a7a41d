"""Smoke test of the installed wheel: build it, install it into a fresh venv outside the checkout, run the cockpit.

    python -m tests.packaging.smoke [--keep]      (from the checkout; `make smoke`, which CI runs)

The way a build is carried into an offline intranet is a wheel, not a checkout, so this runs what an
operator runs from a folder where the checkout is not importable: `cockpit demo` on a few days of a
small street, `cockpit pipeline run` (which makes the demo's accounts), `cockpit serve` on a free port;
then headless Chromium signs in as the demo's leader at /login, loads `/` and `/wall` and checks that
our CSS applied and wall.js ran, with no console error, no failed request
and nothing fetched from another host. Dependencies come from the registry through pip's own cache, so
a second run costs little.

The script runs twice: first in the checkout (build, venv, install), then, copied into the temporary
folder, with the fresh venv's Python (`--installed`), where it imports only the installed packages.
Any failure ends with one line `smoke: …` and a non-zero exit.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PACKAGES = ("cockpit", "pipelines", "warehouse")
DEMO_DAYS = 3
DEMO_SCALE = 0.05
SERVE_TIMEOUT = 120  # seconds for gunicorn to answer its first request on a busy 2-core machine
BROWSER_TIMEOUT = 60_000  # ms: what Chromium must see appear; more patience only costs time on failure


class SmokeError(Exception):
    """A step of the smoke test failed; the message is the one line printed."""


def build_wheel(out: Path, repo: Path) -> Path:
    """`pip wheel --no-deps` of a clean copy of the project, as a release would be built.

    A copy, because setuptools reuses a `build/` folder in the checkout: a file left there by an
    earlier build would end up in the wheel and hide one that is missing from the package data.
    """
    source = out / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(repo / name, source / name)
    for package in PACKAGES:
        shutil.copytree(repo / package, source / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    wheels = out / "wheels"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(wheels), str(source)])
    (wheel,) = wheels.glob("*.whl")
    return wheel


def run(args: list[str], **options) -> subprocess.CompletedProcess:
    """Run one step; print its time, or fail with its last line of output."""
    step = " ".join([Path(args[0]).name] + [a for a in args[1:4] if not a.startswith("-") and os.sep not in a])
    started = time.monotonic()
    done = subprocess.run(args, capture_output=True, text=True, **options)
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
        raise SmokeError(f"`{step}` exited {done.returncode}: {last}")
    print(f"  {step}: {time.monotonic() - started:.0f} s")
    return done


def clean_environment(**extra: str) -> dict[str, str]:
    """The caller's environment without anything that would make the checkout importable."""
    environ = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
    environ.update(extra)
    return environ


def prepare(keep: bool) -> None:
    """In the checkout: build the wheel, install it into a fresh venv in a temp folder, run the second half there."""
    repo = Path(__file__).resolve().parents[2]
    work = Path(tempfile.mkdtemp(prefix="cockpit-wheel-smoke-"))
    try:
        print(f"smoke: building and installing the wheel in {work}")
        wheel = build_wheel(work, repo)
        venv = work / "venv"
        run([sys.executable, "-m", "venv", str(venv)])
        python = venv / "bin" / "python"
        # With its dependencies, from the registry or pip's cache; never from the checkout. --no-compile: byte-
        # compiling every installed module (plotly alone has thousands) was most of the install's time, and
        # Python compiles what it imports anyway.
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
        run([*pip, str(wheel)], cwd=work)
        outside = work / "run"
        outside.mkdir()
        script = outside / "smoke_installed.py"
        shutil.copy2(__file__, script)
        # Not captured: the second half prints its own steps.
        done = subprocess.run(
            [str(python), str(script), "--installed"],
            cwd=outside,
            env=clean_environment(COCKPIT_HOME=str(work / "home")),
        )
        if done.returncode != 0:
            keep = True
            raise SystemExit(done.returncode)
    finally:
        if keep:
            print(f"smoke: kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def check_installed_packages() -> None:
    """Every package comes from the venv's site-packages, none from a checkout."""
    import importlib

    for package in PACKAGES:
        where = Path(importlib.import_module(package).__file__).resolve()
        if not where.is_relative_to(Path(sys.prefix).resolve()):
            raise SmokeError(f"{package} imported from {where}, not from the installed wheel in {sys.prefix}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_served(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + SERVE_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SmokeError(f"`cockpit serve` exited {server.returncode} before answering (see serve.log)")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise SmokeError(f"`cockpit serve` did not answer {url} within {SERVE_TIMEOUT} s")


class Watch:
    """What a page logs and requests while it is looked at: console errors, failed and outside requests."""

    def __init__(self, page, base_url: str) -> None:
        self.page, self.base_url = page, base_url
        self.problems: list[str] = []
        self.assets: dict[str, int] = {}
        # Requests in flight when the page is closed are aborted by us, not failed by the app.
        self.closing = False
        page.on("console", lambda message: message.type == "error" and self.note(f"console: {message.text}"))
        page.on("pageerror", lambda error: self.note(f"page error: {error}"))
        page.on("requestfailed", lambda request: self.note(f"request failed ({request.failure}): {request.url}"))
        page.on("request", self.on_request)
        page.on("response", self.on_response)

    def note(self, problem: str) -> None:
        if not self.closing:
            self.problems.append(problem)

    def on_request(self, request) -> None:
        if not request.url.startswith((self.base_url, "data:", "blob:")):
            self.note(f"request to another host: {request.url}")

    def on_response(self, response) -> None:
        path = response.url.removeprefix(self.base_url).split("?", 1)[0]
        if path.startswith("/assets/"):
            self.assets[path.removeprefix("/assets/")] = response.status
        if response.status >= 400:
            self.note(f"{response.status} on {path}")

    def open(self, path: str, ready: str) -> None:
        """Load `path`, wait for `ready` to be in the page and for Dash to finish its callbacks."""
        self.page.goto(f"{self.base_url}{path}", timeout=BROWSER_TIMEOUT)
        self.settle(ready)

    def settle(self, ready: str) -> None:
        """Wait for `ready` in the page as it is now, for the network to go quiet and Dash to finish."""
        self.page.wait_for_selector(ready, state="attached", timeout=BROWSER_TIMEOUT)
        self.page.wait_for_load_state("networkidle", timeout=BROWSER_TIMEOUT)
        # A locator wait, not a polled JS predicate: the app's CSP forbids string evals.
        self.page.locator('[data-dash-is-loading="true"]').first.wait_for(state="detached", timeout=BROWSER_TIMEOUT)

    def close(self) -> None:
        self.closing = True
        self.page.close()


def demo_account(home: Path) -> tuple[str, str]:
    """The leader's name and password from the demo's accounts file, which must be owner-only."""
    path = home / "secret" / "demo-accounts.txt"
    if not path.is_file():
        raise SmokeError(f"the demo made no accounts file at {path}")
    if path.stat().st_mode & 0o077:
        raise SmokeError(f"{path} is readable by others (mode {path.stat().st_mode & 0o777:o})")
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if not line.startswith("#") and len(fields) == 4 and fields[1] == "leader":
            return fields[0], fields[3]
    raise SmokeError(f"no leader account in {path}")


def check_kept_answers(home: Path) -> None:
    """The server kept the boards it answered beside the release (cockpit/answers.py), owner-only."""
    kept = [*(home / "cache" / "answers").rglob("*")]
    if not any(path.name.startswith("cache.db") for path in kept):
        raise SmokeError(f"the server kept no board answers under {home / 'cache' / 'answers'}")
    shared = [str(path) for path in kept if path.stat().st_mode & 0o077]
    if shared:
        raise SmokeError(f"kept answers readable by others: {', '.join(shared[:3])}")
    print(f"  kept answers: {len(kept)} files, owner-only")


def check_in_browser(base_url: str, account: tuple[str, str]) -> None:
    """Sign in at /login; `/` styled by cockpit.css, `/wall` fitted by wall.js; no error, no outside request."""
    from playwright.sync_api import sync_playwright

    from cockpit.briefing.pdf import CHROMIUM_FLAGS, find_chromium

    watches: list[Watch] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-CN")

            overview = Watch(context.new_page(), base_url)
            watches.append(overview)
            # Without a session the cockpit shows only its login page; the demo's leader signs in there.
            overview.open("/", ready="#login-submit")
            overview.page.fill("#username", account[0])
            overview.page.fill("#password", account[1])
            overview.page.click("#login-submit")
            # The sign-in lands on `/`; it is looked at as it loads. Opening it again here would abort the
            # first load's lazy chunks (plotly, the date picker) still in flight, and read as failed requests.
            overview.settle(".topbar")
            print(f"  /login: signed in as the demo's {account[0]}")
            # --cockpit-blue is declared only in cockpit.css; the top bar is painted with it.
            declared, blue, topbar = overview.page.evaluate(
                """() => {
                    const declared = getComputedStyle(document.documentElement).getPropertyValue('--cockpit-blue');
                    const probe = document.createElement('div');
                    probe.style.color = declared;
                    document.body.appendChild(probe);
                    const colour = getComputedStyle(probe).color;
                    probe.remove();
                    const topbar = getComputedStyle(document.querySelector('.topbar')).backgroundColor;
                    return [declared.trim(), colour, topbar];
                }"""
            )
            overview.close()
            if not declared or topbar != blue:
                raise SmokeError(f"cockpit.css not applied on /: top bar {topbar}, --cockpit-blue {declared!r}")
            print(f"  /: top bar {topbar} from cockpit.css")

            wall = Watch(context.new_page(), base_url)
            watches.append(wall)
            # wall.js marks the stage with the canvas it fitted the board to.
            wall.open("/wall?rotate=5", ready="#wall-stage[data-fit]")
            fit, position = wall.page.evaluate(
                """() => [document.getElementById('wall-stage').getAttribute('data-fit'),
                          getComputedStyle(document.getElementById('wall')).position]"""
            )
            wall.close()
            if position != "fixed":
                raise SmokeError(f"wall.css not applied on /wall: #wall is position {position}")
            print(f"  /wall: stage fitted by wall.js ({fit}), wall.css applied")
        finally:
            browser.close()
    problems = [problem for watch in watches for problem in watch.problems]
    assets = {name: status for watch in watches for name, status in watch.assets.items()}
    for name in ("cockpit.css", "wall.css", "wall.js"):
        if assets.get(name) != 200:
            problems.append(f"/assets/{name} answered {assets.get(name, 'never requested')}")
    if problems:
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        raise SmokeError(f"{len(problems)} problem(s) in the browser; first: {problems[0]}")


def installed() -> None:
    """In the fresh venv, outside the checkout: demo → pipeline → serve → Chromium."""
    check_installed_packages()
    print(f"smoke: cockpit installed in {sys.prefix}")
    cockpit = str(Path(sys.prefix) / "bin" / "cockpit")
    run([cockpit, "demo", "--days", str(DEMO_DAYS), "--scale", str(DEMO_SCALE)])
    run([cockpit, "pipeline", "run"])
    release = run([cockpit, "warehouse", "current"]).stdout.strip()
    if not Path(release).is_file():
        raise SmokeError(f"`cockpit warehouse current` names no file: {release!r}")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    # Its own process group, so that stopping it stops gunicorn's workers too.
    log = Path("serve.log").open("w")
    server = subprocess.Popen(
        [cockpit, "serve", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        wait_until_served(f"{base_url}/login", server)
        print(f"  cockpit serve: answering on {base_url}")
        check_in_browser(base_url, demo_account(Path(os.environ["COCKPIT_HOME"])))
        check_kept_answers(Path(os.environ["COCKPIT_HOME"]))
    finally:
        if server.poll() is None:
            os.killpg(server.pid, 15)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()
        log.close()
    print("smoke: the installed wheel serves a styled cockpit and a working wall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--installed", action="store_true", help="(internal) the half that runs in the fresh venv")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (venv, home) afterwards")
    options = parser.parse_args()
    try:
        installed() if options.installed else prepare(options.keep)
    except SmokeError as exc:
        print(f"smoke: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
