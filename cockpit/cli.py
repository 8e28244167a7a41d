"""The `cockpit` command: demo data, the nightly pipeline, warehouse releases.

Every command has --help; failures print one line to stderr and exit non-zero.
"""

from __future__ import annotations

import errno
import json
import shutil
import sys
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cockpit.access.accounts import ROLES, Permission
from cockpit.access.audit import Action
from cockpit.settings import Settings, SettingsError
from warehouse.engines import ENGINES
from warehouse.paths import keep_private

err = Console(stderr=True)
# Logs and pipes get full-width tables; a terminal gets its own width.
out = Console(width=None if sys.stdout.isatty() else 160)


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@contextmanager
def _progress(enabled: bool = True):
    """A progress callback (step, done, total) drawn on a terminal; silent otherwise."""
    bar = Progress(
        TextColumn("{task.description:<36}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not (enabled and err.is_terminal),
        transient=False,
    )
    tasks: dict[str, int] = {}

    def update(step: str, done: int, total: int) -> None:
        if step not in tasks:
            tasks[step] = bar.add_task(step, total=max(total, 1))
        bar.update(tasks[step], completed=done, total=max(total, 1))

    with bar:
        yield update


# Demo-size options shared by `demo` and `up`.
DEMO_DAYS = click.option(
    "--days", type=click.IntRange(1, 3660), default=365, show_default=True, help="Days of demo data to generate."
)
DEMO_SCALE = click.option(
    "--scale",
    type=click.FloatRange(0.01, 100),
    default=1.0,
    show_default=True,
    help="1 = one street (the demo street's published figures); 10 = a district of ten streets.",
)


def _os_reason(exc: OSError) -> str:
    """An operating-system error as one line: what failed, on which file, and what to do when the disk is full."""
    where = f" ({exc.filename})" if exc.filename else ""
    reason = f"{exc.strerror or exc}{where}"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        reason += " — free disk space under COCKPIT_HOME (see `cockpit warehouse doctor`) and run again"
    return " ".join(reason.split())


def _settings() -> Settings:
    try:
        return Settings.load()
    except SettingsError as exc:
        _fail(str(exc))


def _ensure_home(settings: Settings):
    try:
        return settings.paths.ensure()
    except OSError as exc:
        _fail(f"cannot create COCKPIT_HOME's folders: {_os_reason(exc)}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """街道数字驾驶舱 — street command-centre cockpit.

    Data lives under $COCKPIT_HOME (default ./var): landing/, lake/,
    quarantine/, warehouse/. See the README for configuration.
    """
    keep_private()


def _serve(host: str, port: int, workers: int) -> None:
    """Replace this process with gunicorn serving the cockpit (set-up and its reasons: cockpit/serving.py)."""
    import os

    from cockpit.serving import THREADS, gunicorn_command

    settings = _settings()
    from warehouse.releases import resolve_release

    # A broken CURRENT does not stop the server: the app serves the newest kept release that opens,
    # under a red banner, as it does when CURRENT breaks while it runs.
    resolved = resolve_release(settings.paths)
    if resolved.path is None:
        if resolved.problem == "CURRENT is missing" and not any(settings.paths.releases.glob("*.duckdb")):
            _fail("no warehouse release yet: run `cockpit pipeline run` (or `cockpit up`)")
        _fail(f"no usable warehouse release ({resolved.problem}): run `cockpit warehouse doctor`")
    if resolved.problem:
        click.echo(f"warning: {resolved.problem}; serving {resolved.path.name} until it is fixed", err=True)
    click.echo(
        f"serving the cockpit on http://{host}:{port}/ with {workers} workers × {THREADS} threads · Ctrl-C stops it"
    )
    os.environ["COCKPIT_HOME"] = str(settings.home)
    args = gunicorn_command(settings.home, host, port, workers)
    os.execv(args[0], args)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: the whole LAN).")
@click.option("--port", type=click.IntRange(1, 65535), default=8050, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="gunicorn worker processes.")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the cockpit under gunicorn, reading the current warehouse release.

    A newly published release (or a rollback) is picked up on the next request;
    no restart is needed after the nightly run.
    """
    _serve(host, port, workers)


@main.command()
@DEMO_DAYS
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="First day (default: the range ends yesterday).")
@click.option(
    "--end", type=click.DateTime(["%Y-%m-%d"]), help="Last day when --start is not given (default: yesterday)."
)
@DEMO_SCALE
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same files, byte for byte.")
@click.option("--clean", is_flag=True, help="Delete existing landing files first.")
def demo(days: int, start, end, scale: float, seed: int, clean: bool) -> None:
    """Write demo landing extracts for a street calibrated on published figures.

    The extracts carry the dirt real exports have (mixed encodings, duplicates,
    malformed rows, late events, sensor spikes, a changed header); a manifest
    of what was injected is written to landing/_demo_manifest.json.

    The street is the configured one ([street] in cockpit.toml: its name and
    area). A home with no cockpit.toml yet gets the demo street's [street]
    table written into one; an existing config is never changed.
    """
    settings = _settings()
    home = _ensure_home(settings)
    if clean and home.landing.exists():
        shutil.rmtree(home.landing)
        home.landing.mkdir(parents=True)
    _generate_demo(
        home, days=days, start=start.date() if start else None, end=end.date() if end else None, scale=scale, seed=seed
    )


def _demo_street(settings: Settings):
    """The street the demo generates: the configured [street] (its name and area), else the demo street.

    A home with no config file yet gets the demo street's [street] table written into its
    cockpit.toml, so the demo names itself through the settings any street uses; an existing
    config (the home's file or COCKPIT_CONFIG's) is never touched.
    """
    from pipelines.demo.profile import DemoStreet, write_street_config

    config = settings.config_file or settings.home / "cockpit.toml"
    try:
        written = write_street_config(config)
    except OSError as exc:
        _fail(f"demo configuration not written: {_os_reason(exc)}")
    if written:
        click.echo(f"demo street configured in {config}")
        settings = _settings()
    if settings.street.configured:
        return DemoStreet.configured(settings.street.name, settings.area)
    return DemoStreet.from_file()


def _generate_demo(home, *, days: int, scale: float, seed: int = 7, start=None, end=None) -> None:
    from pipelines.demo import generate

    street = _demo_street(_settings())
    try:
        with _progress() as progress:
            manifest = generate(
                home.landing,
                days=days,
                start=start,
                end=end,
                scale=scale,
                seed=seed,
                progress=progress,
                street=street,
            )
    except OSError as exc:
        _fail(f"demo landing not written: {_os_reason(exc)}")
    except ValueError as exc:
        _fail(f"demo landing not written: {exc}")
    click.echo(
        f"demo landing written for {street.name}: {manifest['start']} … {manifest['end']}, scale {scale}, seed {seed} "
        f"→ {home.landing}"
    )


@main.group()
def pipeline() -> None:
    """Load landing extracts into the lake and publish a warehouse release."""


@pipeline.command("run")
@click.option("--day", type=click.DateTime(["%Y-%m-%d"]), help="(Re)load this landing day only.")
@click.option("--all", "rebuild_all", is_flag=True, help="Reload every landing day.")
@click.option("--full", is_flag=True, help="Build the release from scratch, not on the current one.")
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default="duckdb",
    show_default=True,
    help="What builds the SQL models (spark: pip install 'street-cockpit[spark]' and Java).",
)
@click.option("--spark-master", metavar="URL", help="The Spark cluster (spark://…, yarn, k8s://…); default local.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary on stdout.")
def pipeline_run(day, rebuild_all: bool, full: bool, engine: str, spark_master: str | None, as_json: bool) -> None:
    """Load every landing day not yet loaded, build a release, check it, publish it.

    Bad rows go to quarantine with a reason; unreadable files are quarantined
    whole. Exit codes: 0 published or up to date, 1 the release failed its
    build or checks (the previous release stays current), 3 nothing usable was
    loaded.
    """
    if day and rebuild_all:
        _fail("--day and --all cannot be combined", 2)
    if spark_master and engine != "spark":
        _fail("--spark-master needs --engine spark", 2)
    summary = _run_pipeline(
        day=day.date() if day else None,
        rebuild_all=rebuild_all,
        full=full,
        engine=engine,
        spark_master=spark_master,
        quiet=as_json,
    )
    if as_json:
        click.echo(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_summary(summary)
    if summary.exit_code:
        click.echo(f"error: {summary.message}", err=True)
        sys.exit(summary.exit_code)
    if not as_json:
        _demo_accounts(_settings())


def _run_pipeline(
    *,
    day: date | None = None,
    rebuild_all: bool = False,
    full: bool = False,
    engine: str = "duckdb",
    spark_master: str | None = None,
    quiet: bool = False,
):
    from pipelines.freshness import stale_after_days
    from pipelines.mapping import MappingError
    from pipelines.run import PipelineError, run_pipeline

    settings = _settings()
    try:
        with _progress(enabled=not quiet) as progress:
            return run_pipeline(
                settings.paths,
                salt=settings.salt(),
                keep_releases=settings.keep_releases,
                extra_mappings=settings.extra_mappings,
                day=day,
                rebuild_all=rebuild_all,
                stale_after_days=stale_after_days(settings.stale_after_hours),
                build_memory=settings.build_memory,
                full=full,
                full_build_every_days=settings.full_build_every_days,
                engine=engine,
                spark_master=spark_master,
                progress=progress,
                area=settings.area,
            )
    except (PipelineError, MappingError) as exc:
        _fail(str(exc))
    except OSError as exc:  # a full disk, a folder it may not write: the previous release stays current
        _fail(f"pipeline run stopped: {_os_reason(exc)}")


def _print_summary(summary) -> None:
    data = summary.to_dict()
    table = Table(title=f"run {data['run_id']} · {data['status']}")
    for column in ("source", "days", "files", "rejected", "read", "loaded", "quarantined"):
        table.add_column(column, justify="left" if column == "source" else "right", no_wrap=True)
    for source, s in data["sources"].items():
        table.add_row(
            source,
            str(s["days"]),
            str(s["files"]),
            str(s["files_rejected"]),
            f"{s['rows_read']:,}",
            f"{s['rows_loaded']:,}",
            f"{s['rows_quarantined']:,}",
        )
    console = out
    console.print(table)
    for source, s in data["sources"].items():
        if s["quarantined_by_reason"]:
            reasons = ", ".join(f"{k} {v:,}" for k, v in sorted(s["quarantined_by_reason"].items()))
            console.print(f"quarantine · {source}: {reasons}", highlight=False)
    for warning in data["warnings"]:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"{data['message']} · data through {data['data_through']} · {data['duration_s']} s")
    if data["build"]:
        click.echo(data["build"])
    if data["stages"]:
        from pipelines.run import time_text

        click.echo(f"time: {time_text(data)}")


