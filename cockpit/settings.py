"""Configuration in one place: COCKPIT_* environment variables over an optional TOML file.

Read once by the CLI (or the app factory) and passed down; nothing else reads
the environment. The file is $COCKPIT_CONFIG, else $COCKPIT_HOME/cockpit.toml.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

from warehouse.paths import Home

# The demo street's surroundings (Suzhou and its neighbours); another street configures its own.
DEFAULT_AREA = (119.0, 30.0, 122.0, 33.0)
# Rows an export may hold: one Excel sheet's 1,048,576 rows less the header block above the records.
EXCEL_MAX_ROWS = 1_048_576 - 20
# The Cybersecurity Law (网络安全法 art. 21) asks for network logs kept at least six months.
AUDIT_MIN_RETENTION_DAYS = 180


def parse_area(value) -> tuple[float, float, float, float]:
    """'minlon,minlat,maxlon,maxlat' (or a list of four numbers) → a checked lon/lat box."""
    parts = value.split(",") if isinstance(value, str) else list(value)
    try:
        box = tuple(float(p) for p in parts)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"COCKPIT_AREA must be four numbers min_lon,min_lat,max_lon,max_lat: {value!r}") from exc
    if len(box) != 4 or not (-180 <= box[0] < box[2] <= 180 and -90 <= box[1] < box[3] <= 90):
        raise SettingsError(f"COCKPIT_AREA must be min_lon,min_lat,max_lon,max_lat in degrees, not {value!r}")
    return box


class SettingsError(ValueError):
    """A setting that cannot be used; the message is one line."""


@dataclass(frozen=True)
class Settings:
    home: Path
    keep_releases: int = 7
    extra_mappings: tuple[Path, ...] = ()
    stale_after_hours: int = 26
    pii_salt: str | None = None
    build_memory: str = "6GB"  # the nightly build's DuckDB memory cap; the app shares the machine
    map_tiles: str | None = None  # an intranet XYZ tile URL under the map; none by default (no internet)
    chromium: str | None = None  # the browser that prints briefs; default: `chromium` on PATH
    # The street's area (min lon, min lat, max lon, max lat): coordinates outside it are not kept.
    area: tuple[float, float, float, float] = DEFAULT_AREA
    # Record exports: up to export_direct_rows download at once (streamed); more become a background
    # export job, itself capped at export_max_rows (a file nobody can open in a spreadsheet helps no one).
    export_direct_rows: int = 50_000
    export_max_rows: int = 1_000_000
    # Accounts (cockpit/access): the password policy, the lockout, session timeouts and how long the audit is kept.
    password_min_length: int = 12
    password_min_classes: int = 3  # of four: lower case, upper case, digit, symbol
    lockout_attempts: int = 5
    lockout_minutes: int = 15
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    audit_retention_days: int = AUDIT_MIN_RETENTION_DAYS
    # Sign-in (cockpit/access/web.py). Behind a gateway that authenticates users, the user name arrives in
    # sso_header, believed only from the sso_proxies addresses (IPs or CIDR networks); the account must exist.
    sso_header: str | None = None
    sso_proxies: tuple[str, ...] = ()
    session_cookie_secure: bool = False  # set when the cockpit is served over HTTPS
    watermark: bool = True  # the faint user-and-date watermark on screens, exports and briefs

    @property
    def paths(self) -> Home:
        return Home(self.home)

    @classmethod
    def load(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        home = Path(env.get("COCKPIT_HOME", "var")).expanduser().resolve()
        config_path = Path(env["COCKPIT_CONFIG"]) if env.get("COCKPIT_CONFIG") else home / "cockpit.toml"
        config: dict = {}
        if config_path.exists():
            try:
                config = tomllib.loads(config_path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise SettingsError(f"{config_path}: {exc}") from exc
        elif env.get("COCKPIT_CONFIG"):
            raise SettingsError(f"COCKPIT_CONFIG names a missing file: {config_path}")

        def pick(name: str, default):
            return env.get(f"COCKPIT_{name.upper()}", config.get(name, default))

        extra = env.get("COCKPIT_EXTRA_MAPPINGS")
        if extra is not None:
            mappings = tuple(Path(p).expanduser().resolve() for p in extra.split(os.pathsep) if p)
        else:
            mappings = tuple((config_path.parent / p).resolve() for p in config.get("extra_mappings", []))
        build_memory = str(pick("build_memory", "6GB")).strip()
        if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", build_memory, re.IGNORECASE):
            raise SettingsError(f"COCKPIT_BUILD_MEMORY must be a size like 6GB, not {build_memory!r}")
        try:
            direct_rows, max_rows = int(pick("export_direct_rows", 50_000)), int(pick("export_max_rows", 1_000_000))
        except ValueError as exc:
            raise SettingsError(f"COCKPIT_EXPORT_DIRECT_ROWS and _MAX_ROWS must be whole numbers: {exc}") from exc
        if not 1 <= direct_rows <= max_rows <= EXCEL_MAX_ROWS:
            raise SettingsError(
                f"exports need 1 <= COCKPIT_EXPORT_DIRECT_ROWS ({direct_rows}) <= COCKPIT_EXPORT_MAX_ROWS ({max_rows}) "
                f"<= {EXCEL_MAX_ROWS} (what one Excel sheet holds, less the header)"
            )
        access = _access_settings(pick)
        missing = [str(p) for p in mappings if not p.exists()]
        if missing:
            raise SettingsError(f"extra mapping file(s) not found: {', '.join(missing)}")
        try:
            return cls(
                home=home,
                keep_releases=int(pick("keep_releases", 7)),
                extra_mappings=mappings,
                stale_after_hours=int(pick("stale_after_hours", 26)),
                pii_salt=pick("pii_salt", None),
                build_memory=build_memory,
                map_tiles=pick("map_tiles", None) or None,
                chromium=pick("chromium", None) or None,
                area=parse_area(pick("area", DEFAULT_AREA)),
                export_direct_rows=direct_rows,
                export_max_rows=max_rows,
                sso_header=pick("sso_header", None) or None,
                sso_proxies=_sso_proxies(pick("sso_proxies", ())),
                session_cookie_secure=_flag(pick("session_cookie_secure", False)),
                watermark=_flag(pick("watermark", True)),
                **access,
            )
        except ValueError as exc:
            raise SettingsError(f"bad setting: {exc}") from exc

    def salt(self) -> str:
        """The PII hashing salt: configured, or generated once per home and kept (hashes must stay stable)."""
        if self.pii_salt:
            return self.pii_salt
        path = self.paths.secret / "pii_salt"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(16))
        return path.read_text().strip()


# name: (lowest, highest) accepted; the account settings' bounds, each checked with a one-line reason.
ACCESS_BOUNDS = {
    "password_min_length": (8, 128),
    "password_min_classes": (1, 4),
    "lockout_attempts": (1, 100),
    "lockout_minutes": (1, 24 * 60),
    "session_idle_minutes": (1, 24 * 60),
    "session_max_hours": (1, 24 * 7),
    "audit_retention_days": (AUDIT_MIN_RETENTION_DAYS, 365 * 30),
}


def _access_settings(pick) -> dict[str, int]:
    values = {}
    for name, (low, high) in ACCESS_BOUNDS.items():
        raw = pick(name, Settings.__dataclass_fields__[name].default)
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise SettingsError(f"COCKPIT_{name.upper()} must be a whole number, not {raw!r}") from None
        if not low <= value <= high:
            why = " (the Cybersecurity Law asks for six months of logs)" if name == "audit_retention_days" else ""
            raise SettingsError(f"COCKPIT_{name.upper()} must be between {low} and {high}, not {value}{why}")
        values[name] = value
    return values


def _flag(value) -> bool:
    """A yes/no setting from TOML (a bool) or the environment (1/0, true/false, yes/no, on/off)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"a yes/no setting must be true or false, not {value!r}")


def _sso_proxies(value) -> tuple[str, ...]:
    """The gateway addresses trusted to name the user: a list (TOML) or comma-separated text (environment)."""
    items = value.split(",") if isinstance(value, str) else list(value)
    proxies = tuple(str(each).strip() for each in items if str(each).strip())
    for each in proxies:
        try:
            ipaddress.ip_network(each, strict=False)
        except ValueError:
            raise SettingsError(f"COCKPIT_SSO_PROXIES: {each!r} is no IP address or network") from None
    return proxies
