"""What a briefing says: its sections, numbers and sentences, all from the metric catalog.

`collect()` asks the warehouse (through the same cache as the screens) for every
number a briefing prints, so a brief and the page for the same period and scope
show the same values. A brief is always someone's: its author's access scope
decides every number, ranking and row in it (a community outside that scope is
refused, never shown), and the brief records who made it and which rows it was
drawn from (`Coverage`), which later decides who may read it. Nothing here
renders: see document.py (HTML) and pdf.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from cockpit.access.accounts import Scope, ScopeKind
from cockpit.access.principal import Principal, acting_as, current_principal
from cockpit.access.web import watermark_text
from cockpit.briefing.bulletin import BulletinContent, collect_bulletin
from cockpit.components.board import Chart, render_chart
from cockpit.components.charts import as_dict, unplaced_rows, worst_first
from cockpit.components.format import format_value, group_label, row_change
from cockpit.components.groups import GROUPS_TABLE, RATE_KPI, group_rows, kpi_value
from cockpit.components.points import MODULE_ORDER, KpiLine, extra_points, kpi_line, module_point, sentence
from cockpit.components.warning import (
    forecast_words,
    month_text,
    proactive_cells,
    surge_cells,
    surge_sentence,
    warning_names,
)
from cockpit.data import ReleaseInfo, ScopedWarehouse, Warehouse, first_data_day
from cockpit.i18n import t
from cockpit.metrics import Metric, Period, get_metric
from cockpit.metrics.warning import TICKETS_KPI
from cockpit.modules import MODULES
from cockpit.view import View

# What `cockpit brief --kind` makes: the 工作简报 of a period, or the monthly 考核通报 of the scorecards.
BRIEF_KINDS = ("brief", "bulletin")
OVERDUE_ROWS = 30
RANKING_ROWS = 10
# A scope of many communities or grids is named by its first few on the cover, then "等N个社区".
SCOPE_NAMES_SHOWN = 5
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


def _section(module_id: str, more: tuple[str, ...] = ()) -> Section:
    """A module's brief section: its headline KPIs and then `more`, its headline charts (a map is for screens)."""
    module = MODULES[module_id]
    charts = tuple(chart for chart in module.charts if chart.kind != "map")
    return Section(module.id, (*module.headline, *more), module.summary, charts, module.ranking)


# Each section's KPIs after its module's headline; the sections in the key points' order.
SECTION_MORE = {
    "dispatch": (
        "tickets_resolved",
        "timely_accept_rate",
        "satisfaction_rate",
        "repeat_complaint_rate",
        "live_alarms",
        "devices_offline",
        "sensor_online_rate",
    ),
    "enforcement": ("inspections", "cases_closed"),
    "party": ("pledges_posted", "meetings_held"),
}
SECTIONS = tuple(_section(module, SECTION_MORE.get(module, ())) for module in MODULE_ORDER)


@dataclass(frozen=True)
class BriefSpec:
    """Which brief: a period and optionally one community (None = the whole street).

    kind "brief" is the 工作简报 of any period; "bulletin" the monthly 考核通报 (scorecard rankings) of one
    calendar month, of everything its author sees."""

    period: Period
    community: str | None = None
    kind: str = "brief"

    def __post_init__(self) -> None:
        if self.kind not in BRIEF_KINDS:
            raise ValueError(f"unknown brief kind {self.kind!r}: one of {', '.join(BRIEF_KINDS)}")
        if self.kind == "bulletin":
            if self.period.kind() != "month":
                raise ValueError(f"a bulletin covers one calendar month (YYYY-MM), not {self.period}")
            if self.community:
                raise ValueError("a bulletin ranks every community its author sees: it takes no community")

    @property
    def slug(self) -> str:
        """A file-name stem: brief_2026-11-01_2026-11-30[_S01C005], bulletin_2026-10."""
        if self.kind == "bulletin":
            return f"bulletin_{self.period.start:%Y-%m}"
        stem = f"brief_{self.period.start:%Y-%m-%d}_{self.period.end:%Y-%m-%d}"
        return f"{stem}_{self.community}" if self.community else stem

    @property
    def filters(self) -> dict[str, str]:
        return {"community": self.community} if self.community else {}


