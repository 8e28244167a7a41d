"""When data is stale: the one rule for a source's deliveries and the one colour scale for the data's age.

The rule serves the pipeline run's warnings, the 数据管道 page's source table and the
`cockpit` command alike; the colour scale serves the top bar's badge and the wall's
banner. A source may fall behind the release by its cadence (pipelines/mapping.py:
a monthly snapshot is not late after two days) or by the configured allowance,
whichever is longer.
"""

from __future__ import annotations

from datetime import date

from pipelines.mapping import CADENCE_DAYS

# How old (hours since the release's data ends) the data may get before screens call it stale.
STALE_AFTER_HOURS = 26
# Past this many times the allowance the data is not only late but badly out of date.
RED_AFTER = 2


def stale_after_days(stale_after_hours: float = STALE_AFTER_HOURS) -> int:
    """The allowance in whole days a source may lag behind the release (at least one)."""
    return max(1, round(stale_after_hours / 24))


def allowed_days_behind(cadence: str | None, stale_days: int) -> int:
    """Days a source of this cadence may lag behind the release before it is stale (unknown cadence: daily)."""
    return max(stale_days, CADENCE_DAYS.get(cadence or "daily", CADENCE_DAYS["daily"]))


def is_stale(last_day: date, data_through: date, cadence: str | None, stale_days: int) -> bool:
    """Whether a source whose last landing day is `last_day` is stale in a release with data through `data_through`."""
    return (data_through - last_day).days >= allowed_days_behind(cadence, stale_days)


def freshness_status(age_hours: float, stale_after_hours: float = STALE_AFTER_HOURS) -> str:
    """'green' within the allowance, 'amber' past it, 'red' past RED_AFTER times it (the catalog's status names)."""
    if age_hours <= stale_after_hours:
        return "green"
    return "amber" if age_hours <= RED_AFTER * stale_after_hours else "red"
