"""fct_ticket_group: which focus groups (重点群体: 老年人, 新就业群体, 新市民, 困难群体) a ticket comes from.

A ticket whose export records the reporter's group (`fct_ticket.reporter_group`) is tagged by that record
alone (`tagged_by = 'record'`); 一般群众 (`general`) is in no group. A citizen's ticket without a record is
tagged by the street's keyword rules (`vocabulary/focus_groups.yaml`, `tagged_by = 'keyword'`): each group
whose words are in its title or text, unless one of the group's `unless` words is too. Reports by staff
(patrol, camera, sensor, grid worker) are never tagged by words. A ticket may be in several groups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from warehouse.documents import load_yaml
from warehouse.terms import VOCABULARY

RULES_FILE = "focus_groups.yaml"
# The recorded group that is no focus group (an ordinary resident).
NO_GROUP = "general"
# Who a ticket's words may speak for: a citizen (or an export that does not say who reported).
CITIZEN = "citizen"
# What fct_ticket_group is tagged from: the tickets and the groups' code list.
INPUTS = frozenset({"fct_ticket", "seed_focus_group"})
# A ticket's groups come from these columns of its own row alone.
ROWS_OF = ("fct_ticket", "ticket_id", ("reporter_group", "reporter_kind", "title", "content"))


@dataclass(frozen=True)
class GroupRule:
    group: str
    keywords: tuple[str, ...]
    unless: tuple[str, ...] = ()

    def matches(self, text: str) -> bool:
        return any(word in text for word in self.keywords) and not any(word in text for word in self.unless)


def load_rules(path: Path | None = None) -> list[GroupRule]:
    """The keyword rules, in the file's order; a malformed file raises ValueError with one line."""
    source = path or VOCABULARY / RULES_FILE
    document = load_yaml(source.read_text(encoding="utf-8")) or {}
    if not isinstance(document, dict):
        raise ValueError(f"{RULES_FILE}: expected a mapping of group → keywords")
    rules = []
    for group, entry in document.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("keywords"), list) or not entry["keywords"]:
            raise ValueError(f"{RULES_FILE}: group {group!r} needs a non-empty list of keywords")
        unless = entry.get("unless") or []
        words = [*entry["keywords"], *unless]
        if not all(isinstance(word, str) and word.strip() for word in words):
            raise ValueError(f"{RULES_FILE}: group {group!r}: every keyword is non-empty text")
        rules.append(
            GroupRule(str(group), tuple(w.strip() for w in entry["keywords"]), tuple(w.strip() for w in unless))
        )
    return rules


def _normalised(text: str) -> str:
    """Title and text as one string, without white space (exports wrap words in spaces and line breaks)."""
    return re.sub(r"[\s\u3000]+", "", text)


def ticket_groups(
    con: duckdb.DuckDBPyConnection, cache_dir: Path | None = None, *, rules: list[GroupRule] | None = None
) -> pa.Table:
    """fct_ticket_group for the release being built: (ticket_id, focus_group, tagged_by); `rules` default to
    the street's file."""
    del cache_dir  # matching words is fast: nothing to keep between builds
    rules = load_rules() if rules is None else rules
    known = {code for (code,) in con.execute("SELECT code FROM seed_focus_group").fetchall()}
    if unknown := [rule.group for rule in rules if rule.group not in known]:
        raise ValueError(f"{RULES_FILE}: unknown focus group {unknown[0]!r} (the groups are seeds/focus_group.csv)")
    rows = con.execute(
        "SELECT ticket_id, reporter_group, reporter_kind, concat_ws('。', title, content) FROM fct_ticket "
        "ORDER BY ticket_id"
    ).fetchall()
    tickets, groups, tagged_by = [], [], []
    for ticket_id, recorded, kind, text in rows:
        if recorded is not None:
            if recorded != NO_GROUP:
                tickets.append(ticket_id)
                groups.append(recorded)
                tagged_by.append("record")
            continue
        if kind not in (None, CITIZEN) or not text:
            continue
        flat = _normalised(text)
        for rule in rules:
            if rule.matches(flat):
                tickets.append(ticket_id)
                groups.append(rule.group)
                tagged_by.append("keyword")
    return pa.table(
        {
            "ticket_id": pa.array(tickets, pa.string()),
            "focus_group": pa.array(groups, pa.string()),
            "tagged_by": pa.array(tagged_by, pa.string()),
        }
    )
