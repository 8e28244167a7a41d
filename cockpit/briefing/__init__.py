"""Briefings (简报): a dated PDF of the street's numbers, from the metric catalog.

content.py decides what a briefing says, document.py lays it out as a
print-styled HTML page, pdf.py prints that page with headless Chromium and
jobs.py runs it in the background for the app and keeps the list of briefs.
"""

from cockpit.briefing.content import SECTIONS, Brief, BriefSpec, NoData, collect
from cockpit.briefing.pdf import RenderError, find_chromium, render_pdf

__all__ = ["SECTIONS", "Brief", "BriefSpec", "NoData", "RenderError", "collect", "find_chromium", "render_pdf"]
