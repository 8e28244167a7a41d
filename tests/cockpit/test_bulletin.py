"""The monthly 考核通报: printed by the real Chromium from `cockpit brief --kind bulletin`, read back with pypdf,
and held against the /scorecards page and the catalog for the same month."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest
from pypdf import PdfReader

from cockpit.briefing.jobs import list_briefs
from cockpit.components.format import format_value
from cockpit.metrics import compute
from cockpit.metrics.scorecards import month_period
from tests.cockpit.dash_client import DashClient
from tests.cockpit.test_brief_access import _job, _open_modal, _wait
from tests.cockpit.test_briefing import _cli
from tests.cockpit.test_scorecards_page import page, table_rows
from warehouse.releases import current_release

MONTH = "2026-09"


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def bulletin(loaded_demo, tmp_path_factory) -> PdfReader:
    out = tmp_path_factory.mktemp("bulletin") / "bulletin.pdf"
    result = _cli(loaded_demo.home.root, "--kind", "bulletin", "--period", MONTH, "--out", str(out))
    assert result.returncode == 0, result.stderr
    return PdfReader(out)


def test_the_bulletin_has_a_cover_and_landscape_pages_for_the_rankings(bulletin):
    cover = flat(bulletin.pages[0].extract_text())
    assert "2026年9月考核通报" in cover and "统计期间2026年9月（2026-09-01至2026-09-30）" in cover
    sizes = [(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in bulletin.pages]
    texts = [flat(p.extract_text()) for p in bulletin.pages]
    for title in ("承办部门考核排名", "社区考核排名", "网格考核排名"):
        (number,) = [i for i, text in enumerate(texts) if re.search(r"[一二三四五六七八九十]、" + title, text)]
        assert sizes[number] == (842, 595), title  # A4 landscape
    assert sizes[0] == (595, 842) and sizes[-1] == (595, 842)
    assert "附录：指标口径" in texts[-1] or "附录：指标口径" in "".join(texts[-3:])


def test_the_rankings_are_the_scorecards_page_numbers(bulletin, app):
    text = flat("".join(p.extract_text() for p in bulletin.pages))
    client = DashClient(app)
    for card in ("department", "community"):
        rows = [row for row in table_rows(page(client, f"?card={card}&month={MONTH}")) if row["cells"][0] != "—"]
        assert rows
        positions = []
        for row in rows:
            rank, change, name, composite = row["cells"][:4]
            found = text.find(f"{rank}{change}{name}{composite}")
            assert found >= 0, (card, rank, name, composite)
            positions.append(found)
        assert positions == sorted(positions)  # printed in the page's order


def test_the_sentences_name_the_first_and_the_last(bulletin, app):
    text = flat("".join(p.extract_text() for p in bulletin.pages[:3]))
    rows = [
        row for row in table_rows(page(DashClient(app), f"?card=department&month={MONTH}")) if row["cells"][0] != "—"
    ]
    first, last = rows[0]["cells"], rows[-1]["cells"]
    assert f"综合指标值排名首位的承办部门为{first[2]}（{first[3]}分），末位为{last[2]}（{last[3]}分）" in text
    assert "本月按期办结率排名末位的承办部门为" in text


def test_overdue_tickets_are_counted_per_department_at_the_month_end(month_street, tmp_path):
    # the week-long demo has nothing overdue yet: six weeks of a street, bulletin of its whole October
    out = tmp_path / "october.pdf"
    result = _cli(month_street.root, "--kind", "bulletin", "--period", "2026-10", "--out", str(out))
    assert result.returncode == 0, result.stderr
    text = flat("".join(p.extract_text() for p in PdfReader(out).pages))
    section = text[text.index("各承办部门逾期未办结工单") : text.rindex("逾期未办结工单")]
    with duckdb.connect(str(current_release(month_street)), read_only=True) as con:
        frame = compute(con, "open_overdue_tickets", month_period("2026-10"), group_by="department", compare=False)
    owed = frame[frame["value"] > 0].sort_values("value", ascending=False)
    assert len(owed) >= 2
    for name, value in zip(owed["label"], owed["value"], strict=True):
        assert f"{name}{format_value(value, '件')}" in section, name
    if owed["value"].iloc[0] > owed["value"].iloc[-1]:  # most overdue first
        assert section.index(owed["label"].iloc[0]) < section.index(owed["label"].iloc[-1])


def test_the_brief_action_on_the_scorecards_page_makes_that_months_bulletin(app):
    client = DashClient(app, name="bulletin-maker", role="analyst")
    answer = _open_modal(client, f"?card=grid&month={MONTH}", "/scorecards")
    spec = answer["brief-spec"]["data"]
    assert spec == {"period": "2026-09-01:2026-09-30", "community": None, "kind": "bulletin"}
    assert "考核通报" in json.dumps(answer["brief-scope"]["children"], ensure_ascii=False)
    state = _wait(app, _job(client, spec))
    assert state["status"] == "done", state
    assert state["file"].startswith("bulletin_2026-09_")
    (listed,) = [b for b in list_briefs(app.server.config["COCKPIT_BRIEFS"]) if b.path.name == state["file"]]
    assert listed.title.endswith("2026年9月考核通报")
    # a bulletin's period is one whole month: an altered store asking for less is not started
    with pytest.raises(KeyError):  # the callback answers no job id at all
        _job(client, {**spec, "period": "2026-09-01:2026-09-15"})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "2026-09-01:2026-09-15"], "a bulletin covers one calendar month (YYYY-MM)"),
        (["--period", "2026-13"], "month '2026-13' is not YYYY-MM"),
        (["--period", MONTH, "--community", "S01C001"], "a bulletin ranks every community its author sees"),
    ],
)
def test_a_bad_bulletin_request_fails_with_one_line(loaded_demo, tmp_path, args, message):
    result = _cli(loaded_demo.home.root, "--kind", "bulletin", *args, "--out", str(tmp_path / "x.pdf"))
    assert result.returncode != 0
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not Path(tmp_path / "x.pdf").exists()
