"""The account settings: defaults from the issue, environment over file, one-line errors for bad values."""

from __future__ import annotations

import pytest

from cockpit.settings import Settings, SettingsError


def test_defaults_are_the_issues(tmp_path):
    s = Settings.load({"COCKPIT_HOME": str(tmp_path)})
    assert (s.password_min_length, s.password_min_classes) == (12, 3)
    assert (s.lockout_attempts, s.lockout_minutes) == (5, 15)
    assert (s.session_idle_minutes, s.session_max_hours) == (30, 12)
    assert s.audit_retention_days == 180


def test_environment_and_file_set_them(tmp_path):
    (tmp_path / "cockpit.toml").write_text("lockout_minutes = 30\naudit_retention_days = 365\n", encoding="utf-8")
    s = Settings.load({"COCKPIT_HOME": str(tmp_path), "COCKPIT_LOCKOUT_MINUTES": "45"})
    assert (s.lockout_minutes, s.audit_retention_days) == (45, 365)


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("AUDIT_RETENTION_DAYS", "179", "six months"),
        ("PASSWORD_MIN_LENGTH", "4", "between 8"),
        ("PASSWORD_MIN_CLASSES", "5", "between 1 and 4"),
        ("LOCKOUT_ATTEMPTS", "five", "whole number"),
        ("SESSION_IDLE_MINUTES", "0", "between 1"),
    ],
)
def test_bad_values_are_one_line(tmp_path, name, value, fragment):
    with pytest.raises(SettingsError) as caught:
        Settings.load({"COCKPIT_HOME": str(tmp_path), f"COCKPIT_{name}": value})
    message = str(caught.value)
    assert f"COCKPIT_{name}" in message and fragment in message and "\n" not in message