@dataclass
class SectionContent:
    section: Section
    title: str
    sentence: str
    kpis: list[KpiLine]
    charts: list[dict]  # Plotly figures as plain dicts
    ranking_title: str = ""
    ranking: list[tuple[int, str, str, str, str]] = field(default_factory=list)  # rank, name, value, 环比, status


@dataclass(frozen=True)
class Coverage:
    """The rows a brief was drawn from: an access scope and the communities it lies in.

    Stored beside the PDF; a reader may open the brief only when their own scope holds all of these rows.
    """

    scope: Scope
    communities: tuple[str, ...] = ()

    def readable_by(self, reader: Scope) -> bool:
        if reader.kind is ScopeKind.STREET:
            return True
        if self.scope.kind is ScopeKind.STREET:
            return False
        if reader.kind is ScopeKind.COMMUNITY:
            return bool(self.communities) and set(self.communities) <= set(reader.unit_ids)
        # A grid reader sees only their grids' rows: a brief of whole communities holds more than that.
        return self.scope.kind is ScopeKind.GRID and set(self.scope.unit_ids) <= set(reader.unit_ids)

    def as_json(self) -> dict:
        return {"scope": str(self.scope), "communities": list(self.communities)}

    @classmethod
    def from_json(cls, data: dict | None) -> Coverage | None:
        """None for a missing or unreadable record: such a brief is read by street-wide readers only."""
        if not isinstance(data, dict) or not isinstance(data.get("scope"), str):
            return None
        try:
            scope = Scope.parse(data["scope"])
        except ValueError:
            return None
        return cls(scope, tuple(str(each) for each in data.get("communities") or ()))


@dataclass
class WarningContent:
    """The brief's 预测预警: the period's surges, and when it reaches the last day loaded the 7-day forecast
    and the coming month's 未诉先办 list (cockpit/metrics/warning.py)."""

    sentence: str
    surges: list[tuple[str, ...]]  # days, community, category, observed, expected, ratio
    forecast: str = ""
    proactive_title: str = ""
    proactive: list[tuple[str, ...]] = field(default_factory=list)  # community, category, same month, usual, ×


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
    author: Principal
    coverage: Coverage
    watermark: str = ""  # printed diagonally on every page; empty when the deployment switched watermarks off
    street: str = ""  # the configured street's name; empty when none is configured (the cover then names none)
    bulletin: BulletinContent | None = None  # the rankings of a 考核通报
    warning: WarningContent | None = None  # a 工作简报's 预测预警
    groups: list[tuple[str, ...]] = field(default_factory=list)  # 重点群体: name, tickets, share, top, on time
    groups_everyone: str = ""  # everyone's on-time rate, beside the groups'

    @property
    def title(self) -> str:
        return f"{self.scope_name}{self.spec.period.label_zh()}{'考核通报' if self.bulletin else '工作简报'}"


class NoData(ValueError):
    """The period has no loaded data; the message is one line."""


class OutOfScope(NoData):
    """The brief asks for a community outside its author's scope; the message is one line."""


def check_period(release: ReleaseInfo, period: Period, first_day) -> None:
    """Refuse a period outside the loaded data: a brief of zeros would read as a quiet week."""
    if period.start > release.data_through:
        raise NoData(f"no data for {period}: the current release holds data through {release.data_through}")
    if first_day is not None and period.end < first_day:
        raise NoData(f"no data for {period}: the current release starts on {first_day}")


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
    return row_change(metric, row, "mom")[0]


def _figure(chart: Chart, view: View) -> dict:
    figure = as_dict(render_chart(None, chart, view, "zh", "light"))
    layout = figure.setdefault("layout", {})
    layout.update(width=CHART_WIDTH, height=CHART_HEIGHT, autosize=False)
    return figure


