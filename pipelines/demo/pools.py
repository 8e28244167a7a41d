"""Pools of names, phone numbers, ID numbers and place names, built once per run.

Faker is slow per call, so it is used only here, to fill pools that the
generators index with numpy; people are combined from surname and given-name
pools, and phone and ID numbers are built arithmetically. Everything is
seeded: the same seed gives the same pools.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from faker import Faker

from pipelines.demo.clock import rng_for

# Mobile prefixes of the three carriers; numbers look real but are random.
MOBILE_PREFIXES = np.array(
    [
        "139",
        "138",
        "137",
        "136",
        "135",
        "150",
        "151",
        "152",
        "158",
        "159",
        "182",
        "187",
        "188",
        "130",
        "131",
        "132",
        "155",
        "156",
        "185",
        "186",
        "133",
        "153",
        "180",
        "181",
        "189",
        "177",
        "199",
        "166",
    ]
)
# Household-registration areas: Suzhou districts for registered residents, other provinces for the floating population.
LOCAL_AREAS = np.array(["320571", "320505", "320506", "320507", "320508", "320509", "320581", "320583"])
MIGRANT_AREAS = np.array(
    [
        "340104",
        "341221",
        "410102",
        "411303",
        "510104",
        "511602",
        "420106",
        "360102",
        "320322",
        "321302",
        "370202",
        "430105",
        "500101",
        "130102",
        "610104",
        "450102",
    ]
)
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_ID_CHECK = np.array(list("10X98765432"))

# Syllables for place names (compounds, communities, roads): pleasant, common in Suzhou new towns.
PLACE_CHARS = list(
    "金湖翰林玲珑方洲星海月明华莲东沁苑湾景澜雅韵博文青松竹梅兰桂荷枫柳杉榕桐"
    "瑞祥和泰安康宁嘉锦绣翠碧清水云霞晨曦朝阳春秋夏冬南北西中新旧园馨香悦乐"
)
COMPOUND_SUFFIXES = ["花园", "新村", "苑", "雅苑", "家园", "公寓", "府", "名邸", "湾", "山庄", "嘉园", "里"]
ROAD_SUFFIXES = ["路", "街", "大道", "路", "街", "巷"]


@dataclass
class People:
    """A pool of residents: index arrays in step, strings built once."""

    name: np.ndarray
    phone: np.ndarray
    id_no: np.ndarray
    gender: np.ndarray  # "male" | "female"
    birth_year: np.ndarray
    registered: np.ndarray  # bool: local household registration

    def __len__(self) -> int:
        return len(self.name)


@dataclass
class Pools:
    surnames: np.ndarray
    given_names: np.ndarray
    companies: np.ndarray
    nicknames: np.ndarray
    place_names: np.ndarray  # two-character names, unique, shuffled
    people: People

    def names(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return _combine(
            self.surnames[rng.integers(0, len(self.surnames), n)],
            self.given_names[rng.integers(0, len(self.given_names), n)],
        )

    def phones(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return phone_numbers(rng, n)


def _combine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.array([x + y for x, y in zip(a.tolist(), b.tolist(), strict=True)], dtype=object)


def phone_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    prefix = MOBILE_PREFIXES[rng.integers(0, len(MOBILE_PREFIXES), n)].tolist()
    rest = rng.integers(0, 100_000_000, n).tolist()
    return np.array([f"{p}{r:08d}" for p, r in zip(prefix, rest, strict=True)], dtype=object)


def id_numbers(rng: np.random.Generator, birth: np.ndarray, male: np.ndarray, local: np.ndarray) -> np.ndarray:
    """18-digit resident ID numbers with a valid check digit, consistent with birth date and gender."""
    n = len(birth)
    area = np.where(
        local, LOCAL_AREAS[rng.integers(0, len(LOCAL_AREAS), n)], MIGRANT_AREAS[rng.integers(0, len(MIGRANT_AREAS), n)]
    )
    ymd = birth.astype("datetime64[D]").astype(str)  # YYYY-MM-DD
    seq = rng.integers(0, 500, n) * 2 + np.where(male, 1, 0)  # the 17th digit is odd for men
    body = [
        f"{a}{d[:4]}{d[5:7]}{d[8:10]}{s:03d}" for a, d, s in zip(area.tolist(), ymd.tolist(), seq.tolist(), strict=True)
    ]
    digits = np.frombuffer("".join(body).encode("ascii"), dtype=np.uint8).reshape(n, 17) - 48
    check = _ID_CHECK[(digits.astype(np.int64) @ _ID_WEIGHTS) % 11]
    return np.array([b + c for b, c in zip(body, check.tolist(), strict=True)], dtype=object)


def place_names(rng: np.random.Generator) -> np.ndarray:
    chars = PLACE_CHARS
    names = np.array([a + b for a in chars for b in chars if a != b], dtype=object)
    return names[rng.permutation(len(names))]


def build_pools(seed: int, scale: float) -> Pools:
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    # Sampling with repetition keeps Faker's frequency weights (王, 李, 张 are common).
    surnames = np.array([fake.last_name() for _ in range(2000)], dtype=object)
    given = np.array([fake.first_name() for _ in range(2000)], dtype=object)
    companies = np.array(sorted({fake.company() for _ in range(3000)}), dtype=object)
    nicknames = np.array(sorted({fake.user_name() for _ in range(800)}), dtype=object)

    rng = rng_for(seed, "pools")
    companies = companies[rng.permutation(len(companies))]
    nicknames = nicknames[rng.permutation(len(nicknames))]
    n = max(4000, int(40_000 * scale))
    male = rng.random(n) < 0.51
    birth = np.datetime64("1940-01-01") + rng.integers(0, 365 * 66, n).astype("timedelta64[D]")
    local = rng.random(n) < 0.57
    surname = surnames[rng.integers(0, len(surnames), n)]
    given_name = given[rng.integers(0, len(given), n)]
    people = People(
        name=_combine(surname, given_name),
        phone=phone_numbers(rng, n),
        id_no=id_numbers(rng, birth, male, local),
        gender=np.where(male, "male", "female"),
        birth_year=birth.astype("datetime64[Y]").astype(int) + 1970,
        registered=local,
    )
    return Pools(surnames, given, companies, nicknames, place_names(rng), people)
