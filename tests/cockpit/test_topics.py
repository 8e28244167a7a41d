"""Hot topics: the segmenter's terms, the rising statistic, near-duplicates and the counts, on a small
warehouse built here row by row (every expected number is counted by hand below); the real message board's
topics are checked in tests/pipelines/test_realdata.py."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import pytest
from statsmodels.stats.proportion import proportions_ztest

from cockpit.metrics.catalog import RowScope
from cockpit.metrics.period import Period
from cockpit.metrics.topics import hot_topics, rising_z
from warehouse.terms import Segmenter, Vocabulary


@pytest.fixture(scope="module")
def segmenter():
    return Segmenter(Vocabulary.load(), ["澳韵社区", "金鸡苑"])


def test_a_sentence_is_cut_into_issue_words_without_places_numbers_titles_or_filler(segmenter):
    terms = segmenter.terms(
        "尊敬的胡书记：澳韵社区丽发新城3栋旁的停车位被外来车辆长期占用，我们多次反映没有解决，车位不够。"
    )
    assert "停车位" in terms and "车辆" in terms and "车位" in terms
    assert "澳韵社区" not in terms and "澳韵" not in terms  # the register's place is cut whole, and is no topic
    assert "新城" not in terms  # the end of a place name the dictionary does not know (丽发新城)
    assert "胡书记" not in terms and "书记" not in terms
    assert not {"我们", "多次", "反映", "没有", "解决"} & set(terms)
    assert all(len(term) >= 2 and not any(c.isdigit() for c in term) for term in terms), terms
    assert len(terms) == len(set(terms))


def test_a_place_word_after_a_function_word_is_still_a_term(segmenter):
    # 广场 ends like a place name, but after 的 it is the square people dance on.
    assert "广场舞" in segmenter.terms("每晚小区的广场舞音响太吵")
    assert "停车场" in segmenter.terms("医院旁的停车场收费太高")
    assert "停车场" not in segmenter.terms("丽发停车场收费太高")  # after a name the dictionary does not know


def test_the_name_of_a_road_is_no_topic(segmenter):
    terms = segmenter.terms("博乐街201号门前垃圾桶满溢无人清运")
    assert "博乐" not in terms and "垃圾桶" in terms


def test_the_rising_statistic_is_the_one_sided_two_proportion_z_test():
    for count, tickets, baseline, baseline_tickets in [(20, 100, 10, 400), (5, 50, 30, 200), (1, 10, 0, 40)]:
        expected, _ = proportions_ztest([count, baseline], [tickets, baseline_tickets], alternative="larger")
        assert rising_z(count, tickets, baseline, baseline_tickets) == pytest.approx(expected)
    assert rising_z(0, 0, 3, 10) == 0.0


PERIOD = Period(date(2026, 10, 29), date(2026, 11, 4))  # 7 days; baseline: the 28 days before


def _warehouse(rows: list[tuple[str, datetime, str, str | None, tuple[str, ...]]]) -> duckdb.DuckDBPyConnection:
    """fct_ticket and fct_ticket_term from (ticket id, received at, community, duplicate of, terms)."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE fct_ticket (ticket_id VARCHAR, received_at TIMESTAMP, community_id VARCHAR, grid_id VARCHAR,"
        " micro_grid_id VARCHAR, department_id VARCHAR, channel VARCHAR, category VARCHAR, duplicate_of VARCHAR)"
    )
    con.execute("CREATE TABLE fct_ticket_term (ticket_id VARCHAR, term VARCHAR)")
    for ticket, at, community, duplicate_of, terms in rows:
        con.execute(
            "INSERT INTO fct_ticket VALUES (?, ?, ?, ?, NULL, 'd1', 'hotline', 'noise', ?)",
            [ticket, at, community, f"{community}G1", duplicate_of],
        )
        for term in terms:
            con.execute("INSERT INTO fct_ticket_term VALUES (?, ?)", [ticket, term])
    return con


def _tickets(prefix: str, n: int, day: date, community: str, *terms: str, duplicate_of=None) -> list[tuple]:
    at = datetime.combine(day, datetime.min.time()) + timedelta(hours=9)
    return [(f"{prefix}{i}", at + timedelta(minutes=i), community, duplicate_of, terms) for i in range(n)]