def _names(frame: pd.DataFrame, id_column: str, ids, unit: str) -> str:
    """'澳韵社区、…、湖东社区' for up to SCOPE_NAMES_SHOWN ids, then '等N个社区'."""
    names = dict(zip(frame[id_column], frame["name"], strict=True))
    shown = [names.get(each, each) for each in ids]
    text = "、".join(shown[:SCOPE_NAMES_SHOWN])
    return f"{text}等{len(shown)}个{unit}" if len(shown) > SCOPE_NAMES_SHOWN else text


def _scoped_for(warehouse: Warehouse | ScopedWarehouse, author: Principal) -> Warehouse | ScopedWarehouse:
    """The warehouse as the author sees it; a warehouse scoped for someone else is refused."""
    if isinstance(warehouse, ScopedWarehouse):
        if warehouse.scope != author.scope:
            raise ValueError(f"the warehouse is scoped to {warehouse.scope}, not to {author.name}'s {author.scope}")
        return warehouse
    return warehouse.scoped(author.scope)


def scope_of_brief(
    warehouse: Warehouse | ScopedWarehouse, spec: BriefSpec, author: Principal, street: str = ""
) -> tuple[str, Coverage]:
    """The cover's 统计范围 and the rows the brief covers; a community outside the author's scope is refused.

    `street` is the configured street's name (settings' [street]); without one the scope names no street.
    """
    warehouse = _scoped_for(warehouse, author)
    scope, rows = author.scope, warehouse.row_scope
    communities = warehouse.dataset("communities")
    if spec.community:
        if rows is not None and spec.community not in rows.communities:
            raise OutOfScope(f"community {spec.community!r} is outside the scope of {author.name} ({scope})")
        known = communities[communities["community_id"] == spec.community]
        if known.empty:
            raise NoData(f"unknown community {spec.community!r}")
        name = f"{street}{known['name'].iloc[0]}"
        if scope.kind is ScopeKind.GRID:
            grids = warehouse.dataset("grids")
            here = set(grids.loc[grids["community_id"] == spec.community, "unit_id"])
            inside = [grid for grid in scope.unit_ids if grid in here]
            return _within(name, _names(grids, "unit_id", inside, "网格")), Coverage(scope, (spec.community,))
        return name, Coverage(Scope(ScopeKind.COMMUNITY, (spec.community,)), (spec.community,))
    if scope.kind is ScopeKind.STREET:
        return street or t("street_total", "zh"), Coverage(scope)
    if scope.kind is ScopeKind.COMMUNITY:
        names = _names(communities, "community_id", scope.unit_ids, "社区")
        return _within(street, names), Coverage(scope, scope.unit_ids)
    names = _names(warehouse.dataset("grids"), "unit_id", scope.unit_ids, "网格")
    return _within(street, names), Coverage(scope, rows.communities)


def _within(place: str, part: str) -> str:
    """'<place> · <part>', or the part alone when the street has no configured name."""
    return f"{place} · {part}" if place else part


def collect(
    warehouse: Warehouse | ScopedWarehouse,
    spec: BriefSpec,
    progress: Callable[[str, int, int], None] | None = None,
    now: datetime | None = None,
    *,
    author: Principal | None = None,
    watermark: bool = True,
    street: str = "",
) -> Brief:
    """Every number, sentence, chart and list of one briefing, from the current release, as `author` sees it.

    `street` is the configured street's Chinese name (settings' [street]): it titles the cover and the pages.

    `author` defaults to the current principal (the signed-in user of a request, SYSTEM on the command line).
    Raises NoData (no data for the period, an unknown community) or OutOfScope, each with a one-line message.
    """
    author = author or current_principal()
    warehouse = _scoped_for(warehouse, author)
    # Charts and labels ask current_warehouse(): outside a request (a job thread, the CLI) it must be the author's.
    with acting_as(author):
        return _collect(warehouse, spec, progress, now or datetime.now(), author, watermark, street)


