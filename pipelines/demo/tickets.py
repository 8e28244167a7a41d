"""Tickets: intake from 12345, 数字城管, 寒山闻钟 and grid reports, and their lifecycle on the dispatch platform.

Each day draws every channel's tickets (weekday and hour cycles, seasonal
category mix), writes each channel's export in its own format, then plays
each ticket's whole lifecycle at once (dispatch, accept, maybe return,
extension and supervision, resolve, follow-up call, close). The events are
queued by the day they happen and written into that day's ticket_events file
when the loop gets there; events after the end of the range are never
written, so recent tickets are still open. A late event is queued into a day
2-5 days after it happened; an out-of-order one a day after its successor landed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np

from pipelines.demo import codes
from pipelines.demo.clock import (
    CITIZEN_WEEK,
    HOURS,
    OFFICE_WEEK,
    add_working_days,
    daily_count,
    draw_times,
    fmt_dt,
    impossible_date_text,
    impossible_time_text,
    in_office_hours,
    rng_for,
    season_of,
)
from pipelines.demo.context import Context
from pipelines.demo.draws import Draws
from pipelines.demo.profile import DAILY_VOLUMES
from pipelines.demo.street import DEDICATED_LABELS
from pipelines.demo.writers import UNDECODABLE_MARK, csv_bytes, json_line, jsonl_bytes

# landing source → channel code (warehouse/seeds/channel.csv)
CHANNEL_OF_SOURCE = {
    "hotline_12345": "hotline_12345",
    "city_mgmt": "city_mgmt",
    "forum": "forum",
    "grid_reports": "grid_report",
}
TICKET_PREFIX = {"hotline_12345": "GD", "city_mgmt": "CG", "grid_reports": "WG"}

# Relative weight of each category per channel, before the seasonal factor.
CATEGORY_MIX = {
    "hotline_12345": {
        "noise": 9,
        "ac_noise": 4,
        "heating": 1.5,
        "property": 12,
        "parking": 8,
        "sanitation": 6,
        "garbage_sorting": 3,
        "road": 4,
        "greenery": 2,
        "water_supply": 5,
        "drainage": 3,
        "illegal_construction": 3,
        "street_vendor": 3,
        "elevator": 4,
        "fire_safety": 2,
        "food_safety": 2,
        "pet": 3,
        "labor_dispute": 5,
        "consumer": 5,
        "pollution": 3,
        "elderly_service": 2,
        "neighbourhood": 4,
    },
    "city_mgmt": {
        "sanitation": 20,
        "street_vendor": 14,
        "road": 12,
        "greenery": 8,
        "illegal_construction": 6,
        "garbage_sorting": 10,
        "parking": 10,
        "drainage": 5,
        "pollution": 3,
        "fire_safety": 2,
    },
    "forum": {
        "property": 10,
        "noise": 6,
        "pollution": 4,
        "consumer": 4,
        "labor_dispute": 3,
        "elderly_service": 2,
        "parking": 4,
        "road": 3,
        "ac_noise": 2,
        "neighbourhood": 2,
        "food_safety": 2,
        "water_supply": 2,
    },
    "grid_reports": {
        "sanitation": 12,
        "fire_safety": 10,
        "neighbourhood": 8,
        "property": 6,
        "garbage_sorting": 8,
        "road": 5,
        "elderly_service": 6,
        "illegal_construction": 4,
        "parking": 6,
        "heating": 2,
        "street_vendor": 4,
        "elevator": 2,
        "pet": 2,
        "drainage": 2,
    },
}
SEASON_BOOST, OFF_SEASON = 3.0, 0.35
# Labelled surges, the early warning's ground truth (listed in the manifest): for a few days one community
# calls 12345 about one thing far more than usual (a burst main, a new building site, a broken lift). None
# starts in the first SURGE_WARMUP days, so a detector has a baseline and a short demo range has none; one
# starts every SURGE_EVERY days on average; each adds, per day, a number drawn from SURGE_EXTRA plus
# SURGE_TIMES times the community's usual daily calls about the thing.
SURGE_WARMUP, SURGE_EVERY = 56, 12
SURGE_DAYS = (1, 3)
SURGE_EXTRA = (5, 11)
SURGE_TIMES = 2.0
# Grid workers settle light matters on the spot; heavy ones go up the chain.
SELF_RESOLVE = {
    "sanitation": 0.85,
    "fire_safety": 0.8,
    "neighbourhood": 0.85,
    "garbage_sorting": 0.9,
    "parking": 0.8,
    "street_vendor": 0.8,
    "pet": 0.8,
    "elderly_service": 0.7,
    "property": 0.5,
    "road": 0.35,
    "heating": 0.6,
    "illegal_construction": 0.2,
    "elevator": 0.15,
    "drainage": 0.3,
}

# Department performance: share of follow-ups not dissatisfied, and share of tickets resolved late.
SATISFACTION = {
    "party_admin": 0.97,
    "community_governance": 0.95,
    "urban_mgmt": 0.93,
    "enforcement_bureau": 0.90,
    "safety": 0.96,
    "market_regulation": 0.93,
    "police": 0.94,
    "housing": 0.88,
    "environment": 0.91,
    "social_affairs": 0.98,
    "water": 0.95,
    "labor": 0.89,
}
LATE_RATE = {
    "party_admin": 0.04,
    "community_governance": 0.05,
    "urban_mgmt": 0.06,
    "enforcement_bureau": 0.08,
    "safety": 0.04,
    "market_regulation": 0.05,
    "police": 0.05,
    "housing": 0.09,
    "environment": 0.07,
    "social_affairs": 0.04,
    "water": 0.05,
    "labor": 0.08,
}
FOLLOW_UP = {"hotline_12345": 0.92, "forum": 0.8, "city_mgmt": 0.3, "grid_reports": 0.5}
RETURN_RATE, EXTENSION_RATE, SUPERVISE_OVERDUE, REWORK_DISSATISFIED = 0.04, 0.03, 0.6, 0.35
# What the official 口径 KPIs are counted from (drawn from a stream of their own, so the events above
# are the same with or without them): the handler's first call to the citizen (响应), the citizen
# calling again to urge (催办), a 数字城管 case put on hold (缓办), a closed ticket opened again (重办).
CITIZEN = ("citizen", "市民举报")  # the reporter labels of a citizen, who can be called and can urge
CONTACT = 0.97  # share of dispatched citizen tickets whose handler records a call
CONTACT_HOURS = (2.0, 0.9)  # lognormal median and sigma of the hours from acceptance to the call
URGE, URGE_LATE = 0.05, 0.5  # share of citizen tickets urged; of those resolved late
SUSPEND = {"city_mgmt": 0.03}
REOPEN = 0.015
VERY = {"satisfied": ("very_satisfied", 0.4), "dissatisfied": ("very_dissatisfied", 0.25)}  # the 5 levels' extremes
SOLVED = {True: 0.95, False: 0.25}
# Who calls 12345, as its export records it (诉求人类别): shares of callers per focus group, the rest 一般群众;
# some categories are mostly one group's.
CALLER_GROUPS = {"elderly": 0.16, "new_employment": 0.05, "new_resident": 0.12, "hardship": 0.04}
CALLER_GROUPS_BY_CATEGORY = {
    "elderly_service": {"elderly": 0.8, "hardship": 0.08},
    "heating": {"elderly": 0.35},
    "labor_dispute": {"new_employment": 0.3, "new_resident": 0.3},
    "consumer": {"new_resident": 0.18},
}  # a follow-up says "solved", by whether the citizen was satisfied

ACTION_ZH = {
    "received": "受理",
    "dispatched": "派发",
    "accepted": "签收",
    "contacted": "联系诉求人",
    "returned": "退单",
    "extended": "延期",
    "supervised": "督办",
    "urged": "催办",
    "suspended": "缓办",
    "resumed": "恢复办理",
    "resolved": "办结",
    "follow_up": "回访",
    "closed": "归档",
}
SATISFACTION_ZH = {
    "very_satisfied": "非常满意",
    "satisfied": "满意",
    "basically_satisfied": "基本满意",
    "dissatisfied": "不满意",
    "very_dissatisfied": "非常不满意",
}
CITY_CLASS = {
    "sanitation": "市容环境",
    "garbage_sorting": "市容环境",
    "pollution": "市容环境",
    "street_vendor": "街面秩序",
    "parking": "街面秩序",
    "illegal_construction": "施工管理",
    "road": "市政设施",
    "drainage": "市政设施",
    "greenery": "园林绿化",
    "fire_safety": "突发事件",
}

CONTENT = {
    "noise": [
        "{a}附近夜间有施工噪音，一直持续到凌晨，严重影响休息，希望尽快处理。",
        "{a}楼下商铺音响声音很大，多次沟通无果。",
    ],
    "ac_noise": ["{a}邻居空调外机噪音大、震动明显，晚上无法入睡。"],
    "heating": ["{a}有住户在楼道私拉电线给电暖器充电，存在安全隐患。"],
    "property": [
        "{a}物业长期不处理公共区域漏水和绿化问题，业主意见很大。",
        "{a}物业费上涨未经业主大会表决，请求核查。",
    ],
    "parking": ["{a}门口车辆乱停乱放，堵塞消防通道。", "{a}地下车库被外来车辆长期占用。"],
    "sanitation": ["{a}垃圾桶满溢无人清运，气味很大。", "{a}路面有大量建筑垃圾未清理。"],
    "garbage_sorting": ["{a}垃圾分类投放点混投严重，督导员不在岗。"],
    "road": ["{a}人行道地砖松动破损，老人容易绊倒。", "{a}路灯不亮已有一周。", "{a}窨井盖破损，存在安全隐患。"],
    "greenery": ["{a}行道树枝条遮挡路灯和窗户，需要修剪。"],
    "water_supply": ["{a}自来水水压低，高层住户用水困难。", "{a}突然停水，没有提前通知。"],
    "drainage": ["{a}下雨后路面积水严重，排水不畅。"],
    "illegal_construction": ["{a}有住户在楼顶违章搭建阳光房。", "{a}一楼住户私自扩建院子。"],
    "street_vendor": ["{a}有流动摊贩占道经营，影响通行。"],
    "elevator": ["{a}电梯频繁故障，昨天有人被困。"],
    "fire_safety": ["{a}楼道内堆放大量杂物和电动车，存在火灾隐患。", "{a}消防栓被圈占无法使用。"],
    "food_safety": ["{a}附近餐饮店后厨卫生差，怀疑使用过期食材。"],
    "pet": ["{a}有住户养狗不拴绳，夜里狗叫扰民。"],
    "labor_dispute": ["本人在{c}工作，公司拖欠工资两个月未发。", "{c}未按规定缴纳社保，要求处理。"],
    "consumer": ["在{a}附近的健身房办卡后商家关门，要求退款。", "{c}预付卡无法退费。"],
    "pollution": ["{a}附近餐饮油烟直排，污染严重。", "{a}夜间有刺鼻气味，怀疑企业偷排。"],
    "elderly_service": ["{a}独居老人需要助餐和上门探访服务。", "{a}老人申请居家养老服务一直没有回复。"],
    "neighbourhood": ["{a}楼上住户漏水到我家，协商无果。", "{a}邻居在公共走道堆放杂物，沟通无果。"],
}
FORUM_TITLES = ["{p}的{k}问题谁来管？", "{p}{k}问题，希望尽快解决", "求助：{p}{k}", "{p}{k}问题反映多次未解决"]
RESOLVE_NOTES = [
    "已安排人员现场处置完毕，并与诉求人沟通。",
    "经现场核实，问题已整改到位。",
    "已协调相关单位处理完毕。",
    "已约谈责任主体，限期整改完成。",
]
CORNERS = ["东北角", "西北角", "东南角", "西南角"]


@dataclass(eq=False)
class Ticket:
    source: str
    received_at: datetime
    category: str
    micro: int  # -1 for a dedicated grid
    grid_id: str
    address: str
    content: str
    person: int
    place: str  # compound or landmark, for titles
    lon: float | None = None
    lat: float | None = None
    reporter: tuple[str, str | None, str | None] = ("citizen", None, None)  # kind label, name, phone
    self_resolved: bool = False
    no: str = ""
    dirty: bool = False
    linked: bool = False  # part of a cross-channel duplicate pair

    @property
    def ticket_id(self) -> str:
        return f"{CHANNEL_OF_SOURCE[self.source]}:{self.no}"


@dataclass
class Event:
    ticket: Ticket
    kind: str
    at: datetime
    department: str | None = None
    extension_days: int | None = None
    satisfaction: str | None = None
    solved: bool | None = None
    note: str | None = None
    operator: str | None = None
    event_id: str = ""


class TicketDesk:
    """Writes hotline_12345, city_mgmt, forum, grid_reports (events) and ticket_events, day by day."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        d = ctx.district
        self.categories = codes.categories()
        self.department_zh = codes.name_zh("department")
        self.category_zh = codes.name_zh("category")
        self.channel_zh = codes.name_zh("channel")
        self.group_zh = codes.name_zh("focus_group")
        self.departments = codes.department_codes()
        rng = rng_for(ctx.seed, "ticket-staff")
        self.dispatchers = ctx.pools.names(rng, 12)
        self.staff = {dep: ctx.pools.names(rng, 6) for dep in self.departments}
        self.callers = ctx.pools.names(rng, 10)
        n_patrol = max(4, int(30 * ctx.scale))
        self.patrol_name, self.patrol_phone = ctx.pools.names(rng, n_patrol), ctx.pools.phones(rng, n_patrol)
        self.micro_weight = d.micro_residents / d.micro_residents.sum()
        hh = d.micro_households.astype(float)
        self.micro_hh_weight = hh / hh.sum()
        self.pending: dict[date, list[tuple[datetime, str, str]]] = defaultdict(list)
        self.surges = self._plan_surges()
        for surge in self.surges:
            ctx.manifest.surge({key: value for key, value in surge.items() if key != "community"})

    def _plan_surges(self) -> list[dict]:
        """The labelled surges of the range (see SURGE_WARMUP): category, community, days and extra calls a day."""
        ctx, d = self.ctx, self.ctx.district
        rng = rng_for(ctx.seed, "surges")
        open_days = ctx.days[SURGE_WARMUP:]
        if not open_days:
            return []
        mix = CATEGORY_MIX["hotline_12345"]
        names = list(mix)
        weight = np.array([mix[name] for name in names])
        share = d.community_residents / d.community_residents.sum()
        starts = sorted(rng.choice(len(open_days), size=max(1, len(open_days) // SURGE_EVERY), replace=False))
        surges = []
        for start in starts:
            day = open_days[int(start)]
            category = names[int(rng.choice(len(names), p=weight / weight.sum()))]
            community = int(rng.choice(len(share), p=share))
            days = min(int(rng.integers(SURGE_DAYS[0], SURGE_DAYS[1] + 1)), len(open_days) - int(start))
            _, p = self._category_p("hotline_12345", day)
            usual = DAILY_VOLUMES["hotline_12345"] * ctx.scale * p[names.index(category)] * share[community]
            extra = [
                int(rng.integers(SURGE_EXTRA[0], SURGE_EXTRA[1] + 1) + round(SURGE_TIMES * usual)) for _ in range(days)
            ]
            surges.append(
                {
                    "category": category,
                    "community": community,
                    "community_id": str(d.community_id[community]),
                    "start": day.isoformat(),
                    "end": (day + timedelta(days=days - 1)).isoformat(),
                    "extra": extra,
                }
            )
        return surges

    def _surging(self, day: date) -> list[dict]:
        return [s for s in self.surges if date.fromisoformat(s["start"]) <= day <= date.fromisoformat(s["end"])]

    # ----- drawing tickets -------------------------------------------------------------------
    def _category_p(self, source: str, day: date) -> tuple[list[str], np.ndarray]:
        season = season_of(day)
        mix = CATEGORY_MIX[source]
        names = list(mix)

        def factor(category: str) -> float:
            peak = self.categories[category]["season"]  # summer | winter | empty: all year
            return 1.0 if not peak else SEASON_BOOST if peak == season else OFF_SEASON

        w = np.array([mix[c] * factor(c) for c in names])
        return names, w / w.sum()

    def _draw(
        self, source: str, day: date, rng: np.random.Generator, minimum: int = 0, surge: dict | None = None
    ) -> list[Ticket]:
        """The day's tickets of a source; with `surge`, its extra calls about one category in one community."""
        ctx, d = self.ctx, self.ctx.district
        week = OFFICE_WEEK if source == "grid_reports" else CITIZEN_WEEK
        if surge is None:
            n = max(minimum, daily_count(rng, DAILY_VOLUMES[CHANNEL_OF_SOURCE[source]] * ctx.scale, day, week))
        else:
            n = surge["extra"][(day - date.fromisoformat(surge["start"])).days]
        hours = {"hotline_12345": "hotline", "city_mgmt": "city_mgmt", "forum": "forum", "grid_reports": "grid"}[source]
        times = draw_times(rng, day, n, HOURS[hours])
        names, p = self._category_p(source, day)
        if surge is None:
            cats = rng.choice(len(names), size=n, p=p)
            micro = rng.choice(
                len(d.micro_id), size=n, p=self.micro_hh_weight if source == "grid_reports" else self.micro_weight
            )
            dedicated = (rng.random(n) < 0.08) if source == "hotline_12345" else np.zeros(n, bool)
        else:
            cats = np.full(n, names.index(surge["category"]))
            inside = np.flatnonzero(d.micro_community == surge["community"])
            weight = self.micro_weight[inside]
            micro = inside[rng.choice(len(inside), size=n, p=weight / weight.sum())]
            dedicated = np.zeros(n, bool)
        person = rng.integers(0, len(ctx.pools.people), n)
        building = rng.integers(1, 40, n)
        room = rng.integers(1, 33, n) * 100 + rng.integers(1, 5, n)
        number = rng.integers(1, 300, n)
        pick = rng.random((n, 3))
        if source in ("city_mgmt", "grid_reports"):
            lon, lat = d.points_in_micro(rng, micro)
        out = []
        for i in range(n):
            m = int(micro[i])
            c = int(d.micro_community[m])
            compound = d.compound_name[d.micro_compound[m]]
            b = 1 + int(building[i]) % int(d.compound_buildings[d.micro_compound[m]])
            roads = d.roads[c]
            road = roads[int(pick[i, 0] * len(roads))]
            category = names[int(cats[i])]
            grid_id, place = d.comp_id[d.micro_comp[m]], compound
            street = d.plans[d.community_street[c]].name
            spot = None  # where the complaint text says it happens, when shorter than the address
            # Each channel writes addresses its own way, so only injected duplicates match across channels.
            if source == "hotline_12345":
                if dedicated[i] and len(d.dedicated_id):
                    z = int(pick[i, 1] * len(d.dedicated_id))
                    grid_id, m = d.dedicated_id[z], -1
                    place = DEDICATED_LABELS[d.dedicated_kind[z]]
                    address = f"{street}{road}{number[i]}号{place}"
                else:
                    address = f"{street}{compound}{b}幢{room[i]}室"
                    spot = f"{compound}{b}幢"
            elif source == "city_mgmt":
                if pick[i, 1] < 0.5:
                    other = roads[(int(pick[i, 0] * len(roads)) + 1) % len(roads)]
                    address = f"{road}与{other}交叉口{CORNERS[int(pick[i, 2] * 4)]}"
                else:
                    address = f"{road}{number[i]}号门前"
                place = road
            elif source == "forum":
                address = f"{compound}小区{b}栋"
            else:
                grid_id = d.micro_id[m]
                address = f"{compound}{b}幢{1 + int(pick[i, 1] * 4)}单元门口"
            template = CONTENT[category][int(pick[i, 2] * len(CONTENT[category]))]
            company = ctx.pools.companies[int(person[i]) % len(ctx.pools.companies)]
            t = Ticket(
                source,
                times[i],
                category,
                m,
                grid_id,
                address,
                template.format(a=spot or address, c=company),
                int(person[i]),
                place,
            )
            if source in ("city_mgmt", "grid_reports"):
                t.lon, t.lat = float(lon[i]), float(lat[i])
            out.append(t)
        self._reporters(source, out, rng)
        return out

    def _reporters(self, source: str, tickets: list[Ticket], rng: np.random.Generator) -> None:
        people, d = self.ctx.pools.people, self.ctx.district
        n = len(tickets)
        u = rng.random((n, 3))
        for i, t in enumerate(tickets):
            if source == "hotline_12345":
                t.reporter = ("citizen", people.name[t.person], people.phone[t.person])
                if u[i, 0] < 0.05:  # callers sometimes leave a number to call back in the text
                    t.content += (
                        f"请回电{people.name[t.person][0]}先生/女士：{people.phone[(t.person + 7) % len(people)]}"
                    )
            elif source == "city_mgmt":
                # patrol officers find most cases, AI cameras a third, citizens the rest
                label = "监督员上报" if u[i, 0] < 0.55 else "视频智能发现" if u[i, 0] < 0.85 else "市民举报"
                if label == "监督员上报":
                    k = int(u[i, 1] * len(self.patrol_name))
                    t.reporter = (label, self.patrol_name[k], self.patrol_phone[k])
                elif label == "市民举报":
                    t.reporter = (label, people.name[t.person], people.phone[t.person])
                else:
                    t.reporter = (label, None, None)
            elif source == "forum":
                nick = self.ctx.pools.nicknames[t.person % len(self.ctx.pools.nicknames)]
                t.reporter = ("citizen", nick, people.phone[t.person] if u[i, 0] < 0.3 else None)
                if u[i, 1] < 0.06:
                    t.content += f"我的电话{people.phone[t.person]}，欢迎联系。"
            else:
                w = d.micro_worker[t.micro]
                t.reporter = ("grid_worker", d.worker_name[w], d.worker_phone[w])
                t.self_resolved = bool(u[i, 2] < SELF_RESOLVE.get(t.category, 0.7))

    def _duplicates(
        self, hotline: list[Ticket], target: str, index: int, rng: np.random.Generator, taken: set[int]
    ) -> list[tuple[Ticket, Ticket]]:
        """The same complaint arriving again through another channel a few hours after the 12345 call."""
        if not hotline:
            return []
        last = datetime.combine(hotline[0].received_at.date(), time(23, 55))
        candidates = [
            i
            for i, t in enumerate(hotline)
            if t.micro >= 0 and t.received_at < last - timedelta(minutes=25) and i not in taken
        ]
        chosen = self.ctx.dirt.pick(
            "cross_channel_duplicate", target, "ticket_intake", index, candidates, eligible_count=len(hotline)
        )
        out = []
        d = self.ctx.district
        for i in chosen:
            taken.add(i)
            orig = hotline[i]
            orig.linked = True
            room = int((last - orig.received_at).total_seconds() // 60)  # the duplicate arrives the same day
            later = orig.received_at + timedelta(minutes=int(rng.integers(min(40, room // 2), min(300, room))))
            dup = Ticket(
                target,
                later,
                orig.category,
                orig.micro,
                orig.grid_id,
                orig.address,
                orig.content + ("已打过12345，希望尽快处理。" if target == "forum" else ""),
                orig.person,
                orig.place,
                linked=True,
            )
            if target == "city_mgmt":
                lon, lat = d.points_in_micro(rng, np.array([orig.micro]))
                dup.lon, dup.lat = float(lon[0]), float(lat[0])
            out.append((orig, dup))
        return out

    # ----- the day ---------------------------------------------------------------------------
    def write_day(self, day: date, index: int) -> None:
        ctx, dirt = self.ctx, self.ctx.dirt
        rng = rng_for(ctx.seed, "tickets", day.toordinal())
        header_due = dirt.due[("changed_header_file", "forum", "ticket_intake")]
        header_day = header_due is not None and index >= header_due
        # A small street may go days without a forum post: a day with faults due has rows enough to spoil.
        minimum = {s: dirt.pending(s, "ticket_intake", index) for s in CHANNEL_OF_SOURCE}
        minimum["hotline_12345"] += dirt.pending(
            "city_mgmt", "ticket_intake", index, ("cross_channel_duplicate",)
        ) + dirt.pending("forum", "ticket_intake", index, ("cross_channel_duplicate",))
        drawn = {
            s: self._draw(s, day, rng, minimum=minimum[s])
            for s in ("hotline_12345", "city_mgmt", "forum", "grid_reports")
        }
        pairs = []
        taken: set[int] = set()
        for target in ("city_mgmt", "forum"):
            if target == "forum" and header_day:
                continue  # a duplicate in a rejected file would never load
            for orig, dup in self._duplicates(drawn["hotline_12345"], target, index, rng, taken):
                drawn[target].append(dup)
                self._reporters(target, [dup], rng)
                pairs.append((orig, dup))
        surging = self._surging(day)
        if surging:
            # from a stream of their own, after the day's usual calls and duplicates: the rest of the day
            # is drawn as it would be without them
            surge_rng = rng_for(ctx.seed, "surge-calls", day.toordinal())
            for surge in surging:
                drawn["hotline_12345"] += self._draw("hotline_12345", day, surge_rng, surge=surge)
        for source, tickets in drawn.items():
            tickets.sort(key=lambda t: t.received_at)
            for seq, t in enumerate(tickets, start=1):
                t.no = (
                    f"{(day.toordinal() - 700_000) * 1000 + seq}"
                    if source == "forum"
                    else f"{TICKET_PREFIX[source]}{day:%Y%m%d}{seq:05d}"
                )
        for orig, dup in pairs:
            ctx.manifest.injected(
                "cross_channel_duplicate",
                dup.source,
                "ticket_intake",
                {
                    "duplicate": dup.ticket_id,
                    "original": orig.ticket_id,
                    "address": dup.address,
                    "category": dup.category,
                },
            )

        self._write_hotline(day, index, drawn["hotline_12345"])
        self._write_city_mgmt(day, index, drawn["city_mgmt"])
        self._write_forum(day, index, drawn["forum"], header_day)
        self._write_grid_events(day, index, drawn["grid_reports"])

        life_rng = Draws(rng_for(ctx.seed, "lifecycle", day.toordinal()))
        loop_rng = Draws(rng_for(ctx.seed, "assessment", day.toordinal()))
        lifecycles = [
            self._assessed(self._lifecycle(t, life_rng), loop_rng) for ts in drawn.values() for t in ts if not t.dirty
        ]
        self._queue(day, index, lifecycles)
        self._write_events(day)

    def _reporter_groups(self, day: date, tickets: list[Ticket]) -> list[str]:
        """Each 12345 caller's group as the hotline records it (诉求人类别), from a stream of its own."""
        rng = rng_for(self.ctx.seed, "reporter-groups", day.toordinal())
        u = rng.random(len(tickets))
        groups = []
        for t, draw in zip(tickets, u, strict=True):
            shares = {**CALLER_GROUPS, **CALLER_GROUPS_BY_CATEGORY.get(t.category, {})}
            edge, chosen = 0.0, "general"
            for group, share in shares.items():
                edge += share
                if draw < edge:
                    chosen = group
                    break
            groups.append(chosen)
        return groups

    # ----- exports ---------------------------------------------------------------------------
    def _spoil_rows(
        self, source: str, table: str, index: int, tickets: list[Ticket], rows: list, faults: dict[str, Callable | None]
    ) -> list:
        """Apply one fault per chosen row; returns the rows with duplicate copies inserted."""
        ctx = self.ctx
        free = [i for i, t in enumerate(tickets) if not t.linked]
        for kind, spoil in faults.items():
            if kind == "duplicate_row":
                continue
            for i in ctx.dirt.pick(kind, source, table, index, free, eligible_count=len(tickets)):
                free.remove(i)
                rows[i] = spoil(rows[i])
                tickets[i].dirty = True
                ctx.manifest.injected(kind, source, table, tickets[i].ticket_id)
        if "duplicate_row" in faults:
            doubles = ctx.dirt.pick("duplicate_row", source, table, index, free, eligible_count=len(tickets))
            for i in reversed(doubles):
                ctx.manifest.injected("duplicate_row", source, table, tickets[i].ticket_id)
                rows.insert(i + 1, dict(rows[i]) if isinstance(rows[i], dict) else list(rows[i]))
        return rows

    HOTLINE_HEADER = [
        "工单编号",
        "受理时间",
        "问题分类",
        "诉求标题",
        "诉求内容",
        "事发地址",
        "网格编码",
        "来电人",
        "来电号码",
        "紧急程度",
        "诉求人类别",
    ]

    def _write_hotline(self, day: date, index: int, tickets: list[Ticket]) -> None:
        fmt = "%Y-%m-%d %H:%M:%S"
        rows = [
            [
                t.no,
                fmt_dt(t.received_at, fmt),
                self.category_zh[t.category],
                f"关于{t.place}{self.category_zh[t.category]}的诉求",
                t.content,
                t.address,
                t.grid_id,
                t.reporter[1],
                t.reporter[2],
                "紧急" if t.category in ("elevator", "fire_safety", "drainage") else "一般",
                self.group_zh[group],
            ]
            for t, group in zip(tickets, self._reporter_groups(day, tickets), strict=True)
        ]

        def undecodable(r):
            r = list(r)
            r[4] = r[4][:6] + UNDECODABLE_MARK + r[4][6:]
            return r

        def set_col(col, value):
            return lambda r: [*r[:col], value, *r[col + 1 :]]

        rows = self._spoil_rows(
            "hotline_12345",
            "ticket_intake",
            index,
            tickets,
            rows,
            {
                "undecodable_row": undecodable,
                "missing_required": set_col(2, ""),  # the category: a ticket with no grid loads as 未定位
                "unknown_code": set_col(2, "其他"),
                "impossible_date": set_col(1, impossible_time_text(day, fmt)),
                "duplicate_row": None,
            },
        )
        self.ctx.write(
            "hotline_12345",
            day,
            f"12345_{day:%Y%m%d}.csv",
            csv_bytes(self.HOTLINE_HEADER, rows, encoding="gb18030"),
            {"ticket_intake": len(rows)},
        )

    def _write_city_mgmt(self, day: date, index: int, tickets: list[Ticket]) -> None:
        def record(t: Ticket) -> dict:
            kind, name, phone = t.reporter
            return {
                "caseNo": t.no,
                "reportTime": fmt_dt(t.received_at, "%Y/%m/%d %-H:%M"),
                "bigClass": CITY_CLASS.get(t.category, "其他事件"),
                "smallClass": self.category_zh[t.category],
                "description": t.content,
                "address": t.address,
                "gridCode": t.grid_id,
                "location": {"lon": t.lon, "lat": t.lat},
                "source": kind,
                "reporter": {"name": name, "phone": phone} if name else None,
            }

        def set_key(key, value):
            return lambda r: {**r, key: value}

        rows = self._spoil_rows(
            "city_mgmt",
            "ticket_intake",
            index,
            tickets,
            [record(t) for t in tickets],
            {
                "missing_required": set_key("smallClass", None),
                "unknown_code": set_key("smallClass", "井盖缺失"),
                "impossible_date": set_key("reportTime", impossible_date_text(day, "%Y/%m/%d %-H:%M")),
                "duplicate_row": None,
            },
        )
        if rows:
            self.ctx.write(
                "city_mgmt", day, f"cgcase_{day:%Y%m%d}.jsonl", jsonl_bytes(rows), {"ticket_intake": len(rows)}
            )

    FORUM_HEADER = [
        "帖子编号",
        "帖子标题",
        "帖子内容",
        "发帖时间",
        "诉求类别",
        "涉及地址",
        "所属网格",
        "网友昵称",
        "联系电话",
        "浏览量",
    ]

    def _write_forum(self, day: date, index: int, tickets: list[Ticket], header_day: bool) -> None:
        fmt = "%Y-%m-%d %H:%M"
        rng = rng_for(self.ctx.seed, "forum-views", day.toordinal())
        views = rng.integers(30, 3000, len(tickets))
        rows = [
            [
                t.no,
                FORUM_TITLES[int(t.person) % len(FORUM_TITLES)].format(p=t.place, k=self.category_zh[t.category]),
                t.content,
                fmt_dt(t.received_at, fmt),
                self.category_zh[t.category],
                t.address,
                t.grid_id,
                t.reporter[1],
                t.reporter[2],
                int(v),
            ]
            for t, v in zip(tickets, views, strict=True)
        ]
        header = list(self.FORUM_HEADER)
        if header_day:
            # The forum vendor renamed a column for one day's export: the pipeline must reject the file whole.
            header[3] = "发布时间"
            for t in tickets:
                t.dirty = True
            self.ctx.dirt.done("changed_header_file", "forum", "ticket_intake", 1)
            self.ctx.manifest.injected(
                "changed_header_file",
                "forum",
                "ticket_intake",
                {
                    "file": f"forum/{day.isoformat()}/forum_posts_{day:%Y%m%d}.csv",
                    "renamed": {"发帖时间": "发布时间"},
                    "rows": len(rows),
                    "tickets": [t.ticket_id for t in tickets],
                },
                rows=len(rows),
                whole_file=True,
            )
        else:
            rows = self._spoil_rows(
                "forum",
                "ticket_intake",
                index,
                tickets,
                rows,
                {
                    "impossible_date": lambda r: [*r[:3], impossible_time_text(day, fmt), *r[4:]],
                    "duplicate_row": None,
                },
            )
        self.ctx.write(
            "forum",
            day,
            f"forum_posts_{day:%Y%m%d}.csv",
            csv_bytes(header, rows, bom=True),
            {"ticket_intake": len(rows)},
        )

    GRID_EVENT_HEADER = [
        "事件编号",
        "上报时间",
        "事件类别",
        "事件描述",
        "事发位置",
        "微网格编码",
        "经度",
        "纬度",
        "上报人",
        "上报人电话",
        "处置方式",
    ]

    def _write_grid_events(self, day: date, index: int, tickets: list[Ticket]) -> None:
        fmt = "%Y%m%d%H%M%S"
        rows = [
            [
                t.no,
                fmt_dt(t.received_at, fmt),
                self.category_zh[t.category],
                t.content,
                t.address,
                t.grid_id,
                f"{t.lon:.6f}",
                f"{t.lat:.6f}",
                t.reporter[1],
                t.reporter[2],
                "自行处置" if t.self_resolved else "上报流转",
            ]
            for t in tickets
        ]
        rows = self._spoil_rows(
            "grid_reports",
            "ticket_intake",
            index,
            tickets,
            rows,
            {
                # the category, not the grid: an event with no grid still loads, with its place unknown
                "missing_required": lambda r: [*r[:2], "", *r[3:]],
                "impossible_date": lambda r: [r[0], impossible_date_text(day, fmt), *r[2:]],
                "duplicate_row": None,
            },
        )
        self.ctx.write(
            "grid_reports",
            day,
            f"grid_events_{day:%Y%m%d}.csv",
            csv_bytes(self.GRID_EVENT_HEADER, rows),
            {"ticket_intake": len(rows)},
        )

    # ----- lifecycle -------------------------------------------------------------------------
    def _department(self, t: Ticket, rng: Draws) -> str:
        u = rng.random()
        if u < 0.88:
            return self.categories[t.category]["default_department"]
        if u < 0.95:
            return "community_governance"
        return self.departments[int(rng.integers(0, len(self.departments)))]

    def _lifecycle(self, t: Ticket, rng: Draws) -> list[Event]:
        staff = self.staff
        at = t.received_at + timedelta(minutes=int(rng.integers(1, 5)))
        events = [
            Event(
                t,
                "received",
                at,
                note=f"受理{self.channel_zh[CHANNEL_OF_SOURCE[t.source]]}诉求",
                operator=self.dispatchers[int(rng.integers(0, len(self.dispatchers)))],
            )
        ]
        if t.self_resolved:
            done = at + timedelta(minutes=int(rng.integers(5, 40)))
            events.append(Event(t, "resolved", done, note="网格员现场处置完毕", operator=t.reporter[1]))
            events.append(
                Event(
                    t,
                    "closed",
                    done + timedelta(minutes=int(rng.integers(1, 30))),
                    note="办结归档",
                    operator=self.dispatchers[0],
                )
            )
            return events
        dept = self._department(t, rng)
        dispatcher = self.dispatchers[int(rng.integers(0, len(self.dispatchers)))]
        dispatch = in_office_hours(at + timedelta(minutes=float(rng.exponential(70)) + 5), rng)
        if rng.random() < RETURN_RATE:
            wrong = self.departments[(self.departments.index(dept) + 1 + int(rng.integers(0, 11))) % 12]
            events.append(
                Event(t, "dispatched", dispatch, wrong, note=f"派发至{self.department_zh[wrong]}", operator=dispatcher)
            )
            back = dispatch + timedelta(minutes=int(rng.integers(30, 480)))
            events.append(Event(t, "returned", back, wrong, note="非本单位职责，申请退单", operator=staff[wrong][0]))
            dispatch = in_office_hours(back + timedelta(minutes=int(rng.integers(20, 180))), rng)
        events.append(
            Event(t, "dispatched", dispatch, dept, note=f"派发至{self.department_zh[dept]}", operator=dispatcher)
        )
        handler = staff[dept][int(rng.integers(0, 6))]
        accept_hours = min(rng.lognormal(1.5, 1.1), 72.0)
        accept = dispatch + timedelta(hours=accept_hours)
        events.append(Event(t, "accepted", accept, dept, note="已签收，安排人员处理", operator=handler))

        deadline_day = add_working_days(t.received_at.date(), int(self.categories[t.category]["sla_working_days"]))
        deadline = datetime.combine(deadline_day, time(23, 59, 59))
        if rng.random() < EXTENSION_RATE and deadline - accept > timedelta(hours=6):
            extra = int(rng.integers(3, 11))
            ext_at = accept + (deadline - accept) * float(rng.uniform(0.2, 0.7))
            events.append(
                Event(
                    t,
                    "extended",
                    ext_at,
                    dept,
                    extension_days=extra,
                    note=f"需协调多部门，申请延期{extra}个工作日",
                    operator=handler,
                )
            )
            deadline = datetime.combine(add_working_days(deadline_day, extra), time(23, 59, 59))
        last = events[-1].at
        if rng.random() < LATE_RATE[dept]:
            resolved = deadline + timedelta(hours=float(rng.uniform(3, 24 * 7)))
            if rng.random() < SUPERVISE_OVERDUE:
                supervise = in_office_hours(deadline + timedelta(hours=float(rng.uniform(1, 20))), rng)
                if last < supervise < resolved:
                    events.append(
                        Event(t, "supervised", supervise, dept, note="工单已逾期，请尽快办理", operator=dispatcher)
                    )
        else:
            span = (deadline - last).total_seconds()
            resolved = last + timedelta(seconds=max(1200.0, span * rng.skewed(1.3, 3.0)))
            moved = in_office_hours(resolved, rng, 7, 22)
            resolved = moved if moved < deadline else resolved
            resolved = min(resolved, deadline - timedelta(minutes=5))
            resolved = max(resolved, last + timedelta(minutes=10))
        note = RESOLVE_NOTES[int(rng.integers(0, len(RESOLVE_NOTES)))]
        if rng.random() < 0.03:  # handlers paste the caller's number into the reply now and then
            note = f"已联系诉求人（{self.ctx.pools.people.phone[t.person]}），" + note
        events.append(Event(t, "resolved", resolved, dept, note=note, operator=handler))
        if rng.random() < FOLLOW_UP[t.source]:
            events += self._follow_up(t, dept, handler, resolved, rng)
        closed = events[-1].at + timedelta(minutes=int(rng.integers(30, 60 * 24)))
        events.append(Event(t, "closed", closed, note="办结归档", operator=dispatcher))
        return events

    def _follow_up(self, t: Ticket, dept: str, handler: str, resolved: datetime, rng: Draws) -> list[Event]:
        caller = self.callers[int(rng.integers(0, len(self.callers)))]
        at = in_office_hours(resolved + timedelta(hours=float(rng.uniform(2, 48))), rng, 9, 19)
        ok = rng.random() < SATISFACTION[dept]
        sat = ("satisfied" if rng.random() < 0.85 else "basically_satisfied") if ok else "dissatisfied"
        events = [
            Event(t, "follow_up", at, dept, satisfaction=sat, note=f"回访结果：{SATISFACTION_ZH[sat]}", operator=caller)
        ]
        if sat == "dissatisfied" and rng.random() < REWORK_DISSATISFIED:
            again = at + timedelta(hours=float(rng.uniform(1, 6)))
            accept = again + timedelta(hours=float(rng.uniform(0.5, 4)))
            fixed = accept + timedelta(hours=float(rng.uniform(20, 72)))
            second = fixed + timedelta(hours=float(rng.uniform(3, 30)))
            events += [
                Event(t, "dispatched", again, dept, note="回访不满意，重新派发", operator=self.dispatchers[0]),
                Event(t, "accepted", accept, dept, note="已签收，重新处理", operator=handler),
                Event(t, "resolved", fixed, dept, note="已重新处理并回复诉求人", operator=handler),
                Event(
                    t,
                    "follow_up",
                    second,
                    dept,
                    satisfaction="satisfied" if rng.random() < 0.7 else "basically_satisfied",
                    note="二次回访",
                    operator=caller,
                ),
            ]
        return events

    def _assessed(self, events: list[Event], rng: Draws) -> list[Event]:
        """Add what the official 口径 count to one lifecycle: the call to the citizen, urging, 缓办,
        reopening after closing, and the follow-up's five levels and "solved"."""
        t = events[0].ticket
        follow_ups = [e for e in events if e.kind == "follow_up"]
        for e in follow_ups:
            very, p = VERY.get(e.satisfaction, (None, 0.0))
            if very and rng.random() < p:
                e.satisfaction = very
                e.note = f"回访结果：{SATISFACTION_ZH[very]}"
            e.solved = rng.random() < SOLVED[e.satisfaction not in ("dissatisfied", "very_dissatisfied")]
        dispatched = next((e for e in events if e.kind == "dispatched"), None)
        resolved = next((e for e in events if e.kind == "resolved"), None)
        if dispatched is None or resolved is None:
            return events
        accepted = next(e for e in events if e.kind == "accepted" and e.at >= dispatched.at)
        dept, handler = resolved.department, resolved.operator
        added: list[Event] = []
        if t.source in SUSPEND and rng.random() < SUSPEND[t.source]:
            hold = accepted.at + timedelta(hours=rng.uniform(1, 8))
            days = timedelta(days=rng.integers(5, 21))
            later = [e for e in events if e.at > hold]
            for e in later:  # the work waits for the hold: everything after it moves on by its length
                e.at += days
            added += [
                Event(t, "suspended", hold, dept, note="需待季节或条件具备后处置，申请缓办", operator=handler),
                Event(
                    t, "resumed", hold + days - timedelta(hours=2), dept, note="条件具备，恢复办理", operator=handler
                ),
            ]
        citizen = t.reporter[0] in CITIZEN
        if citizen and rng.random() < CONTACT:
            call = accepted.at + timedelta(hours=rng.lognormal(*CONTACT_HOURS))
            if call < resolved.at:
                added.append(Event(t, "contacted", call, dept, note="已电话联系诉求人了解情况", operator=handler))
        if citizen:
            late = any(e.kind == "supervised" for e in events)
            if rng.random() < (URGE_LATE if late else URGE):
                urge = dispatched.at + (resolved.at - dispatched.at) * rng.uniform(0.3, 0.95)
                added.append(Event(t, "urged", urge, note="诉求人来电催办", operator=self.callers[0]))
        closed = events[-1]
        if citizen and closed.kind == "closed" and rng.random() < REOPEN:
            again = in_office_hours(closed.at + timedelta(days=rng.uniform(1, 10)), rng)
            accept = again + timedelta(hours=rng.uniform(0.5, 6))
            fixed = accept + timedelta(hours=rng.uniform(20, 96))
            added += [
                Event(
                    t, "dispatched", again, dept, note="诉求人反映问题仍未解决，重新派发", operator=self.dispatchers[0]
                ),
                Event(t, "accepted", accept, dept, note="已签收，重新处理", operator=handler),
                Event(t, "resolved", fixed, dept, note="已重新处理并回复诉求人", operator=handler),
                Event(
                    t, "closed", fixed + timedelta(hours=rng.uniform(1, 24)), note="办结归档", operator=closed.operator
                ),
            ]
        return sorted(events + added, key=lambda e: e.at)

    def _queue(self, day: date, index: int, lifecycles: list[list[Event]]) -> None:
        """Number the events, pick late and out-of-order ones, and queue each into its landing day."""
        ctx, end = self.ctx, self.ctx.end
        kept = []
        for events in lifecycles:
            events = [e for e in events if e.at.date() <= end]
            for k, e in enumerate(events, start=1):
                e.event_id = f"EV{e.ticket.no}{k:02d}"
            kept.append(events)
        landing = {id(e): e.at.date() for events in kept for e in events}
        # A late event may arrive 2-5 days after it happened, as long as it stays in the range and arrives
        # no later than the ticket's next event (else it would also be out of order): the last such event.
        late_candidates = []
        for events in kept:
            if not events or events[0].ticket.linked:
                continue
            for k in range(len(events) - 1, -1, -1):
                e = events[k]
                room = min(
                    5,
                    (end - e.at.date()).days,
                    (events[k + 1].at.date() - e.at.date()).days if k + 1 < len(events) else 5,
                )
                if room >= 2:
                    late_candidates.append((events, e, room))
                    break
        late = ctx.dirt.pick(
            "late_event", "ticket_events", "ticket_event", index, late_candidates, eligible_count=len(kept)
        )
        rng = ctx.dirt.rng(("late_event", "ticket_events", "delay"), day)
        late_ids = {id(events) for events, _, _ in late}
        for _, e, room in late:
            delay = int(rng.integers(2, room + 1))
            landing[id(e)] = e.at.date() + timedelta(days=delay)
            ctx.manifest.injected(
                "late_event",
                "ticket_events",
                "ticket_event",
                {
                    "ticket_id": e.ticket.ticket_id,
                    "event_id": e.event_id,
                    "event_at": e.at.isoformat(timespec="seconds"),
                    "landing_day": landing[id(e)].isoformat(),
                },
            )
        ooo_candidates = []
        for events in kept:
            if id(events) in late_ids or not events or events[0].ticket.linked:
                continue
            for a, b in zip(events, events[1:], strict=False):
                if a.kind in ("dispatched", "accepted") and a.at.date() == b.at.date() < end:
                    ooo_candidates.append((a, b))
                    break
        for a, b in ctx.dirt.pick(
            "out_of_order_event", "ticket_events", "ticket_event", index, ooo_candidates, eligible_count=len(kept)
        ):
            # One day behind its successor: out of order, but not late (that needs two days).
            landing[id(a)] = a.at.date() + timedelta(days=1)
            ctx.manifest.injected(
                "out_of_order_event",
                "ticket_events",
                "ticket_event",
                {
                    "ticket_id": a.ticket.ticket_id,
                    "event_id": a.event_id,
                    "event_at": a.at.isoformat(timespec="seconds"),
                    "landing_day": landing[id(a)].isoformat(),
                    "overtaken_by": b.event_id,
                },
            )
        for events in kept:
            for e in events:
                self.pending[landing[id(e)]].append((e.at, e.event_id, self._event_line(e)))

    def _event_line(self, e: Event) -> str:
        t = e.ticket
        return json_line(
            {
                "eventId": e.event_id,
                "ticketNo": t.no,
                "channel": self.channel_zh[CHANNEL_OF_SOURCE[t.source]],
                "action": ACTION_ZH[e.kind],
                "actionTime": e.at.isoformat(timespec="seconds"),
                "dept": {"name": self.department_zh[e.department]} if e.department else None,
                "delayDays": e.extension_days,
                "visitResult": SATISFACTION_ZH[e.satisfaction] if e.satisfaction else None,
                "visitSolved": None if e.solved is None else ("已解决" if e.solved else "未解决"),
                "remark": e.note,
                "operator": e.operator,
            }
        )

    def _write_events(self, day: date) -> None:
        queued = sorted(self.pending.pop(day, []))
        if queued:
            self.ctx.write(
                "ticket_events",
                day,
                f"dispatch_events_{day:%Y%m%d}.jsonl",
                jsonl_bytes([line for _, _, line in queued]),
                {"ticket_event": len(queued)},
            )
