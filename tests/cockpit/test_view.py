"""The view in the URL: read leniently, written canonically, drilled predictably."""

from __future__ import annotations

from datetime import date

import pytest

from cockpit.metrics import Period
from cockpit.view import DEFAULT_PRESET, View

AS_OF = date(2026, 11, 20)


def test_a_url_round_trips_through_the_view():
    query = {"period": "this_month", "category": "sanitation", "community": "S01C003", "kpi": "on_time_rate"}
    view = View.from_query(query, AS_OF)
    assert view.period == Period(date(2026, 11, 1), AS_OF)
    assert view.to_search() == "?period=this_month&community=S01C003&category=sanitation&kpi=on_time_rate"
    assert View.from_dict(view.to_dict()) == view
    assert View.from_query({}, AS_OF).to_search() == ""


def test_what_cannot_be_read_falls_back_and_says_why():
    view = View.from_query({"period": "next-tuesday", "kpi": "no_such_kpi", "map": "x", "colour": "red"}, AS_OF)
    assert view.preset == DEFAULT_PRESET and view.period == Period.preset(DEFAULT_PRESET, AS_OF)
    assert view.kpi is None and view.map_kpi is None
    assert len(view.notes) == 3 and "next-tuesday" in view.notes[0]
    repeated = View.from_query({"category": ["noise", "sanitation"]}, AS_OF)  # ?category=a&category=b: the last wins
    assert repeated.filters == {"category": "sanitation"}


@pytest.mark.parametrize(
    ("dimension", "key", "expected"),
    [
        ("day", "2026-11-03", Period(date(2026, 11, 3), date(2026, 11, 3))),
        ("week", "2026-11-16", Period(date(2026, 11, 16), AS_OF)),  # clipped to the data
        ("month", "2026-10-01T00:00:00", Period(date(2026, 10, 22), date(2026, 10, 31))),  # clipped to the view
    ],
)
def test_drilling_into_a_time_bucket_narrows_the_period(dimension, key, expected):
    view = View.from_query({}, AS_OF).drilled(dimension, key)
    assert (view.preset, view.period) == ("custom", expected)


def test_filters_nest_and_unknown_ones_are_refused():
    view = View.from_query({"community": "C1", "grid": "C1G1", "micro_grid": "C1G1M1"}, AS_OF)
    assert view.with_filter("grid", "C1G2").filters == {"community": "C1", "grid": "C1G2"}
    assert view.with_filter("community", "C2").filters == {"community": "C2"}
    with pytest.raises(ValueError, match="unknown filter"):
        view.with_filter("colour", "red")