@pytest.fixture
def street():
    in_period, before = date(2026, 11, 2), date(2026, 10, 10)
    previous = date(2026, 10, 25)  # in the window just before the period (环比) and in the baseline
    rows = [
        # 噪音: 12 of the period's 40 tickets, 4 of the baseline's 80: rising.
        *_tickets("n", 12, in_period, "C01", "噪音"),
        *_tickets("nb", 4, before, "C01", "噪音"),
        # 停车位 and 车位: one topic; 9 + 6 tickets in the period, 2 with both words.
        *_tickets("p", 7, in_period, "C01", "停车位"),
        *_tickets("pc", 2, in_period, "C02", "停车位", "车位"),
        *_tickets("c", 4, in_period, "C02", "车位"),
        *_tickets("pb", 30, before, "C01", "停车位"),
        *_tickets("pp", 3, previous, "C01", "停车位"),
        # 垃圾: as common before as now (10 of 40; 20 of 80), frequent but not rising.
        *_tickets("g", 10, in_period, "C02", "垃圾"),
        *_tickets("gb", 17, before, "C02", "垃圾"),
        *_tickets("gp", 3, previous, "C02", "垃圾"),
        # 漏水: rising share but 3 tickets, under the minimum count.
        *_tickets("w", 3, in_period, "C01", "漏水"),
        # Tickets with no term, so that the period has 40 and the baseline 80.
        *_tickets("x", 2, in_period, "C01"),
        *_tickets("xb", 23, before, "C02"),
        # A duplicate of another channel's ticket counts nowhere.
        *_tickets("d", 5, in_period, "C01", "噪音", duplicate_of="n0"),
    ]
    return _warehouse(rows)


def test_frequent_topics_count_tickets_and_merge_near_duplicates(street):
    topics = {topic.term: topic for topic in hot_topics(street, PERIOD, limit=10)}
    assert list(topics) == ["停车位", "噪音", "垃圾", "漏水"]
    parking = topics["停车位"]
    assert parking.aliases == ("车位",)
    assert (parking.count, parking.previous, parking.baseline) == (7 + 2 + 4, 3, 30 + 3)
    assert (topics["噪音"].count, topics["噪音"].tickets, topics["噪音"].baseline_tickets) == (12, 40, 80)
    assert topics["垃圾"].change == pytest.approx((10 - 3) / 3)
    assert topics["漏水"].previous == 0 and topics["漏水"].change is None


def test_rising_topics_need_the_test_and_the_minimum_count(street):
    rising = hot_topics(street, PERIOD, rising=True)
    assert [topic.term for topic in rising] == ["噪音"]
    expected, _ = proportions_ztest([12, 4], [40, 80], alternative="larger")
    assert rising[0].z == pytest.approx(expected)


def test_a_scoped_reader_counts_only_their_communities_tickets(street):
    topics = {topic.term: topic for topic in hot_topics(street, PERIOD, scope=RowScope(("C02",)))}
    # In C02 车位 is the more common spelling: it names the topic there.
    assert set(topics) == {"垃圾", "车位"} and topics["车位"].aliases == ("停车位",)
    assert topics["车位"].count == 2 + 4 and topics["车位"].tickets == 2 + 4 + 10


# ---------------------------------------------------------------- on the demo street, through the app


def _tickets_and_terms(loaded_demo):
    from warehouse.releases import current_release

    with duckdb.connect(str(current_release(loaded_demo.home)), read_only=True) as con:
        tickets = con.execute("SELECT ticket_id, received_at, duplicate_of, title, content FROM fct_ticket").df()
        terms = con.execute("SELECT ticket_id, term FROM fct_ticket_term").df()
    return tickets, terms


def test_a_term_narrows_ticket_kpis_and_records_to_the_tickets_that_hold_it(app, loaded_demo):
    from cockpit.data import current_warehouse

    warehouse = current_warehouse()
    period = Period.preset("last_30_days", warehouse.info.data_through)
    topics = warehouse.topics(period, limit=10)
    assert len(topics) == 10
    single = next(topic for topic in topics if not topic.aliases)
    tickets, terms = _tickets_and_terms(loaded_demo)
    in_period = tickets[
        (tickets["received_at"] >= datetime.combine(period.start, datetime.min.time()))
        & (tickets["received_at"] < datetime.combine(period.end + timedelta(days=1), datetime.min.time()))
        & tickets["duplicate_of"].isna()
    ]
    holding = in_period[in_period["ticket_id"].isin(terms.loc[terms["term"] == single.term, "ticket_id"])]
    assert single.count == len(holding) > 0
    assert single.tickets == len(in_period)
    texts = holding["title"].fillna("") + holding["content"].fillna("")
    assert texts.str.contains(single.term, regex=False).all()
    value = warehouse.metric("tickets_received", period, filters={"term": single.term}, compare=False)
    assert int(value["value"].iloc[0]) == len(holding)
    rows, total = warehouse.records("tickets_received", period, filters={"term": single.term}, limit=1000)
    assert total == len(holding) and len(rows) == len(holding)
    # KPIs of other facts cannot be narrowed by a term: they say so instead of pretending.
    from cockpit.metrics import get_metric

    assert get_metric("tickets_received").supports("term") and not get_metric("live_alarms").supports("term")


