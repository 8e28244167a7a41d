"""Making briefs: one call for the CLI, background jobs with progress for the app, the list of briefs.

A brief is written to $COCKPIT_HOME/briefs/<slug>_<time>[-n].pdf (the name reserved on disk
first, so briefs made in the same second never overwrite each other) with a small JSON
file beside it (title, period, scope, release, who made it and the rows it covers) for the
list page. A brief is shown and served only to a reader whose scope holds all its rows
(`readable`); every brief made or downloaded is written to the audit trail. An app job
runs in a thread of the worker that got the request and records its progress in
briefs/.jobs/<id>.json, so whichever worker answers the progress poll can read it.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cockpit.access import audit
from cockpit.access.audit import Action
from cockpit.access.principal import Principal, acting_as, current_principal
from cockpit.access.state import connect
from cockpit.briefing.content import SECTIONS, Brief, BriefSpec, Coverage, NoData, collect
from cockpit.briefing.pdf import RenderError, find_chromium, render_pdf
from cockpit.data import ScopedWarehouse, Warehouse
from warehouse.paths import Home

# A 工作简报 is brief_…pdf, a 考核通报 bulletin_…pdf (BriefSpec.slug); nothing else in the folder is served.
BRIEF_NAME = re.compile(r"^(?:brief|bulletin)_[0-9A-Za-z_-]+\.pdf$")
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
# Progress steps: one per module section, the overdue list, then printing.
TOTAL_STEPS = len(SECTIONS) + 2
# One Chromium print at a time per worker process (each takes a few hundred MB); others queue.
_PRINTING = threading.Semaphore(1)
# A job that has not reported for this long died with its worker (a restart): say so.
STALLED_AFTER_S = 600


@dataclass(frozen=True)
class BriefFile:
    path: Path
    title: str
    period: str
    scope: str
    generated_at: str
    run_id: str
    size: int
    author: str = ""  # the generating principal's label (生成人)
    coverage: Coverage | None = None  # None: a brief from before access control, for street-wide readers only

    def readable_by(self, principal: Principal) -> bool:
        if self.coverage is None:
            return principal.street_wide
        return self.coverage.readable_by(principal.scope)


def reserve_brief_path(directory: Path, slug: str, generated_at: datetime) -> Path:
    """A new, unused file name for a brief, created empty and exclusively (O_EXCL) so no other job takes it.

    Names carry the generation second; a second brief of the same slug in the same second gets `-2`,
    then `-3`…; the PDF later replaces the empty file in place.
    """
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{slug}_{generated_at:%Y%m%dT%H%M%S}"
    for number in itertools.count(1):
        path = directory / (f"{stem}.pdf" if number == 1 else f"{stem}-{number}.pdf")
        try:
            path.open("xb").close()
        except FileExistsError:
            continue
        return path
    raise AssertionError("unreachable")


def make_brief(
    warehouse: Warehouse | ScopedWarehouse,
    spec: BriefSpec,
    directory: Path,
    *,
    out: Path | None = None,
    chromium: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    author: Principal | None = None,
    watermark: bool = True,
    via: str = "",
    street: str = "",
) -> Path:
    """Collect and print one brief as `author` sees it (default: the current principal); returns the PDF's path.

    Raises NoData (OutOfScope) or RenderError, each with a one-line message. The brief is audited as made by
    `author`; `via` says through what when that is not the app (the command line: "cli:<os user>").
    """
    author = author or current_principal()
    executable = find_chromium(chromium)  # fail before the queries when there is no browser
    brief = collect(warehouse, spec, progress=progress, author=author, watermark=watermark, street=street)
    if progress:
        progress("生成PDF", TOTAL_STEPS - 1, TOTAL_STEPS)
    reserved = out is None
    out = out or reserve_brief_path(directory, spec.slug, brief.generated_at)
    try:
        with acting_as(author):  # the print page names places through current_warehouse(): the author's
            render_pdf(brief, out, chromium=executable)
    except BaseException:
        if reserved:
            out.unlink(missing_ok=True)
        raise
    if out.parent == directory:
        out.with_suffix(".json").write_text(json.dumps(_sidecar(brief), ensure_ascii=False), encoding="utf-8")
    record_brief(warehouse.home, author, "generate", _audit_detail(brief, out.name), via=via)
    if progress:
        progress("完成", TOTAL_STEPS, TOTAL_STEPS)
    return out


def _sidecar(brief: Brief) -> dict:
    return {
        "title": brief.title,
        "period": str(brief.spec.period),
        "scope": brief.scope_name,
        "generated_at": f"{brief.generated_at:%Y-%m-%d %H:%M}",
        "run_id": brief.release.run_id,
        "author": brief.author.name,
        "author_label": brief.author.label,
        "coverage": brief.coverage.as_json(),
    }


def _audit_detail(brief: Brief, file: str) -> dict:
    return {"period": str(brief.spec.period), "scope": str(brief.coverage.scope), "file": file}


def record_brief(home: Home, principal: Principal, kind: str, detail: dict, *, via: str = "") -> None:
    """One audit entry (Action.BRIEF) for a brief made or downloaded, with the principal as actor."""
    detail = {"kind": kind, **detail, **({"via": via} if via else {})}
    audit.append(connect(home), principal.name, Action.BRIEF, target=detail.get("file", ""), detail=detail)


def list_briefs(directory: Path) -> list[BriefFile]:
    """Briefs made so far, newest first."""
    found = []
    for path in sorted(directory.glob("*.pdf")) if directory.exists() else ():
        if not BRIEF_NAME.match(path.name):
            continue
        if path.stat().st_size == 0:
            continue  # a name reserved by a brief still printing
        meta_path = path.with_suffix(".json")
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
        found.append(
            BriefFile(
                path=path,
                title=meta.get("title", path.stem),
                period=meta.get("period", ""),
                scope=meta.get("scope", ""),
                generated_at=meta.get("generated_at", f"{datetime.fromtimestamp(path.stat().st_mtime):%Y-%m-%d %H:%M}"),
                run_id=meta.get("run_id", ""),
                size=path.stat().st_size,
                author=meta.get("author_label", ""),
                coverage=Coverage.from_json(meta.get("coverage")),
            )
        )
    return sorted(found, key=lambda brief: brief.path.stat().st_mtime, reverse=True)


def brief_path(directory: Path, name: str) -> Path | None:
    """The brief called `name` in `directory`, or None for anything else (no path tricks)."""
    if not BRIEF_NAME.match(name):
        return None
    path = directory / name
    return path if path.is_file() else None


def readable_briefs(directory: Path, principal: Principal) -> list[BriefFile]:
    """The briefs made so far that the principal's scope covers, newest first."""
    return [brief for brief in list_briefs(directory) if brief.readable_by(principal)]


