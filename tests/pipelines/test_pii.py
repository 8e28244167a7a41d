"""Personal data in free text and identifiers: every written form of a phone or ID number is masked,
in the lake (DuckDB) and in quarantined raw text (Python) alike, and nothing else in the text is touched.

The expected texts are written out by hand: no pattern from the implementation is reused here.
"""

import hashlib
import json
import random
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from pipelines.contracts import load_contracts
from pipelines.mapping import load_mapping
from pipelines.validate import mask_free_text, validate_batch

CONTRACTS = load_contracts()
HOTLINE = load_mapping(Path("pipelines/sources/hotline_12345.yaml")).files[0]
SALT = "pepper"

# (text as written in an export, the text as it must reach the lake)
MASKED = [
    # mainland mobile numbers
    ("请回电13912345678谢谢", "请回电***谢谢"),
    ("电话138 1234 5678，速来", "电话***，速来"),
    ("电话138-1234-5678", "电话***"),
    ("电话138.1234.5678", "电话***"),
    ("联系+86 139 0000 1111", "联系***"),
    ("联系+86-13900001111", "联系***"),
    ("联系+8613900001111", "联系***"),
    ("联系86 13900001111", "联系***"),
    ("联系0086 13900001111", "联系***"),
    ("联系(+86)13900001111", "联系***"),
    ("tel:+86-139-0000-1111", "***"),
    ("TEL:13900001111 白天", "*** 白天"),
    ("手机１３８１２３４５６７８", "手机***"),
    ("手机１３８ １２３４ ５６７８", "手机***"),
    ("两个号13812345678,13912345678都打不通", "两个号***,***都打不通"),
    ("张先生(138 1234 5678)反映", "张先生(***)反映"),
    # landlines with their area code
    ("座机0512-6789 1234", "座机***"),
    ("座机0512-67891234转801", "座机***转801"),
    ("座机(0512)67891234", "座机***"),
    ("座机（0512）67891234", "座机***"),
    ("座机021 6789 1234", "座机***"),
    ("座机021-67891234", "座机***"),
    ("座机02167891234", "座机***"),
    ("座机+86 21 6789 1234", "座机***"),
    # resident ID numbers, 18 and the old 15 digits
    ("身份证320502199001011234", "身份证***"),
    ("身份证32050219900101123X。", "身份证***。"),
    ("身份证320502 19900101 1234", "身份证***"),
    ("身份证320502 1990 0101 1234", "身份证***"),
    ("身份证320502-19900101-1234", "身份证***"),
    ("老身份证320502900101123", "老身份证***"),
    ("身份证３２０５０２１９９００１０１１２３Ｘ", "身份证***"),
    ("退款卡号6222021234567890123", "退款卡号***"),
    # US-style numbers (a US 311 export)
    ("Call 212-555-0199 about the pothole", "Call *** about the pothole"),
    ("Caller (212) 555-0199, 2nd request", "Caller ***, 2nd request"),
    ("Caller +1 212 555 0199", "Caller ***"),
    ("Caller 1-212-555-0199", "Caller ***"),
    ("Caller 212.555.0199", "Caller ***"),
    ("Caller +12125550199", "Caller ***"),
    # several in one ticket, the rest of the sentence intact
    (
        "张先生(138 1234 5678)反映2026-11-20 08:05起3号楼噪音，身份证320502 19900101 1234，邮编215000",
        "张先生(***)反映2026-11-20 08:05起3号楼噪音，身份证***，邮编215000",
    ),
    # full-width digits come back half-width around the mask
    ("２０２６年１１月２０日 电话１３８１２３４５６７８", "2026年11月20日 电话***"),
]

# Numbers that are not personal data: they must reach the lake exactly as written.
KEPT = [
    "2026-11-20 08:05受理，金额1,200元，邮编215000，3号楼2单元501室，工单QX-001",
    "2026年11月20日 08:05:30 回访",
    "2026/11/20 与 2026.11.20 两次上门",
    "预计12000元，星港街1号，12345热线转办",
    "工单QX-20261120-0001 已办结",
    "订单号20261120138123456",  # a phone-shaped run inside a longer serial
    "编号QX13812345678",  # and glued to a ticket prefix
    "补贴300 500 1000元三档",
    "时间08:05-13:00，共15人，35%",
    "$1,200.00 on 11/20/2026 at 8:05 PM, unit 3B",
]

CASES = MASKED + [(text, text) for text in KEPT]


def _batch(rows: list[dict]) -> pa.Table:
    table = {c: pa.array([r.get(c) for r in rows], pa.string()) for c in HOTLINE.columns}
    table["_line"] = pa.array(range(2, len(rows) + 2), pa.int64())
    table["_file"] = pa.array(["f.csv"] * len(rows), pa.string())
    table["_day"] = pa.array([date(2026, 11, 19)] * len(rows), pa.date32())
    return pa.table(table)


def _ticket(n: int, content: str = "无", phone: str = "13900001111", received: str | None = "2026-11-19 08:05:00"):
    return {
        "工单编号": f"T{n}",
        "受理时间": received,
        "问题分类": "噪音扰民",
        "诉求标题": "楼上噪音",
        "诉求内容": content,
        "事发地址": content,
        "来电人": "张三丰",
        "来电号码": phone,
    }


