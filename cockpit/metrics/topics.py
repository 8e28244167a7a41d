"""Hot topics: the terms of ticket text (fct_ticket_term) that the tickets of a period talk about most, or
more than they used to.

The tickets counted are those `tickets_received` counts (the catalog's KPI: received in the period, not
a duplicate of another channel's ticket), with the reader's scope and the view's filters, so a topic's
count is a part of the number on the tile beside it.

- **Frequent**: terms ranked by how many of the period's tickets contain them.
- **Rising**: terms whose share of tickets in the period is above their share in the baseline, the
  `BASELINE_WINDOWS` windows of the period's length just before it, by a one-sided two-proportion
  z-test: z = (p₁ − p₀) / √(p̂(1 − p̂)(1/n₁ + 1/n₀)), p̂ the pooled share. A term rises when z ≥
  `RISING_Z` (5 % one-sided) and it is in at least `MIN_COUNT` tickets of the period; ranked by z.
- **Near-duplicates** are one topic: a term written inside another one character longer (车位 and
  停车位, 车位费) is counted with it, as the tickets that contain any of them, under the one in most
  tickets; a topic rises or ranks as a whole.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta

import duckdb

from cockpit.metrics.catalog import RowScope, default_catalog
from cockpit.metrics.period import Period
from cockpit.metrics.records import row_conditions

# The catalog KPI whose tickets topics are counted over, and the mart of their terms (warehouse/terms.py).
TICKETS_KPI = "tickets_received"
TERMS_TABLE = "fct_ticket_term"
BASELINE_WINDOWS = 4
RISING_Z = 1.645
MIN_COUNT = 5
# Near-duplicates differ by at most this many characters (see `near_duplicates`).
NEAR_DUPLICATE_CHARS = 1
# How many more candidates than topics are looked at before near-duplicates are merged.
CANDIDATES_PER_TOPIC = 3


@dataclass(frozen=True)
class Topic:
    """One topic of a period. `trend` holds its tickets per day, week or month of the period (see `_trends`)."""

    term: str
    aliases: tuple[str, ...]  # near-duplicates counted with it (车位 under 停车位)
    count: int  # tickets of the period with the term or an alias
    previous: int  # the same, in the window of the period's length just before it (环比)
    baseline: int  # the same, in the baseline windows
    tickets: int  # tickets of the period (the share's denominator)
    baseline_tickets: int
    z: float  # the rising statistic (see the module's docstring)
    trend: tuple[int, ...] = ()

    @property
    def change(self) -> float | None:
        """环比: the relative change against the previous window; None when it had none."""
        return (self.count - self.previous) / self.previous if self.previous else None


def rising_z(count: int, tickets: int, baseline: int, baseline_tickets: int) -> float:
    """The one-sided two-proportion z statistic of a term's share in the period against the baseline."""
    if not tickets or not baseline_tickets:
        return 0.0
    pooled = (count + baseline) / (tickets + baseline_tickets)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / tickets + 1 / baseline_tickets))
    return (count / tickets - baseline / baseline_tickets) / spread if spread else 0.0


def _ticket_sql(scope: RowScope | None, filters: Mapping[str, str]) -> tuple[str, dict]:
    """The tickets `tickets_received` counts in [$period_start, $period_end), as its records are chosen, each
    with the windows it falls in: `is_now` (from $now_start: the period), `is_previous` (from $previous_start
    to $now_start: the window of the period's length just before it, 环比); the others are the baseline's."""
    metric = default_catalog()[TICKETS_KPI]
    where, params = row_conditions(metric, scope=scope, filters=filters)
    at = metric.period_column
    return (
        f"SELECT ticket_id, {at} AS received_at, {at} >= $now_start AS is_now,"
        f" {at} >= $previous_start AND {at} < $now_start AS is_previous FROM {metric.fact} WHERE {where}"
    ), params


def _window(period: Period, days_before: int) -> dict:
    """The bounds of the period and of the `days_before` days just before it, which one query reads at once."""
    return {
        "period_start": period.start - timedelta(days=days_before),
        "period_end": period.end + timedelta(days=1),
        "now_start": period.start,
        "previous_start": period.start - timedelta(days=period.days),
    }


