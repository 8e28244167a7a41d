"""Configuration in one place: COCKPIT_* environment variables over an optional TOML file.

Read once by the CLI (or the app factory) and passed down; nothing else reads
the environment. The file is $COCKPIT_CONFIG, else $COCKPIT_HOME/cockpit.toml.
The street the cockpit serves (its names, code, area and map centre) is its
`[street]` table, with COCKPIT_STREET_* variables over it.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

from cockpit.i18n import romanise
from warehouse.paths import Home

# The demo street's surroundings (Suzhou and its neighbours); another street configures its own.
DEFAULT_AREA = (119.0, 30.0, 122.0, 33.0)
# Rows an export may hold: one Excel sheet's 1,048,576 rows less the header block above the records.
EXCEL_MAX_ROWS = 1_048_576 - 20
# The Cybersecurity Law (网络安全法 art. 21) asks for network logs kept at least six months.
AUDIT_MIN_RETENTION_DAYS = 180


def parse_area(value, setting: str = "COCKPIT_AREA") -> tuple[float, float, float, float]:
    """'minlon,minlat,maxlon,maxlat' (or a list of four numbers) → a checked lon/lat box."""
    parts = value.split(",") if isinstance(value, str) else list(value)
    try:
        box = tuple(float(p) for p in parts)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{setting} must be four numbers min_lon,min_lat,max_lon,max_lat: {value!r}") from exc
    if len(box) != 4 or not (-180 <= box[0] < box[2] <= 180 and -90 <= box[1] < box[3] <= 90):
        raise SettingsError(f"{setting} must be min_lon,min_lat,max_lon,max_lat in degrees, not {value!r}")
    return box


def parse_centre(value, setting: str) -> tuple[float, float]:
    """'lon,lat' (or a list of two numbers) → a checked point in degrees."""
    parts = value.split(",") if isinstance(value, str) else list(value)
    try:
        point = tuple(float(p) for p in parts)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{setting} must be two numbers lon,lat: {value!r}") from exc
    if len(point) != 2 or not (-180 <= point[0] <= 180 and -90 <= point[1] <= 90):
        raise SettingsError(f"{setting} must be lon,lat in degrees, not {value!r}")
    return point


def outline_area(path: Path, crs: str | None, setting: str) -> tuple[float, float, float, float]:
    """The lon/lat box around a boundary file's polygons (GeoJSON or Esri JSON; projected files need `crs`)."""
    # Imported here: PROJ and GEOS take a third of a second to load, and most homes configure a box.
    from pipelines.geometry import (
        GeometryError,
        crs_from_document,
        features_from_document,
        polygon_shape,
        reproject_geometry,
    )

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"{setting} names a missing file: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SettingsError(f"{setting}: {path} is not a readable JSON boundary file ({exc})") from None
    try:
        system = crs or crs_from_document(document)
        outlines = [
            polygon_shape(reproject_geometry(feature["geometry"], system))
            for feature in features_from_document(document)
            if feature.get("geometry") is not None
        ]
    except GeometryError as exc:
        raise SettingsError(f"{setting}: {path}: {exc}") from None
    if not outlines:
        raise SettingsError(f"{setting}: {path} holds no polygon")
    bounds = [outline.bounds for outline in outlines]
    box = (min(b[0] for b in bounds), min(b[1] for b in bounds), max(b[2] for b in bounds), max(b[3] for b in bounds))
    if not (-180 <= box[0] < box[2] <= 180 and -90 <= box[1] < box[3] <= 90):
        raise SettingsError(
            f"{setting}: {path} is not in lon/lat (projected metres?): name its system in street.outline_crs"
        )
    return box


class SettingsError(ValueError):
    """A setting that cannot be used; the message is one line."""


# 统计用区划代码: 6 digits for a county, 9 for a street or town, 12 for a neighbourhood committee (or a street's
# code padded with 000).
ADMIN_CODE_LENGTHS = (6, 9, 12)
# The [street] table's keys, each also COCKPIT_STREET_<KEY>.
STREET_KEYS = ("name", "name_en", "short_name", "admin_code", "area", "outline", "outline_crs", "centre")


@dataclass(frozen=True)
class Street:
    """Who the cockpit serves: the street's names and code, shown on every screen, the wall and the briefs.

    An unconfigured street has empty names: screens then show a neutral title, never another street's.
    """

    name: str = ""  # 中文, e.g. 某某街道
    name_en: str = ""  # default: the Chinese name romanised (斜塘街道 → Xietang Street)
    short_name: str = ""  # default: the name without 街道
    admin_code: str = ""  # 统计用区划代码, 6, 9 or 12 digits
    # The street map's centre (lon, lat) when set; unset, the map centres on the polygons it draws.
    centre: tuple[float, float] | None = None

    @property
    def configured(self) -> bool:
        return bool(self.name)

    def label(self, lang: str = "zh") -> str:
        """The street's name as a reader of `lang` reads it (empty when unconfigured)."""
        return self.name_en if lang == "en" and self.name_en else self.name


