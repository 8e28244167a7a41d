"""IoT (物联感知): devices, hourly sensor readings with daily cycles, alarms, and video feed online minutes.

Water-quality monitors report pH, turbidity and dissolved oxygen hourly;
smart-electricity monitors current and cable temperature hourly; wireless
gas detectors every 4 hours. Clean values stay within 3x a device's median,
change every hour (2 decimals with noise) and never skip an hour on a day
the device is up, so the only spikes and stuck runs the warehouse finds are
the injected ones, listed in the manifest, and the only gaps are the injected
ones and whole days of silence. Rows that should be quarantined (negative,
missing value, unknown metric, impossible time) are extra rows at an odd
minute, so quarantining them never leaves a hole in the hourly series.

Sensors go offline as they do in the field: now and then one falls silent for
1-5 whole days (power cut, SIM card, flat battery), and about 1% are
chronically dead, working only for a few days after each repair. A silent
sensor sends no reading that day (the warehouse counts it offline) and raises
one `device_offline` alarm, cleared by its first reading back. Whether a
sensor is silent on a day is a pure function of the seed and the date, so a
day's files do not depend on the range generated.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

import numpy as np

from pipelines.demo import codes
from pipelines.demo.clock import HOURS, draw_times, impossible_time_text, is_snapshot_day, rng_for
from pipelines.demo.context import Context
from pipelines.demo.draws import Draws, cumulative
from pipelines.demo.profile import DAILY_VOLUMES
from pipelines.demo.writers import csv_bytes, plain_csv_bytes

KIND_LABELS = {
    "water_quality": "水质监测仪",
    "gas": "无线可燃气体探测器",
    "electricity": "智慧用电监测终端",
    "video": "视频监控",
}
OWNER_LABELS = {
    "police": "公安",
    "city_mgmt": "城管",
    "flood_control": "防汛",
    "property": "物业",
    "street": "街道",
    "enterprise": "企业",
}
ID_PREFIX = {"water_quality": "WQ", "gas": "GS", "electricity": "EL", "video": "VD"}
OWNERS = {
    "water_quality": (["flood_control", "street"], [0.6, 0.4]),
    "gas": (["property", "enterprise", "street"], [0.5, 0.4, 0.1]),
    "electricity": (["property", "street"], [0.7, 0.3]),
    "video": (["police", "city_mgmt", "flood_control", "property"], [0.45, 0.25, 0.05, 0.25]),
}
METRICS = {
    "water_quality": ["ph", "turbidity_ntu", "dissolved_oxygen_mg_l"],
    "electricity": ["current_a", "cable_temp_c"],
    "gas": ["gas_lel_pct"],
}
UNITS = {
    "ph": "pH",
    "turbidity_ntu": "NTU",
    "dissolved_oxygen_mg_l": "mg/L",
    "gas_lel_pct": "%LEL",
    "current_a": "A",
    "cable_temp_c": "℃",
}
GAS_HOURS = [0, 4, 8, 12, 16, 20]
SPIKE_METRICS = ["turbidity_ntu", "dissolved_oxygen_mg_l", "current_a", "cable_temp_c"]
# Electric load by hour: low at night, a morning bump and an evening peak (max/median stays under 2).
LOAD = np.array(
    [
        0.6,
        0.55,
        0.52,
        0.5,
        0.5,
        0.55,
        0.7,
        0.9,
        0.95,
        0.85,
        0.8,
        0.85,
        0.9,
        0.85,
        0.8,
        0.8,
        0.85,
        1.0,
        1.25,
        1.45,
        1.45,
        1.3,
        1.0,
        0.75,
    ]
)

# Alarms drawn each day: kind → (share of the day's alarms, device kind, levels, level shares,
# ack median minutes, clear minutes range). `device_offline` (about 0.12 of them) is not drawn:
# each silent spell raises one, so the shares here sum to 0.88.
ALARM_KINDS = {
    "video_offline": (0.34, "video", ["low", "medium"], [0.8, 0.2], 20, (60, 48 * 60)),
    "overload": (0.2, "electricity", ["medium", "low"], [0.7, 0.3], 10, (20, 180)),
    "cable_overheat": (0.1, "electricity", ["high", "medium"], [0.6, 0.4], 8, (30, 300)),
    "water_quality": (0.2, "water_quality", ["medium", "low"], [0.5, 0.5], 25, (120, 24 * 60)),
    "gas_leak": (0.04, "gas", ["high"], [1.0], 3, (30, 120)),
}
ALARM_LABELS = {
    "gas_leak": "燃气泄漏",
    "water_quality": "水质异常",
    "overload": "用电过载",
    "cable_overheat": "线缆温度过高",
    "video_offline": "视频离线",
    "device_offline": "设备离线",
}
DEVICE_OFFLINE_LEVELS = (["low", "medium"], [0.6, 0.4])
DEVICE_OFFLINE_ACK_MEDIAN = 30  # minutes
DEVICE_OFFLINE_TIMEOUT = (30, 90)  # minutes after the first missed report before the platform raises it

# Sensor outages (expected ≈ 0.45% of sensor-days from spells plus ≈ 0.9% from chronic sensors).
SPELL_START_RATE = 0.0015  # per sensor and day: a silent spell starts
SPELL_DAYS = (1, 5)  # whole days, inclusive
CHRONIC_SENSOR_SHARE = 0.01  # of sensors, at least one: even a small demo shows a dead sensor
CHRONIC_CYCLE_DAYS = (35, 70)  # a chronic sensor's repair cycle, inclusive: dead for weeks ...
CHRONIC_ALIVE_DAYS = (2, 6)  # ... then working for a few days after the repair

LEVEL_LABELS = {"high": "一级", "medium": "二级", "low": "三级"}
ALARM_STATE_LABELS = {"raised": "告警产生", "acknowledged": "已确认", "cleared": "已消除"}

DEVICE_HEADER = ["设备编号", "设备类型", "设备名称", "权属单位", "所属网格", "经度", "纬度", "安装日期"]
READING_HEADER = ["设备编号", "监测指标", "监测值", "计量单位", "采集时间"]
ALARM_HEADER = ["告警编号", "设备编号", "告警类型", "告警级别", "告警状态", "状态时间", "告警描述"]
VIDEO_HEADER = ["设备编号", "统计日期", "在线时长(分钟)", "离线次数"]
TS = "%Y-%m-%d %H:%M:%S"


# 0.00 .. 999.99 as text: a lookup is much faster than formatting each float.
_CENTS = np.array([f"{i // 100}.{i % 100:02d}" for i in range(100_000)], dtype=object)


def two_decimals(values: np.ndarray) -> np.ndarray:
    """Values as text with two decimals, as the platform exports them."""
    cents = np.rint(values * 100).astype(np.int64)
    if cents.min() >= 0 and cents.max() < len(_CENTS):
        return _CENTS[cents]
    return np.vectorize(lambda v: f"{v:.2f}", otypes=[object])(values)


def ambient_temperature(day: date) -> float:
    """Suzhou's seasonal air temperature: about 4 °C in January, 29 °C in late July."""
    return 16.5 + 12.5 * np.cos(2 * np.pi * (day.timetuple().tm_yday - 205) / 365)


