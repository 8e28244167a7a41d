"""Interface text in Simplified Chinese (default) and English, and the reader's language choice.

KPI names and definitions come from the metric catalog (name_zh/name_en); this
module holds everything else a screen says. The language is a per-browser
preference kept in a cookie, so a shared link shows each reader their language.
The street's own name is configuration (cockpit/settings.py), read here from
the app serving the request; `romanise` gives a Chinese place name in English.
"""

from __future__ import annotations

import re

import flask

LANGUAGES = ("zh", "en")
LANG_COOKIE = "cockpit_lang"
THEME_COOKIE = "cockpit_theme"
THEMES = ("light", "dark")

STRINGS: dict[str, tuple[str, str]] = {
    "app_title": ("街道数字驾驶舱", "Street Command Cockpit"),
    "demo": ("演示数据", "Demo data"),
    "overview": ("驾驶舱首页", "Overview"),
    "party": ("党建引领", "Party building"),
    "approvals": ("审批服务", "Approvals"),
    "enforcement": ("综合执法", "Enforcement"),
    "grid": ("网格管理", "Grid management"),
    "dispatch": ("指挥调度", "Dispatch"),
    "metrics": ("指标口径", "Metric definitions"),
    "scorecards": ("考核排名", "Scorecards"),
    "brief_kind": ("类型", "Kind"),
    "brief_kind_brief": ("工作简报", "Briefing"),
    "brief_kind_bulletin": ("考核通报（各考核对象月度排名）", "Monthly assessment bulletin (rankings)"),
    "rank": ("排名", "Rank"),
    "rank_change": ("较上月", "vs last month"),
    "rank_new": ("新", "new"),
    "composite_score": ("综合指标值", "Composite score"),
    "score_points": ("分", " pts"),
    "deductions": ("扣分", "Deductions"),
    "scorecard_bad_month": (
        "月份 {month} 不可选，已显示最近一个完整月",
        "Month {month} cannot be shown; showing the last complete month",
    ),
    "scorecard_empty": ("本月无可考核的数据", "Nothing to assess in this month"),
    "scorecard_rule": (
        "综合指标值 = 各项得分之和 ÷ 参与考核的权重 × 100 − 扣分；"
        "每项在零分值与满分值之间按直线得分，本月无数据的项目不计权重；有数据的权重不足一半的不参与排名。"
        "绿色为前三名，红色为后三名。各项口径见",
        "Composite = points earned ÷ weights assessed × 100 − deductions; each KPI earns points on a straight line "
        "between its zero and full values, and one without data this month is left out with its weight; "
        "an object with data for less than half the weights is not ranked. "
        "Green: the top three; red: the bottom three. Definitions:",
    ),
    "pipeline": ("数据管道", "Data pipeline"),
    "freshness": ("数据截至 {through} · 更新于 {built}", "Data through {through} · updated {built}"),
    "stale": ("数据已滞后 {hours} 小时", "Data is {hours} h old"),
    "no_release": ("尚无数据版本：请运行 cockpit pipeline run", "No data release yet: run cockpit pipeline run"),
    "release_problem": (
        "数据版本故障：{problem} · 正在显示可用的最新版本 {run_id}，请运行 cockpit warehouse doctor",
        "Release fault: {problem} · showing the newest release that opens, {run_id}; run cockpit warehouse doctor",
    ),
    "period": ("统计期", "Period"),
    "today": ("今日", "Today"),
    "this_week": ("本周", "This week"),
    "this_month": ("本月", "This month"),
    "last_30_days": ("近30天", "Last 30 days"),
    "this_quarter": ("本季度", "This quarter"),
    "this_year": ("本年", "This year"),
    "last_week": ("上周", "Last week"),
    "last_month": ("上月", "Last month"),
    "custom": ("自定义", "Custom"),
    "all": ("全部", "All"),
    "choose_community_first": ("全部（请先选择社区）", "All (choose a community first)"),
    "community": ("社区", "Community"),
    "micro_grid": ("微网格", "Micro grid"),
    "grid_worker": ("网格员", "Grid worker"),
    "grid_unit": ("网格", "Grid"),
    "channel": ("渠道", "Channel"),
    "category": ("类别", "Category"),
    "category_group_1": ("一级类别", "Category, level 1"),
    "category_group_2": ("二级类别", "Category, level 2"),
    "department": ("部门", "Department"),
    "service_item": ("事项", "Service item"),
    "domain": ("领域", "Domain"),
    "device_kind": ("设备类型", "Device kind"),
    "alarm_kind": ("告警类型", "Alarm kind"),
    "partner_kind": ("单位类型", "Partner kind"),
    "org_level": ("组织层级", "Org level"),
    "subject": ("对象", "Subject"),
    "round": ("走访轮次", "Visit round"),
    "batch": ("项目批次", "Project batch"),
    "term": ("关键词", "Keyword"),
    "focus_group": ("重点群体", "Focus group"),
    "focus_groups": ("重点群体诉求", "Focus groups"),
    "share": ("占全部工单", "Share of all"),
    "top_categories": ("主要诉求", "Top categories"),
    "on_time_vs_all": ("按期办结率（全部{rate}）", "On time (all: {rate})"),
    "satisfaction": ("回访评价", "Follow-up result"),
    "trend": ("走势", "Trend"),
    "cloud_key": ("红色：较上期上升", "Red: up on the previous period"),
    "hot_topics": ("热点话题", "Hot topics"),
    "rising_topics": ("上升话题", "Rising topics"),
    "tickets": ("工单", "Tickets"),
    "no_topics": ("本期无热点话题", "No hot topics in this period"),
    "no_rising_topics": ("本期无明显上升的话题", "No topic rose in this period"),
    "topics_next_release": ("热点话题将在下一次数据发布后显示", "Hot topics appear with the next data release"),
    "surges": ("诉求激增预警", "Surge alarms"),
    "warning_point": ("预测预警", "Early warning"),
    "key_points": ("本期要点", "Key points"),
    "no_surges": ("本期未发现诉求激增", "No surge in this period"),
    "surge_count": ("{count}起", "{count}"),
    "surge_days": ("日期", "Days"),
    "observed": ("实际", "Observed"),
    "expected": ("预期", "Expected"),
    "ratio": ("倍数", "Ratio"),
    "wall_surge": ("激增预警", "Surge"),
    "forecast": ("未来7天工单预测", "Tickets, next 7 days (forecast)"),
    "forecast_history": ("实际受理", "Received"),
    "forecast_mean": ("预测", "Forecast"),
    "forecast_band": ("{level}预测区间", "{level} interval"),
    "forecast_naive": ("季节性朴素预测（上周同日）", "Seasonal naive (same day last week)"),
    "proactive": ("未诉先办", "Act before the calls"),
    "category_forecasts": (
        "各类别未来7天预测（点击类别看逐日预测）",
        "Next 7 days by category (click one for its days)",
    ),
    "last_7_days": ("近7天", "Last 7 days"),
    "next_7_days": ("未来7天（预测）", "Next 7 days (forecast)"),
    "proactive_needs_year": (
        "需至少一年的历史数据：往年同月尚未载入",
        "Needs a year of history: no past year's same month is loaded",
    ),
    "proactive_none": ("往年同月无明显偏高的诉求", "Nothing ran high in this month in past years"),
    "same_month_past": ("往年同月（{years}）", "Same month ({years})"),
    "usual_month": ("月均", "Usual month"),
    "day": ("日", "Day"),
    "week": ("周", "Week"),
    "month": ("月", "Month"),
    "mom": ("环比", "MoM"),
    "yoy": ("同比", "YoY"),
    "points": ("个百分点", " pts"),
    "flat": ("持平", "flat"),
    "no_data": ("无数据", "no data"),
    "not_filtered": ("未按{dims}筛选", "not filtered by {dims}"),
    "definition": ("统计口径", "Definition"),
    "formula": ("计算公式", "Formula"),
    "sources": ("数据来源", "Sources"),
    "loaded": ("更新时间", "Loaded"),
    "thresholds": ("阈值", "Thresholds"),
    "target": ("目标", "Target"),
    "records": ("明细记录", "Records"),
    "records_of": ("明细：{kpi} · {period}", "Records: {kpi} · {period}"),
    "export_csv": ("导出 CSV", "Export CSV"),
    "export_xlsx": ("导出 Excel", "Export Excel"),
    "export_background": ("后台导出 Excel", "Export Excel in background"),
    "export_too_large": (
        "共 {total} 行，超过直接下载上限 {limit} 行：请缩小筛选条件，"
        "或用记录表上的“后台导出”（POST /export/jobs，format={fmt}）",
        "{total} rows, more than the {limit} a direct download holds: narrow the filters, or use the record "
        "table's background export (POST /export/jobs, format={fmt})",
    ),
    "export_truncated": ("# 注意", "# Note"),
    "export_truncated_hint": (
        "只导出了前 {shown} 行（共 {total} 行，已达导出上限）：请缩小筛选条件后分批导出",
        "only the first {shown} of {total} rows (the export cap): narrow the filters and export in parts",
    ),
    "export_job_running": ("后台导出中：{done} / {total} 行", "Exporting in background: {done} / {total} rows"),
    "export_job_download": ("下载导出文件", "Download the export"),
    "export_job_failed": ("后台导出失败：{error}", "Background export failed: {error}"),
    "records_not_permitted": ("明细记录仅对授权用户可见", "Records are shown to authorised users only"),
    "export_not_permitted": ("导出仅对授权用户开放", "Exports are open to authorised users only"),
    "personal_records_hidden": (
        "党员个人信息仅对授权用户可见",
        "Party members' personal records are shown to authorised users only",
    ),
    "kpi_not_on_page": ("本页不提供该指标的明细：{kpi}", "This page has no records for the KPI {kpi}"),
    "clear_all": ("清除筛选", "Clear filters"),
    "by": ("按{dim}", "by {dim}"),
    "map": ("地图", "Map"),
    # records with no known place: the place member 'unknown' (未定位)
    "unlocated": ("未定位", "Unlocated"),
    "map_unlocated_count": ("另有{value}未定位", "{value} not located"),
    "map_unlocated_value": ("未定位记录：{kpi} {value}", "Unlocated records: {kpi} {value}"),
    "search": ("搜索指标、口径或来源", "Search KPIs, definitions or sources"),
    "language": ("English", "简体中文"),
    "theme_dark": ("深色", "Dark"),
    "theme_light": ("浅色", "Light"),
    "module": ("模块", "Module"),
    "unit": ("单位", "Unit"),
    "good": ("方向", "Direction"),
    "good_up": ("越高越好", "higher is better"),
    "good_down": ("越低越好", "lower is better"),
    "good_neutral": ("中性", "neutral"),
    "dimensions": ("可下钻维度", "Drill dimensions"),
    "kpi": ("指标", "KPI"),
    "green": ("绿", "green"),
    "amber": ("黄", "amber"),
    "red": ("红", "red"),
    "filters": ("筛选条件", "Filters"),
    "exported_at": ("导出时间", "Exported at"),
    "data_through": ("数据截至", "Data through"),
    "street_total": ("全街道", "Whole street"),
    # wall display
    "wall": ("大屏", "Wall"),
    "wall_offline": ("离线设备 {count}", "{count} devices offline"),
    "wall_live_count": ("实时告警 {count}", "Live alarms {count}"),
    "wall_live": ("未解除", "live"),
    "wall_cleared": ("已解除", "cleared"),
    "wall_overdue": ("新超期", "Newly overdue"),
    "wall_quiet": ("暂无新告警和新超期工单", "No new alarms or newly overdue tickets"),
    "wall_stale": (
        "数据已超过{hours}小时未更新：自 {since} 起无新数据（最近装载 {built}）",
        "Data not updated for {hours} h: nothing new since {since} (last load {built})",
    ),
    "wall_alert": ("高级别告警", "High-level alarm"),
    "wall_ack": ("确认", "Acknowledge"),
    "wall_alert_live": ("告警未解除", "Still live"),
    "wall_alert_cleared": ("已于 {time} 解除", "Cleared at {time}"),
    "wall_period": ("统计期间 {period}", "Period {period}"),
    # briefings
    "brief": ("简报", "Briefs"),
    "brief_make": ("生成简报", "Make a brief"),
    "brief_scope": ("范围", "Scope"),
    "brief_period": ("统计期间", "Period"),
    "brief_start": ("开始生成", "Start"),
    "brief_running": ("正在生成：{step}", "Working: {step}"),
    "brief_done": ("简报已生成", "The brief is ready"),
    "brief_failed": ("生成失败：{error}", "Failed: {error}"),
    "brief_download": ("下载 PDF", "Download PDF"),
    "brief_list": ("已生成的简报", "Briefs made so far"),
    "brief_none": ("还没有生成过简报。", "No briefs yet."),
    "brief_generated": ("生成时间", "Generated"),
    "brief_author": ("生成人", "Generated by"),
    "brief_size": ("大小", "Size"),
    "brief_title": ("标题", "Title"),
    "brief_help": (
        "在任一页面点击“生成简报”，按该页面的统计期间和社区生成 PDF；定时简报用 `cockpit brief`。",
        "Use “Make a brief” on any page for its period and community; scheduled briefs use `cockpit brief`.",
    ),
    "briefs": ("简报", "Briefs"),
    # signing in (cockpit/access/web.py)
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出登录", "Sign out"),
    "sign_out_everywhere": ("退出所有设备", "Sign out everywhere"),
    "user_name": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "login_failed": (
        "用户名或密码错误，或账户已被暂时锁定",
        "Wrong user name or password, or the account is locked for now",
    ),
    "form_expired": ("表单已过期，请重新提交", "The form expired: please send it again"),
    "session_logout": ("您已退出登录", "You have signed out"),
    "session_idle_timeout": (
        "长时间未操作，已自动退出，请重新登录",
        "Signed out after a while without activity: sign in again",
    ),
    "session_absolute_timeout": ("登录已超过最长时限，请重新登录", "The session reached its time limit: sign in again"),
    "session_disabled": ("账户已停用", "The account is disabled"),
    "session_signed_out_everywhere": (
        "账户已在所有设备退出或权限已变更，请重新登录",
        "Signed out everywhere, or the account's access changed: sign in again",
    ),
    "must_change": ("请先修改初始密码", "Change the initial password first"),
    "password_change": ("修改密码", "Change password"),
    "password_current": ("当前密码", "Current password"),
    "password_new": ("新密码", "New password"),
    "password_confirm": ("确认新密码", "Confirm the new password"),
    "password_must_change": ("首次登录请修改初始密码后继续", "Change the initial password to go on"),
    "password_policy": (
        "密码至少 {length} 位，且包含大写字母、小写字母、数字、符号中的至少 {classes} 类",
        "At least {length} characters, from at least {classes} of: upper case, lower case, digits, symbols",
    ),
    "password_mismatch": ("两次输入的新密码不一致", "The two new passwords differ"),
    "save": ("保存", "Save"),
    "exported_by": ("导出人", "Exported by"),
    "data_scope": ("数据范围", "Data scope"),
    "access_denied_page": ("您的账户无权查看此页面", "Your account may not open this page"),
    # the audit page (cockpit/pages/audit.py) and its screen-token and user panels
    "audit": ("审计日志", "Audit trail"),
    "audit_actor": ("操作人", "Actor"),
    "audit_action": ("操作", "Action"),
    "audit_dates": ("日期", "Dates"),
    "audit_apply": ("查询", "Apply"),
    "audit_clear": ("清除", "Clear"),
    "audit_at": ("时间", "Time"),
    "audit_target": ("对象", "Target"),
    "audit_outcome": ("结果", "Outcome"),
    "audit_detail": ("详情", "Detail"),
    "audit_total": ("共 {total} 条", "{total} entries"),
    "audit_page": ("第 {page} / {pages} 页，共 {total} 条", "Page {page} of {pages}, {total} entries"),
    "audit_prev": ("上一页", "Previous"),
    "audit_next": ("下一页", "Next"),
    "audit_chain_checking": ("正在校验审计链…", "Verifying the audit chain…"),
    "audit_chain_ok": ("审计链完整：已校验 {count} 条", "Audit chain intact: {count} entries verified"),
    "audit_chain_broken": ("审计链在第 {seq} 条处断裂：{reason}", "Audit chain broken at entry {seq}: {reason}"),
    "audit_retention": (
        "保留期限 {days} 天：未满期限的记录不会被删除",
        "Kept {days} days: no entry younger than that is ever removed",
    ),
    "audit_bad_filter": ("筛选条件无效：{reason}", "Invalid filter: {reason}"),
    "audit_exported_by": ("导出人", "Exported by"),
    "audit_action_login": ("登录", "Sign-in"),
    "audit_action_login_failed": ("登录失败", "Failed sign-in"),
    "audit_action_logout": ("退出", "Sign-out"),
    "audit_action_timeout": ("会话超时", "Session timeout"),
    "audit_action_export": ("导出", "Export"),
    "audit_action_brief": ("简报", "Brief"),
    "audit_action_rollback": ("回滚", "Rollback"),
    "audit_action_pipeline_run": ("运行管道", "Pipeline run"),
    "audit_action_user_change": ("用户变更", "User change"),
    "audit_action_token_change": ("令牌变更", "Token change"),
    "audit_action_token_use": ("令牌使用", "Token use"),
    "audit_action_denied": ("拒绝访问", "Denied"),
    "audit_action_audit_prune": ("清理审计", "Audit prune"),
    "tokens_title": ("大屏令牌", "Screen tokens"),
    "token_name": ("名称", "Name"),
    "token_scope": ("范围", "Scope"),
    "token_scope_hint": ("street、community:ID,ID 或 grid:ID,ID", "street, community:ID,ID or grid:ID,ID"),
    "token_created_by": ("签发人", "Issued by"),
    "token_created_at": ("签发时间", "Issued at"),
    "token_last_used": ("最近使用", "Last used"),
    "token_status": ("状态", "Status"),
    "token_active": ("有效", "Active"),
    "token_revoked_at": ("已吊销 {at}", "Revoked {at}"),
    "token_issue": ("签发令牌", "Issue token"),
    "token_revoke": ("吊销", "Revoke"),
    "token_none": ("尚无大屏令牌", "No screen tokens yet"),
    "token_issued": (
        "已签发大屏令牌 {name}：在大屏电脑上打开下面的地址。此地址只显示这一次，请立即复制。",
        "Screen token {name} issued: open the address below on the wall PC. It is shown this once only: copy it now.",
    ),
    "token_revoked_done": (
        "已吊销大屏令牌 {name}：使用它的大屏将在下次刷新时退出",
        "Screen token {name} revoked: a screen using it signs out at its next refresh",
    ),
    "users_title": ("用户", "Users"),
    "users_help": (
        "只读列表；新增和修改用户请用命令行 cockpit user …",
        "Read only; add and change users with cockpit user …",
    ),
    "user_display_name": ("显示名", "Display name"),
    "user_role": ("角色", "Role"),
    "user_scope": ("范围", "Scope"),
    "user_grants": ("额外权限", "Grants"),
    "user_state": ("状态", "State"),
    "user_disabled": ("已停用", "Disabled"),
    "user_locked": ("锁定至 {until}", "Locked until {until}"),
    "user_must_change": ("待修改初始密码", "Initial password"),
    "user_ok": ("正常", "Active"),
    # the operator's actions on the 数据管道 page (cockpit/components/pipeline_actions.py)
    "cancel": ("取消", "Cancel"),
    "none": ("无", "none"),
    "pipeline_rollback": ("回滚到上一版本", "Roll back to the previous release"),
    "pipeline_rollback_to": ("回滚到此版本", "Roll back to this release"),
    "pipeline_rollback_confirm": ("确认回滚", "Roll back"),
    "pipeline_rollback_from_to": (
        "当前版本 {current} 将回滚到版本 {target}。",
        "The current release {current} will be replaced by release {target}.",
    ),
    "pipeline_rollback_days": (
        "较新版本装载的数据日将被搁置（不再入库），直至被接受：{days}",
        "The landing days the newer release loaded are set aside (not loaded again) until accepted: {days}",
    ),
    "pipeline_rollback_accept_hint": (
        "接受某一数据日：cockpit pipeline accept 数据日；数据源重新交付该日时也会重新装载。",
        "To take a day back: cockpit pipeline accept DAY; a new delivery of the day is loaded as usual.",
    ),
    "pipeline_rollback_done": (
        "已回滚，当前版本为 {target}；搁置的数据日：{days}",
        "Rolled back to {target}; days set aside: {days}",
    ),
    "pipeline_rollback_refused": ("无法回滚：{reason}", "Cannot roll back: {reason}"),
    "pipeline_run_now": ("立即运行管道", "Run the pipeline now"),
    "pipeline_run_started": ("管道已在后台开始运行", "The pipeline run started in the background"),
    "pipeline_run_refused": ("无法运行管道：{reason}", "Cannot run the pipeline: {reason}"),
    "pipeline_run_none": ("尚未从此页面运行过管道", "No pipeline run started from this page yet"),
    "pipeline_run_running": (
        "管道运行中（{by} 于 {started} 启动）…",
        "Pipeline running (started by {by} at {started})…",
    ),
    "pipeline_run_finished": (
        "运行完成（退出码 {code}）· {run} {status}：{line}",
        "Run finished (exit code {code}) · {run} {status}: {line}",
    ),
    "pipeline_run_failed": ("运行失败（退出码 {code}）：{line}", "Run failed (exit code {code}): {line}"),
    "overdue_days": ("超期天数", "Days overdue"),
    "menu": ("菜单", "Menu"),
    # A KPI whose sources are complete through an earlier day than its period's end (cockpit/metrics/catalog.py).
    "through_note": ("数据截至 {day}", "data through {day}"),
    "status_reason_partial": ("本期数据不全，不作评判", "partial period: not rated"),
    "status_reason_no_complete_data": ("本期尚无完整数据", "no complete data for this period yet"),
    # Bounds of a target that accrues (thresholds.prorate): per unit, pro-rated to the period's days.
    "prorated": ("（每{unit}，按统计期天数折算）", " (per {unit}, pro-rated to the days of the period)"),
    "prorate_year": ("年", "year"),
    "prorate_half_year": ("半年", "half year"),
    "prorate_quarter": ("季度", "quarter"),
    "prorate_month": ("月", "month"),
    "no_data_period": ("本期无数据", "No data in this period"),
}