@dataclass(frozen=True)
class WindowCounts:
    """What one pass over the terms of a period and its baseline counts (`window_counts`); the frequent and
    the rising topics of one view are chosen from the same counts."""

    terms: Mapping[str, tuple[int, int, int]]  # term → tickets with it (in the period, the window before, baseline)
    tickets: int  # tickets of the period
    baseline_tickets: int


def window_counts(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    *,
    scope: RowScope | None = None,
    filters: Mapping[str, str] | None = None,
) -> WindowCounts:
    """Tickets per term in the period, the window before it and the baseline, and the tickets of the period and
    of the baseline: one pass over the terms of both windows."""
    tickets, params = _ticket_sql(scope, filters or {})
    params.update(_window(period, period.days * BASELINE_WINDOWS))
    now, baseline = con.execute(
        f"SELECT count(*) FILTER (WHERE is_now), count(*) FILTER (WHERE NOT is_now) FROM ({tickets})", params
    ).fetchall()[0]
    rows = con.execute(
        f"""
        WITH tickets AS ({tickets})
        SELECT t.term, count(*) FILTER (WHERE k.is_now), count(*) FILTER (WHERE k.is_previous),
               count(*) FILTER (WHERE NOT k.is_now)
        FROM fct_ticket_term AS t JOIN tickets AS k USING (ticket_id)
        GROUP BY t.term
        """,
        params,
    ).fetchall()
    return WindowCounts({term: (a, b, c) for term, a, b, c in rows}, now, baseline)


def near_duplicates(a: str, b: str) -> bool:
    """One written inside the other, one character apart (停车位/车位, 小孩/小孩子): two spellings of one
    thing. Two or more characters apart they name different things (安全/安全隐患, 噪音/施工噪音)."""
    short, long = sorted((a, b), key=len)
    return short != long and short in long and len(long) - len(short) <= NEAR_DUPLICATE_CHARS


def _group(candidates: list[str], counts: Mapping[str, int]) -> dict[str, list[str]]:
    """Near-duplicates as one topic: each candidate with the terms of the period that are near-duplicates of
    it, unless an earlier candidate's topic took them; named by the member in the most tickets."""
    groups: dict[str, list[str]] = {}
    taken: set[str] = set()
    for candidate in candidates:
        if candidate in taken:
            continue
        members = [candidate] + sorted(
            term for term in counts if term not in taken and near_duplicates(term, candidate)
        )
        taken.update(members)
        head = max(members, key=lambda term: (counts.get(term, 0), -len(term)))
        groups[head] = [head] + [member for member in members if member != head]
    return groups


# The topics as rows, bound from $heads and $members: topic(head, members), member(head, term).
GROUPS_SQL = """
    topic AS (SELECT unnest($heads) AS head, unnest($members) AS members),
    member AS (SELECT head, unnest(members) AS term FROM topic)
"""


def _grouped_tickets(
    groups: Mapping[str, list[str]], window: dict, scope: RowScope | None, filters: Mapping[str, str]
) -> tuple[str, dict]:
    """The counted tickets' SQL, with the parameters it and GROUPS_SQL need for `groups` in `window`."""
    tickets, params = _ticket_sql(scope, filters)
    params.update(window, heads=list(groups), members=[list(members) for members in groups.values()])
    return tickets, params


def _union_counts(
    con: duckdb.DuckDBPyConnection,
    groups: Mapping[str, list[str]],
    counts: WindowCounts,
    period: Period,
    scope: RowScope | None,
    filters: Mapping[str, str],
) -> dict[str, tuple[int, int, int]]:
    """Tickets with any term of each group: head → (in the period, the window before it, the baseline). A
    topic of one spelling has its term's counts; only the others are counted again, a ticket once however
    many of the topic's spellings it holds."""
    found = {head: counts.terms.get(head, (0, 0, 0)) for head, members in groups.items() if len(members) == 1}
    several = {head: members for head, members in groups.items() if len(members) > 1}
    if not several:
        return found
    tickets, params = _grouped_tickets(several, _window(period, period.days * BASELINE_WINDOWS), scope, filters)
    rows = con.execute(
        f"""
        WITH {GROUPS_SQL}, tickets AS ({tickets}),
        holding AS (
            SELECT DISTINCT m.head, t.ticket_id, k.is_now, k.is_previous
            FROM fct_ticket_term AS t JOIN member AS m USING (term) JOIN tickets AS k USING (ticket_id)
        )
        SELECT head, count(*) FILTER (WHERE is_now), count(*) FILTER (WHERE is_previous),
               count(*) FILTER (WHERE NOT is_now)
        FROM holding
        GROUP BY head
        """,
        params,
    ).fetchall()
    found.update({head: (0, 0, 0) for head in several})
    found.update({head: (now, before, baseline) for head, now, before, baseline in rows})
    return found


