"""Comprehensive enforcement (综合执法一体化平台): inspections, the hazards they find, and enforcement cases.

Inspections visit subjects on a roll of businesses and sites; a few focus
subjects are inspected again and again. A hazard is exported the day it is
found and again the day it is rectified (mostly before its due date); a case
the day it is opened and the day it is closed with its penalty. One .xlsx a
day, one sheet per kind of record, dates as text the way the platform exports them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

import numpy as np

from pipelines.demo import codes
from pipelines.demo.clock import OFFICE_WEEK, daily_count, impossible_date_text, rng_for
from pipelines.demo.context import Context
from pipelines.demo.draws import Draws, cumulative
from pipelines.demo.profile import DAILY_VOLUMES
from pipelines.demo.writers import xlsx_bytes

SUBJECT_KINDS = {  # kind → (share, label, domain mix)
    "restaurant": (0.3, "餐饮单位", {"food": 0.45, "gas": 0.35, "fire": 0.2}),
    "shop": (0.3, "沿街商铺", {"fire": 0.5, "city_appearance": 0.3, "production": 0.2}),
    "construction": (0.08, "建筑工地", {"construction": 0.7, "environment": 0.15, "fire": 0.15}),
    "enterprise": (0.22, "生产经营单位", {"production": 0.5, "fire": 0.3, "environment": 0.2}),
    "compound": (0.1, "住宅小区", {"fire": 0.6, "gas": 0.2, "city_appearance": 0.2}),
}
FOODS = ["面馆", "小吃店", "火锅店", "烧烤店", "饺子馆", "快餐店", "茶餐厅", "奶茶店", "烘焙坊", "土菜馆"]
SHOPS = ["便利店", "超市", "五金店", "水果店", "理发店", "药店", "洗衣店", "电动车行", "服装店", "手机店"]
HAZARDS = {
    "fire": ["消防通道堆放杂物", "灭火器过期未更换", "疏散指示标志损坏", "电动车在楼道内充电", "消防栓被遮挡"],
    "gas": ["燃气软管老化未更换", "液化气钢瓶违规存放", "未安装燃气泄漏报警装置", "燃气管道私自改装"],
    "production": ["特种作业人员无证上岗", "安全警示标识缺失", "设备防护装置缺失", "危化品存放不规范"],
    "construction": ["脚手架未设置防护网", "临边防护缺失", "施工现场扬尘未覆盖", "塔吊限位装置失效"],
    "food": ["后厨卫生不达标", "食品原料未索证索票", "从业人员健康证过期", "冷藏设施温度不达标"],
    "environment": ["油烟净化设施未正常运行", "污水直排雨水管网", "危险废物未规范贮存"],
    "city_appearance": ["店外经营占用人行道", "违规设置户外广告", "门前三包责任未落实"],
}
VIOLATIONS = {
    "fire": "违反《消防法》第二十八条",
    "gas": "违反《城镇燃气管理条例》第二十八条",
    "production": "违反《安全生产法》第三十六条",
    "construction": "违反《建设工程安全生产管理条例》第二十八条",
    "food": "违反《食品安全法》第五十五条",
    "environment": "违反《大气污染防治法》第八十一条",
    "city_appearance": "违反《城市市容和环境卫生管理条例》第十四条",
}
DOMAIN_CDF = {kind: cumulative(list(mix.values())) for kind, (_, _, mix) in SUBJECT_KINDS.items()}
LEVEL_LABELS = {"major": "重大隐患", "general": "一般隐患"}
DATE = "%Y/%m/%d"
INSPECTION_HEADER = ["检查编号", "检查日期", "检查领域", "检查对象", "对象类型", "所属网格", "发现隐患数", "检查结果"]
HAZARD_HEADER = [
    "隐患编号",
    "检查编号",
    "隐患领域",
    "隐患等级",
    "隐患描述",
    "所属网格",
    "发现日期",
    "整改期限",
    "整改完成日期",
    "整改状态",
]
CASE_HEADER = [
    "案件编号",
    "案件领域",
    "当事人",
    "违法行为",
    "所属网格",
    "立案日期",
    "结案日期",
    "罚款金额(元)",
    "案件状态",
]


class Enforcement:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        d = ctx.district
        self.domain_zh = codes.name_zh("domain")
        rng = rng_for(ctx.seed, "enforcement-subjects")
        kinds = list(SUBJECT_KINDS)
        share = np.array([SUBJECT_KINDS[k][0] for k in kinds])
        names, subject_kind, grid = [], [], []
        for s, plan in enumerate(d.plans):
            street_micros = np.flatnonzero(d.community_street[d.micro_community] == s)
            n = plan.enforcement_subjects
            kind_idx = rng.choice(len(kinds), size=n, p=share)
            micro = rng.choice(street_micros, size=n)
            for k, m in zip(kind_idx.tolist(), micro.tolist(), strict=True):
                kind = kinds[k]
                compound = d.compound_name[d.micro_compound[m]]
                road = d.roads[d.micro_community[m]][int(rng.integers(0, len(d.roads[d.micro_community[m]])))]
                if kind == "restaurant":
                    surname = ctx.pools.surnames[int(rng.integers(0, len(ctx.pools.surnames)))]
                    name = f"{surname}记{FOODS[int(rng.integers(0, 10))]}"
                elif kind == "shop":
                    name = f"{road}{SHOPS[int(rng.integers(0, 10))]}"
                elif kind == "construction":
                    name = f"{compound}{['加装电梯工程', '改造工程', '配套用房项目'][int(rng.integers(0, 3))]}工地"
                elif kind == "enterprise":
                    name = ctx.pools.companies[int(rng.integers(0, len(ctx.pools.companies)))]
                else:
                    name = compound
                names.append(name)
                subject_kind.append(kind)
                grid.append(d.comp_id[d.micro_comp[m]])
        self.subject_name = np.array(names, dtype=object)
        self.subject_kind = np.array(subject_kind, dtype=object)
        self.subject_grid = np.array(grid, dtype=object)
        # A few focus subjects (重点监管对象) draw a large share of the inspections.
        focus = rng.random(len(names)) < 0.03
        w = np.where(focus, 8.0, 1.0)
        self.subject_p = w / w.sum()
        self.subject_cdf = cumulative(w)
        self.focus = focus
        self.pending_hazards: dict[date, list[tuple[str, list]]] = defaultdict(list)
        self.pending_cases: dict[date, list[tuple[str, list]]] = defaultdict(list)

    def write_day(self, day: date, index: int) -> None:
        ctx = self.ctx
        rng = rng_for(ctx.seed, "enforcement", day.toordinal())
        dirt = ctx.dirt
        n = max(
            dirt.pending("enforcement", "inspection", index),
            daily_count(rng, DAILY_VOLUMES["inspections"] * ctx.scale, day, OFFICE_WEEK),
        )
        hazard_due = dirt.pending("enforcement", "hazard", index) > 0  # make sure a hazard is found to spoil
        subjects = rng.choice(len(self.subject_name), size=n, p=self.subject_p)
        rng = Draws(rng)
        people = ctx.pools.people
        inspections, inspection_ids = [], []
        hazard_seq = 0
        major_subjects = []
        for seq, s in enumerate(subjects.tolist(), start=1):
            kind = self.subject_kind[s]
            mix = SUBJECT_KINDS[kind][2]
            domain = list(mix)[rng.weighted(DOMAIN_CDF[kind])]
            found = 0
            if rng.random() < (0.5 if self.focus[s] else 0.22) or (hazard_due and seq == 1):
                found = 1 + rng.poisson(0.25)
            inspection_id = f"JC{day:%Y%m%d}{seq:04d}"
            inspections.append(
                [
                    inspection_id,
                    day.strftime(DATE),
                    self.domain_zh[domain],
                    self.subject_name[s],
                    SUBJECT_KINDS[kind][1],
                    self.subject_grid[s],
                    found,
                    "发现隐患，责令整改" if found else "未发现问题",
                ]
            )
            inspection_ids.append(inspection_id)
            for _ in range(found):
                hazard_seq += 1
                major = rng.random() < 0.08
                if major:
                    major_subjects.append((s, domain))
                due = day + timedelta(days=3 if major else rng.pick([7, 15, 30]))
                description = HAZARDS[domain][int(rng.integers(0, len(HAZARDS[domain])))]
                if rng.random() < 0.1:  # inspectors note who to call back, phone number and all
                    p = int(rng.integers(0, len(people)))
                    title = "先生" if people.gender[p] == "male" else "女士"  # free text keeps only a surname
                    description += f"，负责人{people.name[p][0]}{title}（{people.phone[p]}）已签字确认"
                u = rng.random()
                days_to_fix = (
                    int(rng.integers(1, max(2, (due - day).days) + 1))
                    if u < 0.8
                    else (due - day).days + int(rng.integers(1, 21))
                    if u < 0.95
                    else (due - day).days + int(rng.integers(20, 91))
                )
                hazard = [
                    f"YH{day:%Y%m%d}{hazard_seq:04d}",
                    inspection_id,
                    self.domain_zh[domain],
                    LEVEL_LABELS["major" if major else "general"],
                    description,
                    self.subject_grid[s],
                    day.strftime(DATE),
                    due.strftime(DATE),
                    None,
                    "未整改",
                ]
                self.pending_hazards[day].append((hazard[0], hazard))
                fixed = day + timedelta(days=days_to_fix)
                self.pending_hazards[fixed].append((hazard[0], [*hazard[:8], fixed.strftime(DATE), "已整改"]))
        self._open_cases(day, rng, major_subjects)
        hazards = [row for _, row in sorted(self.pending_hazards.pop(day, []), key=lambda x: x[0])]
        cases = [row for _, row in sorted(self.pending_cases.pop(day, []), key=lambda x: x[0])]
        inspections, hazards = self._spoil(day, index, inspections, hazards)
        created = datetime.combine(day, time(18, 0))
        data = xlsx_bytes(
            [
                ("检查记录", INSPECTION_HEADER, inspections),
                ("隐患排查", HAZARD_HEADER, hazards),
                ("执法案件", CASE_HEADER, cases),
            ],
            created,
            author="综合执法一体化平台",
        )
        ctx.write(
            "enforcement",
            day,
            f"enforcement_{day:%Y%m%d}.xlsx",
            data,
            {"inspection": len(inspections), "hazard": len(hazards), "enforcement_case": len(cases)},
        )

    def _open_cases(self, day: date, rng: Draws, major_subjects: list) -> None:
        ctx = self.ctx
        n = rng.poisson(DAILY_VOLUMES["cases"] * ctx.scale * OFFICE_WEEK[day.weekday()])
        for seq in range(1, n + 1):
            if major_subjects and rng.random() < 0.5:
                s, domain = major_subjects.pop()
            else:
                s = rng.weighted(self.subject_cdf)
                kind = self.subject_kind[s]
                domain = list(SUBJECT_KINDS[kind][2])[rng.weighted(DOMAIN_CDF[kind])]
            party = self.subject_name[s]
            if domain == "city_appearance" and rng.random() < 0.5:
                party = f"{ctx.pools.surnames[int(rng.integers(0, len(ctx.pools.surnames)))]}某"  # a street vendor
            case_id = f"AJ{day:%Y%m%d}{seq:04d}"
            row = [
                case_id,
                self.domain_zh[domain],
                party,
                VIOLATIONS[domain],
                self.subject_grid[s],
                day.strftime(DATE),
                None,
                None,
                "办理中",
            ]
            self.pending_cases[day].append((case_id, row))
            if rng.random() < 0.9:
                closed = day + timedelta(days=int(rng.integers(7, 91)))
                penalty = 0.0 if rng.random() < 0.2 else float(round(min(50_000, rng.lognormal(3000, 1.0)), -2))
                self.pending_cases[closed].append(
                    (case_id, [*row[:6], closed.strftime(DATE), max(penalty, 0.0), "已结案"])
                )

    def _spoil(self, day: date, index: int, inspections: list, hazards: list) -> tuple[list, list]:
        ctx = self.ctx
        faults = {"missing_required": (3, ""), "impossible_date": (1, impossible_date_text(day, DATE))}
        inspections = ctx.spoil_rows(inspections, "enforcement", "inspection", index, faults, key=0)
        for i in ctx.dirt.pick("unknown_code", "enforcement", "hazard", index, list(range(len(hazards)))):
            hazards[i] = [*hazards[i][:3], "较大隐患", *hazards[i][4:]]
            ctx.manifest.injected("unknown_code", "enforcement", "hazard", hazards[i][0])
        return inspections, hazards
