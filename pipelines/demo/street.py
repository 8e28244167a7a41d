"""The demo district's grid hierarchy and geometry: communities, compounds, comprehensive, dedicated and micro grids.

Geometry: each street is a rectangle cut into a lattice of jittered quads that
share their corner vertices exactly. The quads are ordered along a Hilbert
curve, and every unit is a contiguous run of that order (micro grids inside
comprehensive grids inside communities), so units are compact, nest by
construction and never overlap: a union of quads with identical shared
vertices has exact boundaries. Dedicated grids (schools, markets...) have no polygon.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import mapping

from pipelines.demo.clock import rng_for
from pipelines.demo.pools import COMPOUND_SUFFIXES, ROAD_SUFFIXES, Pools
from pipelines.demo.profile import StreetPlan

COMMUNITY_TYPES = ["relocation", "commodity", "talent"]
COMMUNITY_TYPE_SHARE = [0.35, 0.5, 0.15]
# Raw residents per household and registered share by community type; totals are then calibrated.
RESIDENTS_PER_HOUSEHOLD = {"relocation": 4.4, "commodity": 3.3, "talent": 4.6}
REGISTERED_SHARE = {"relocation": 0.85, "commodity": 0.62, "talent": 0.15}
DEDICATED_KINDS = ["school", "hospital", "market", "enterprise_park", "transit", "government"]
DEDICATED_SHARE = [0.3, 0.06, 0.2, 0.24, 0.1, 0.1]
DEDICATED_LABELS = {
    "school": "学校",
    "hospital": "医院",
    "market": "商业街区",
    "enterprise_park": "产业园区",
    "transit": "交通枢纽",
    "government": "机关单位",
}
COMMUNITY_TYPE_LABELS = {"relocation": "动迁安置", "commodity": "城市商品房", "talent": "人才集宿区"}
LEVEL_LABELS = {"community": "社区", "comprehensive": "综合网格", "dedicated": "专属网格", "micro": "微网格"}
JITTER = 0.28  # share of a cell a lattice vertex may move: small enough to keep every quad convex
COORD_DECIMALS = 6


@dataclass
class District:
    """All units of the district as parallel arrays, indexed per level; ids are unique across streets."""

    plans: list[StreetPlan]
    community_id: np.ndarray
    community_name: np.ndarray  # without the 社区 suffix
    community_type: np.ndarray
    community_street: np.ndarray  # index into plans
    community_area: np.ndarray  # global party-building area index
    area_street: np.ndarray
    compound_name: np.ndarray
    compound_community: np.ndarray
    compound_buildings: np.ndarray
    comp_id: np.ndarray
    comp_community: np.ndarray
    comp_worker: np.ndarray  # worker index
    dedicated_id: np.ndarray
    dedicated_kind: np.ndarray
    dedicated_community: np.ndarray
    dedicated_name: np.ndarray
    dedicated_worker: np.ndarray
    micro_id: np.ndarray
    micro_comp: np.ndarray
    micro_community: np.ndarray
    micro_compound: np.ndarray
    micro_households: np.ndarray
    micro_residents: np.ndarray
    micro_registered: np.ndarray
    micro_worker: np.ndarray
    micro_cell_start: np.ndarray
    micro_cell_count: np.ndarray
    cell_quads: np.ndarray  # (cells, 4, 2) lon/lat corners, counter-clockwise
    worker_id: np.ndarray
    worker_name: np.ndarray
    worker_phone: np.ndarray
    roads: list[np.ndarray]  # per community: nearby road names
    unit_rows: list[list] = field(default_factory=list)  # the grid base-data sheet
    features: list[dict] = field(default_factory=list)  # GeoJSON features (community, comprehensive, micro)

    @property
    def comp_residents(self) -> np.ndarray:
        return np.bincount(self.micro_comp, weights=self.micro_residents, minlength=len(self.comp_id))

    @property
    def community_residents(self) -> np.ndarray:
        return np.bincount(self.micro_community, weights=self.micro_residents, minlength=len(self.community_id))

    def points_in_micro(self, rng: np.random.Generator, micro: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A random point inside each given micro grid (inside one of its quads, away from the edges)."""
        cell = self.micro_cell_start[micro] + (rng.random(len(micro)) * self.micro_cell_count[micro]).astype(int)
        q = self.cell_quads[cell]
        u = rng.uniform(0.15, 0.85, len(micro))[:, None]
        v = rng.uniform(0.15, 0.85, len(micro))[:, None]
        p = (1 - u) * (1 - v) * q[:, 0] + u * (1 - v) * q[:, 1] + u * v * q[:, 2] + (1 - u) * v * q[:, 3]
        return np.round(p[:, 0], COORD_DECIMALS), np.round(p[:, 1], COORD_DECIMALS)

    def summary(self) -> dict:
        return {
            "streets": len(self.plans),
            "communities": len(self.community_id),
            "compounds": len(self.compound_name),
            "comprehensive_grids": len(self.comp_id),
            "dedicated_grids": len(self.dedicated_id),
            "micro_grids": len(self.micro_id),
            "households": int(self.micro_households.sum()),
            "residents": int(self.micro_residents.sum()),
            "registered_residents": int(self.micro_registered.sum()),
            "grid_workers": len(self.worker_id),
            "party_areas": len(self.area_street),
        }


