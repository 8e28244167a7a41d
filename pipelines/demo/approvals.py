"""Government services (政务服务平台): the 107-item catalogue and the applications made against it.

An application is played out when it is received (accepted the same day,
worked on, then completed mostly within the promised days, a few past the
legal limit; some rejected or withdrawn); each day's export holds the latest
state of every application that changed that day, one row each.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

import numpy as np

from pipelines.demo import codes
from pipelines.demo.clock import (
    HOURS,
    add_working_days,
    draw_times,
    impossible_time_text,
    in_office_hours,
    is_snapshot_day,
    rng_for,
)
from pipelines.demo.context import Context
from pipelines.demo.draws import Draws, cumulative
from pipelines.demo.profile import DAILY_VOLUMES, SERVICE_ITEMS
from pipelines.demo.writers import csv_bytes, json_line, jsonl_bytes

# Base items per department; variants (变更, 注销...) fill the catalogue up to SERVICE_ITEMS.
CATALOGUE = {
    "social_affairs": [
        "最低生活保障审批",
        "特困人员供养审批",
        "临时救助申请",
        "高龄津贴申领",
        "老年人优待证办理",
        "残疾人证申领",
        "残疾人两项补贴申领",
        "居家养老服务补贴申请",
        "生育登记",
        "城乡居民医疗保险参保登记",
        "医疗救助申请",
        "义务教育入学登记",
    ],
    "labor": [
        "就业登记",
        "失业登记",
        "失业保险金申领",
        "灵活就业人员社保登记",
        "城乡居民养老保险参保登记",
        "养老保险待遇申领",
        "社会保障卡申领",
        "就业困难人员认定",
        "一次性创业补贴申领",
        "职业技能培训补贴申领",
        "劳动用工备案",
    ],
    "police": [
        "居住证申领",
        "居住登记",
        "户口迁入登记",
        "户口迁出登记",
        "出生登记",
        "居民身份证申领",
        "临时居民身份证申领",
        "户籍证明开具",
        "无犯罪记录证明开具",
        "养犬登记",
    ],
    "market_regulation": [
        "个体工商户设立登记",
        "个体工商户变更登记",
        "个体工商户注销登记",
        "食品经营许可",
        "小餐饮登记",
        "食品小作坊登记",
        "营业执照补领",
    ],
    "housing": [
        "住房租赁合同备案",
        "公共租赁住房申请",
        "住宅专项维修资金使用",
        "物业服务企业备案",
        "住宅装修备案",
        "既有住宅加装电梯备案",
    ],
    "urban_mgmt": [
        "户外广告设施设置审批",
        "店招店牌设置备案",
        "临时占用城市道路审批",
        "城市道路挖掘许可",
        "建筑垃圾处置核准",
        "城市绿化迁移审批",
    ],
    "enforcement_bureau": ["罚没款缴纳", "行政处罚信用修复申请", "暂扣物品返还申请", "夜间施工许可"],
    "safety": ["烟花爆竹零售经营许可", "危险化学品经营许可", "生产经营单位应急预案备案", "大型群众性活动安全许可"],
    "environment": ["排污登记", "建设项目环境影响登记表备案", "餐饮油烟净化设施备案", "夜间施工噪声备案"],
    "water": ["排水许可", "临时用水申请", "城镇污水排入排水管网许可", "供水接入申请", "河道管理范围内建设项目审批"],
    "community_governance": [
        "社区出具居住证明",
        "社会组织成立登记",
        "社会组织变更登记",
        "居民公约备案",
        "婚姻登记预约",
    ],
    "party_admin": ["党组织关系转接", "党员身份证明开具", "政府信息公开申请", "档案查询"],
}
VARIANTS = ["（变更）", "（注销）", "（补办）", "（延续）"]
# Legal time limits (working days) by kind of item: permits take longest, certificates are quick.
LEGAL_DAYS = {"行政许可": [10, 15, 20, 30], "行政确认": [1, 3, 5, 7, 10], "公共服务": [1, 3, 5, 7, 15]}
CHANNELS = {  # channel → (share, hour profile, weekend factor)
    "window": (0.45, "window", 0.1),
    "online": (0.35, "online", 0.6),
    "self_service": (0.12, "self_service", 0.5),
    "proxy": (0.08, "window", 0.2),
}
CHANNEL_LABELS = {"window": "窗口办理", "online": "网上办理", "self_service": "自助终端", "proxy": "帮办代办"}
STATUS_LABELS = {
    "received": "已受理",
    "in_progress": "办理中",
    "completed": "已办结",
    "rejected": "不予受理",
    "withdrawn": "申请人撤回",
}
RATINGS = ([5, 4, 3, 2, 1], [0.86, 0.09, 0.03, 0.01, 0.01])
RATING_CDF = cumulative(RATINGS[1])
COMMENTS = {
    5: ["办事效率高", "工作人员很耐心", "一次办成，点赞"],
    4: ["比较满意"],
    3: ["等候时间有点长"],
    2: ["材料要求不清楚"],
    1: ["跑了好几次"],
}
TS = "%Y-%m-%d %H:%M:%S"
SERVICE_ITEM_HEADER = [
    "事项编码",
    "事项名称",
    "实施部门",
    "事项类型",
    "法定办结时限(工作日)",
    "承诺办结时限(工作日)",
    "是否即办件",
]


def build_catalogue(seed: int) -> list[dict]:
    """The service items: SERVICE_ITEMS of them, each with legal and promised days."""
    rng = rng_for(seed, "service-items")
    items = [(dept, name) for dept, names in CATALOGUE.items() for name in names]
    base = list(items)
    k = 0
    while len(items) < SERVICE_ITEMS:
        dept, name = base[k % len(base)]
        items.append((dept, name + VARIANTS[(k // len(base)) % len(VARIANTS)]))
        k += 1
    out = []
    for i, (dept, name) in enumerate(items[:SERVICE_ITEMS]):
        kind = "行政许可" if "许可" in name or "审批" in name else "行政确认" if "登记" in name else "公共服务"
        legal = int(rng.choice(LEGAL_DAYS[kind]))
        immediate = kind != "行政许可" and rng.random() < 0.45  # 即办件: done while the applicant waits
        promised = 0 if immediate else max(1, int(np.ceil(legal * rng.uniform(0.3, 0.7))))
        out.append(
            {
                "id": f"SX{i + 1:05d}",
                "name": name,
                "department": dept,
                "kind": kind,
                "legal": legal,
                "promised": promised,
            }
        )
    return out


class ServiceDesk:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.items = build_catalogue(ctx.seed)
        self.department_zh = codes.name_zh("department")
        rng = rng_for(ctx.seed, "service-popularity")
        w = 1 / np.arange(1, len(self.items) + 1) ** 0.9
        self.item_p = w[rng.permutation(len(self.items))]
        self.item_p /= self.item_p.sum()
        res = ctx.district.community_residents
        self.community_p = res / res.sum()
        self.pending: dict[date, dict[str, tuple[datetime, dict]]] = defaultdict(dict)

    def write_day(self, day: date, index: int) -> None:
        if is_snapshot_day(day, self.ctx.start):
            self._write_items(day)
        self._receive(day)
        self._write_applications(day, index)

    def _write_items(self, day: date) -> None:
        rows = [
            [
                it["id"],
                it["name"],
                self.department_zh[it["department"]],
                it["kind"],
                it["legal"],
                it["promised"],
                "是" if it["promised"] == 0 else "否",
            ]
            for it in self.items
        ]
        self.ctx.write(
            "approvals",
            day,
            f"service_items_{day:%Y%m%d}.csv",
            csv_bytes(SERVICE_ITEM_HEADER, rows),
            {"service_item": len(rows)},
        )

    def _receive(self, day: date) -> None:
        ctx, d = self.ctx, self.ctx.district
        rng = rng_for(ctx.seed, "approvals", day.toordinal())
        weekend = day.weekday() >= 5
        arrivals = []
        for channel, (share, hours, weekend_factor) in CHANNELS.items():
            mean = DAILY_VOLUMES["approvals"] * ctx.scale * share * (weekend_factor if weekend else 1.18)
            arrivals += [(t, channel) for t in draw_times(rng, day, int(rng.poisson(mean)), HOURS[hours])]
        arrivals.sort()
        people = ctx.pools.people
        n = len(arrivals)
        items = rng.choice(len(self.items), size=n, p=self.item_p).tolist()
        communities = rng.choice(len(d.community_id), size=n, p=self.community_p).tolist()
        persons = rng.integers(0, len(people), n).tolist()
        draws = Draws(rng)
        for seq, (received, channel) in enumerate(arrivals, start=1):
            item, community, person = self.items[items[seq - 1]], communities[seq - 1], persons[seq - 1]
            base = {
                "applyNo": f"SQ{day:%Y%m%d}{seq:05d}",
                "itemCode": item["id"],
                "itemName": item["name"],
                "deptName": self.department_zh[item["department"]],
                "areaCode": d.community_id[community],
                "areaName": f"{d.community_name[community]}社区",
                "channel": CHANNEL_LABELS[channel],
                "status": None,
                "receiveTime": received.isoformat(sep=" ", timespec="seconds"),
                "finishTime": None,
                "updateTime": None,
                "applicant": {"name": people.name[person], "idCard": people.id_no[person]},
                "evaluation": None,
            }
            for at, status, rating in self._states(item, received, draws):
                row = dict(base, status=STATUS_LABELS[status], updateTime=at.isoformat(sep=" ", timespec="seconds"))
                if status == "completed":
                    row["finishTime"] = at.isoformat(sep=" ", timespec="seconds")
                    if rating:
                        row["evaluation"] = {"score": rating, "comment": draws.pick(COMMENTS[rating])}
                # The day's export holds the application's latest state only.
                self.pending[at.date()][base["applyNo"]] = (at, row)

    def _states(self, item: dict, received: datetime, rng: Draws) -> list[tuple]:
        """(time, status, rating) of each change, from receipt to the end."""
        states = [(received, "received", None)]
        office = in_office_hours(received, rng, 9, 17)
        legal, promised = item["legal"], item["promised"]
        outcome = rng.random()
        rating = RATINGS[0][rng.weighted(RATING_CDF)] if rng.random() < 0.75 else None

        def on_working_day(n: int) -> datetime:
            day = add_working_days(received.date(), n)
            return datetime.combine(day, time(9)) + timedelta(minutes=int(rng.integers(0, 480)))

        if outcome < 0.01:
            states.append(
                (office + timedelta(days=int(rng.integers(0, 5)), minutes=int(rng.integers(5, 300))), "withdrawn", None)
            )
        elif outcome < 0.045:
            states.append((on_working_day(int(rng.integers(1, max(2, min(3, legal)) + 1))), "rejected", None))
        elif promised == 0:
            states.append((office + timedelta(minutes=int(rng.integers(10, 90))), "completed", rating))
        else:
            u = rng.random()
            if u < 0.88:
                n = int(rng.integers(1, promised + 1))
            elif u < 0.98 and legal > promised:
                n = int(rng.integers(promised + 1, legal + 1))
            else:
                n = legal + int(rng.integers(1, 9))  # past the legal limit
            if n > 1:
                states.append((on_working_day(1) - timedelta(minutes=int(rng.integers(0, 60))), "in_progress", None))
            states.append((on_working_day(n), "completed", rating))
        # keep times increasing even when office hours moved an early state
        out, last = [], received
        for at, status, r in states:
            at = max(at, last + timedelta(minutes=1)).replace(microsecond=0)
            out.append((at, status, r))
            last = at
        return out

    def _write_applications(self, day: date, index: int) -> None:
        ctx = self.ctx
        changed = sorted(self.pending.pop(day, {}).values(), key=lambda x: (x[0], x[1]["applyNo"]))
        rows = [row for _, row in changed]
        faults = {
            "missing_required": ("receiveTime", None),
            "unknown_code": ("channel", "微信小程序"),
            "impossible_date": ("updateTime", impossible_time_text(day, TS)),
        }
        rows = ctx.spoil_rows(rows, "approvals", "approval", index, faults, key="applyNo")
        if rows:
            ctx.write(
                "approvals",
                day,
                f"applications_{day:%Y%m%d}.jsonl",
                jsonl_bytes(json_line(r) for r in rows),
                {"approval": len(rows)},
            )
