"""What a briefing says: its sections, numbers and sentences, all from the metric catalog.

`collect()` asks the warehouse (through the same cache as the screens) for every
number a briefing prints, so a brief and the page for the same period and scope
show the same values. Nothing here renders: see document.py (HTML) and pdf.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from cockpit.components.board import Chart, render_chart
from cockpit.components.charts import as_dict, unplaced_rows, worst_first
from cockpit.components.format import format_change, format_value, group_label, is_missing
from cockpit.data import ReleaseInfo, Warehouse
from cockpit.i18n import t
from cockpit.metrics import Metric, Period, get_metric
from cockpit.view import View

OVERDUE_ROWS = 30
RANKING_ROWS = 10
# Briefing pages are A4 portrait: charts are drawn at the printable width.
CHART_WIDTH = 680
CHART_HEIGHT = 280


@dataclass(frozen=True)
class Section:
    """One module's part of a briefing: its key KPIs, up to two charts and a community ranking."""

    module: str
    kpis: tuple[str, ...]
    summary: tuple[str, ...]  # the KPIs its summary sentence speaks of
    charts: tuple[Chart, ...] = ()
    ranking: str | None = None


SECTIONS = (
    Section(
        "dispatch",
        (
            "tickets_received",
            "tickets_resolved",
            "on_time_rate",
            "timely_accept_rate",
            "satisfaction_rate",
            "open_overdue_tickets",
            "repeat_complaint_rate",
            "alarms_raised",
            "live_alarms",
            "devices_offline",
            "video_online_rate",
            "sensor_online_rate",
        ),
        summary=("tickets_received", "on_time_rate", "satisfaction_rate"),
        charts=(
            Chart("trend", ("tickets_received", "tickets_resolved"), title=("工单受理与办结", "")),
            Chart("bar", ("tickets_received",), by="category", title=("热点诉求", ""), top=10),
        ),
        ranking="on_time_rate",
    ),
    Section(
        "grid",
        ("visit_coverage", "visits", "grid_events_reported", "grid_self_resolution_rate", "grids", "grid_workers"),
        summary=("grid_events_reported", "grid_self_resolution_rate", "visit_coverage"),
        charts=(Chart("bar", ("grid_events_reported",), by="community", top=10),),
        ranking="visit_coverage",
    ),
    Section(
        "approvals",
        (
            "approvals_received",
            "approvals_completed",
            "approval_on_time_rate",
            "avg_approval_working_days",
            "good_rating_rate",
            "open_approvals_past_limit",
        ),
        summary=("approvals_received", "approval_on_time_rate", "good_rating_rate"),
        charts=(Chart("bar", ("approvals_received",), by="service_item", top=10),),
    ),
    Section(
        "enforcement",
        (
            "inspections",
            "hazards_found",
            "hazard_rectification_rate",
            "open_hazards",
            "open_major_hazards",
            "cases_opened",
            "cases_closed",
            "penalties_yuan",
        ),
        summary=("hazards_found", "hazard_rectification_rate", "open_major_hazards"),
        charts=(Chart("bar", ("hazards_found",), by="domain"),),
        ranking="hazard_rectification_rate",
    ),
    Section(
        "party",
        (
            "party_members",
            "party_orgs",
            "pledges_posted",
            "pledges_delivered",
            "pledge_claim_rate",
            "meetings_held",
            "volunteer_hours",
            "projects_delayed",
        ),
        summary=("pledges_delivered", "pledge_claim_rate", "volunteer_hours"),
        charts=(Chart("bar", ("pledges_delivered",), by="community", top=10),),
    ),
)

PERIOD_WORDS = {"day": "当日", "week": "本周", "month": "本月", "quarter": "本季度", "year": "本年度"}


