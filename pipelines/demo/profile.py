"""The demo street's published figures (金鸡湖街道, see GLOSSARY.md "demo profile") and how they scale.

Scale 1 is one street; scale 10 is a district of ten such streets; a fraction
shrinks the one street (tests use 0.03-0.1). Everything a street owns is
counted here once, so the generator modules never hard-code a calibration figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Per street, as published (or, where nothing is published, a plausible figure noted as such).
STREET_FIGURES = {
    "communities": 57,
    "compounds": 145,
    "comprehensive": 204,
    "dedicated": 129,
    "micro": 1414,
    "residents": 400_000,
    "registered_residents": 228_000,
    "video_feeds": 7100,
    "water_monitors": 40,
    "gas_detectors": 600,  # not published: sized so that all readings stay under 15,000 rows a day
    "electricity_monitors": 160,  # idem
    "party_areas": 11,
    "meetings_per_year": 77,
    "projects_per_year": 105,
    "pledges_per_year": 91,
    "volunteer_teams": 35,
    "errands_government_per_year": 391,
    "errands_convenience_per_year": 554,
    "other_activities_per_year": 700,  # not published
    "party_members": 6000,  # not published
    "enforcement_subjects": 1500,  # businesses and sites on the inspection roll; not published
}

PARTNER_UNITS = {"agency": 18, "school": 62, "property": 46, "bank": 41, "hospital": 8, "enterprise": 441}

# Street-wide catalogue, not multiplied by scale: one government-service catalogue for the district.
SERVICE_ITEMS = 107

# Mean new records per day at scale 1 (weekday/weekend and hour cycles are applied on top).
DAILY_VOLUMES = {
    "hotline_12345": 90,
    "city_mgmt": 60,
    "forum": 8,
    "grid_report": 80,
    "approvals": 250,
    "inspections": 30,
    "cases": 2,
    "alarms": 7,  # each alarm is raised, acknowledged and cleared: ~20 events
}

STREET_NAMES = ["金鸡湖", "斜塘", "娄葑", "唯亭", "胜浦", "湖西", "湖东", "月亮湾", "独墅湖", "星港"]

# A street's bounding box at scale 1 (WGS84), near Suzhou Industrial Park; more streets tile beside it.
ORIGIN_LON, ORIGIN_LAT = 120.68, 31.28
STREET_WIDTH, STREET_HEIGHT = 0.08, 0.06
STREETS_PER_ROW = 4


@dataclass(frozen=True)
class StreetPlan:
    """One street of the district: its number, the fraction of a full street, and its counts."""

    number: int  # 1-based
    fraction: float
    name: str
    communities: int
    compounds: int
    comprehensive: int
    dedicated: int
    micro: int
    residents: int
    registered_residents: int
    video_feeds: int
    water_monitors: int
    gas_detectors: int
    electricity_monitors: int
    party_areas: int
    party_members: int
    volunteer_teams: int
    enforcement_subjects: int
    partner_units: dict[str, int]
    lon0: float
    lat0: float
    width: float
    height: float

    def per_year(self, figure: str) -> float:
        return STREET_FIGURES[figure] * self.fraction


def _scaled(figure: int, fraction: float, minimum: int = 1) -> int:
    return max(minimum, int(round(figure * fraction)))


def street_fractions(scale: float) -> list[float]:
    """Scale 2.5 → [1, 1, 0.5]; scale 0.05 → [0.05]."""
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    whole = int(math.floor(scale + 1e-9))
    rest = scale - whole
    fractions = [1.0] * whole
    if rest > 1e-6:
        fractions.append(rest)
    return fractions


def plan_street(number: int, fraction: float) -> StreetPlan:
    f = STREET_FIGURES
    communities = _scaled(f["communities"], fraction, 2)
    comprehensive = max(communities, _scaled(f["comprehensive"], fraction))
    micro = max(comprehensive, _scaled(f["micro"], fraction))
    slot = number - 1
    side = math.sqrt(fraction)  # area follows the number of grids
    name = STREET_NAMES[slot] if slot < len(STREET_NAMES) else f"第{number}"
    return StreetPlan(
        number=number,
        fraction=fraction,
        name=f"{name}街道",
        communities=communities,
        compounds=max(communities, _scaled(f["compounds"], fraction)),
        comprehensive=comprehensive,
        dedicated=_scaled(f["dedicated"], fraction),
        micro=micro,
        residents=_scaled(f["residents"], fraction),
        registered_residents=_scaled(f["registered_residents"], fraction),
        video_feeds=_scaled(f["video_feeds"], fraction),
        water_monitors=_scaled(f["water_monitors"], fraction),
        gas_detectors=_scaled(f["gas_detectors"], fraction),
        electricity_monitors=_scaled(f["electricity_monitors"], fraction),
        party_areas=min(communities, _scaled(f["party_areas"], fraction)),
        party_members=_scaled(f["party_members"], fraction, 20),
        volunteer_teams=_scaled(f["volunteer_teams"], fraction),
        enforcement_subjects=_scaled(f["enforcement_subjects"], fraction, 20),
        partner_units={kind: _scaled(n, fraction) for kind, n in PARTNER_UNITS.items()},
        lon0=ORIGIN_LON + STREET_WIDTH * (slot % STREETS_PER_ROW),
        lat0=ORIGIN_LAT - STREET_HEIGHT * (slot // STREETS_PER_ROW),
        width=STREET_WIDTH * side,
        height=STREET_HEIGHT * side,
    )


def plan_district(scale: float) -> list[StreetPlan]:
    return [plan_street(i + 1, fraction) for i, fraction in enumerate(street_fractions(scale))]