@pipeline.command("runs")
@click.option("--limit", type=int, default=10, show_default=True)
def pipeline_runs(limit: int) -> None:
    """List recent pipeline runs from the ledger."""
    from warehouse.ledger import read_ledger

    runs = read_ledger(_settings().paths, "ops_run").sort_by([("started_at", "descending")]).slice(0, limit)
    table = Table()
    for column in ("run_id", "status", "mode", "loaded", "quarantined", "rejected files", "data through", "seconds"):
        table.add_column(column)
    for r in runs.to_pylist():
        table.add_row(
            r["run_id"],
            r["status"],
            r["mode"],
            f"{r['rows_loaded']:,}",
            f"{r['rows_quarantined']:,}",
            str(r["files_rejected"]),
            str(r["data_through"] or ""),
            f"{r['duration_s']:.1f}",
        )
    out.print(table)


@main.command()
@click.option(
    "--kind",
    type=click.Choice(["brief", "bulletin"]),
    default="brief",
    show_default=True,
    help="brief: the 工作简报 of a period; bulletin: the monthly 考核通报 (scorecard rankings) of one month.",
)
@click.option(
    "--period",
    default=None,
    help="week | month | quarter (the last complete one), YYYY-MM (one month) or YYYY-MM-DD:YYYY-MM-DD. "
    "Default: week for a brief, the last complete month for a bulletin.",
)
@click.option("--community", help="One community (its id or name); default: the whole street (or --as's scope).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="PDF to write (default: briefs/…).")
@click.option(
    "--as",
    "as_user",
    metavar="USER",
    help="Make the brief as this user: their scope, their name as 生成人 and on the watermark.",
)
def brief(kind: str, period: str | None, community: str | None, out: Path | None, as_user: str | None) -> None:
    """Write a briefing PDF (简报) for a period, or the monthly 考核通报 (--kind bulletin), from the current release.

    Printed by headless Chromium (the `chromium` package, or COCKPIT_CHROMIUM).
    Without --as the brief is the street's, made by the command line (生成人 系统（命令行）);
    with --as USER it holds only what USER sees (an enabled user with the briefs permission).
    Either way it is written to the audit trail. Weekly, every Monday at 07:30 (cron):

        30 7 * * 1  cd /srv/cockpit && .venv/bin/cockpit brief --period week

    The bulletin ranks departments, communities and grids by the scorecards (cockpit/metrics/scorecards.yaml),
    as the 考核排名 page does; on the 3rd of each month, for the month before:

        0 8 3 * *  cd /srv/cockpit && .venv/bin/cockpit brief --kind bulletin
    """
    from cockpit.briefing import BriefSpec, NoData, RenderError
    from cockpit.briefing.jobs import make_brief
    from cockpit.data import NoRelease, Warehouse, use_warehouse

    settings = _settings()
    author = _brief_author(settings, as_user)
    store = Warehouse(settings.paths, settings.stale_after_hours)
    use_warehouse(store)
    try:
        info = store.info
        spec = BriefSpec(_brief_period(kind, period, info.data_through), _community_id(store, community), kind=kind)
        with _progress() as update:
            path = make_brief(
                store,
                spec,
                settings.paths.briefs,
                out=out,
                chromium=settings.chromium,
                progress=update,
                author=author,
                watermark=settings.watermark,
                via=_cli_actor() if as_user else "",
                street=settings.street.name,
            )
    except (NoRelease, NoData, RenderError, ValueError) as exc:
        _fail(str(exc))
    click.echo(str(path))


def _brief_period(kind: str, period: str | None, data_through):
    """The period `--period` names: YYYY-MM is one month; a bulletin's default is the last complete month."""
    from cockpit.metrics import Period
    from cockpit.metrics.scorecards import last_complete_month, month_period

    if kind == "bulletin" and period in (None, "month"):
        return month_period(last_complete_month(data_through))
    if period and len(period.strip()) == 7 and period.strip()[4] == "-":
        return month_period(period)
    return Period.parse(period or "week", data_through)


# Who a brief of the command line is by when no user is named (生成人 on its cover).
CLI_AUTHOR_NAME = "系统（命令行）"


def _brief_author(settings: Settings, as_user: str | None):
    """The principal a `cockpit brief` runs as: the named user, or the command line with the street's scope."""
    import dataclasses

    from cockpit.access.accounts import find
    from cockpit.access.principal import SYSTEM, Principal
    from cockpit.access.state import StateError, connect

    if not as_user:
        return dataclasses.replace(SYSTEM, name=_cli_actor(), display_name=CLI_AUTHOR_NAME)
    try:
        account = find(connect(_ensure_home(settings)), as_user.strip().lower())
    except (StateError, OSError) as exc:
        _fail(f"cannot use the app-state database: {exc}")
    if account is None:
        _fail(f"--as {as_user}: no such user (see `cockpit user list`)")
    if account.disabled:
        _fail(f"--as {as_user}: the user is disabled")
    if not account.may(Permission.BRIEFS):
        _fail(f"--as {as_user}: a {account.role.name} ({account.role.label}) may not make briefs")
    return Principal.for_account(account, account.grants)


def _community_id(store, community: str | None) -> str | None:
    """A community given by id or by name, as its id."""
    if not community:
        return None
    frame = store.dataset("communities")
    match = frame[(frame["community_id"] == community) | (frame["name"] == community)]
    if match.empty:
        raise ValueError(f"unknown community {community!r}: give its id (e.g. S01C005) or its name")
    return str(match["community_id"].iloc[0])


@main.group()
def warehouse() -> None:
    """Inspect warehouse releases and roll back a bad load."""


@warehouse.command("current")
def warehouse_current() -> None:
    """Print the path of the current release."""
    from warehouse.releases import current_release

    path = current_release(_settings().paths)
    if path is None:
        _fail("no release yet: run `cockpit pipeline run`")
    click.echo(str(path))


@warehouse.command("releases")
def warehouse_releases() -> None:
    """List the kept releases, newest last; * marks the current one."""
    from warehouse.releases import list_releases

    releases = list_releases(_settings().paths)
    if not releases:
        _fail("no release yet: run `cockpit pipeline run`")
    for r in releases:
        click.echo(
            f"{'*' if r.is_current else ' '} {r.run_id}  {r.size_bytes / 2**20:8.1f} MiB  {r.created:%Y-%m-%d %H:%M:%S}"
        )


@main.group()
def source() -> None:
    """Onboard a new export: draft a mapping from a sample, then dry-run it (see pipelines/sources/README.md)."""


@source.command("check")
@click.argument("mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--sample",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="One export file to try (default: every file in landing/<source>/ of COCKPIT_HOME).",
)
def source_check(mapping: Path, sample: Path | None) -> None:
    """Dry run: what MAPPING would load, quarantine (with examples) and leave unmapped. Writes nothing.

    Exits 0 when every entry matches a file and would load rows, 1 otherwise.
    """
    from pipelines.mapping import MappingError
    from pipelines.onboard import check_mapping, format_report

    settings = _settings()
    try:
        loaded, reports = check_mapping(
            mapping, settings.paths, sample=sample, extra_mappings=settings.extra_mappings, area=settings.area
        )
    except MappingError as exc:
        _fail(str(exc))
    click.echo(format_report(loaded, reports))
    if not reports or not all(r.ok for r in reports):
        sys.exit(1)


@source.command("draft")
@click.argument("export", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", "source_name", help="The source name (default: from the file name).")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the mapping here (default: stdout)."
)
def source_draft(export: Path, source_name: str | None, out: Path | None) -> None:
    """Write a starting mapping for a sample EXPORT: the table and fields guessed from its header."""
    from pipelines.onboard import draft_mapping
    from pipelines.readers import FileRejected

    try:
        text = draft_mapping(export, source_name)
    except FileRejected as exc:
        _fail(f"{export.name}: {exc}")
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}")