def t(key: str, lang: str = "zh", **values: object) -> str:
    """The interface text `key` in `lang`, with {placeholders} filled."""
    zh, en = STRINGS[key]
    text = en if lang == "en" else zh
    return text.format(**values) if values else text


def dimension_name(dimension: str, lang: str = "zh") -> str:
    """A filter dimension's name ("grid" is 网格 here, while the key "grid" names the module 网格管理)."""
    return t("grid_unit" if dimension == "grid" else dimension, lang)


def current_language() -> str:
    """The reader's language from their cookie (outside a request: Chinese)."""
    if flask.has_request_context():
        value = flask.request.cookies.get(LANG_COOKIE)
        if value in LANGUAGES:
            return value
    return "zh"


# The kind of place a Chinese place name ends with, longest first, and how an English address says it.
PLACE_KINDS = (
    ("居委会", "Residents' Committee"),
    ("街道", "Street"),
    ("社区", "Community"),
    ("小区", "Compound"),
    ("微网格", "Micro-grid"),
    ("网格", "Grid"),
    ("镇", "Town"),
    ("乡", "Township"),
    ("村", "Village"),
)
# A kind of place in a name, its number before (第7网格) or after (微网格47): 春南社区第7网格 is a community's grid.
_PLACE_PART = re.compile(rf"(?:第(\d+))?({'|'.join(kind for kind, _ in PLACE_KINDS)})(\d+)?")
# Pinyin writes an apostrophe before a syllable starting with a, o or e inside a word (Xi'an, not Xian).
_VOWEL_INITIAL = ("a", "o", "e")