def _collect(
    warehouse, spec: BriefSpec, progress, now: datetime, author: Principal, watermark: bool, street: str
) -> Brief:
    release = warehouse.info
    scope_name, coverage = scope_of_brief(warehouse, spec, author, street)
    check_period(release, spec.period, first_data_day(warehouse))
    view = View(preset="custom", period=spec.period, filters=spec.filters)
    bulletin = None
    if spec.kind == "bulletin":
        if progress:
            progress(t("scorecards", "zh"), 0, 2)
        bulletin = collect_bulletin(warehouse, spec.period)
    total = len(SECTIONS) + 1
    sections: list[SectionContent] = []
    summary: list[str] = list(bulletin.sentences) if bulletin else []
    for index, section in enumerate(SECTIONS if bulletin is None else ()):
        if progress:
            progress(t(section.module, "zh"), index, total)
        lines = {kpi: kpi_line(warehouse, kpi, spec.period, spec.filters) for kpi in section.kpis}
        text = sentence([lines[kpi] for kpi in section.summary], spec.period)
        summary.append(module_point(warehouse, section.module, spec.period, spec.filters))
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
        lang="zh",
    )
    warning, groups, everyone = None, [], ""
    if bulletin is None:
        warning = collect_warning(warehouse, spec)
        groups, everyone = collect_groups(warehouse, spec)
        summary += extra_points(warehouse, spec.period, spec.filters)  # 本期要点, as the overview and the wall say them
    used = {line.metric.id: line.metric for content in sections for line in content.kpis}
    used.update({kpi: get_metric(kpi) for kpi in (bulletin.kpis if bulletin else ())})
    used.setdefault("open_overdue_tickets", get_metric("open_overdue_tickets"))
    return Brief(
        spec=spec,
        release=release,
        generated_at=now,
        scope_name=scope_name,
        summary=summary,
        sections=sections,
        overdue=overdue,
        overdue_total=int(overdue_total or 0),
        definitions=list(used.values()),
        author=author,
        coverage=coverage,
        watermark=watermark_text(author, now, minutes=True) if watermark else "",
        street=street,
        bulletin=bulletin,
        warning=warning,
        groups=groups,
        groups_everyone=everyone,
    )


def collect_groups(warehouse: Warehouse | ScopedWarehouse, spec: BriefSpec) -> tuple[list[tuple[str, ...]], str]:
    """The focus-group table, as the dispatch page's panel counts it (cockpit/components/groups.py)."""
    if not warehouse.has_table(GROUPS_TABLE):
        return [], ""
    rows = [
        (
            row["name"],
            format_value(row["tickets"], "件"),
            format_value(row["share"], "%"),
            "、".join(f"{label}{format_value(value, '件')}" for label, value in row["categories"]),
            format_value(row["rate"], "%"),
        )
        for row in group_rows(warehouse, spec.period, spec.filters, "zh")
    ]
    return rows, format_value(kpi_value(warehouse, RATE_KPI, spec.period, spec.filters), "%")


SURGE_ROWS = 15


def collect_warning(warehouse: Warehouse | ScopedWarehouse, spec: BriefSpec) -> WarningContent:
    """The brief's 预测预警, with the screens' numbers (the same warehouse calls as the dispatch page)."""
    names = warning_names(warehouse, "zh")
    found = warehouse.surges(spec.period, filters=spec.filters)
    rows = [surge_cells(surge, names, "zh") for surge in found[:SURGE_ROWS]]
    content = WarningContent(surge_sentence(found, names), rows)
    through = warehouse.complete_through(TICKETS_KPI) or warehouse.info.data_through
    if spec.period.end < through:
        return content  # a past period: what comes next is no longer a forecast
    fc = warehouse.forecast(filters=spec.filters)
    if fc is not None:
        content.forecast = forecast_words(fc, "zh")
    month, items = warehouse.proactive(filters=spec.filters)
    content.proactive_title = f"{t('proactive', 'zh')} · {month_text(month, 'zh')}"
    content.proactive = [proactive_cells(item, names, "zh") for item in items or ()]
    if items is None:
        content.proactive_title += f"（{t('proactive_needs_year', 'zh')}）"
    return content