def readable_brief(directory: Path, name: str, principal: Principal) -> BriefFile | None:
    """The brief called `name` if the principal may read it; None alike for a missing one and one out of scope."""
    path = brief_path(directory, name)
    if path is None:
        return None
    return next((brief for brief in readable_briefs(directory, principal) if brief.path == path), None)


# ---- background jobs (the app) ---------------------------------------------------------


def _job_file(directory: Path, job_id: str) -> Path:
    return directory / ".jobs" / f"{job_id}.json"


def _write_state(directory: Path, job_id: str, **state) -> None:
    path = _job_file(directory, job_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    partial.replace(path)


def job_state(directory: Path, job_id: str, principal: Principal | None = None) -> dict | None:
    """{'status': running|done|failed, 'step', 'done', 'total', 'file', 'error', 'author'} or None for an unknown
    job, and for another author's job when `principal` is given (a job is its author's to follow)."""
    if not JOB_ID.match(job_id or ""):
        return None
    path = _job_file(directory, job_id)
    if not path.exists():
        return None
    state = json.loads(path.read_text(encoding="utf-8"))
    if principal is not None and state.get("author") != principal.name:
        return None
    if state["status"] == "running" and time.time() - path.stat().st_mtime > STALLED_AFTER_S:
        return {**state, "status": "failed", "error": "the job stopped (the server restarted?): start it again"}
    return state


def start_job(
    warehouse: Warehouse | ScopedWarehouse,
    spec: BriefSpec,
    directory: Path,
    chromium: str | None = None,
    *,
    author: Principal | None = None,
    watermark: bool = True,
    street: str = "",
) -> str:
    """Start making a brief for `author` (default: the current principal) in the background; returns the job id.

    The author is taken here, in the request: the job's thread has no request of its own.
    """
    author = author or current_principal()
    job_id = uuid.uuid4().hex

    def write(**state) -> None:
        # Every state names the author: the progress poll answers only them (see `job_state`).
        _write_state(directory, job_id, author=author.name, **state)

    write(status="running", step="排队", done=0, total=TOTAL_STEPS)

    def progress(step: str, done: int, total: int) -> None:
        write(status="running", step=step, done=done, total=total)

    def run() -> None:
        try:
            with _PRINTING:
                path = make_brief(
                    warehouse,
                    spec,
                    directory,
                    chromium=chromium,
                    progress=progress,
                    author=author,
                    watermark=watermark,
                    street=street,
                )
        except (NoData, RenderError) as exc:
            write(status="failed", error=str(exc), done=0, total=TOTAL_STEPS)
        except Exception as exc:  # noqa: BLE001 - a job must always end in a state the page can show
            write(status="failed", error=f"{type(exc).__name__}: {exc}", total=TOTAL_STEPS)
            raise
        else:
            write(status="done", file=path.name, done=TOTAL_STEPS, total=TOTAL_STEPS)

    threading.Thread(target=run, name=f"brief-{job_id[:8]}", daemon=True).start()
    return job_id