def test_the_panels_list_topics_whose_links_narrow_the_page_to_a_term(app, loaded_demo):
    import json
    import re

    from cockpit.components.format import format_value
    from cockpit.data import current_warehouse
    from tests.cockpit.test_pages import DashClient, run_page, tile_values

    client = DashClient(app)
    answers = run_page(client, app, "dispatch")
    panels = [answer for answer in answers.values() if "topic-list" in json.dumps(answer, ensure_ascii=False)]
    assert len(panels) >= 1
    links = re.findall(r'"href": "(/dispatch\?term=[^"]+)"', json.dumps(panels[0], ensure_ascii=False))
    assert len(links) == 10
    from urllib.parse import parse_qs, urlsplit

    term = parse_qs(urlsplit(links[0]).query)["term"][0]
    narrowed = run_page(client, app, "dispatch", {"term": term})
    warehouse = current_warehouse()
    period = Period.preset("last_30_days", warehouse.info.data_through)
    expected = warehouse.metric("tickets_received", period, filters={"term": term}, compare=False)
    shown = {}
    for key, answer in narrowed.items():
        if "-kpis-" in key:
            shown.update(tile_values(answer))
    count = int(expected["value"].iloc[0])
    assert shown["tickets_received"] == format_value(count, "件")
    # The chosen term stays listed, marked, and its link takes it off again.
    chosen = [answer for answer in narrowed.values() if '"chosen"' in json.dumps(answer)]
    assert chosen and term in json.dumps(chosen[0], ensure_ascii=False)
    assert '"href": "/dispatch"' in json.dumps(chosen[0], ensure_ascii=False)


def test_a_release_built_before_ticket_text_was_cut_is_rebuilt_and_meanwhile_pages_say_so(fresh_home):
    from cockpit.components import charts
    from cockpit.components.topics import topic_table
    from cockpit.data import Warehouse
    from cockpit.view import View
    from pipelines.run import run_pipeline
    from tests.conftest import SALT
    from warehouse.releases import current_release

    run_pipeline(fresh_home, salt=SALT)
    old = current_release(fresh_home)
    with duckdb.connect(str(old)) as con:  # as an older version built it
        con.execute("DROP TABLE fct_ticket_term")
    warehouse = Warehouse(fresh_home)
    view = View.from_query({}, warehouse.info.data_through)
    assert warehouse.topics(view.period) is None
    plain = warehouse.metric("tickets_received", view.period, compare=False)
    narrowed = warehouse.metric("tickets_received", view.period, filters={"term": "噪音"}, compare=False)
    assert narrowed["value"].iloc[0] == plain["value"].iloc[0]  # nothing to narrow by yet; no error
    assert "热点话题将在下一次数据发布后显示" in str(topic_table(None, view, "/dispatch", "热点话题", "zh"))
    figure = charts.cloud(None, title="热点诉求")
    assert figure.layout.annotations[0].text == "热点话题将在下一次数据发布后显示"
    # The next run, with nothing new delivered, rebuilds the release rather than keep it.
    summary = run_pipeline(fresh_home, salt=SALT)
    assert summary.status == "published", summary.message
    assert any("fct_ticket_term" in warning for warning in summary.warnings)
    assert current_release(fresh_home) != old
    assert Warehouse(fresh_home).topics(view.period)
    assert run_pipeline(fresh_home, salt=SALT).status == "up_to_date"


def test_the_word_cloud_places_every_word_once_inside_its_canvas_without_overlap_biggest_first():
    from itertools import combinations

    from cockpit.components.charts import cloud_layout

    words = [("停车位", 120), ("噪音", 90), ("垃圾分类", 60), ("漏水", 40), ("路灯", 30)]
    words += [(f"话题{chr(0x4E00 + i)}", 10 + i) for i in range(15)]
    canvas = (600, 230)
    laid = cloud_layout(words, canvas)
    assert sorted(word for word, *_ in laid) == sorted(word for word, _ in words)
    # A CJK glyph is about as wide as the font is high: each word's box, without any padding.
    boxes = {
        word: (x - len(word) * size / 2, y - size / 2, x + len(word) * size / 2, y + size / 2)
        for word, size, x, y in laid
    }
    for (a, box_a), (b, box_b) in combinations(boxes.items(), 2):
        apart = box_a[2] <= box_b[0] or box_b[2] <= box_a[0] or box_a[3] <= box_b[1] or box_b[3] <= box_a[1]
        assert apart, (a, b)
    assert all(-300 <= box[0] and box[2] <= 300 and -115 <= box[1] and box[3] <= 115 for box in boxes.values())
    sizes = {word: size for word, size, _, _ in laid}
    by_weight = [word for word, _ in sorted(words, key=lambda item: -item[1])]
    assert [sizes[word] for word in by_weight] == sorted(sizes.values(), reverse=True)
    assert cloud_layout([]) == []
