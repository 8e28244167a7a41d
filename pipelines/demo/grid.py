"""Grid base data (网格基础数据): the unit sheet (.xlsx) and the boundaries (GeoJSON), as monthly snapshots."""

from __future__ import annotations

from datetime import date, datetime, time

from pipelines.demo.clock import is_snapshot_day
from pipelines.demo.context import Context
from pipelines.demo.street import GRID_HEADER
from pipelines.demo.writers import geojson_bytes, xlsx_bytes


class GridBaseData:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.boundaries = geojson_bytes(ctx.district.features)  # unchanged all period: encode once

    def write_day(self, day: date, index: int) -> None:
        if not is_snapshot_day(day, self.ctx.start):
            return
        d = self.ctx.district
        units = xlsx_bytes(
            [("网格", GRID_HEADER, d.unit_rows)], datetime.combine(day, time(5, 0)), author="网格化社会治理联动平台"
        )
        self.ctx.write("grid", day, f"grid_units_{day:%Y%m%d}.xlsx", units, {"grid_unit": len(d.unit_rows)})
        self.ctx.write(
            "grid", day, f"grid_boundaries_{day:%Y%m%d}.geojson", self.boundaries, {"grid_boundary": len(d.features)}
        )
