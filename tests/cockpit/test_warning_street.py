"""预测预警 on fifteen weeks of a demo street whose generator labelled the surges it injected (the manifest's
`surges`): each is found, its counts are the warehouse's tickets counted here with pandas, a click on it
lists exactly its tickets, and the brief and the wall say the same as the page."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import duckdb
import pandas as pd
import pytest
from pypdf import PdfReader

from cockpit.components.warning import day_text, surge_table, surge_view
from cockpit.data import Warehouse
from cockpit.metrics.period import Period
from cockpit.metrics.warning import flag_surges, surge_cells
from cockpit.view import View
from tests.cockpit.test_briefing import _cli
from warehouse.releases import current_release

WHOLE = Period(date(2026, 7, 29), date(2026, 11, 10))


@pytest.fixture(scope="module")
def warehouse(warning_street) -> Warehouse:
    return Warehouse(warning_street)


@pytest.fixture(scope="module")
def labelled(warning_street) -> list[dict]:
    manifest = json.loads((warning_street.landing / "_demo_manifest.json").read_text(encoding="utf-8"))
    return manifest["surges"]


@pytest.fixture(scope="module")
def received(warning_street) -> pd.DataFrame:
    """The tickets the cockpit counts as received (one per complaint: not a duplicate), read here."""
    with duckdb.connect(str(current_release(warning_street)), read_only=True) as con:
        frame = con.execute("SELECT ticket_id, received_at, category, community_id, duplicate_of FROM fct_ticket").df()
    frame = frame[frame["duplicate_of"].isna()].copy()
    frame["day"] = frame["received_at"].dt.date
    return frame


def test_the_street_has_labelled_surges_after_eight_weeks_and_one_on_the_last_day(labelled):
    assert len(labelled) >= 3
    assert min(date.fromisoformat(s["start"]) for s in labelled) >= WHOLE.start + timedelta(days=56)
    assert max(date.fromisoformat(s["end"]) for s in labelled) == WHOLE.end


def test_every_labelled_surge_is_an_alarm_with_its_tickets_counted(warehouse, labelled, received):
    alarms = warehouse.surges(WHOLE)
    for surge in labelled:
        start, end = date.fromisoformat(surge["start"]), date.fromisoformat(surge["end"])
        match = [
            a
            for a in alarms
            if (a.category, a.community_id) == (surge["category"], surge["community_id"])
            and a.start <= end
            and a.end >= start
        ]
        assert len(match) == 1, surge
        alarm = match[0]
        cell = received[(received["category"] == alarm.category) & (received["community_id"] == alarm.community_id)]
        in_alarm = cell[(cell["day"] >= alarm.start) & (cell["day"] <= alarm.end)]
        assert alarm.observed == len(in_alarm)
        # the generator added its extra calls on top of the usual ones
        assert alarm.observed >= sum(surge["extra"][: (alarm.end - start).days + 1])
    # few alarms besides the labelled ones (the demo's ordinary days are Poisson: the test's 0.1 % level
    # over a few hundred cells a day lets a handful through at most)
    labelled_cells = {(s["category"], s["community_id"]) for s in labelled}
    assert len([a for a in alarms if (a.category, a.community_id) not in labelled_cells]) <= 3


def test_an_alarms_expected_count_is_its_weekday_baseline(warehouse, received):
    """Restated from the module's rule with pandas: the cell's mean over the 56 days before, times the
    street's weekday factor (S_d + ½) / (S / 7 + ½)."""
    alarm = next(a for a in warehouse.surges(WHOLE) if a.days == 1)  # one day: its expected count is that day's
    day = alarm.start
    window = received[(received["day"] >= day - timedelta(days=56)) & (received["day"] < day)]
    same_weekday = window[pd.to_datetime(window["day"]).dt.day_of_week == day.weekday()]
    factor = (len(same_weekday) + 0.5) / (len(window) / 7 + 0.5)
    cell = window[(window["category"] == alarm.category) & (window["community_id"] == alarm.community_id)]
    expected = max(len(cell), 0.5) / 56 * factor
    assert alarm.expected == pytest.approx(expected)
    below = sum(math.exp(-expected) * expected**k / math.factorial(k) for k in range(alarm.observed))
    assert alarm.p_value == pytest.approx(1 - below, rel=1e-6, abs=1e-12)


def test_the_cells_too_small_to_surge_are_folded_into_the_street_and_flag_the_same_days(warning_street, received):
    """surge_cells keeps rows only for cells that reach the minimum count on a tested day; every other
    ticket still counts in the street's day. Flagging must find the same cell-days as over every cell,
    counted here with pandas."""
    every = received.groupby(["day", "category", "community_id"], dropna=False).size().rename("tickets")
    every = every.reset_index()
    tested_from = WHOLE.start + timedelta(days=56)
    with duckdb.connect(str(current_release(warning_street)), read_only=True) as con:
        folded = surge_cells(con, WHOLE.start, WHOLE.end, tested_from)
    assert len(folded) < len(every) / 2  # the fold is what makes it cheap
    assert folded["tickets"].sum() == len(received)
    by_day = folded.groupby(pd.to_datetime(folded["day"]))["tickets"].sum()
    assert by_day.to_dict() == every.groupby(pd.to_datetime(every["day"]))["tickets"].sum().to_dict()
    flagged = flag_surges(folded, tested_from, WHOLE.end, first_day=WHOLE.start)
    expected = flag_surges(every, tested_from, WHOLE.end, first_day=WHOLE.start)
    assert len(expected) >= 3
    key = ["day", "category", "community_id"]
    pd.testing.assert_frame_equal(
        flagged.sort_values(key).reset_index(drop=True), expected.sort_values(key).reset_index(drop=True)
    )


