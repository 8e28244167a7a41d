"""Who may see which rows: the one place that decides whether a principal gets the records behind a KPI.

Counts (tiles, charts, maps) are for everyone who may view the street. Rows are not:
- the record table needs Permission.RECORDS, an export needs Permission.EXPORT as well;
- rows of a fact that `warehouse/schema.yaml` marks `personal: true` (party members' records) need
  Permission.PERSONAL on top, whoever asks.
The record table, the export routes and background exports ask here; so does anything else that hands out rows.
A refusal is an interface-text key (cockpit/i18n.py), so every caller words it the same way.
"""

from __future__ import annotations

import functools
from enum import StrEnum

from cockpit.access.accounts import Permission
from cockpit.access.principal import Principal
from cockpit.metrics import Metric
from warehouse.checks import load_schema


class Refusal(StrEnum):
    """Why rows are refused; each value is the i18n key of the one-line note shown instead."""

    NO_RECORDS = "records_not_permitted"
    NO_EXPORT = "export_not_permitted"
    PERSONAL = "personal_records_hidden"


@functools.cache
def personal_facts() -> frozenset[str]:
    """The marts (and staging models) whose rows are a person's personal data, as schema.yaml marks them."""
    schema = load_schema()
    return frozenset(name for name, spec in {**schema["inputs"], **schema["models"]}.items() if spec.get("personal"))


def is_personal(metric: Metric) -> bool:
    return metric.fact in personal_facts()


def personal_refusal(principal: Principal, metric: Metric) -> Refusal | None:
    """Refusal.PERSONAL when `metric`'s rows are personal data and `principal` is not granted them, else None.

    This alone governs rows a page shows by itself (a list panel): they are part of viewing the page, but
    never personal data for a principal without the grant.
    """
    return Refusal.PERSONAL if is_personal(metric) and not principal.may(Permission.PERSONAL) else None


def records_refusal(principal: Principal, metric: Metric) -> Refusal | None:
    """Why `principal` may not see the rows behind `metric` in the record table, or None when it may."""
    if not principal.may(Permission.RECORDS):
        return Refusal.NO_RECORDS
    return personal_refusal(principal, metric)


def export_refusal(principal: Principal, metric: Metric | None) -> Refusal | None:
    """Why `principal` may not export the rows behind `metric` (None: any rows at all), or None when it may."""
    if not principal.may(Permission.EXPORT):
        return Refusal.NO_EXPORT
    return records_refusal(principal, metric) if metric is not None else None


def may_see_records(principal: Principal, metric: Metric) -> bool:
    return records_refusal(principal, metric) is None


def may_export(principal: Principal, metric: Metric) -> bool:
    return export_refusal(principal, metric) is None
