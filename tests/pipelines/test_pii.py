"""Personal data in free text and identifiers: every written form of a phone or ID number is masked,
in the lake (DuckDB) and in quarantined rows alike, and nothing else in the text is touched.

The cases are data (tests/fixtures/pii_cases.yaml), written by hand from how people write numbers;
no pattern of the implementation is used to decide what a test expects.
"""

import hashlib
import json
import re
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
import yaml

from pipelines.contracts import load_contracts
from pipelines.mapping import load_mapping
from pipelines.pii import mask_free_text, mask_unreadable_line
from pipelines.validate import validate_batch

CONTRACTS = load_contracts()
HOTLINE = load_mapping(Path("pipelines/sources/hotline_12345.yaml")).files[0]
EVENTS = load_mapping(Path("pipelines/sources/ticket_events.yaml")).files[0]
SALT = "pepper"
FIXTURE = yaml.safe_load((Path(__file__).parents[1] / "fixtures" / "pii_cases.yaml").read_text(encoding="utf-8"))
MASKED = [(case["text"], case["expected"]) for case in FIXTURE["masked"]]
KEPT = list(FIXTURE["kept"])
CASES = MASKED + [(text, text) for text in KEPT]
FREE_TEXT = ("title", "content", "address")


def _digits(text: str) -> str:
    """Only the digits, full-width ones made plain: how a number is found whatever its separators."""
    return "".join(str(int(c)) for c in text if c.isdigit())


def _batch(rows: list[dict], columns) -> pa.Table:
    table = {c: pa.array([r.get(c) for r in rows], pa.string()) for c in columns}
    table["_line"] = pa.array(range(2, len(rows) + 2), pa.int64())
    table["_file"] = pa.array(["f.csv"] * len(rows), pa.string())
    table["_day"] = pa.array([date(2026, 11, 19)] * len(rows), pa.date32())
    return pa.table(table)


def _ticket(n, text: str = "无", phone: str = "13900001111", received: str | None = "2026-11-19 08:05:00", **more):
    return {
        "工单编号": f"T{n}",
        "受理时间": received,
        "问题分类": "噪音扰民",
        "诉求标题": text,
        "诉求内容": text,
        "事发地址": text,
        "来电人": "张三丰",
        "来电号码": phone,
        **more,
    }


def _validate(rows: list[dict], spec=HOTLINE, table: str = "ticket_intake", source: str = "hotline_12345"):
    return validate_batch(
        duckdb.connect(),
        _batch(rows, spec.columns),
        spec,
        CONTRACTS[table],
        source=source,
        salt=SALT,
        references={},
        loaded_at=datetime(2026, 11, 20, 2, 30),
    )


def test_the_fixture_list_is_what_it_claims():
    # Each masked case really holds a number, each kept one really holds digits that must survive.
    assert len(MASKED) >= 50 and len(KEPT) >= 20
    for text, expected in MASKED:
        assert len(_digits(expected)) < len(_digits(text)), text
    assert all(_digits(text) for text in KEPT)


@pytest.fixture(scope="module")
def lake_rows() -> dict[str, dict]:
    """Every case once as a clean ticket (title, content, address) and once quarantined (no received
    time) with the text also in the category and grid columns."""
    rows = [_ticket(n, text) for n, (text, _) in enumerate(CASES)]
    rows += [
        _ticket(n + len(CASES), text, received=None, 问题分类=text, 网格编码=text) for n, (text, _) in enumerate(CASES)
    ]
    result = _validate(rows)
    assert result.clean.num_rows == len(CASES) and result.quarantine.num_rows == len(CASES)
    return {
        "clean": {r["source_ticket_id"]: r for r in result.clean.to_pylist()},
        "quarantine": {r["line"]: r for r in result.quarantine.to_pylist()},
    }