def _validate(rows: list[dict]):
    return validate_batch(
        duckdb.connect(),
        _batch(rows),
        HOTLINE,
        CONTRACTS["ticket_intake"],
        source="hotline_12345",
        salt=SALT,
        references={},
        loaded_at=datetime(2026, 11, 20, 2, 30),
    )


@pytest.fixture(scope="module")
def lake_rows() -> dict[str, dict]:
    """Every case once as a clean ticket (content and address) and once quarantined (no received time)."""
    rows = [_ticket(n, text) for n, (text, _) in enumerate(CASES)]
    rows += [_ticket(n + len(CASES), text, received=None) for n, (text, _) in enumerate(CASES)]
    result = _validate(rows)
    assert result.clean.num_rows == len(CASES) and result.quarantine.num_rows == len(CASES)
    return {
        "clean": {r["source_ticket_id"]: r for r in result.clean.to_pylist()},
        "quarantine": {r["line"]: r for r in result.quarantine.to_pylist()},
    }


@pytest.mark.parametrize(("n", "text", "expected"), [(n, *case) for n, case in enumerate(CASES)], ids=repr)
def test_ticket_text_reaches_the_lake_masked_and_otherwise_intact(lake_rows, n, text, expected):
    row = lake_rows["clean"][f"T{n}"]
    assert (row["content"], row["address"]) == (expected, expected)


@pytest.mark.parametrize(("n", "text", "expected"), [(n, *case) for n, case in enumerate(CASES)], ids=repr)
def test_quarantined_raw_row_is_masked_the_same_way(lake_rows, n, text, expected):
    line = len(CASES) + n + 2  # the quarantined copies follow the clean ones; line 1 is the header
    raw = json.loads(lake_rows["quarantine"][line]["raw"])
    assert (raw["content"], raw["address"]) == (expected, expected)


@pytest.mark.parametrize(("text", "expected"), CASES, ids=repr)
def test_raw_text_is_masked_in_python_as_in_the_lake(text, expected):
    assert mask_free_text(text) == expected


def test_python_and_duckdb_agree_on_arbitrary_text():
    # The one pattern runs on two engines (RE2 and Python re): random runs of digits (half- and full-width),
    # separators and prefixes find where they part. About a third of these texts contain something masked.
    rng = random.Random(20261120)
    pieces = "+86 ＋86 0086 86 +1 1 ( ) （ ） tel: TEL: - － . , 号 QX X x".split() + [" ", "\u3000"]

    def digits() -> str:
        length = rng.choice([1, 2, 3, 3, 4, 4, 4, 6, 8, 11, 15, 18])
        return "".join(rng.choice("0123456789０１３８９") for _ in range(length))

    # Framed by a Chinese character on each side: the pipeline trims whitespace off a value before it masks.
    texts = [
        "甲" + "".join(rng.choice([digits(), digits(), rng.choice(pieces)]) for _ in range(rng.randint(1, 8))) + "乙"
        for _ in range(1500)
    ]
    clean = _validate([_ticket(n, text) for n, text in enumerate(texts)]).clean
    assert clean.column("content").to_pylist() == [mask_free_text(t) for t in texts]


MOBILE_FORMS = [
    "13900001111",
    "139 0000 1111",
    "139-0000-1111",
    "139.0000.1111",
    "+86 139 0000 1111",
    "+86-13900001111",
    "+8613900001111",
    "86 13900001111",
    "8613900001111",
    "0086 13900001111",
    "(+86) 139 0000 1111",
    "tel:+86-139-0000-1111",
    "１３９００００１１１１",
    "＋８６ １３９ ００００ １１１１",
]
LANDLINE_FORMS = ["051267891234", "0512-67891234", "0512-6789 1234", "(0512)67891234", "（０５１２）６７８９１２３４"]


def _caller_hashes(phones: list[str]) -> list[str]:
    return _validate([_ticket(n, phone=p) for n, p in enumerate(phones)]).clean.column("caller_phone").to_pylist()


def test_every_form_of_one_mobile_number_hashes_alike():
    assert len(set(_caller_hashes(MOBILE_FORMS))) == 1


def test_every_form_of_one_landline_hashes_alike():
    assert len(set(_caller_hashes(LANDLINE_FORMS))) == 1


def test_different_numbers_hash_differently():
    hashes = _caller_hashes(["13900001111", "13900001112", "+86 139 0000 1112", "051267891234", "051267891235"])
    assert hashes[1] == hashes[2]
    assert len({hashes[0], hashes[1], hashes[3], hashes[4]}) == 4


def test_plain_numbers_keep_the_hash_already_in_the_lake():
    # The documented scheme, computed here by hand: salted sha256 of the digits, 16 hex chars, digits as g-p.
    def by_hand(digits: str) -> str:
        return (
            hashlib.sha256((SALT + digits).encode())
            .hexdigest()[:16]
            .translate(str.maketrans("0123456789", "ghijklmnop"))
        )

    assert _caller_hashes(["13900001111", "051267891234"]) == [by_hand("13900001111"), by_hand("051267891234")]