@dataclass(frozen=True)
class BriefSpec:
    """Which brief: a period and optionally one community (None = the whole street)."""

    period: Period
    community: str | None = None

    @property
    def slug(self) -> str:
        """A file-name stem: brief_2026-11-01_2026-11-30[_S01C005]."""
        stem = f"brief_{self.period.start:%Y-%m-%d}_{self.period.end:%Y-%m-%d}"
        return f"{stem}_{self.community}" if self.community else stem

    @property
    def filters(self) -> dict[str, str]:
        return {"community": self.community} if self.community else {}


@dataclass(frozen=True)
class KpiLine:
    metric: Metric
    value: float | None
    change: float | None
    status: str

    @property
    def value_text(self) -> str:
        return format_value(self.value, self.metric.unit)

    @property
    def change_text(self) -> str:
        return format_change(self.change, self.metric.change_kind)


@dataclass
class SectionContent:
    section: Section
    title: str
    sentence: str
    kpis: list[KpiLine]
    charts: list[dict]  # Plotly figures as plain dicts
    ranking_title: str = ""
    ranking: list[tuple[int, str, str, str, str]] = field(default_factory=list)  # rank, name, value, 环比, status


@dataclass
class Brief:
    spec: BriefSpec
    release: ReleaseInfo
    generated_at: datetime
    scope_name: str
    summary: list[str]
    sections: list[SectionContent]
    overdue: pd.DataFrame
    overdue_total: int
    definitions: list[Metric]

    @property
    def title(self) -> str:
        return f"{self.scope_name}{self.spec.period.label_zh()}工作简报"


class NoData(ValueError):
    """The period has no loaded data; the message is one line."""


def check_period(release: ReleaseInfo, period: Period, first_day) -> None:
    """Refuse a period outside the loaded data: a brief of zeros would read as a quiet week."""
    if period.start > release.data_through:
        raise NoData(f"no data for {period}: the current release holds data through {release.data_through}")
    if first_day is not None and period.end < first_day:
        raise NoData(f"no data for {period}: the current release starts on {first_day}")


def kpi_line(warehouse: Warehouse, kpi: str, period: Period, filters: dict[str, str]) -> KpiLine:
    metric = get_metric(kpi)
    frame = warehouse.metric(kpi, period, filters=filters)
    if frame.empty:
        return KpiLine(metric, None, None, "grey")
    row = frame.iloc[0]
    value = None if is_missing(row["value"]) else float(row["value"])
    change = None if is_missing(row.get("change_mom")) else float(row["change_mom"])
    return KpiLine(metric, value, change, str(row["status"]))


def _change_words(line: KpiLine) -> str:
    if line.change is None:
        return ""
    text = format_change(line.change, line.metric.change_kind)
    if text == t("flat", "zh"):
        return "环比持平"
    direction = "上升" if line.change > 0 else "下降"
    return f"环比{direction}{text[1:]}"


def _target_words(line: KpiLine) -> str:
    metric = line.metric
    if metric.target is None or line.value is None:
        return ""
    target = format_value(metric.target, metric.unit)
    if metric.good == "up":
        return f"达到目标{target}" if line.value >= metric.target else f"低于目标{target}"
    return f"控制在目标{target}以内" if line.value <= metric.target else f"高于目标{target}"


def sentence(lines: list[KpiLine], period: Period) -> str:
    """'本周受理工单数1,234件，环比上升5.2%；按期办结率96.1%，低于目标95.0%。'"""
    word = PERIOD_WORDS.get(period.kind(), "统计期内")
    clauses = []
    for index, line in enumerate(lines):
        prefix = word if index == 0 and line.metric.period_column else ("截至期末" if index == 0 else "")
        words = [f"{prefix}{line.metric.name_zh}{line.value_text}"]
        words += [w for w in (_change_words(line), _target_words(line)) if w]
        if line.status == "red":
            words.append("需重点关注")
        clauses.append("，".join(words))
    return "；".join(clauses) + "。"


