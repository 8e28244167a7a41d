"""fct_ticket_group's build step: the export's record of the caller decides, the keyword rules tag a citizen's
ticket that has none, staff reports are never tagged by words; on a table built here row by row, on the demo
street's raw 12345 files, and the rules file's errors."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from warehouse.groups import GroupRule, load_rules, ticket_groups
from warehouse.releases import current_release

SEEDS = Path("warehouse/seeds")
RULES = [
    GroupRule("elderly", ("独居老人", "高龄老人")),
    GroupRule("new_employment", ("外卖骑手", "快递员"), unless=("快递柜",)),
    GroupRule("hardship", ("低保",)),
]


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE fct_ticket (ticket_id VARCHAR, reporter_group VARCHAR, reporter_kind VARCHAR,"
        " title VARCHAR, content VARCHAR)"
    )
    con.execute(f"CREATE TABLE seed_focus_group AS SELECT * FROM read_csv('{SEEDS / 'focus_group.csv'}')")
    return con


def _tags(con, rows, rules=RULES) -> set[tuple[str, str, str]]:
    con.executemany("INSERT INTO fct_ticket VALUES (?, ?, ?, ?, ?)", rows)
    table = ticket_groups(con, rules=rules)
    return set(
        zip(*(table.column(name).to_pylist() for name in ("ticket_id", "focus_group", "tagged_by")), strict=True)
    )


def test_the_record_decides_and_words_tag_only_a_citizen_without_one(con):
    tags = _tags(
        con,
        [
            ("a", "elderly", "citizen", "路灯不亮", None),  # recorded: the words do not matter
            ("b", "general", "citizen", "外卖骑手被拖欠工资", None),  # recorded as no group: not tagged by words
            ("c", None, "citizen", "我是外卖骑手", "家里是低保户"),  # two groups from the words
            ("d", None, "patrol", "独居老人门前积水", None),  # staff: never by words
            ("e", None, None, "高龄老人 需要助餐", None),  # an export that does not say who reported: a citizen
            ("f", None, "citizen", "快递员把包裹放进快递柜", None),  # the unless word
            ("g", None, "citizen", "外卖\u3000骑手\n无处停车", None),  # words wrapped in white space still match
            ("h", None, "citizen", None, None),
        ],
    )
    assert tags == {
        ("a", "elderly", "record"),
        ("c", "new_employment", "keyword"),
        ("c", "hardship", "keyword"),
        ("e", "elderly", "keyword"),
        ("g", "new_employment", "keyword"),
    }


def test_a_rule_for_a_group_the_seeds_do_not_know_fails_the_build(con):
    with pytest.raises(ValueError, match="unknown focus group 'students'"):
        _tags(con, [("a", None, "citizen", "学生", None)], rules=[GroupRule("students", ("学生",))])


@pytest.mark.parametrize(
    "text, message",
    [
        ("elderly: [老人]", "group 'elderly' needs a non-empty list of keywords"),
        ("elderly: {keywords: []}", "group 'elderly' needs a non-empty list of keywords"),
        ("elderly: {keywords: [老人, '']}", "every keyword is non-empty text"),
        ("- elderly", "expected a mapping"),
    ],
)
def test_a_malformed_rules_file_fails_with_one_line(tmp_path, text, message):
    path = tmp_path / "focus_groups.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_rules(path)


def test_the_shipped_rules_name_only_seeded_groups_and_no_bare_old_person():
    seeded = {row["code"] for row in csv.DictReader((SEEDS / "focus_group.csv").open(encoding="utf-8"))}
    rules = load_rules()
    assert {rule.group for rule in rules} <= seeded - {"general"}
    # 老人 alone is in complaints about others (人行道破损，老人容易绊倒): the rules must be more specific
    assert all("老人" != word for rule in rules for word in rule.keywords)


def test_the_demo_hotlines_recorded_groups_are_the_marts(warning_street):
    """Each loaded 12345 ticket's 诉求人类别, read from the raw gb18030 files, is its recorded group."""
    names = {row["name_zh"]: row["code"] for row in csv.DictReader((SEEDS / "focus_group.csv").open(encoding="utf-8"))}
    recorded = {}
    for path in sorted((warning_street.landing / "hotline_12345").glob("*/12345_*.csv")):
        with path.open(encoding="gb18030", errors="replace", newline="") as handle:
            for row in csv.DictReader(handle):
                recorded[row["工单编号"]] = names.get(row["诉求人类别"])
    with duckdb.connect(str(current_release(warning_street)), read_only=True) as release:
        tickets = release.execute(
            "SELECT ticket_id, reporter_group FROM fct_ticket WHERE channel = 'hotline_12345'"
        ).fetchall()
        tagged = set(
            release.execute(
                "SELECT g.ticket_id, g.focus_group FROM fct_ticket_group AS g JOIN fct_ticket AS t USING (ticket_id)"
                " WHERE t.channel = 'hotline_12345'"
            ).fetchall()
        )
    assert len(tickets) > 500
    for ticket_id, group in tickets:
        assert group == recorded[ticket_id.split(":", 1)[1]], ticket_id
    expected = {(ticket_id, group) for ticket_id, group in tickets if group != "general"}
    assert tagged == expected
    shares = {group: sum(g == group for _, g in tickets) / len(tickets) for group in ("elderly", "general")}
    assert shares["general"] > 0.5 and shares["elderly"] > 0.1  # the demo's callers: mostly no focus group