def romanise(name: str) -> str:
    """A Chinese place name in pinyin as an English text writes it: 澳韵社区 → Aoyun Community.

    Each name proper is one capitalised word (tone marks dropped, an apostrophe where syllables
    would run together); each known kind of place (街道, 社区, 网格…) is translated, with its number:
    春南社区第7网格 → Chunnan Community Grid 7. Text that is not Chinese is kept; an empty name stays empty.
    """
    name = (name or "").strip()
    words, at = [], 0
    for part in _PLACE_PART.finditer(name):
        if part.start() == 0 and part.end() == len(name) and not (part.group(1) or part.group(3)):
            break  # a bare kind (社区) is a name, not a kind of one
        if part.start() > at:
            words.append(_pinyin_word(name[at : part.start()]))
        number = part.group(1) or part.group(3)
        kind = dict(PLACE_KINDS)[part.group(2)]
        words.append(f"{kind} {number}" if number else kind)
        at = part.end()
    if at < len(name):
        words.append(_pinyin_word(name[at:]))
    return " ".join(word for word in words if word)


def _pinyin_word(text: str) -> str:
    from pypinyin import lazy_pinyin  # loads its dictionaries on import (~0.4 s): only when a name needs it

    word = ""
    for syllable in lazy_pinyin(text.strip(), errors="default"):
        if word and syllable[:1] in _VOWEL_INITIAL and word[-1:].isalpha():
            word += "'"
        word += syllable
    return word[:1].upper() + word[1:]


def street_name(lang: str = "zh") -> str:
    """The configured street's name in `lang` for the app serving this request; empty when none is configured.

    An empty name is a neutral title (only 街道数字驾驶舱), never another street's name.
    """
    if not flask.has_app_context():
        return ""
    street = flask.current_app.config.get("COCKPIT_STREET")
    return street.label(lang) if street is not None else ""


def current_theme() -> str:
    if flask.has_request_context():
        value = flask.request.cookies.get(THEME_COOKIE)
        if value in THEMES:
            return value
    return "light"
