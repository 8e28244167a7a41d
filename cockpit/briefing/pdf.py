"""Print a briefing page to PDF with headless Chromium (Debian's `chromium`, driven by Playwright).

No browser is downloaded: Playwright launches the Chromium installed on the
machine (`chromium`, or the path in COCKPIT_CHROMIUM). The page is a local file;
with --disable-background-networking and no remote URL in it, printing needs no
network. A4 portrait; the header and footer (street, 内部资料, data date,
generation time, page N / M) are Chromium's print templates, so they appear on
every page.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import unicodedata
from functools import cache
from html import escape
from pathlib import Path

from pypdf import PdfReader, PdfWriter

from cockpit.briefing.content import Brief
from cockpit.briefing.document import render_html
from cockpit.components.format import format_time

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = [
    "--no-sandbox",  # root in a container; the page is our own file
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
RENDER_TIMEOUT_MS = 120_000
# The templates are drawn outside the page's own CSS: fonts and sizes are set inline.
_FONT = "font-family:'Noto Sans CJK SC','Noto Sans SC',sans-serif;font-size:8px;color:#52606d;"


class RenderError(RuntimeError):
    """The PDF could not be made; the message is one line."""


def find_chromium(configured: str | None = None) -> str:
    """The Chromium executable: `configured` (COCKPIT_CHROMIUM), else the first on PATH."""
    configured = configured or os.environ.get("COCKPIT_CHROMIUM")
    if configured:
        if Path(configured).exists():
            return configured
        raise RenderError(f"COCKPIT_CHROMIUM names a missing file: {configured}")
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise RenderError("no Chromium found: install the `chromium` package (apt-get install chromium fonts-noto-cjk)")


@cache
def _radical_map() -> dict[int, int]:
    """Radical code points → the ideographs that share their glyph in the CJK font printed with.

    Chromium prints Noto Sans CJK (CFF outlines) as Type 3 fonts whose text layer
    maps each glyph to its lowest code point: 金 comes out as the Kangxi radical ⾦,
    页 as ⻚, and searching or copying the PDF's text fails. The font's own cmap
    says which ideograph each radical stands for; Kangxi radicals fall back to NFKC.
    """
    mapping = {cp: ord(unicodedata.normalize("NFKC", chr(cp))) for cp in range(0x2F00, 0x2FD6)}
    try:
        found = subprocess.run(
            ["fc-match", "-f", "%{file}:%{index}", "Noto Sans CJK SC"], capture_output=True, text=True, timeout=10
        ).stdout
        path, _, index = found.rpartition(":")
        from fontTools.ttLib import TTFont

        font = TTFont(path, fontNumber=int(index or 0), lazy=True)
        by_glyph: dict[str, list[int]] = {}
        for code_point, glyph in font.getBestCmap().items():
            by_glyph.setdefault(glyph, []).append(code_point)
    except (OSError, ValueError, subprocess.SubprocessError):
        return mapping
    for code_points in by_glyph.values():
        ideographs = [cp for cp in code_points if 0x3400 <= cp <= 0x9FFF or 0x20000 <= cp <= 0x2FFFF]
        for cp in code_points:
            if ideographs and 0x2E80 <= cp <= 0x2FDF:
                mapping[cp] = ideographs[0]
    return mapping


_DESTINATION = re.compile(rb"(<[0-9A-Fa-f]{2,4}>\s*)<(2[EeFf][0-9A-Fa-f]{2})>")


def fix_text_layer(path: Path) -> int:
    """Rewrite the PDF's ToUnicode maps so radicals read as the ideographs printed; returns entries fixed."""
    mapping = _radical_map()
    fixed = 0

    def replace(match: re.Match) -> bytes:
        nonlocal fixed
        code_point = int(match.group(2), 16)
        target = mapping.get(code_point)
        if target is None:
            return match.group(0)
        fixed += 1
        return match.group(1) + f"<{target:04X}>".encode()

    writer = PdfWriter(clone_from=PdfReader(path))
    seen: set[int] = set()
    for page in writer.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            to_unicode = font.get("/ToUnicode")
            if to_unicode is None or id(to_unicode.get_object()) in seen:
                continue
            stream = to_unicode.get_object()
            seen.add(id(stream))
            stream.set_data(_DESTINATION.sub(replace, stream.get_data()))
    if fixed:
        with open(path, "wb") as handle:
            writer.write(handle)
    return fixed


def _header(brief: Brief) -> str:
    return (
        f'<div style="{_FONT}width:100%;margin:0 16mm;display:flex;justify-content:space-between;">'
        f'<span>{escape(brief.title)}</span><span style="color:#b71c1c;">内部资料</span></div>'
    )


def _footer(brief: Brief) -> str:
    demo = " · 演示数据" if brief.release.is_demo else ""
    facts = f"数据截至 {brief.release.data_through} · 生成于 {format_time(brief.generated_at)}{demo}"
    return (
        f'<div style="{_FONT}width:100%;margin:0 16mm;display:flex;justify-content:space-between;">'
        f"<span>{escape(facts)}</span>"
        '<span>第 <span class="pageNumber"></span> 页 / 共 <span class="totalPages"></span> 页</span></div>'
    )


def render_pdf(brief: Brief, out: Path, chromium: str | None = None) -> Path:
    """Write `brief` as a PDF at `out` (written to a temporary name first, then moved into place)."""
    executable = find_chromium(chromium)
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="brief-") as work:
        page_file = Path(work) / "brief.html"
        page_file.write_text(render_html(brief), encoding="utf-8")
        partial = out.with_name(f".{out.name}.part")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
                try:
                    page = browser.new_page()
                    page.goto(page_file.as_uri(), timeout=RENDER_TIMEOUT_MS)
                    page.wait_for_function("document.body.dataset.ready", timeout=RENDER_TIMEOUT_MS)
                    if page.evaluate("document.body.dataset.ready") != "1":
                        raise RenderError("a chart of the briefing failed to draw")
                    page.pdf(
                        path=str(partial),
                        format="A4",
                        print_background=True,
                        prefer_css_page_size=True,
                        display_header_footer=True,
                        header_template=_header(brief),
                        footer_template=_footer(brief),
                    )
                finally:
                    browser.close()
        except PlaywrightError as exc:
            partial.unlink(missing_ok=True)
            raise RenderError(f"Chromium could not print the briefing: {str(exc).splitlines()[0]}") from exc
        fix_text_layer(partial)
        partial.replace(out)
    return out