def test_a_click_on_an_alarm_lists_exactly_its_tickets(warehouse):
    through = warehouse.info.data_through
    view = View.from_query({"period": "this_year"}, through)
    alarms = warehouse.surges(view.period)
    names = {listed: warehouse.code_list_names(listed, "zh") for listed in ("category", "community")}
    panel = surge_table(alarms, names, view, "诉求激增预警", "zh")
    links = [href for href in _hrefs(panel)]
    assert len(links) == len(alarms[:10])
    for alarm, href in zip(alarms, links, strict=False):
        assert href == "/dispatch" + surge_view(view, alarm).to_search()
        query = {key: values[0] for key, values in parse_qs(urlsplit(href).query).items()}
        drilled = View.from_query(query, through)
        assert drilled.filters["category"] == alarm.category and drilled.filters["community"] == alarm.community_id
        assert (drilled.period.start, drilled.period.end) == (alarm.start, alarm.end)
        frame, total = warehouse.records("tickets_received", drilled.period, filters=drilled.filters, limit=500)
        assert total == alarm.observed


def _hrefs(component) -> list[str]:
    found = []
    href = getattr(component, "href", None)
    if href:
        found.append(href)
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children] if children is not None else []:
        found += _hrefs(child)
    return found


def test_a_community_reader_sees_only_their_communitys_alarms(warehouse):
    from cockpit.access.accounts import Scope, ScopeKind

    alarms = warehouse.surges(WHOLE)
    community = alarms[0].community_id
    scoped = warehouse.scoped(Scope(ScopeKind.COMMUNITY, (community,)))
    assert {a.community_id for a in scoped.surges(WHOLE)} == {community}
    assert len(scoped.surges(WHOLE)) == len([a for a in alarms if a.community_id == community])


def test_the_forecast_follows_the_last_complete_day_and_narrows_to_a_category(warehouse, received):
    fc = warehouse.forecast()
    assert fc.mean.index[0].date() == WHOLE.end + timedelta(days=1) and len(fc.mean) == 7
    assert (fc.lower <= fc.mean).all() and (fc.mean <= fc.upper).all()
    daily = received.groupby("day").size()
    assert fc.history.iloc[-1] == daily[WHOLE.end]
    # the seasonal naive repeats the last week loaded
    assert list(fc.naive) == [float(daily.get(WHOLE.end - timedelta(days=6 - i), 0)) for i in range(7)]
    category = received["category"].value_counts().index[0]
    narrowed = warehouse.forecast(filters={"category": category})
    assert narrowed.history.iloc[-1] == len(
        received[(received["day"] == WHOLE.end) & (received["category"] == category)]
    )
    assert narrowed.total < fc.total
    found = warehouse.category_forecasts(limit=3)
    assert found[0].category == category
    assert found[0].last == len(
        received[(received["day"] > WHOLE.end - timedelta(days=7)) & (received["category"] == category)]
    )


def test_the_wall_ticker_names_the_surge_of_the_last_day(warehouse):
    from cockpit.components.wall import recent_surges, ticker

    recent = recent_surges(warehouse)
    assert recent and recent[0].end == WHOLE.end
    names = warehouse.code_list_names("category", "zh")
    items = ticker(warehouse, Period(WHOLE.end, WHOLE.end), 24, "zh", None)
    text = " ".join(str(getattr(item, "children", "")) for item in _spans(items))
    assert f"激增预警 {day_text(WHOLE.end, 'zh')}" in text and names[recent[0].category] in text


def _spans(components) -> list:
    found = []
    for component in components if isinstance(components, list) else [components]:
        if getattr(component, "className", "") and "ticker-item" in component.className:
            found.append(component)
        children = getattr(component, "children", None)
        if isinstance(children, list):
            found += _spans(children)
        elif children is not None and not isinstance(children, str):
            found += _spans([children])
    return found


def test_the_brief_prints_the_pages_alarms_and_forecast(warning_street, warehouse, tmp_path):
    out = tmp_path / "brief.pdf"
    result = _cli(warning_street.root, "--period", "2026-10-01:2026-11-10", "--out", str(out))
    assert result.returncode == 0, result.stderr
    text = "".join(page.extract_text() for page in PdfReader(out).pages).replace("\n", "")
    section = text[text.index("、预测预警") :]
    names = {listed: warehouse.code_list_names(listed, "zh") for listed in ("category", "community")}
    alarms = warehouse.surges(Period(date(2026, 10, 1), WHOLE.end))
    assert f"本期发现诉求激增{len(alarms)}起" in text or f"等{len(alarms)}起" in text
    for alarm in alarms:
        row = f"{names['community'][alarm.community_id]}{names['category'][alarm.category]}{alarm.observed}件"
        assert row in section.replace(" ", ""), row
    assert f"受理工单约{round(warehouse.forecast().total):,}件" in text
