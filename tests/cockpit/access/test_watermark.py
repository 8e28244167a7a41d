"""The screen watermark: one element whose mask is an SVG tile naming the reader, whatever the name holds."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from datetime import date

import pytest

from cockpit.access.accounts import Scope, ScopeKind
from cockpit.access.principal import Principal, PrincipalKind
from cockpit.access.web import watermark

SVG = "{http://www.w3.org/2000/svg}"


def _principal(display_name: str) -> Principal:
    kind, street = PrincipalKind.USER, Scope(ScopeKind.STREET)
    return Principal(name="probe", display_name=display_name, kind=kind, permissions=frozenset(), scope=street)


def _tile(div) -> ET.Element:
    masks = {div.style["maskImage"], div.style["WebkitMaskImage"]}
    assert len(masks) == 1
    (css,) = masks
    match = re.fullmatch(r'url\("data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"\)', css)
    assert match, css
    return ET.fromstring(base64.b64decode(match.group(1)))


@pytest.mark.parametrize(
    "name",
    [
        "王小明",
        "</text><script>alert(1)</script><text>",
        'a"); background: url(http://evil.example/x.png',
        "&amp; ]]> <!-- --> \u202e",
    ],
)
def test_the_tile_names_the_reader_and_nothing_escapes(name):
    div = watermark(_principal(name), "zh")
    tile = _tile(div)
    texts = tile.findall(f".//{SVG}text")
    assert len(texts) == 1
    shown = "".join(texts[0].itertext())
    assert shown == f"{name} (probe) {date.today():%Y-%m-%d}"
    assert shown == getattr(div, "data-text")
    # Only the text and the SVG itself: no element came in with the name.
    assert [element.tag for element in tile.iter()] == [f"{SVG}svg", f"{SVG}text"]
    assert div.children is None or div.children == []


def test_a_longer_name_gets_a_wider_tile_so_copies_do_not_overlap():
    short = _tile(watermark(_principal("王"), "zh"))
    long = _tile(watermark(_principal("王" * 20), "zh"))
    assert float(long.get("width")) > float(short.get("width")) + 100
    # Wide (CJK) characters take more room than narrow ones.
    latin = _tile(watermark(_principal("w" * 20), "zh"))
    assert float(long.get("width")) > float(latin.get("width"))
