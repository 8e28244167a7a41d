"""数据管道 · pipeline status: runs, freshness and quarantine per source, unmapped values, flagged fields,
tickets dated after delivery, releases; and the operator's actions (run now, roll back), which redraw them."""

from __future__ import annotations

import dash
import pandas as pd
from dash import Input, Output, callback, html

from cockpit import status
from cockpit.access.accounts import Permission
from cockpit.access.web import requires
from cockpit.components.pipeline_actions import CHANGED, pipeline_actions, with_rollback_buttons
from cockpit.components.table import report_table
from cockpit.data import NoRelease, current_warehouse
from cockpit.i18n import current_language
from warehouse.releases import list_releases

dash.register_page(__name__, path="/pipeline", name="数据管道", title="数据管道 · 街道数字驾驶舱", order=7)


def ledger_table(frame: pd.DataFrame, recorded: bool, columns: dict[str, str], *, caption: str, table_id: str):
    """A ledger table, or a line saying the release predates it (built before the ledger kept it)."""
    if not recorded:
        return html.P("生成此数据版本时尚未记录 · not recorded in this release", id=table_id, className="text-muted")
    if frame.empty:
        return html.P("最近的运行中没有 · none in the recent runs", id=table_id, className="text-muted")
    table = report_table(frame, columns, caption=caption)
    return html.Div(table, id=table_id)


def layout(**_query) -> html.Div:
    return html.Div(
        [
            html.H2("数据管道 · pipeline status"),
            pipeline_actions(current_language()),
            html.Div(pipeline_status(), id="pipeline-body"),
        ],
        className="page",
        id="pipeline-page",
    )


@callback(Output("pipeline-body", "children"), Input(CHANGED, "data"), prevent_initial_call=True)
@requires(Permission.PIPELINE)
def _redraw(_changed):
    """After a run or a rollback: the tables of the release now current."""
    return pipeline_status()


def pipeline_status() -> list:
    """The page's status tables, from the current release (or a line saying there is none yet)."""
    warehouse = current_warehouse()
    try:
        info, cur = warehouse.open()
    except NoRelease as exc:
        return [html.P(str(exc), id="pipeline-no-release")]
    with cur:
        runs = status.recent_runs(cur)
        freshness = status.source_freshness(cur, warehouse.stale_after_hours)
        quarantine = status.quarantine_by_reason(cur)
        unmapped = status.unmapped_values(cur)
        flagged = status.flagged_fields(cur)
        has_unmapped, has_flagged = status.has_table(cur, "ops_unmapped"), status.has_table(cur, "ops_flagged")
        received_after_delivery = status.tickets_received_after_delivery(cur)
    rejected = status.rejected_days(warehouse.home)
    releases = pd.DataFrame(
        [
            {
                "run_id": r.run_id,
                "size_mib": r.size_bytes / 2**20,
                "created": r.created,
                "current": "✔" if r.is_current else "",
            }
            for r in reversed(list_releases(warehouse.home))
        ],
        columns=["run_id", "size_mib", "created", "current"],
    )
    banner = [html.Span("演示数据 demo data", className="demo-label")] if info.is_demo else []
    return [
        html.P(
            [
                f"当前版本 {info.run_id} · 数据截至 {info.data_through:%Y-%m-%d} · "
                f"生成于 {info.built_at:%Y-%m-%d %H:%M} ",
                *banner,
            ],
            id="pipeline-release",
        ),
        html.H3("各数据源更新情况 · freshness per source"),
        report_table(
            freshness,
            {
                "source": "数据源",
                "cadence": "频率",
                "last_day": "最新数据日",
                "days_behind": "滞后天数",
                "rows_last_day": "最新日入库行数",
                "filtered_last_day": "最新日过滤行数",
                "flagged_last_day": "最新日标记行数",
                "status": "状态",
            },
            row_class=lambda r: "row-bad" if r["status"] == "stale" else None,
            caption="过滤：映射的 when 条件未选取的行；标记：可选字段未通过校验、以空值入库的行",
        ),
        html.H3("回滚拒收的数据日 · days rejected by a rollback"),
        _rejected(rejected),
        html.H3("近30天隔离记录 · quarantine by reason (30 days)"),
        report_table(
            quarantine,
            {"source": "数据源", "table": "目标表", "reason": "原因", "rows": "行数", "last_day": "最近"},
        ),
        html.H3("未映射的值 · unmapped values"),
        ledger_table(
            unmapped,
            has_unmapped,
            _field_columns("value", "源值"),
            caption=f"代码表未能翻译、按默认值（未映射）入库的源值；最近{status.RECENT_RUNS}次发布的运行合计",
            table_id="pipeline-unmapped",
        ),
        html.H3("未通过校验的可选字段 · flagged optional fields"),
        ledger_table(
            flagged,
            has_flagged,
            _field_columns("reason", "原因"),
            caption=f"可选字段的值未通过校验、该字段以空值入库（记录保留）；最近{status.RECENT_RUNS}次发布的运行合计",
            table_id="pipeline-flagged",
        ),
        html.H3("受理日期晚于交付日的工单 · tickets received after their delivery day"),
        report_table(
            received_after_delivery,
            {
                "source": "数据源",
                "tickets": "工单数",
                "received_after_delivery": "晚于交付日",
                "latest_received_at": "最晚受理时间",
            },
            row_class=lambda r: "row-bad" if r["received_after_delivery"] else None,
            caption="受理日期晚于其所在交付（落地）日的工单，疑为源系统时钟错误或未来日期的导出",
        ),
        html.H3("最近运行 · recent runs"),
        report_table(
            runs,
            {
                "run_id": "运行",
                "status": "状态",
                "mode": "方式",
                "started_at": "开始",
                "duration_s": "耗时(秒)",
                "rows_loaded": "入库",
                "rows_quarantined": "隔离",
                "files_rejected": "拒收文件",
                "data_through": "数据截至",
                "message": "说明",
            },
            row_class=lambda r: "row-bad" if r["status"] in ("failed", "no_usable_data") else None,
        ),
        html.H3("数据版本 · releases (cockpit warehouse rollback)"),
        with_rollback_buttons(
            report_table(
                releases,
                {"run_id": "版本", "size_mib": "大小(MiB)", "created": "生成时间", "current": "当前"},
            ),
            [(r["run_id"], bool(r["current"])) for r in releases.to_dict("records")],
            current_language(),
        ),
    ]


def _rejected(rejected: pd.DataFrame):
    """Days held back from every run until `cockpit pipeline accept DAY` or a new delivery, or a line saying none."""
    if rejected.empty:
        return html.P("无 · none", id="pipeline-rejected", className="text-muted")
    table = report_table(
        rejected,
        {"source": "数据源", "day": "数据日", "undone_run": "被回滚的运行", "decided_at": "回滚时间"},
        row_class=lambda _r: "row-bad",
        caption="这些数据日不再入库，直至运行 cockpit pipeline accept 数据日 [--source 数据源]，或数据源重新交付该日",
    )
    return html.Div(table, id="pipeline-rejected")


def _field_columns(what: str, label: str) -> dict[str, str]:
    """Columns of a ledger table per source, table and field (unmapped values, flagged fields): `what` differs."""
    return {
        "source": "数据源",
        "table": "目标表",
        "field": "字段",
        what: label,
        "rows": "行数",
        "runs": "涉及运行数",
        "last_run": "最近运行",
    }