def _trends(
    con: duckdb.DuckDBPyConnection,
    groups: Mapping[str, list[str]],
    period: Period,
    scope: RowScope | None,
    filters: Mapping[str, str],
    bucket: str,
) -> dict[str, tuple[int, ...]]:
    """Each group's tickets per `bucket` (day, week, month) of the period, every bucket listed (zeros too)."""
    tickets, params = _grouped_tickets(groups, _window(period, 0), scope, filters)
    rows = con.execute(
        f"""
        WITH {GROUPS_SQL}, tickets AS ({tickets}),
        buckets AS (
            SELECT CAST(unnest(generate_series(date_trunc('{bucket}', CAST($period_start AS DATE)),
                CAST($period_end AS DATE) - INTERVAL 1 DAY, INTERVAL 1 {bucket.upper()})) AS DATE) AS bucket
        ),
        counted AS (
            SELECT m.head, CAST(date_trunc('{bucket}', k.received_at) AS DATE) AS bucket,
                   count(DISTINCT t.ticket_id) AS tickets
            FROM fct_ticket_term AS t JOIN member AS m USING (term) JOIN tickets AS k USING (ticket_id)
            GROUP BY ALL
        )
        SELECT topic.head, list(coalesce(c.tickets, 0) ORDER BY b.bucket)
        FROM topic CROSS JOIN buckets AS b LEFT JOIN counted AS c ON c.head = topic.head AND c.bucket = b.bucket
        GROUP BY topic.head
        """,
        params,
    ).fetchall()
    return {head: tuple(int(count) for count in counts) for head, counts in rows}


def hot_topics(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    *,
    scope: RowScope | None = None,
    filters: Mapping[str, str] | None = None,
    rising: bool = False,
    limit: int = 10,
    bucket: str | None = None,
    counts: WindowCounts | None = None,
) -> list[Topic]:
    """The period's `limit` most frequent topics, or with `rising` its rising ones (see the module's docstring).

    With `bucket` (day, week or month) each topic carries its trend across the period. `counts` are
    `window_counts` of the same period, scope and filters, when the caller has them already.
    """
    filters = filters or {}
    window = counts or window_counts(con, period, scope=scope, filters=filters)
    tickets, base_tickets = window.tickets, window.baseline_tickets
    counts_now = {term: now for term, (now, _, _) in window.terms.items() if now}
    z = {term: rising_z(count, tickets, window.terms[term][2], base_tickets) for term, count in counts_now.items()}
    if rising:
        eligible = [term for term, count in counts_now.items() if count >= MIN_COUNT and z[term] >= RISING_Z]
        ranked = sorted(eligible, key=lambda term: (-z[term], -counts_now[term], term))
    else:
        ranked = sorted(counts_now, key=lambda term: (-counts_now[term], term))
    # A term rises or ranks as one topic with its near-duplicates: 车位 alone may rise while the topic
    # 停车位 (which holds it) falls.
    groups = _group(ranked[: limit * CANDIDATES_PER_TOPIC], counts_now)
    if not groups:
        return []
    unions = _union_counts(con, groups, window, period, scope, filters)
    topics = []
    for head, members in groups.items():
        now, before, baseline = unions.get(head, (0, 0, 0))
        topics.append(
            Topic(
                term=head,
                aliases=tuple(member for member in members if member != head),
                count=now,
                previous=before,
                baseline=baseline,
                tickets=tickets,
                baseline_tickets=base_tickets,
                z=rising_z(now, tickets, baseline, base_tickets),
            )
        )
    if rising:
        topics = [topic for topic in topics if topic.count >= MIN_COUNT and topic.z >= RISING_Z]
        topics = sorted(topics, key=lambda topic: (-topic.z, -topic.count, topic.term))[:limit]
    else:
        topics = sorted(topics, key=lambda topic: (-topic.count, topic.term))[:limit]
    if bucket is None or not topics:
        return topics
    trends = _trends(con, {topic.term: groups[topic.term] for topic in topics}, period, scope, filters, bucket)
    return [replace(topic, trend=trends.get(topic.term, ())) for topic in topics]