@warehouse.command("rollback")
@click.argument("run_id", required=False)
def warehouse_rollback(run_id: str | None) -> None:
    """Make RUN_ID (default: the release before the current one) current again, and make it stick.

    The landing days the undone runs loaded are rejected in the ledger and their lake
    partitions are moved to set_aside/ (not deleted), so the next nightly `pipeline run`
    neither reloads nor republishes them. `cockpit pipeline accept DAY` takes a day back;
    a new delivery of the day (changed files) is loaded as usual.
    """
    from warehouse.releases import ReleaseError, rollback

    try:
        done = rollback(_settings().paths, run_id)
    except ReleaseError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"rollback stopped: {_os_reason(exc)}")
    click.echo(f"current release is now {done.run_id}")
    if done.rejected:
        days = sorted({d.isoformat() for _, d in done.rejected})
        click.echo(
            f"rejected {len(done.rejected)} landing day(s) of the undone run(s): {', '.join(days)}; "
            f"{len(done.set_aside)} lake file(s) moved to set_aside/ · `cockpit pipeline accept DAY` takes one back"
        )


@warehouse.command("doctor")
@click.option(
    "--min-free-gib",
    type=click.FloatRange(0),
    help="Free disk space to insist on (default: 1 GiB, or three times the newest release).",
)
def warehouse_doctor(min_free_gib: float | None) -> None:
    """Check the pointer, every kept release, the lake against the ledger, leftover builds and free disk.

    Prints one line per finding with what to do (ok / problem / note) and exits 1 when
    there is a problem. It repairs nothing.
    """
    from warehouse.doctor import GIB, examine

    findings = examine(_settings().paths, None if min_free_gib is None else int(min_free_gib * GIB))
    for finding in findings:
        click.echo(finding.line(), err=finding.level == "problem")
    if any(f.level == "problem" for f in findings):
        sys.exit(1)