@dataclass(frozen=True)
class Settings:
    home: Path
    keep_releases: int = 7
    extra_mappings: tuple[Path, ...] = ()
    stale_after_hours: int = 26
    pii_salt: str | None = None
    # The nightly build's DuckDB memory cap; the app shares the machine. The process's peak is about 0.6 GiB
    # over it (Python, Arrow): a district's full year peaked at 6.24 GiB under 6GB, 5.52 GiB under 5GB.
    build_memory: str = "5GB"
    # A nightly build starts from the current release; one build in this many days starts from scratch (0: always).
    full_build_every_days: int = 7
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
    street: Street = Street()  # the [street] table: its names title every screen, the wall and the briefs
    config_file: Path | None = None  # the file these settings were read from (or would be: it may not exist yet)

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
        build_memory = str(pick("build_memory", cls.build_memory)).strip()
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
        street, area = _street_settings(env, config, config_path.parent)
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
                full_build_every_days=max(0, int(pick("full_build_every_days", 7))),
                map_tiles=pick("map_tiles", None) or None,
                chromium=pick("chromium", None) or None,
                area=area,
                export_direct_rows=direct_rows,
                export_max_rows=max_rows,
                sso_header=pick("sso_header", None) or None,
                sso_proxies=_sso_proxies(pick("sso_proxies", ())),
                session_cookie_secure=_flag(pick("session_cookie_secure", False)),
                watermark=_flag(pick("watermark", True)),
                street=street,
                config_file=config_path,
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


def _street_settings(env: dict[str, str], config: dict, folder: Path) -> tuple[Street, tuple[float, ...]]:
    """The [street] table (COCKPIT_STREET_* over it) and the area its outline or box gives.

    The area is, first found: the street's outline file or box (environment, then file), then the
    older top-level `area` / COCKPIT_AREA, then DEFAULT_AREA.
    """
    table = config.get("street", {})
    if not isinstance(table, dict):
        raise SettingsError('street in cockpit.toml must be a table: [street] name = "…街道"')
    unknown = sorted(set(table) - set(STREET_KEYS))
    if unknown:
        raise SettingsError(f"[street] has unknown key(s) {', '.join(unknown)}: use {', '.join(STREET_KEYS)}")

    def setting(key: str) -> str:
        return f"COCKPIT_STREET_{key.upper()}" if f"COCKPIT_STREET_{key.upper()}" in env else f"street.{key}"

    def text(key: str) -> str:
        value = env.get(f"COCKPIT_STREET_{key.upper()}", table.get(key, ""))
        if not isinstance(value, str):
            raise SettingsError(f"{setting(key)} must be text, not {value!r}")
        if "\n" in value or "\r" in value:
            raise SettingsError(f"{setting(key)} must be one line")
        return value.strip()

    name, admin_code = text("name"), text("admin_code")
    if admin_code and not (admin_code.isascii() and admin_code.isdigit() and len(admin_code) in ADMIN_CODE_LENGTHS):
        raise SettingsError(f"{setting('admin_code')} must be 6, 9 or 12 digits (统计用区划代码), not {admin_code!r}")
    area = _street_area(env, config, table, folder, setting)
    centre_value = env.get("COCKPIT_STREET_CENTRE", table.get("centre"))
    centre = None
    if centre_value not in (None, ""):
        centre = parse_centre(centre_value, setting("centre"))
        if not (area[0] <= centre[0] <= area[2] and area[1] <= centre[1] <= area[3]):
            raise SettingsError(f"{setting('centre')} {centre} lies outside the street's area {area}")
    street = Street(
        name=name,
        name_en=text("name_en") or romanise(name),
        short_name=text("short_name") or name.removesuffix("街道"),
        admin_code=admin_code,
        centre=centre,
    )
    return street, area


def _street_area(env, config, table: dict, folder: Path, setting) -> tuple[float, float, float, float]:
    crs = env.get("COCKPIT_STREET_OUTLINE_CRS", table.get("outline_crs")) or None
    if crs is not None and not isinstance(crs, str):
        raise SettingsError(f"{setting('outline_crs')} must be text like EPSG:4549, not {crs!r}")
    # The environment over the file; in each, the street's own keys over the older top-level area.
    layers = (
        (env.get("COCKPIT_STREET_OUTLINE"), env.get("COCKPIT_STREET_AREA"), Path.cwd()),
        (None, env.get("COCKPIT_AREA"), None),
        (table.get("outline"), table.get("area"), folder),
        (None, config.get("area"), None),
    )
    for index, (outline, box, relative_to) in enumerate(layers):
        if outline and box:
            raise SettingsError(f"set either {setting('outline')} or {setting('area')}, not both")
        if outline:
            if not isinstance(outline, str):
                raise SettingsError(f"{setting('outline')} must be a file path, not {outline!r}")
            return outline_area((relative_to / Path(outline).expanduser()).resolve(), crs, setting("outline"))
        if box:
            return parse_area(box, ("COCKPIT_STREET_AREA", "COCKPIT_AREA", "street.area", "area")[index])
    return DEFAULT_AREA


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