def _ranking(warehouse: Warehouse, kpi: str, spec: BriefSpec) -> tuple[str, list]:
    """Communities (or a community's grids) by a KPI, the ones needing attention first.

    Records with no place (未定位) follow the ranked rows, unnumbered: they are no community.
    """
    metric = get_metric(kpi)
    by = "grid" if spec.community else "community"
    frame = worst_first(warehouse.metric(kpi, spec.period, filters=spec.filters, group_by=by), metric, by, RANKING_ROWS)
    unplaced = unplaced_rows(frame, by)
    rows = [
        (
            "—" if away else rank,
            group_label(by, row[by], row["label"], "zh"),
            format_value(row["value"], metric.unit),
            _chg(row, metric),
            str(row["status"]),
        )
        for rank, ((_, row), away) in enumerate(zip(frame.iterrows(), unplaced, strict=True), start=1)
    ]
    unit = "网格" if by == "grid" else "社区"
    return f"{metric.name_zh} · {unit}排名（需关注在前，前{RANKING_ROWS}位）", rows


def _chg(row, metric: Metric) -> str:
    return format_change(row.get("change_mom"), metric.change_kind)


def _figure(chart: Chart, view: View) -> dict:
    figure = as_dict(render_chart(None, chart, view, "zh", "light"))
    layout = figure.setdefault("layout", {})
    layout.update(width=CHART_WIDTH, height=CHART_HEIGHT, autosize=False)
    if chart.kind == "trend":  # dates as a Chinese report writes them, not Plotly's "Oct 4"
        layout["xaxis"] = {**(layout.get("xaxis") or {}), "tickformat": "%m-%d"}
    return figure


def collect(
    warehouse: Warehouse,
    spec: BriefSpec,
    progress: Callable[[str, int, int], None] | None = None,
    now: datetime | None = None,
) -> Brief:
    """Every number, sentence, chart and list of one briefing, from the current release."""
    release = warehouse.info
    with warehouse.cursor() as cur:
        first_day = cur.execute("SELECT min(received_date) FROM fct_ticket").fetchone()[0]
        scope_name = t("street", "zh")
        if spec.community:
            row = cur.execute("SELECT name FROM dim_community WHERE community_id = $id", {"id": spec.community})
            found = row.fetchone()
            if found is None:
                raise NoData(f"unknown community {spec.community!r}")
            scope_name = f"{scope_name}{found[0]}"
    check_period(release, spec.period, first_day.date() if hasattr(first_day, "date") else first_day)
    view = View(preset="custom", period=spec.period, filters=spec.filters)
    total = len(SECTIONS) + 1
    sections: list[SectionContent] = []
    summary: list[str] = []
    for index, section in enumerate(SECTIONS):
        if progress:
            progress(t(section.module, "zh"), index, total)
        lines = {kpi: kpi_line(warehouse, kpi, spec.period, spec.filters) for kpi in section.kpis}
        text = sentence([lines[kpi] for kpi in section.summary], spec.period)
        summary.append(f"{t(section.module, 'zh')}：{text}")
        content = SectionContent(
            section,
            t(section.module, "zh"),
            text,
            list(lines.values()),
            [_figure(chart, view) for chart in section.charts],
        )
        if section.ranking:
            content.ranking_title, content.ranking = _ranking(warehouse, section.ranking, spec)
        sections.append(content)
    if progress:
        progress("超期工单", len(SECTIONS), total)
    overdue, overdue_total = warehouse.records(
        "open_overdue_tickets",
        spec.period,
        filters=spec.filters,
        sort=[{"colId": "deadline_at", "sort": "asc"}],
        limit=OVERDUE_ROWS,
    )
    used = {line.metric.id: line.metric for content in sections for line in content.kpis}
    used.setdefault("open_overdue_tickets", get_metric("open_overdue_tickets"))
    return Brief(
        spec=spec,
        release=release,
        generated_at=now or datetime.now(),
        scope_name=scope_name,
        summary=summary,
        sections=sections,
        overdue=overdue,
        overdue_total=int(overdue_total or 0),
        definitions=list(used.values()),
    )