@pipeline.command("accept")
@click.argument("day", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--source", help="Only this source's delivery of DAY (default: every source rejected for DAY).")
def pipeline_accept(day, source: str | None) -> None:
    """Take back a rollback's rejection of landing day DAY: the next `pipeline run` loads it again."""
    from warehouse.releases import ReleaseError, accept_day

    try:
        accepted = accept_day(_settings().paths, day.date(), source)
    except ReleaseError as exc:
        _fail(str(exc))
    sources = ", ".join(r.source for r in accepted)
    click.echo(f"accepted {day.date().isoformat()} of {sources}: the next `cockpit pipeline run` loads it")


@main.command()
@DEMO_DAYS
@DEMO_SCALE
@click.option("--port", type=click.IntRange(1, 65535), default=8050, show_default=True)
@click.option("--no-serve", is_flag=True, help="Stop when the warehouse is ready (scripts, CI).")
def up(days: int, scale: float, port: int, no_serve: bool) -> None:
    """Everything from nothing: demo data if there is none, the pipeline, then serve the cockpit."""
    settings = _settings()
    home = _ensure_home(settings)
    if not any(p.is_dir() for p in home.landing.iterdir()):
        _generate_demo(home, days=days, scale=scale)
    summary = _run_pipeline()
    _print_summary(summary)
    if summary.exit_code:
        _fail(summary.message, summary.exit_code)
    from warehouse.releases import current_release

    click.echo(f"warehouse ready: {current_release(home)}")
    _demo_accounts(settings)
    if not no_serve:
        _serve("127.0.0.1", port, 2)


def _demo_accounts(settings) -> None:
    """On a demo home: make its accounts (printed once), or say where they are kept."""
    from cockpit.access.demo import demo_accounts_file, ensure_demo_accounts

    made = ensure_demo_accounts(settings)
    path = demo_accounts_file(settings)
    if made:
        click.echo("demo accounts (shown once; kept, owner-only, in " + str(path) + "):")
        for each in made:
            click.echo(f"  {each.name:<10} {each.role:<10} {each.scope:<22} {each.password}")
    elif settings.paths.demo_manifest.exists() and path.exists():
        click.echo(f"sign in with a demo account listed in {path}")


# --- users and the audit trail (cockpit/access). Whoever can run these owns COCKPIT_HOME, so the console is trusted:
# that is how the first admin is made, and every change is recorded with the operating-system user as its actor.


def _cli_actor() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"


@contextmanager
def _access(kind=None):
    """Accounts (or `kind`, e.g. ScreenTokens) on the home's state database; an access problem becomes one line."""
    from cockpit.access.accounts import AccessError, Accounts
    from cockpit.access.audit import AuditError
    from cockpit.access.state import StateError, connect

    settings = _settings()
    home = _ensure_home(settings)
    try:
        conn = connect(home)
        yield (kind or Accounts)(conn, settings)
    except (AccessError, AuditError, StateError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot use the app-state database: {_os_reason(exc)}")


def _scope_option(value: str | None):
    from cockpit.access.accounts import AccessError, Scope

    if value is None:
        return None
    try:
        return Scope.parse(value)
    except AccessError as exc:
        raise click.BadParameter(str(exc)) from None


ROLE_CHOICE = click.Choice(list(ROLES))
PERMISSION_CHOICE = click.Choice([p.value for p in Permission])
SCOPE_OPTION = click.option(
    "--scope",
    callback=lambda _ctx, _param, value: _scope_option(value),
    help="street | community:ID,ID… | grid:ID,ID… (ids checked against the current release).",
)


def _print_password(name: str, password: str) -> None:
    click.echo(f"password for {name} (shown once; it must be changed at the first login): {password}")


@main.group()
def user() -> None:
    """Local accounts: roles, scope, passwords (the app does not ask for a login yet).

    First run: `cockpit user add admin --role admin` makes the first admin and prints its password once.
    """


@user.command("add")
@click.argument("name")
@click.option("--role", type=ROLE_CHOICE, required=True, help="What the user may do (see README: roles).")
@SCOPE_OPTION
@click.option("--display-name", default="", help="The name shown in the app and on watermarks.")
@click.option("--password-stdin", is_flag=True, help="Read the initial password from stdin instead of making one.")
def user_add(name: str, role: str, scope, display_name: str, password_stdin: bool) -> None:
    """Add a user; prints a random initial password once (never a default one)."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    with _access() as accounts:
        account, password = accounts.create(
            name, role, actor=_cli_actor(), scope=scope, display_name=display_name, password=password
        )
    click.echo(f"added {account.name}: {account.role.name} ({account.role.label}), scope {account.scope}")
    if not password_stdin:
        _print_password(account.name, password)


@user.command("list")
def user_list() -> None:
    """The users, their roles, scopes and state (no password hashes)."""
    from cockpit.access.accounts import accounts as all_accounts
    from cockpit.access.accounts import locked_until

    with _access() as accounts:
        table = Table("name", "display name", "role", "grants", "scope", "state", "created")
        for a in all_accounts(accounts.conn):
            state = "disabled" if a.disabled else "must change password" if a.must_change_password else "active"
            if locked_until(accounts.conn, a.name):
                state += ", locked"
            grants = ", ".join(sorted(p.value for p in a.grants))
            role = f"{a.role.name} ({a.role.label})"
            table.add_row(a.name, a.display_name, role, grants, str(a.scope), state, a.created_at[:19])
    out.print(table)


@user.command("set-role")
@click.argument("name")
@click.argument("role", type=ROLE_CHOICE)
def user_set_role(name: str, role: str) -> None:
    """Give NAME another role (their sessions end)."""
    with _access() as accounts:
        account = accounts.set_role(name, role, actor=_cli_actor())
    click.echo(f"{account.name} is now {account.role.name} ({account.role.label})")


@user.command("set-scope")
@click.argument("name")
@click.argument("scope", callback=lambda _ctx, _param, value: _scope_option(value))
def user_set_scope(name: str, scope) -> None:
    """Set what NAME sees: street, community:ID,ID… or grid:ID,ID… (their sessions end)."""
    with _access() as accounts:
        account = accounts.set_scope(name, scope, actor=_cli_actor())
    click.echo(f"{account.name} now sees {account.scope}")


@user.command("disable")
@click.argument("name")
def user_disable(name: str) -> None:
    """Stop NAME from logging in (their sessions end); the account and its audit entries stay."""
    with _access() as accounts:
        accounts.disable(name, actor=_cli_actor())
    click.echo(f"{name} disabled")


@user.command("enable")
@click.argument("name")
def user_enable(name: str) -> None:
    """Let a disabled user log in again."""
    with _access() as accounts:
        accounts.enable(name, actor=_cli_actor())
    click.echo(f"{name} enabled")


@user.command("reset-password")
@click.argument("name")
def user_reset_password(name: str) -> None:
    """A new random password for NAME, printed once; they must change it at the next login."""
    with _access() as accounts:
        password = accounts.reset_password(name, actor=_cli_actor())
    _print_password(name, password)


@user.command("grant")
@click.argument("name")
@click.argument("permission", type=PERMISSION_CHOICE)
def user_grant(name: str, permission: str) -> None:
    """Let NAME do one thing beyond their role, e.g. `personal` (party members' personal records) (sessions end)."""
    with _access() as accounts:
        account = accounts.grant(name, permission, actor=_cli_actor())
    click.echo(
        f"granted {permission} to {account.name} (grants now: {', '.join(sorted(p.value for p in account.grants))})"
    )


@user.command("revoke-grant")
@click.argument("name")
@click.argument("permission", type=PERMISSION_CHOICE)
def user_revoke_grant(name: str, permission: str) -> None:
    """Take back a permission granted to NAME (their sessions end)."""
    with _access() as accounts:
        account = accounts.revoke_grant(name, permission, actor=_cli_actor())
    click.echo(f"revoked the grant of {permission} from {account.name}")


@main.group()
def token() -> None:
    """Wall screen tokens: a wall PC opens /wall?token=… instead of typing a password; view only, its own scope."""


@token.command("add")
@click.argument("name")
@click.option(
    "--scope",
    required=True,
    callback=lambda _ctx, _param, value: _scope_option(value),
    help="What the wall shows: street | community:ID,ID… | grid:ID,ID… (ids checked against the current release).",
)
def token_add(name: str, scope) -> None:
    """Issue a token named NAME; prints it once (only its hash is kept). A revoked NAME may be issued again."""
    from cockpit.access.tokens import ScreenTokens

    with _access(ScreenTokens) as tokens:
        issued, secret = tokens.issue(name, scope, actor=_cli_actor())
    click.echo(f"issued screen token {issued.name}: scope {issued.scope}")
    click.echo(f"open on the wall PC (shown once, it cannot be shown again): /wall?token={secret}")


@token.command("list")
def token_list() -> None:
    """The tokens, their scopes, when they were made and last used, and whether revoked (never the secrets)."""
    from cockpit.access.tokens import ScreenTokens

    with _access(ScreenTokens) as tokens:
        rows = tokens.list()
    table = Table("name", "scope", "created (UTC)", "by", "last used (UTC)", "state")
    for t in rows:
        state = "active" if t.active else f"revoked {t.revoked_at[:19]}"
        table.add_row(t.name, str(t.scope), t.created_at[:19], t.created_by, (t.last_used_at or "never")[:19], state)
    out.print(table)


@token.command("revoke")
@click.argument("name")
def token_revoke(name: str) -> None:
    """Stop the token NAME: its wall goes blank at its next refresh."""
    from cockpit.access.tokens import ScreenTokens

    with _access(ScreenTokens) as tokens:
        revoked = tokens.revoke(name, actor=_cli_actor())
    click.echo(f"screen token {revoked.name} revoked")


@main.group("audit")
def audit_group() -> None:
    """The audit trail: who logged in, exported, generated briefs, changed users."""


@audit_group.command("verify")
def audit_verify() -> None:
    """Check the hash chain; exit 1 and name the first broken entry if one was edited, deleted or reordered."""
    from cockpit.access import audit

    with _access() as accounts:
        result = audit.verify(accounts.conn)
    if not result.ok:
        _fail(result.line())
    click.echo(result.line())


@audit_group.command("list")
@click.option("--user", "actor", help="Only entries by this actor (a user name, or cli:<os user>).")
@click.option("--action", type=click.Choice([a.value for a in Action]))
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="From this day (UTC) on.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Before this day (UTC).")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
def audit_list(actor: str | None, action: str | None, since, until, limit: int) -> None:
    """The newest entries first."""
    from datetime import UTC

    from cockpit.access import audit

    with _access() as accounts:
        rows = audit.entries(
            accounts.conn,
            actor=actor,
            action=action,
            since=since.replace(tzinfo=UTC) if since else None,
            until=until.replace(tzinfo=UTC) if until else None,
            limit=limit,
        )
    table = Table("seq", "at (UTC)", "actor", "action", "target", "outcome", "detail")
    for e in rows:
        table.add_row(str(e.seq), e.at[:19], e.actor, e.action, e.target, e.outcome, e.detail)
    out.print(table)


@audit_group.command("prune")
@click.option(
    "--older-than",
    type=int,
    help="Days to keep (default: COCKPIT_AUDIT_RETENTION_DAYS; never fewer than 180).",
)
def audit_prune(older_than: int | None) -> None:
    """Remove entries older than the retention; the chain stays verifiable from the last removed entry."""
    from cockpit.access import audit

    with _access() as accounts:
        days = older_than if older_than is not None else accounts.settings.audit_retention_days
        removed = audit.prune(accounts.conn, older_than_days=days, actor=_cli_actor())
    click.echo(f"removed {removed} audit entries older than {days} days")


if __name__ == "__main__":
    main()