@pytest.mark.parametrize(("n", "text", "expected"), [(n, *case) for n, case in enumerate(CASES)], ids=repr)
def test_ticket_text_reaches_the_lake_masked_and_otherwise_intact(lake_rows, n, text, expected):
    row = lake_rows["clean"][f"T{n}"]
    assert [row[name] for name in FREE_TEXT] == [expected] * len(FREE_TEXT)


@pytest.mark.parametrize(("n", "text", "expected"), [(n, *case) for n, case in enumerate(CASES)], ids=repr)
def test_quarantined_raw_row_masks_every_field(lake_rows, n, text, expected):
    line = len(CASES) + n + 2  # the quarantined copies follow the clean ones; line 1 is the header
    raw = json.loads(lake_rows["quarantine"][line]["raw"])
    # category and grid_id carry no pii kind: a quarantined row is masked as free text all the same
    assert [raw[name] for name in (*FREE_TEXT, "category", "grid_id")] == [expected] * 5
    assert raw["caller_name"] == "张**"
    assert "13900001111" not in _digits(raw["caller_phone"])


@pytest.mark.parametrize(("text", "expected"), CASES, ids=repr)
def test_raw_text_is_masked_in_python_as_in_the_lake(text, expected):
    assert mask_free_text(text) == expected


def test_quarantine_detail_shows_a_bad_value_masked():
    # A phone typed into the category column and an ID number in the time column: the detail names
    # the field and shows what was wrong with it, without the number.
    rows = [
        _ticket("a", 问题分类="张三 139 0000 1111"),
        _ticket("b", received="320502 19900101 1234"),
        _ticket("c", 问题分类="没有这个分类"),
    ]
    quarantine = {r["line"]: r for r in _validate(rows).quarantine.to_pylist()}
    assert quarantine[2]["reason"] == "unknown_code" and quarantine[2]["detail"] == "category=张* ***"
    assert quarantine[3]["reason"] == "invalid_datetime" and quarantine[3]["detail"] == "received_at=***"
    assert quarantine[4]["detail"] == "category=没有这个分类"  # nothing personal: shown as is


def _event(event_id: str, ticket: str, action: str) -> dict:
    return {
        "eventId": event_id,
        "channel": "12345热线",
        "ticketNo": ticket,
        "action": action,
        "actionTime": "2026-11-19T09:00:00",
    }


def test_a_phone_used_as_ticket_number_is_hashed_alike_in_tickets_and_events():
    phone_ticket, plain_ticket = "13812345678", "GD2026112000123"
    intake = _validate([{**_ticket(0), "工单编号": phone_ticket}, {**_ticket(1), "工单编号": plain_ticket}]).clean
    events = _validate(
        [_event("EV-1", phone_ticket, "受理"), _event("138-1234-5678-02", plain_ticket, "派发")],
        EVENTS,
        "ticket_event",
        "ticket_events",
    ).clean
    ticket_ids = intake.column("source_ticket_id").to_pylist()
    event_ticket_ids = events.column("source_ticket_id").to_pylist()
    assert ticket_ids[1] == event_ticket_ids[1] == plain_ticket  # a ticket number that is no phone is kept
    assert ticket_ids[0] == event_ticket_ids[0]  # the events still find their ticket
    assert not _digits(ticket_ids[0])
    event_ids = events.column("event_id").to_pylist()
    assert event_ids[0] == "EV-1" and not _digits(event_ids[1])


def test_an_unreadable_line_keeps_neither_name_nor_number():
    line = "GD2026112000123,2026-11-20 08:05:00,噪音扰民,楼上噪音,谢晓峰,138 1234 5678,\ufffd\ufffd"
    masked = mask_unreadable_line(line)
    assert "谢晓峰" not in masked and "13812345678" not in _digits(masked)
    assert masked.startswith("GD2026112000123,2026-11-20 08:05:00,")  # the line is still recognisable


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

    hashes = _caller_hashes(["13900001111", "051267891234"])
    assert hashes == [by_hand("13900001111"), by_hand("051267891234")]
    assert all(re.fullmatch("[a-p]{16}", h) for h in hashes)