def split_counts(rng: np.random.Generator, total: int, parts: int, concentration: float = 3.0) -> np.ndarray:
    """`parts` positive integers summing to `total` (total ≥ parts), moderately uneven."""
    weights = rng.gamma(concentration, 1.0, parts)
    return 1 + rng.multinomial(total - parts, weights / weights.sum())


def hilbert_cells(order: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of the cells of a 2^order square in Hilbert-curve order: consecutive cells share an edge."""
    n = 1 << order
    t = np.arange(n * n)
    x = np.zeros_like(t)
    y = np.zeros_like(t)
    s = 1
    while s < n:
        rx = 1 & (t // 2)
        ry = 1 & (t ^ rx)
        flip = (ry == 0) & (rx == 1)
        x = np.where(flip, s - 1 - x, x)
        y = np.where(flip, s - 1 - y, y)
        swap = ry == 0
        x, y = np.where(swap, y, x), np.where(swap, x, y)
        x = x + s * rx
        y = y + s * ry
        t = t // 4
        s *= 2
    return x, y


def street_quads(rng: np.random.Generator, plan: StreetPlan, order: int) -> np.ndarray:
    """(cells, 4, 2) jittered quads of the street's lattice in Hilbert order; the outer edge stays straight."""
    n = 1 << order
    dx, dy = plan.width / n, plan.height / n
    i, j = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    jx = rng.uniform(-JITTER, JITTER, i.shape) * dx
    jy = rng.uniform(-JITTER, JITTER, i.shape) * dy
    jx[[0, -1], :] = 0  # vertices on the west/east edge only slide north-south
    jy[:, [0, -1]] = 0
    lon = np.round(plan.lon0 + i * dx + jx, COORD_DECIMALS)
    lat = np.round(plan.lat0 + j * dy + jy, COORD_DECIMALS)
    x, y = hilbert_cells(order)
    corners = [(x, y), (x + 1, y), (x + 1, y + 1), (x, y + 1)]
    return np.stack([np.stack([lon[a, b], lat[a, b]], axis=-1) for a, b in corners], axis=1)


def _feature(geom, unit_id: str, name: str, level: str, community_id: str) -> dict:
    geom = shapely.orient_polygons(geom)  # RFC 7946: exterior rings counter-clockwise
    gj = mapping(geom)

    def ring(coords):
        return [[round(a, COORD_DECIMALS), round(b, COORD_DECIMALS)] for a, b in coords]

    if gj["type"] == "Polygon":
        coords = [ring(r) for r in gj["coordinates"]]
    else:
        coords = [[ring(r) for r in poly] for poly in gj["coordinates"]]
    return {
        "type": "Feature",
        "properties": {
            "GRID_CODE": unit_id,
            "GRID_NAME": name,
            "GRID_LEVEL": LEVEL_LABELS[level],
            "SQ_CODE": community_id,
        },
        "geometry": {"type": gj["type"], "coordinates": coords},
    }


def _run_union(polygons: np.ndarray, first: int, last: int):
    """The polygon of a run of consecutive cells; cells share vertices exactly, so a coverage union is exact."""
    return shapely.coverage_union_all(polygons[first:last])


def _running_number(groups: np.ndarray) -> np.ndarray:
    """1, 2, 3... within each group, in order of appearance."""
    seen: dict[int, int] = {}
    out = np.empty(len(groups), dtype=int)
    for i, g in enumerate(groups.tolist()):
        seen[g] = seen.get(g, 0) + 1
        out[i] = seen[g]
    return out


class _Names:
    """Hands out unique two-character place names from the shuffled pool."""

    def __init__(self, pool: np.ndarray):
        self.pool = pool
        self.next = 0

    def take(self, n: int) -> np.ndarray:
        if self.next + n > len(self.pool):
            raise ValueError("the place-name pool is exhausted: scale too large for unique names")
        out = self.pool[self.next : self.next + n]
        self.next += n
        return out


def build_district(plans: list[StreetPlan], pools: Pools, seed: int) -> District:
    names = _Names(pools.place_names)
    parts: dict[str, list] = {}
    quads_all, features, roads = [], [], []
    offsets = {"community": 0, "compound": 0, "comp": 0, "micro": 0, "cell": 0, "area": 0}
    area_street = []

    def add(key, values):
        parts.setdefault(key, []).append(np.asarray(values))

    for s, plan in enumerate(plans):
        rng = rng_for(seed, "street", plan.number)
        C, G, M = plan.communities, plan.comprehensive, plan.micro
        prefix = f"S{plan.number:02d}"
        comps_per_comm = split_counts(rng, G, C)
        comp_comm = np.repeat(np.arange(C), comps_per_comm)
        micros_per_comp = split_counts(rng, M, G)
        micro_comp = np.repeat(np.arange(G), micros_per_comp)
        micro_comm = comp_comm[micro_comp]
        micros_per_comm = np.bincount(micro_comm, minlength=C)

        ctype = rng.choice(COMMUNITY_TYPES, size=C, p=COMMUNITY_TYPE_SHARE)
        comm_names = names.take(C)
        comm_ids = np.array([f"{prefix}C{c + 1:03d}" for c in range(C)], dtype=object)
        # Party-building areas: runs of neighbouring communities (consecutive along the curve).
        area_of_comm = np.repeat(np.arange(plan.party_areas), split_counts(rng, C, plan.party_areas, 6.0))
        area_street += [s] * plan.party_areas

        # Compounds: at least one per community, never more than its micro grids.
        target = min(max(plan.compounds, C), M)
        comp_n = np.minimum(split_counts(rng, target, C), micros_per_comm)
        while comp_n.sum() < target:  # give what clipping took to the communities with micro grids to spare
            comp_n[np.argmax(micros_per_comm - comp_n)] += 1
        compound_comm = np.repeat(np.arange(C), comp_n)
        compound_names = np.array(
            [n + COMPOUND_SUFFIXES[i % len(COMPOUND_SUFFIXES)] for i, n in enumerate(names.take(len(compound_comm)))],
            dtype=object,
        )
        compound_names = compound_names[rng.permutation(len(compound_names))]
        micro_compound = np.empty(M, dtype=int)
        start = 0
        first_compound = np.concatenate([[0], np.cumsum(comp_n)[:-1]])
        for c in range(C):
            chunk = split_counts(rng, int(micros_per_comm[c]), int(comp_n[c]))
            micro_compound[start : start + micros_per_comm[c]] = first_compound[c] + np.repeat(
                np.arange(comp_n[c]), chunk
            )
            start += micros_per_comm[c]
        buildings = rng.integers(8, 40, len(compound_comm))

        # Households: 50-100 per micro grid, a few small ones of 10+.
        households = np.where(rng.random(M) < 0.03, rng.integers(10, 50, M), rng.integers(50, 101, M))
        mtype = ctype[micro_comm]
        ratio = np.array([RESIDENTS_PER_HOUSEHOLD[t] for t in mtype]) * rng.uniform(0.85, 1.15, M)
        raw = households * ratio
        residents = np.round(raw * plan.residents / raw.sum()).astype(int)
        share = np.array([REGISTERED_SHARE[t] for t in mtype]) * rng.uniform(0.9, 1.1, M)
        reg_raw = residents * share
        registered = np.minimum(residents, np.round(reg_raw * plan.registered_residents / reg_raw.sum())).astype(int)

        comp_local = _running_number(comp_comm)  # 1, 2, ... within each community
        comp_ids = [f"{comm_ids[c]}G{k:02d}" for c, k in zip(comp_comm.tolist(), comp_local.tolist(), strict=True)]
        micro_in_comp = _running_number(micro_comp)
        micro_ids = [f"{comp_ids[g]}M{k:02d}" for g, k in zip(micro_comp.tolist(), micro_in_comp.tolist(), strict=True)]
        micro_local_in_comm = _running_number(micro_comm)

        D = plan.dedicated
        ded_comm = np.sort(rng.integers(0, C, D))
        ded_kind = rng.choice(DEDICATED_KINDS, size=D, p=DEDICATED_SHARE)
        ded_local = _running_number(ded_comm)
        ded_ids = [f"{comm_ids[c]}Z{k:02d}" for c, k in zip(ded_comm.tolist(), ded_local.tolist(), strict=True)]
        ded_names = [
            f"{comm_names[c]}社区{DEDICATED_LABELS[kind]}专属网格{k}"
            for c, kind, k in zip(ded_comm.tolist(), ded_kind.tolist(), ded_local.tolist(), strict=True)
        ]

        # Geometry: enough lattice cells for every micro grid to get one or more.
        order = 2
        while 4**order < 2.5 * M:
            order += 1
        quads = street_quads(rng, plan, order)
        cells = split_counts(rng, len(quads), M, 2.0)
        cell_start = np.concatenate([[0], np.cumsum(cells)[:-1]])
        polygons = shapely.polygons(np.concatenate([quads, quads[:, :1]], axis=1))

        comm_first = np.concatenate([[0], np.cumsum(micros_per_comm)[:-1]])
        for c in range(C):
            m0, m1 = comm_first[c], comm_first[c] + micros_per_comm[c]
            geom = _run_union(polygons, cell_start[m0], cell_start[m1 - 1] + cells[m1 - 1])
            features.append(_feature(geom, comm_ids[c], f"{comm_names[c]}社区", "community", comm_ids[c]))
        comp_first = np.concatenate([[0], np.cumsum(micros_per_comp)[:-1]])
        for g in range(G):
            m0, m1 = comp_first[g], comp_first[g] + micros_per_comp[g]
            geom = _run_union(polygons, cell_start[m0], cell_start[m1 - 1] + cells[m1 - 1])
            c = comp_comm[g]
            features.append(
                _feature(geom, comp_ids[g], f"{comm_names[c]}社区第{comp_local[g]}网格", "comprehensive", comm_ids[c])
            )
        for m in range(M):
            geom = _run_union(polygons, cell_start[m], cell_start[m] + cells[m])
            c = micro_comm[m]
            features.append(
                _feature(geom, micro_ids[m], f"{comm_names[c]}社区微网格{micro_local_in_comm[m]}", "micro", comm_ids[c])
            )

        street_roads = np.array(
            [
                n + ROAD_SUFFIXES[i % len(ROAD_SUFFIXES)]
                for i, n in enumerate(names.take(max(6, int(round(30 * plan.fraction)))))
            ],
            dtype=object,
        )
        for _ in range(C):
            roads.append(street_roads[rng.choice(len(street_roads), size=min(4, len(street_roads)), replace=False)])

        o = offsets
        add("community_id", comm_ids)
        add("community_name", comm_names)
        add("community_type", ctype)
        add("community_street", np.full(C, s))
        add("community_area", area_of_comm + o["area"])
        add("compound_name", compound_names)
        add("compound_community", compound_comm + o["community"])
        add("compound_buildings", buildings)
        add("comp_id", np.array(comp_ids, dtype=object))
        add("comp_community", comp_comm + o["community"])
        add("comp_local", comp_local)
        add("dedicated_id", np.array(ded_ids, dtype=object))
        add("dedicated_kind", ded_kind)
        add("dedicated_community", ded_comm + o["community"])
        add("dedicated_name", np.array(ded_names, dtype=object))
        add("micro_id", np.array(micro_ids, dtype=object))
        add("micro_comp", micro_comp + o["comp"])
        add("micro_community", micro_comm + o["community"])
        add("micro_compound", micro_compound + o["compound"])
        add("micro_local", micro_local_in_comm)
        add("micro_households", households)
        add("micro_residents", residents)
        add("micro_registered", registered)
        add("micro_cell_start", cell_start + o["cell"])
        add("micro_cell_count", cells)
        quads_all.append(quads)
        o["community"] += C
        o["compound"] += len(compound_comm)
        o["comp"] += G
        o["micro"] += M
        o["cell"] += len(quads)
        o["area"] += plan.party_areas

    cat = {k: np.concatenate(v) for k, v in parts.items()}
    # Grid workers: one full-time worker per comprehensive and per dedicated grid, a volunteer leader per micro grid.
    n_comp, n_ded, n_micro = len(cat["comp_id"]), len(cat["dedicated_id"]), len(cat["micro_id"])
    n_workers = n_comp + n_ded + n_micro
    wrng = rng_for(seed, "grid-workers")
    worker_id = np.array([f"WGY{i + 1:06d}" for i in range(n_workers)], dtype=object)
    district = District(
        plans=plans,
        community_id=cat["community_id"],
        community_name=cat["community_name"],
        community_type=cat["community_type"],
        community_street=cat["community_street"],
        community_area=cat["community_area"],
        area_street=np.array(area_street, dtype=int),
        compound_name=cat["compound_name"],
        compound_community=cat["compound_community"],
        compound_buildings=cat["compound_buildings"],
        comp_id=cat["comp_id"],
        comp_community=cat["comp_community"],
        comp_worker=np.arange(n_comp),
        dedicated_id=cat["dedicated_id"],
        dedicated_kind=cat["dedicated_kind"],
        dedicated_community=cat["dedicated_community"],
        dedicated_name=cat["dedicated_name"],
        dedicated_worker=n_comp + np.arange(n_ded),
        micro_id=cat["micro_id"],
        micro_comp=cat["micro_comp"],
        micro_community=cat["micro_community"],
        micro_compound=cat["micro_compound"],
        micro_households=cat["micro_households"],
        micro_residents=cat["micro_residents"],
        micro_registered=cat["micro_registered"],
        micro_worker=n_comp + n_ded + np.arange(n_micro),
        micro_cell_start=cat["micro_cell_start"],
        micro_cell_count=cat["micro_cell_count"],
        cell_quads=np.concatenate(quads_all),
        worker_id=worker_id,
        worker_name=pools.names(wrng, n_workers),
        worker_phone=pools.phones(wrng, n_workers),
        roads=roads,
        features=features,
    )
    district.unit_rows = _unit_rows(district, cat["comp_local"], cat["micro_local"])
    return district


def _unit_rows(d: District, comp_local: np.ndarray, micro_local: np.ndarray) -> list[list]:
    """Rows of the grid base-data sheet (see GRID_HEADER), communities first, as the platform lists them."""
    hh = np.bincount(d.micro_comp, weights=d.micro_households, minlength=len(d.comp_id)).astype(int)
    res = np.bincount(d.micro_comp, weights=d.micro_residents, minlength=len(d.comp_id)).astype(int)
    reg = np.bincount(d.micro_comp, weights=d.micro_registered, minlength=len(d.comp_id)).astype(int)
    chh = np.bincount(d.micro_community, weights=d.micro_households, minlength=len(d.community_id)).astype(int)
    cres = np.bincount(d.micro_community, weights=d.micro_residents, minlength=len(d.community_id)).astype(int)
    creg = np.bincount(d.micro_community, weights=d.micro_registered, minlength=len(d.community_id)).astype(int)
    rows: list[list] = []

    def worker(w: int) -> list:
        return [d.worker_id[w], d.worker_name[w], d.worker_phone[w]]

    for c, cid in enumerate(d.community_id.tolist()):
        rows.append(
            [
                cid,
                LEVEL_LABELS["community"],
                None,
                cid,
                f"{d.community_name[c]}社区",
                COMMUNITY_TYPE_LABELS[d.community_type[c]],
                None,
                None,
                int(chh[c]),
                int(cres[c]),
                int(creg[c]),
                None,
                None,
                None,
            ]
        )
    for g, gid in enumerate(d.comp_id.tolist()):
        c = d.comp_community[g]
        rows.append(
            [
                gid,
                LEVEL_LABELS["comprehensive"],
                d.community_id[c],
                d.community_id[c],
                f"{d.community_name[c]}社区第{comp_local[g]}网格",
                None,
                None,
                None,
                int(hh[g]),
                int(res[g]),
                int(reg[g]),
                *worker(d.comp_worker[g]),
            ]
        )
    for z, zid in enumerate(d.dedicated_id.tolist()):
        c = d.dedicated_community[z]
        rows.append(
            [
                zid,
                LEVEL_LABELS["dedicated"],
                d.community_id[c],
                d.community_id[c],
                d.dedicated_name[z],
                None,
                DEDICATED_LABELS[d.dedicated_kind[z]],
                None,
                0,
                0,
                0,
                *worker(d.dedicated_worker[z]),
            ]
        )
    for m, mid in enumerate(d.micro_id.tolist()):
        c = d.micro_community[m]
        rows.append(
            [
                mid,
                LEVEL_LABELS["micro"],
                d.comp_id[d.micro_comp[m]],
                d.community_id[c],
                f"{d.community_name[c]}社区微网格{micro_local[m]}",
                None,
                None,
                d.compound_name[d.micro_compound[m]],
                int(d.micro_households[m]),
                int(d.micro_residents[m]),
                int(d.micro_registered[m]),
                *worker(d.micro_worker[m]),
            ]
        )
    return rows


GRID_HEADER = [
    "网格编码",
    "网格层级",
    "上级网格编码",
    "所属社区编码",
    "网格名称",
    "社区类型",
    "专属网格类型",
    "所属小区",
    "户数",
    "常住人口",
    "户籍人口",
    "网格员编号",
    "网格员姓名",
    "网格员联系电话",
]
