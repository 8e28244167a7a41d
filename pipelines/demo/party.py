"""Party building (党建): the ledger workbook a street keeps, as snapshots.

One workbook, seven sheets (组织, 党员, 共建单位, 揭榜领办, 项目, 会议, 志愿活动),
written on the first day of the range and on the 1st of each month, each
sheet the full state as of that day. The ledger's history is played out once
for the whole period, from 1 January of the first year to the end of the
range: pledges are posted, claimed by partner units and delivered; projects
come in three batches a year and progress; areas hold rotating meetings;
volunteer teams run errands. A snapshot shows what had happened by its date.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np

from pipelines.demo.clock import is_snapshot_day, rng_for
from pipelines.demo.context import Context
from pipelines.demo.writers import xlsx_bytes

LEVEL_LABELS = {
    "street_committee": "街道大工委",
    "area_committee": "区域大党委",
    "community_committee": "社区党组织",
    "compound_branch": "小区党支部",
    "building_group": "楼道党小组",
}
PARTNER_LABELS = {
    "agency": "机关单位",
    "school": "学校",
    "property": "物业公司",
    "bank": "银行",
    "hospital": "医院",
    "enterprise": "企业",
}
AGENCIES = [
    "园区税务局",
    "园区社会事业局",
    "园区市场监管局",
    "园区消防救援大队",
    "园区城市管理局",
    "园区规划建设委员会",
    "园区公安分局",
    "园区司法局",
    "园区人力资源和社会保障局",
    "园区生态环境局",
    "园区卫生健康委员会",
    "园区教育局",
    "园区交通运输局",
    "园区应急管理局",
    "园区民政局",
    "园区总工会",
    "园区团工委",
    "园区妇联",
]
SCHOOL_TYPES = ["实验小学", "小学", "中学", "幼儿园", "外国语学校", "实验初级中学"]
BANKS = [
    "中国工商银行",
    "中国农业银行",
    "中国银行",
    "中国建设银行",
    "交通银行",
    "招商银行",
    "苏州银行",
    "江苏银行",
    "浦发银行",
    "中信银行",
]
HOSPITALS = ["医院", "社区卫生服务中心", "中医医院", "口腔医院"]
PLEDGE_LABELS = {
    "elderly_care": "为老服务",
    "child_care": "托育服务",
    "employment": "就业帮扶",
    "environment": "环境整治",
    "culture": "文化活动",
    "safety": "平安建设",
    "health": "健康服务",
    "property": "物业服务",
}
PLEDGE_TITLES = {
    "elderly_care": ["为独居老人安装紧急呼叫设备", "开设长者助餐点", "组织老年人智能手机培训"],
    "child_care": ["开设暑期托管班", "建设儿童友好活动空间"],
    "employment": ["开展社区招聘会", "为失业人员提供技能培训"],
    "environment": ["整治楼道堆物", "改造小区垃圾分类投放点", "清理背街小巷卫生死角"],
    "culture": ["举办邻里文化节", "建设社区阅读角"],
    "safety": ["更换老旧小区消防器材", "增设电动车集中充电桩"],
    "health": ["开展义诊进社区", "建立家庭医生签约服务点"],
    "property": ["协调解决小区停车难", "修缮小区破损道路"],
}
PROJECT_LABELS = {"livelihood": "民生实事", "tough": "攻坚项目", "secretary": "书记项目"}
PROJECT_NAMES = {
    "livelihood": [
        "老旧小区消防设施改造",
        "非机动车充电棚建设",
        "口袋公园建设",
        "适老化改造",
        "雨污分流改造",
        "停车位挖潜",
        "长者助餐点建设",
        "儿童友好空间建设",
    ],
    "tough": ["群租房整治攻坚", "飞线充电整治", "违章搭建拆除攻坚", "背街小巷环境整治"],
    "secretary": ["红色物业书记项目", "党群服务阵地提升", "金楫先锋微网格赋能", "青年社区主理人计划"],
}
BATCH_LABELS = {1: "第一批", 2: "第二批", 3: "第三批"}
BATCH_DATES = {1: (2, 20), 2: (6, 10), 3: (9, 10)}  # month, day each batch is announced
MEETING_TOPICS = [
    "老旧小区改造议事协商",
    "片区共建资源对接",
    "揭榜领办项目推进",
    "平安建设联席会议",
    "为民办实事进度通报",
    "邻里党建共同体工作交流",
    "防汛防台工作部署",
    "文明城市常态长效管理",
]
ACTIVITY_LABELS = {
    "errand_government": "政务代办",
    "errand_convenience": "便民代办",
    "elderly_care": "助老服务",
    "environment": "环境保护",
    "safety_patrol": "平安巡逻",
    "culture": "文化活动",
}
ACTIVITY_TEXT = {
    "errand_government": "代办社保认证、证件申领等政务事项",
    "errand_convenience": "代购药品、代缴费用等便民服务",
    "elderly_care": "走访慰问独居老人",
    "environment": "清理小区绿化带垃圾",
    "safety_patrol": "夜间平安巡逻",
    "culture": "组织邻里手工活动",
}
DATE = "%Y-%m-%d"

SHEETS = {
    "组织": ["组织编码", "组织名称", "组织层级", "上级组织编码", "所属社区编码", "所属片区编码"],
    "党员": [
        "党员编号",
        "姓名",
        "性别",
        "公民身份号码",
        "出生年份",
        "所在党组织编码",
        "所在党组织",
        "入党时间",
        "是否志愿者",
    ],
    "共建单位": ["单位编号", "单位名称", "单位类型", "结对社区编码", "加入时间"],
    "揭榜领办": [
        "榜单编号",
        "发榜社区编码",
        "需求类别",
        "需求内容",
        "发榜日期",
        "揭榜单位编号",
        "揭榜单位",
        "揭榜日期",
        "完成日期",
        "状态",
    ],
    "项目": [
        "项目编号",
        "项目名称",
        "项目类型",
        "批次",
        "所属社区编码",
        "预算(万元)",
        "进度(%)",
        "开工日期",
        "计划完成日期",
        "实际完成日期",
    ],
    "会议": ["会议编号", "片区编码", "轮值社区编码", "召开日期", "会议主题", "参会人数"],
    "志愿活动": [
        "活动编号",
        "所属社区编码",
        "志愿队伍",
        "活动日期",
        "活动类型",
        "参与人数",
        "服务时长(小时)",
        "活动内容",
    ],
}


def _day(rng: np.random.Generator, first: date, last: date) -> date:
    return first + timedelta(days=int(rng.integers(0, max(1, (last - first).days + 1))))


class PartyLedger:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.first = date(ctx.start.year, 1, 1)
        self.end = ctx.end
        rng = rng_for(ctx.seed, "party")
        self.orgs: list[list] = []
        self.members: list[tuple[date, list]] = []
        self.partners: list[tuple[date, list]] = []
        self.partner_names: dict[str, str] = {}
        self.pledges: list[dict] = []
        self.projects: list[dict] = []
        self.meetings: list[tuple[date, list]] = []
        self.activities: list[tuple[date, list]] = []
        self._organisations(rng)
        self._members(rng)
        self._partners(rng)
        self._pledges(rng)
        self._projects(rng)
        self._meetings(rng)
        self._activities(rng)

    @property
    def years(self) -> float:
        return ((self.end - self.first).days + 1) / 365

    def _organisations(self, rng: np.random.Generator) -> None:
        d = self.ctx.district
        self.area_org: dict[int, str] = {}
        self.org_ids_by_level: dict[str, list[int]] = {k: [] for k in LEVEL_LABELS}
        for s, plan in enumerate(d.plans):
            street_org = f"DZ{plan.number:02d}"
            self._org(street_org, f"{plan.name}大工委", "street_committee", None, None, None)
            for a in np.flatnonzero(d.area_street == s).tolist():
                comms = np.flatnonzero(d.community_area == a)
                org = f"{street_org}A{a - int(np.flatnonzero(d.area_street == s)[0]) + 1:02d}"
                self.area_org[a] = org
                self._org(org, f"{d.community_name[comms[0]]}片区区域大党委", "area_committee", street_org, None, org)
        for c, cid in enumerate(d.community_id.tolist()):
            area = self.area_org[int(d.community_area[c])]
            comm_org = f"DW{cid}"
            self._org(comm_org, f"{d.community_name[c]}社区党委", "community_committee", area, cid, area)
            for k in np.flatnonzero(d.compound_community == c).tolist():
                compound = d.compound_name[k]
                branch = f"{comm_org}X{k:04d}"
                self._org(branch, f"{compound}小区党支部", "compound_branch", comm_org, cid, area)
                for b in sorted(
                    rng.choice(
                        np.arange(1, d.compound_buildings[k] + 1),
                        size=min(int(rng.integers(2, 7)), int(d.compound_buildings[k])),
                        replace=False,
                    ).tolist()
                ):
                    self._org(f"{branch}L{b:02d}", f"{compound}{b}幢党小组", "building_group", branch, cid, area)

    def _org(self, org_id, name, level, parent, community, area) -> None:
        self.org_ids_by_level[level].append(len(self.orgs))
        self.orgs.append([org_id, name, LEVEL_LABELS[level], parent, community, area])

    def _members(self, rng: np.random.Generator) -> None:
        ctx = self.ctx
        people = ctx.pools.people
        n = sum(p.party_members for p in ctx.district.plans)
        who = rng.choice(len(people), size=min(n, len(people)), replace=False)
        levels = rng.choice(
            ["building_group", "compound_branch", "community_committee"], size=len(who), p=[0.6, 0.25, 0.15]
        )
        for k, (p, level) in enumerate(zip(who.tolist(), levels.tolist(), strict=True)):
            org = self.orgs[self.org_ids_by_level[level][int(rng.integers(0, len(self.org_ids_by_level[level])))]]
            born = int(people.birth_year[p])
            if rng.random() < 0.02 * self.years:  # new members admitted during the period
                joined = _day(rng, self.first, self.end)
            else:
                earliest = date(born + 18, 7, 1)
                latest = self.first - timedelta(days=1)
                joined = _day(rng, min(earliest, latest), latest)
            row = [
                f"DY{k + 1:07d}",
                people.name[p],
                "男" if people.gender[p] == "male" else "女",
                people.id_no[p],
                born,
                org[0],
                org[1],
                joined.strftime("%Y.%m.%d"),
                "是" if rng.random() < 0.35 else "否",
            ]
            self.members.append((joined, row))

    def _partners(self, rng: np.random.Generator) -> None:
        ctx, d = self.ctx, self.ctx.district
        places = ctx.pools.place_names
        k = 0
        for s, plan in enumerate(d.plans):
            comms = np.flatnonzero(d.community_street == s)
            for kind, n in plan.partner_units.items():
                for i in range(n):
                    place = places[int(rng.integers(0, len(places)))]
                    if kind == "agency":
                        name = AGENCIES[i % len(AGENCIES)] + (f"{plan.name}联络组" if i >= len(AGENCIES) else "")
                    elif kind == "school":
                        name = f"苏州工业园区{place}{SCHOOL_TYPES[i % len(SCHOOL_TYPES)]}"
                    elif kind == "property":
                        name = f"苏州{place}物业服务有限公司"
                    elif kind == "bank":
                        name = f"{BANKS[i % len(BANKS)]}苏州{place}支行"
                    elif kind == "hospital":
                        name = f"苏州工业园区{place}{HOSPITALS[i % len(HOSPITALS)]}"
                    else:
                        name = ctx.pools.companies[int(rng.integers(0, len(ctx.pools.companies)))]
                    k += 1
                    partner_id = f"GJDW{plan.number:02d}{k:05d}"
                    community = d.community_id[comms[int(rng.integers(0, len(comms)))]]
                    joined = (
                        _day(rng, self.first, self.end)
                        if rng.random() < 0.15
                        else _day(rng, date(2019, 1, 1), self.first - timedelta(days=1))
                    )
                    self.partner_names[partner_id] = name
                    self.partners.append(
                        (joined, [partner_id, name, PARTNER_LABELS[kind], community, joined.strftime(DATE)])
                    )

    def _dates(self, rng: np.random.Generator, per_year: float, before_start: int) -> list[date]:
        """Sorted dates of a yearly activity over the period; at least `before_start` fall by the first
        snapshot, so that even a tiny street's first ledger is not empty."""
        n = max(before_start, int(rng.poisson(per_year * self.years)))
        dates = sorted(_day(rng, self.first, self.end) for _ in range(n))
        start = self.ctx.start
        missing = before_start - sum(1 for d in dates if d <= start)
        if missing > 0:
            dates = sorted([_day(rng, self.first, start) for _ in range(missing)] + dates[: n - missing])
        return dates

    def _pledges(self, rng: np.random.Generator) -> None:
        d = self.ctx.district
        categories = list(PLEDGE_LABELS)
        partners_by_street = {}
        for joined, row in self.partners:
            partners_by_street.setdefault(row[0][4:6], []).append((joined, row[0]))
        k = 0
        for s, plan in enumerate(d.plans):
            comms = np.flatnonzero(d.community_street == s)
            street_partners = partners_by_street[f"{plan.number:02d}"]
            for posted in self._dates(rng, plan.per_year("pledges_per_year"), 3):
                k += 1
                category = categories[int(rng.integers(0, len(categories)))]
                c = comms[int(rng.integers(0, len(comms)))]
                claimed = posted + timedelta(days=int(rng.integers(3, 41))) if rng.random() < 0.9 else None
                joined, partner = street_partners[int(rng.integers(0, len(street_partners)))]
                if claimed and joined > claimed:
                    claimed = None
                delivered = (
                    claimed + timedelta(days=int(rng.integers(15, 121))) if claimed and rng.random() < 0.85 else None
                )
                titles = PLEDGE_TITLES[category]
                self.pledges.append(
                    {
                        "id": f"JB{plan.number:02d}{k:05d}",
                        "community": d.community_id[c],
                        "category": category,
                        "posted": posted,
                        "claimed": claimed,
                        "delivered": delivered,
                        "partner": partner,
                        "title": f"{d.community_name[c]}社区{titles[int(rng.integers(0, len(titles)))]}",
                    }
                )

    def _projects(self, rng: np.random.Generator) -> None:
        d = self.ctx.district
        kinds = list(PROJECT_LABELS)
        k = 0
        for s, plan in enumerate(d.plans):
            comms = np.flatnonzero(d.community_street == s)
            per_batch = max(1, int(round(plan.per_year("projects_per_year") / 3)))
            for year in range(self.first.year - 1, self.end.year + 1):  # last year's projects are still listed
                for batch, (month, day) in BATCH_DATES.items():
                    announced = date(year, month, day)
                    if announced > self.end:
                        continue
                    for _ in range(per_batch):
                        k += 1
                        kind = kinds[int(rng.choice(3, p=[0.6, 0.25, 0.15]))]
                        c = comms[int(rng.integers(0, len(comms)))]
                        started = announced + timedelta(days=int(rng.integers(0, 21)))
                        due = started + timedelta(days=int(rng.integers(60, 241)))
                        u = rng.random()
                        length = (due - started).days
                        done = (
                            started + timedelta(days=int(length * rng.uniform(0.7, 1.0)))
                            if u < 0.75
                            else due + timedelta(days=int(rng.integers(10, 91)))
                            if u < 0.9
                            else None
                        )
                        names = PROJECT_NAMES[kind]
                        self.projects.append(
                            {
                                "id": f"XM{plan.number:02d}{k:05d}",
                                "kind": kind,
                                "batch": batch,
                                "name": f"{d.community_name[c]}社区{names[int(rng.integers(0, len(names)))]}",
                                "community": d.community_id[c],
                                "announced": announced,
                                "started": started,
                                "due": due,
                                "done": done,
                                "budget": round(float(min(800, rng.lognormal(np.log(40), 0.9))), 1),
                            }
                        )

    def _meetings(self, rng: np.random.Generator) -> None:
        d = self.ctx.district
        k = 0
        for s, plan in enumerate(d.plans):
            areas = np.flatnonzero(d.area_street == s).tolist()
            dates = self._dates(rng, plan.per_year("meetings_per_year"), 2)
            for i, held in enumerate(dates):
                while held.weekday() >= 5:
                    held -= timedelta(days=1)
                held = max(held, self.first)
                a = areas[i % len(areas)]
                comms = np.flatnonzero(d.community_area == a)
                host = d.community_id[comms[(i // len(areas)) % len(comms)]]  # the host rotates within the area
                k += 1
                self.meetings.append(
                    (
                        held,
                        [
                            f"HY{plan.number:02d}{k:05d}",
                            self.area_org[a],
                            host,
                            held.strftime(DATE),
                            MEETING_TOPICS[int(rng.integers(0, 8))],
                            int(rng.integers(15, 61)),
                        ],
                    )
                )

    def _activities(self, rng: np.random.Generator) -> None:
        d = self.ctx.district
        k = 0
        for s, plan in enumerate(d.plans):
            comms = np.flatnonzero(d.community_street == s)
            team_comm = comms[rng.integers(0, len(comms), plan.volunteer_teams)]
            teams = [
                f"{d.community_name[c]}社区友邻先锋{['一', '二', '三', '四'][i % 4]}队"
                for i, c in enumerate(team_comm.tolist())
            ]
            plan_counts = {
                "errand_government": plan.per_year("errands_government_per_year"),
                "errand_convenience": plan.per_year("errands_convenience_per_year"),
            }
            other = plan.per_year("other_activities_per_year")
            for kind, share in (
                ("elderly_care", 0.35),
                ("environment", 0.25),
                ("safety_patrol", 0.25),
                ("culture", 0.15),
            ):
                plan_counts[kind] = other * share
            rows = []
            for kind, per_year in plan_counts.items():
                errand = kind.startswith("errand")
                for held in self._dates(rng, per_year, 1):
                    t = int(rng.integers(0, len(teams)))
                    volunteers = int(rng.integers(1, 3)) if errand else int(rng.integers(5, 41))
                    hours = round(float(rng.uniform(0.5, 3.0) if errand else rng.uniform(1, 4)) * volunteers, 1)
                    rows.append((held, kind, t, volunteers, hours))
            rows.sort(key=lambda r: (r[0], r[1], r[2]))
            for held, kind, t, volunteers, hours in rows:
                k += 1
                self.activities.append(
                    (
                        held,
                        [
                            f"HD{plan.number:02d}{k:06d}",
                            d.community_id[team_comm[t]],
                            teams[t],
                            held.strftime(DATE),
                            ACTIVITY_LABELS[kind],
                            volunteers,
                            hours,
                            ACTIVITY_TEXT[kind],
                        ],
                    )
                )

    # ----- snapshots -------------------------------------------------------------------------
    def write_day(self, day: date, index: int) -> None:
        if is_snapshot_day(day, self.ctx.start):
            self._write_snapshot(day)

    def _write_snapshot(self, day: date) -> None:
        def upto(items):
            return [row for when, row in items if when <= day]

        pledges = []
        for p in self.pledges:
            if p["posted"] > day:
                continue
            claimed = p["claimed"] if p["claimed"] and p["claimed"] <= day else None
            delivered = p["delivered"] if claimed and p["delivered"] and p["delivered"] <= day else None
            status = "已完成" if delivered else "已揭榜" if claimed else "待揭榜"
            pledges.append(
                [
                    p["id"],
                    p["community"],
                    PLEDGE_LABELS[p["category"]],
                    p["title"],
                    p["posted"].strftime(DATE),
                    p["partner"] if claimed else None,
                    self.partner_names[p["partner"]] if claimed else None,
                    claimed.strftime(DATE) if claimed else None,
                    delivered.strftime(DATE) if delivered else None,
                    status,
                ]
            )
        projects = []
        for p in self.projects:
            if p["announced"] > day:
                continue
            done = p["done"] if p["done"] and p["done"] <= day else None
            if done:
                progress = 100.0
            elif p["started"] > day:
                progress = 0.0
            else:
                expected = p["done"] or p["due"] + timedelta(days=120)
                progress = round(min(95.0, 100 * (day - p["started"]).days / max(1, (expected - p["started"]).days)), 1)
            projects.append(
                [
                    p["id"],
                    p["name"],
                    PROJECT_LABELS[p["kind"]],
                    BATCH_LABELS[p["batch"]],
                    p["community"],
                    p["budget"],
                    progress,
                    p["started"].strftime(DATE),
                    p["due"].strftime(DATE),
                    done.strftime(DATE) if done else None,
                ]
            )
        sheets = {
            "组织": self.orgs,
            "党员": upto(self.members),
            "共建单位": upto(self.partners),
            "揭榜领办": pledges,
            "项目": projects,
            "会议": upto(self.meetings),
            "志愿活动": upto(self.activities),
        }
        data = xlsx_bytes(
            [(name, SHEETS[name], rows) for name, rows in sheets.items()],
            datetime.combine(day, time(6, 0)),
            author="街道党建工作办公室",
        )
        self.ctx.write(
            "party",
            day,
            f"party_ledger_{day:%Y%m%d}.xlsx",
            data,
            {
                "party_org": len(self.orgs),
                "party_member": len(sheets["党员"]),
                "partner_unit": len(sheets["共建单位"]),
                "pledge": len(pledges),
                "project": len(projects),
                "meeting": len(sheets["会议"]),
                "volunteer_activity": len(sheets["志愿活动"]),
            },
        )
