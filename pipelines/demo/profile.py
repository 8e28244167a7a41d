"""The demo street's published figures (see GLOSSARY.md "demo profile") and how they scale.

Scale 1 is one street; scale 10 is a district of ten such streets; a fraction
shrinks the one street (tests use 0.03-0.1). Everything a street owns is
counted here once, so the generator modules never hard-code a calibration figure.
The street's name and area are not figures: they come from street.toml (the
demo street) or from the home's configured [street] (see DemoStreet).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

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

# The demo street's identity: its [street] table is what `cockpit demo` configures, [district] names the others.
STREET_FILE = files("pipelines.demo") / "street.toml"

# A street's size at scale 1 (degrees); the district's streets tile east, then south, of the first one,
# which sits MARGIN inside the north-west corner of the area.
STREET_WIDTH, STREET_HEIGHT = 0.08, 0.06
STREETS_PER_ROW = 4
MARGIN = 0.02


@cache
def street_file() -> dict:
    """street.toml, parsed."""
    return tomllib.loads(STREET_FILE.read_text(encoding="utf-8"))


def street_config_text() -> str:
    """street.toml's [street] table as TOML text, comments kept: what `cockpit demo` writes into a new home's config."""
    lines, inside = [], False
    for line in STREET_FILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("["):
            inside = line.strip() == "[street]"
        if inside:
            lines.append(line)
    return "\n".join(lines).strip() + "\n"


def write_street_config(config: Path) -> bool:
    """Configure the demo street in `config` (a home's cockpit.toml) unless that file exists; True when written."""
    if config.exists():
        return False
    note = "# Written by `cockpit demo` for its demo street; configure your street here (README, Configuration)."
    config.write_text(f"{note}\n\n{street_config_text()}", encoding="utf-8")
    return True


@dataclass(frozen=True)
class DemoStreet:
    """The street a demo district is generated for: its name, the area its streets lie in, and its neighbours."""

    name: str
    area: tuple[float, float, float, float]  # min lon, min lat, max lon, max lat
    neighbours: tuple[str, ...] = ()  # the district's other streets, for scales above 1

    @classmethod
    def from_file(cls) -> DemoStreet:
        """The demo street of street.toml."""
        data = street_file()
        return cls(data["street"]["name"], tuple(data["street"]["area"]), tuple(data["district"]["streets"]))

    @classmethod
    def configured(cls, name: str, area: tuple[float, float, float, float]) -> DemoStreet:
        """A configured street's demo: its own name and area, street.toml's neighbours (less itself)."""
        others = tuple(each for each in cls.from_file().neighbours if each != name)
        return cls(name, tuple(area), others)

    def street_name(self, number: int) -> str:
        """The name of the district's street `number` (1 is this street)."""
        if number == 1:
            return self.name
        return self.neighbours[number - 2] if number - 2 < len(self.neighbours) else f"第{number}街道"

    def origin(self, slot: int) -> tuple[float, float]:
        """The south-west corner of the street in `slot` (0-based): east along a row, rows going south."""
        lon = self.area[0] + MARGIN + STREET_WIDTH * (slot % STREETS_PER_ROW)
        lat = self.area[3] - MARGIN - STREET_HEIGHT * (slot // STREETS_PER_ROW + 1)
        # Rounded to the micro-degree: the same corner whatever order the sums above were taken in.
        return round(lon, 6), round(lat, 6)


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


def plan_street(number: int, fraction: float, street: DemoStreet | None = None) -> StreetPlan:
    street = street or DemoStreet.from_file()
    f = STREET_FIGURES
    communities = _scaled(f["communities"], fraction, 2)
    comprehensive = max(communities, _scaled(f["comprehensive"], fraction))
    micro = max(comprehensive, _scaled(f["micro"], fraction))
    slot = number - 1
    side = math.sqrt(fraction)  # area follows the number of grids
    lon0, lat0 = street.origin(slot)
    return StreetPlan(
        number=number,
        fraction=fraction,
        name=street.street_name(number),
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
        lon0=lon0,
        lat0=lat0,
        width=STREET_WIDTH * side,
        height=STREET_HEIGHT * side,
    )


def plan_district(scale: float, street: DemoStreet | None = None) -> list[StreetPlan]:
    """The district's streets for a scale; a district that does not fit the street's area raises ValueError."""
    street = street or DemoStreet.from_file()
    plans = [plan_street(i + 1, fraction, street) for i, fraction in enumerate(street_fractions(scale))]
    west, south, east, north = street.area
    for plan in plans:
        if plan.lon0 < west or plan.lat0 < south or plan.lon0 + plan.width > east or plan.lat0 + plan.height > north:
            raise ValueError(
                f"a demo of scale {scale:g} needs more room than the area {street.area}: its street {plan.number} "
                f"would lie at {plan.lon0:.3f}–{plan.lon0 + plan.width:.3f} E, {plan.lat0:.3f}–"
                f"{plan.lat0 + plan.height:.3f} N (each street is {STREET_WIDTH}° × {STREET_HEIGHT}°, four a row)"
            )
    return plans