class Iot:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        d = ctx.district
        self.metric_zh = codes.name_zh("sensor_metric")
        rng = rng_for(ctx.seed, "iot-devices")
        ids, kinds, owners, micros = [], [], [], []
        for s, plan in enumerate(d.plans):
            street_micros = np.flatnonzero(d.community_street[d.micro_community] == s)
            for kind, n in (
                ("water_quality", plan.water_monitors),
                ("gas", plan.gas_detectors),
                ("electricity", plan.electricity_monitors),
                ("video", plan.video_feeds),
            ):
                ids += [f"{ID_PREFIX[kind]}{plan.number:02d}{k + 1:05d}" for k in range(n)]
                kinds += [kind] * n
                choices, p = OWNERS[kind]
                owners += rng.choice(choices, size=n, p=p).tolist()
                micros += rng.choice(street_micros, size=n).tolist()
        n = len(ids)
        self.device_id = np.array(ids, dtype=object)
        self.kind = np.array(kinds, dtype=object)
        self.owner = np.array(owners, dtype=object)
        self.micro = np.array(micros, dtype=int)
        self.lon, self.lat = d.points_in_micro(rng, self.micro)
        first = np.datetime64("2019-01-01")
        span = max(1, (np.datetime64(ctx.start) - first).astype(int))
        installed = first + rng.integers(0, span, n).astype("timedelta64[D]")
        self.installed = installed.astype(str)
        self.name = [self._name(i) for i in range(n)]
        self.minute = rng.integers(0, 60, n)  # each device reports at its own minute past the hour
        self.second = rng.integers(0, 60, n)
        self.by_kind = {k: np.flatnonzero(self.kind == k) for k in ("water_quality", "electricity", "gas", "video")}
        # Per-device levels the daily cycles ride on.
        self.base = {
            "ph": rng.uniform(7.0, 7.8, n),
            "turbidity_ntu": rng.uniform(3, 12, n),
            "dissolved_oxygen_mg_l": rng.uniform(5.5, 7.5, n),
            "current_a": rng.uniform(8, 60, n),
            "gas_lel_pct": rng.uniform(0.4, 1.2, n),
        }
        video = self.by_kind["video"]
        self.chronic_offline = set(video[rng.random(len(video)) < 0.012].tolist())
        self.sensors = np.concatenate([self.by_kind[k] for k in ("water_quality", "electricity", "gas")])
        self.is_sensor = np.isin(np.arange(n), self.sensors)
        chronic = min(len(self.sensors), max(1, round(CHRONIC_SENSOR_SHARE * len(self.sensors))))
        self.chronic_sensors = np.sort(rng.choice(self.sensors, size=chronic, replace=False))
        self.chronic_cycle = rng.integers(CHRONIC_CYCLE_DAYS[0], CHRONIC_CYCLE_DAYS[1] + 1, chronic)
        self.chronic_alive = rng.integers(CHRONIC_ALIVE_DAYS[0], CHRONIC_ALIVE_DAYS[1] + 1, chronic)
        self.chronic_phase = rng.integers(0, CHRONIC_CYCLE_DAYS[1], chronic)
        self._silent: dict[int, np.ndarray] = {}  # date ordinal → silent_sensors(day), for the days around today
        self.pending_alarms: dict[date, list[tuple[datetime, str, list]]] = defaultdict(list)
        self.line_parts = self._line_parts()

    def _name(self, i: int) -> str:
        d = self.ctx.district
        m = self.micro[i]
        compound = d.compound_name[d.micro_compound[m]]
        roads = d.roads[d.micro_community[m]]
        road = roads[i % len(roads)]
        kind = self.kind[i]
        if kind == "water_quality":
            return f"{road}河道水质监测点"
        if kind == "gas":
            return (
                f"{compound}{1 + i % 20}幢燃气探测器"
                if self.owner[i] != "enterprise"
                else f"{self.ctx.pools.companies[i % len(self.ctx.pools.companies)]}厨房燃气探测器"
            )
        if kind == "electricity":
            return f"{compound}{'电动车充电棚' if i % 2 else '配电房'}用电监测"
        other = roads[(i + 1) % len(roads)]
        return (
            f"{road}与{other}路口{1 + i % 8}号{'球机' if i % 3 else '枪机'}"
            if self.owner[i] != "property"
            else f"{compound}{['东门', '西门', '南门', '北门', '地库入口'][i % 5]}监控"
        )

    # ----- outages ---------------------------------------------------------------------------
    def _spell_days(self, ordinal: int) -> np.ndarray:
        """Per device, the length in days of the silent spell that starts on this day (0: none starts)."""
        n = len(self.device_id)
        rng = rng_for(self.ctx.seed, "iot-outages", ordinal)
        starts = (rng.random(n) < SPELL_START_RATE) & self.is_sensor
        return np.where(starts, rng.integers(SPELL_DAYS[0], SPELL_DAYS[1] + 1, n), 0)

    def silent_sensors(self, day: date) -> np.ndarray:
        """Per device, whether it is a sensor that sends no reading at all on `day`."""
        ordinal = day.toordinal()
        if ordinal not in self._silent:
            silent = np.zeros(len(self.device_id), dtype=bool)
            for back in range(SPELL_DAYS[1]):  # spells that started up to 4 days ago and still run
                silent |= self._spell_days(ordinal - back) > back
            cycle_day = (ordinal + self.chronic_phase) % self.chronic_cycle
            silent[self.chronic_sensors] |= cycle_day >= self.chronic_alive
            self._silent[ordinal] = silent
        return self._silent[ordinal]

    def _back_online(self, device: int, day: date) -> date:
        """The first day from `day` on when a silent device reports again."""
        while self.silent_sensors(day)[device]:
            day += timedelta(days=1)
        return day

    # ----- the day ---------------------------------------------------------------------------
    def write_day(self, day: date, index: int) -> None:
        # keep yesterday (who fell silent today?) and the days ahead met while finding when a sensor is back
        self._silent = {k: v for k, v in self._silent.items() if k >= day.toordinal() - 1}
        if is_snapshot_day(day, self.ctx.start):
            self._write_devices(day)
        self._write_readings(day, index)
        self._write_alarms(day)
        self._write_video(day)

    def _write_devices(self, day: date) -> None:
        d = self.ctx.district
        grid = d.comp_id[d.micro_comp[self.micro]]
        rows = [
            [
                self.device_id[i],
                KIND_LABELS[self.kind[i]],
                self.name[i],
                OWNER_LABELS[self.owner[i]],
                grid[i],
                f"{self.lon[i]:.6f}",
                f"{self.lat[i]:.6f}",
                self.installed[i].replace("-", "/"),
            ]
            for i in range(len(self.device_id))
        ]
        self.ctx.write(
            "iot", day, f"devices_{day:%Y%m%d}.csv", csv_bytes(DEVICE_HEADER, rows, bom=True), {"device": len(rows)}
        )

    def _values(self, day: date, rng: np.random.Generator) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """metric → (device indexes, values[device, hour]) for the hourly metrics; gas at its 6 hours."""
        h = np.arange(24)
        out = {}
        water = self.by_kind["water_quality"]
        nw = len(water)
        cycle = np.sin(2 * np.pi * (h - 9) / 24)  # photosynthesis: highest mid-afternoon
        out["ph"] = (water, self.base["ph"][water, None] + 0.15 * cycle + rng.normal(0, 0.08, (nw, 24)))
        rain_p = 0.25 if day.month in (5, 6, 7, 8, 9) else 0.1
        start = np.where(rng.random(nw) < rain_p, rng.integers(0, 24, nw), 99)
        after = np.clip(h[None, :] - start[:, None], 0, None)
        rain = np.where(h[None, :] >= start[:, None], 0.7 * np.exp(-after / 6), 0)
        out["turbidity_ntu"] = (
            water,
            self.base["turbidity_ntu"][water, None] * (1 + rain) * rng.lognormal(0, 0.06, (nw, 24)),
        )
        season = {12: 1.2, 1: 1.2, 2: 1.0, 6: -0.6, 7: -1.0, 8: -1.0, 9: -0.5}.get(day.month, 0)
        out["dissolved_oxygen_mg_l"] = (
            water,
            self.base["dissolved_oxygen_mg_l"][water, None] + season + 0.9 * cycle + rng.normal(0, 0.12, (nw, 24)),
        )
        elec = self.by_kind["electricity"]
        ne = len(elec)
        weekday = 1.0 if day.weekday() < 5 else 1.08  # people are home at weekends
        current = self.base["current_a"][elec, None] * LOAD * weekday * (1 + rng.normal(0, 0.05, (ne, 24)))
        out["current_a"] = (elec, current)
        load_share = current / (self.base["current_a"][elec, None] * 1.6)
        out["cable_temp_c"] = (
            elec,
            12 + 0.5 * ambient_temperature(day) + 18 * load_share**2 + rng.normal(0, 0.25, (ne, 24)),
        )
        gas = self.by_kind["gas"]
        out["gas_lel_pct"] = (
            gas,
            np.clip(self.base["gas_lel_pct"][gas, None] * (1 + rng.normal(0, 0.1, (len(gas), 6))), 0.05, None),
        )
        return {k: (dev, np.round(v, 2)) for k, (dev, v) in out.items()}

    def _line_parts(self) -> dict[str, tuple[list[str], list[str]]]:
        """metric → (per device "id,指标,", per device ":mm:ss"): the fixed parts of every reading line."""
        parts = {}
        for kind, metrics in METRICS.items():
            dev = self.by_kind[kind]
            ids = self.device_id[dev].tolist()
            tails = [
                f":{m:02d}:{s:02d}" for m, s in zip(self.minute[dev].tolist(), self.second[dev].tolist(), strict=True)
            ]
            for metric in metrics:
                parts[metric] = ([f"{i},{self.metric_zh[metric]}," for i in ids], tails)
        return parts

    def _write_readings(self, day: date, index: int) -> None:
        ctx = self.ctx
        rng = rng_for(ctx.seed, "iot-readings", day.toordinal())
        values = self._values(day, rng)
        # Silent sensors send nothing today. Their values are still drawn above, so the other
        # devices' values do not depend on who is silent.
        reporting = ~self.silent_sensors(day)
        parts = {}
        for metric, (dev, v) in values.items():
            heads, tails = self.line_parts[metric]
            keep = reporting[dev]
            if not keep.all():
                values[metric] = (dev[keep], v[keep])
                rows = np.flatnonzero(keep).tolist()
                heads, tails = [heads[i] for i in rows], [tails[i] for i in rows]
            parts[metric] = (heads, tails)
        present = {k: np.ones(v.shape, dtype=bool) for k, (_, v) in values.items()}
        flagged = self._flags(day, index, values, present)

        # Hour by hour, as the platform exports; within an hour by metric, then device.
        by_hour: list[list[str]] = [[] for _ in range(24)]
        for metric, (_, v) in values.items():
            heads, tails = parts[metric]
            text = two_decimals(v)
            hours = GAS_HOURS if metric == "gas_lel_pct" else range(24)
            for col, hour in enumerate(hours):
                middle = f",{UNITS[metric]},{day.isoformat()} {hour:02d}"
                column, keep = text[:, col].tolist(), present[metric][:, col]
                if keep.all():
                    by_hour[hour] += [h + val + middle + t for h, val, t in zip(heads, column, tails, strict=True)]
                else:
                    by_hour[hour] += [
                        h + val + middle + t
                        for h, val, t, k in zip(heads, column, tails, keep.tolist(), strict=True)
                        if k
                    ]
        lines = [line for bucket in by_hour for line in bucket]
        lines = self._spoil(day, index, lines, flagged)
        ctx.write(
            "iot",
            day,
            f"readings_{day:%Y%m%d}.csv",
            plain_csv_bytes(READING_HEADER, lines),
            {"sensor_reading": len(lines)},
        )

    def _flags(self, day: date, index: int, values: dict, present: dict) -> set[str]:
        """Inject spikes, stuck runs and gaps into the hourly devices reporting today (one fault per
        device per day); returns the ids of the devices touched."""
        ctx = self.ctx
        hourly = np.concatenate([self.by_kind["water_quality"], self.by_kind["electricity"]])
        hourly = hourly[~self.silent_sensors(day)[hourly]].tolist()
        free = list(hourly)
        position = {k: {int(d): i for i, d in enumerate(dev.tolist())} for k, (dev, _) in values.items()}
        rng = ctx.dirt.rng(("sensor_flags", "iot", "where"), day)
        stamp = lambda h: f"{day.isoformat()} {h:02d}:00"  # noqa: E731

        def metrics_of(device: int) -> list[str]:
            return METRICS[self.kind[device]]

        for device in ctx.dirt.pick("sensor_spike", "iot", "sensor_reading", index, free):
            free.remove(device)
            options = [m for m in metrics_of(device) if m in SPIKE_METRICS]
            metric = options[int(rng.integers(0, len(options)))]
            hour = int(rng.integers(0, 24))
            row = position[metric][device]
            v = values[metric][1]
            v[row, hour] = round(float(v[row, hour]) * float(rng.uniform(5, 9)), 2)
            ctx.manifest.injected(
                "sensor_spike",
                "iot",
                "sensor_reading",
                {
                    "device_id": self.device_id[device],
                    "metric": metric,
                    "hour": stamp(hour),
                    "value": float(v[row, hour]),
                },
            )
        for device in ctx.dirt.pick("stuck_value", "iot", "sensor_reading", index, free):
            free.remove(device)
            metric = metrics_of(device)[int(rng.integers(0, len(metrics_of(device))))]
            hours = int(rng.integers(6, 11))
            first = int(rng.integers(0, 24 - hours + 1))
            row = position[metric][device]
            v = values[metric][1]
            v[row, first : first + hours] = v[row, first]
            ctx.manifest.injected(
                "stuck_value",
                "iot",
                "sensor_reading",
                {
                    "device_id": self.device_id[device],
                    "metric": metric,
                    "from": stamp(first),
                    "to": stamp(first + hours - 1),
                    "hours": hours,
                    "value": float(v[row, first]),
                },
            )
        for device in ctx.dirt.pick("reading_gap", "iot", "sensor_reading", index, free):
            free.remove(device)
            hours = int(rng.integers(3, 6))
            first = int(rng.integers(1, 24 - hours))  # inside the day: the series goes on after the gap
            for metric in metrics_of(device):
                present[metric][position[metric][device], first : first + hours] = False
            ctx.manifest.injected(
                "reading_gap",
                "iot",
                "sensor_reading",
                {
                    "device_id": self.device_id[device],
                    "metrics": metrics_of(device),
                    "from": stamp(first),
                    "to": stamp(first + hours - 1),
                    "hours": hours,
                },
            )
        return {self.device_id[i] for i in set(hourly) - set(free)}

    def _spoil(self, day: date, index: int, lines: list[str], flagged: set[str]) -> list[str]:
        """Quarantine-bound rows: extra readings at an odd minute, and repeated lines (never on flagged devices)."""
        ctx = self.ctx
        candidates = [i for i, line in enumerate(lines) if line.split(",", 1)[0] not in flagged]
        extras: list[tuple[int, str]] = []
        used: set[int] = set()

        def extra(kind: str, make) -> None:
            free = [i for i in candidates if i not in used]
            for i in ctx.dirt.pick(kind, "iot", "sensor_reading", index, free, eligible_count=len(lines)):
                used.add(i)
                device, label, value, unit, stamp = lines[i].split(",")
                odd = f"{stamp[:14]}{(int(stamp[14:16]) + 30) % 60:02d}{stamp[16:]}"
                new = make(device, label, value, unit, odd)
                extras.append((i, new))
                fields = new.split(",")
                metric = next((k for k, v in self.metric_zh.items() if v == fields[1]), fields[1])
                ctx.manifest.injected(
                    kind,
                    "iot",
                    "sensor_reading",
                    {"device_id": device, "metric": metric, "measured_at": fields[4], "value": fields[2]},
                )

        extra("negative_reading", lambda d, lab, v, u, t: f"{d},{lab},-{float(v) * 0.1 + 0.01:.2f},{u},{t}")
        extra("missing_required", lambda d, lab, v, u, t: f"{d},{lab},,{u},{t}")
        extra("impossible_date", lambda d, lab, v, u, t: f"{d},{lab},{v},{u},{impossible_time_text(day, TS)}")
        extra("unknown_code", lambda d, lab, v, u, t: f"{d},氨氮,{v},mg/L,{t}")
        free = [i for i in candidates if i not in used]
        for i in ctx.dirt.pick("duplicate_row", "iot", "sensor_reading", index, free):
            used.add(i)
            extras.append((i, lines[i]))
            device, label, _, _, stamp = lines[i].split(",")
            metric = next(k for k, v in self.metric_zh.items() if v == label)
            ctx.manifest.injected(
                "duplicate_row", "iot", "sensor_reading", {"device_id": device, "metric": metric, "measured_at": stamp}
            )
        for i, line in sorted(extras, reverse=True):
            lines.insert(i + 1, line)
        return lines

    # ----- alarms and video ------------------------------------------------------------------
    def _write_alarms(self, day: date) -> None:
        ctx = self.ctx
        rng = rng_for(ctx.seed, "iot-alarms", day.toordinal())
        kinds = list(ALARM_KINDS)
        share = np.array([ALARM_KINDS[k][0] for k in kinds])
        n = int(rng.poisson(DAILY_VOLUMES["alarms"] * ctx.scale * share.sum()))
        times = draw_times(rng, day, n, HOURS["alarm"])
        chronic = sorted(self.chronic_offline)
        silent = self.silent_sensors(day)
        reporting = {kind: devices[~silent[devices]] for kind, devices in self.by_kind.items()}
        rng = Draws(rng)
        kind_cdf = cumulative(share)
        alarms = []  # (raised, device, kind, level, acknowledged, cleared)
        for raised in times:
            kind = kinds[rng.weighted(kind_cdf)]
            _, device_kind, levels, level_p, ack_median, (clear_lo, clear_hi) = ALARM_KINDS[kind]
            if kind == "video_offline" and chronic and rng.random() < 0.5:
                device = chronic[int(rng.integers(0, len(chronic)))]
            else:
                pool = reporting[device_kind]  # a silent sensor measures nothing to alarm on
                device = int(pool[int(rng.integers(0, len(pool)))])
            level = levels[rng.weighted(cumulative(level_p))]
            ack = raised + timedelta(minutes=rng.lognormal(ack_median, 0.6))
            cleared = ack + timedelta(minutes=float(rng.uniform(clear_lo, clear_hi)))
            alarms.append((raised, device, kind, level, ack, cleared))
        alarms += self._offline_alarms(day)
        alarms.sort(key=lambda a: (a[0], a[1]))
        for seq, (raised, device, kind, level, ack, cleared) in enumerate(alarms, start=1):
            alarm_id = f"GJ{day:%Y%m%d}{seq:04d}"
            text = f"{self.name[device]}{ALARM_LABELS[kind]}"
            for state, at in (("raised", raised), ("acknowledged", ack), ("cleared", cleared)):
                at = at.replace(microsecond=0)
                self.pending_alarms[at.date()].append(
                    (
                        at,
                        alarm_id,
                        [
                            alarm_id,
                            self.device_id[device],
                            ALARM_LABELS[kind],
                            LEVEL_LABELS[level],
                            ALARM_STATE_LABELS[state],
                            at.isoformat(sep=" ", timespec="seconds"),
                            text,
                        ],
                    )
                )
        rows = [row for _, _, row in sorted(self.pending_alarms.pop(day, []), key=lambda x: (x[0], x[1]))]
        if rows:
            ctx.write("iot", day, f"alarms_{day:%Y%m%d}.csv", csv_bytes(ALARM_HEADER, rows), {"alarm_event": len(rows)})

    def _offline_alarms(self, day: date) -> list[tuple]:
        """A `device_offline` alarm for each sensor that falls silent today: raised when its first report
        is overdue, cleared by its first reading back (after the range, if it is still silent then)."""
        fell_silent = self.silent_sensors(day) & ~self.silent_sensors(day - timedelta(days=1))
        rng = Draws(rng_for(self.ctx.seed, "iot-offline-alarms", day.toordinal()))
        midnight = datetime.combine(day, datetime.min.time())
        levels, level_cdf = DEVICE_OFFLINE_LEVELS[0], cumulative(DEVICE_OFFLINE_LEVELS[1])
        alarms = []
        for device in np.flatnonzero(fell_silent).tolist():
            report = timedelta(minutes=int(self.minute[device]), seconds=int(self.second[device]))
            raised = midnight + report + timedelta(minutes=rng.uniform(*DEVICE_OFFLINE_TIMEOUT))
            ack = raised + timedelta(minutes=rng.lognormal(DEVICE_OFFLINE_ACK_MEDIAN, 0.6))
            back = datetime.combine(self._back_online(device, day), datetime.min.time())
            cleared = back + report + timedelta(minutes=rng.uniform(0.5, 5))
            alarms.append((raised, device, "device_offline", levels[rng.weighted(level_cdf)], ack, cleared))
        return alarms

    def _write_video(self, day: date) -> None:
        rng = rng_for(self.ctx.seed, "iot-video", day.toordinal())
        video = self.by_kind["video"]
        n = len(video)
        u = rng.random(n)
        minutes = np.where(
            u < 0.955,
            1440,
            np.where(u < 0.985, 1440 - np.minimum(rng.exponential(25, n), 70), rng.integers(0, 1368, n)),
        )
        chronic = np.isin(video, list(self.chronic_offline))
        minutes = np.where(chronic, np.where(rng.random(n) < 0.85, 0, rng.integers(0, 600, n)), minutes).astype(int)
        drops = np.where(minutes == 1440, 0, 1 + rng.poisson(0.6, n))
        stamp = f"{day:%Y%m%d}"
        ids = self.device_id[video].tolist()
        lines = [f"{i},{stamp},{m},{k}" for i, m, k in zip(ids, minutes.tolist(), drops.tolist(), strict=True)]
        self.ctx.write(
            "iot",
            day,
            f"video_status_{day:%Y%m%d}.csv",
            plain_csv_bytes(VIDEO_HEADER, lines),
            {"video_status": len(lines)},
        )
