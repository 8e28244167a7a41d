"""generate(): write a demo street's (or district's) landing extracts for a date range, and its manifest."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from pipelines.demo.approvals import ServiceDesk
from pipelines.demo.clock import day_range, resolve_range
from pipelines.demo.context import Context
from pipelines.demo.dirt import DirtPlan
from pipelines.demo.enforcement import Enforcement
from pipelines.demo.grid import GridBaseData
from pipelines.demo.iot import Iot
from pipelines.demo.manifest import Manifest
from pipelines.demo.party import PartyLedger
from pipelines.demo.pools import build_pools
from pipelines.demo.profile import PARTNER_UNITS, DemoStreet, plan_district
from pipelines.demo.street import build_district
from pipelines.demo.tickets import TicketDesk
from pipelines.demo.visits import VisitRounds


def generate(
    landing: Path,
    *,
    days: int = 365,
    start: date | None = None,
    end: date | None = None,
    scale: float = 1.0,
    seed: int = 7,
    progress: Callable[[str, int, int], None] | None = None,
    street: DemoStreet | None = None,
) -> dict:
    """Write landing extracts for the demo street; return the manifest (also written to landing/_demo_manifest.json).

    `street` names the district's first street and the area it lies in (default: street.toml's demo street);
    a scale whose district does not fit that area raises ValueError.
    """
    start, end = resolve_range(days, start, end)
    landing = Path(landing)
    all_days = day_range(start, end)
    report = progress or (lambda step, done, total: None)

    report("street", 0, 1)
    plans = plan_district(scale, street)
    pools = build_pools(seed, scale)
    district = build_district(plans, pools, seed)
    manifest = Manifest(seed, scale, start, end)
    ctx = Context(landing, seed, scale, start, end, all_days, district, pools, DirtPlan(seed, all_days), manifest)
    iot, services, tickets = Iot(ctx), ServiceDesk(ctx), TicketDesk(ctx)
    # Each writer draws from its own seeded streams, so their order changes no bytes.
    writers = [GridBaseData(ctx), PartyLedger(ctx), iot, services, Enforcement(ctx), tickets, VisitRounds(ctx)]
    manifest.street = {
        **district.summary(),
        "partner_units": {kind: sum(p.partner_units[kind] for p in plans) for kind in PARTNER_UNITS},
        "devices": {kind: len(iot.by_kind[kind]) for kind in ("water_quality", "gas", "electricity", "video")},
        "service_items": len(services.items),
        "departments": len(tickets.departments),
    }
    report("street", 1, 1)

    for index, day in enumerate(all_days):
        for writer in writers:
            writer.write_day(day, index)
        report("days", index + 1, len(all_days))
    return manifest.write(landing)
