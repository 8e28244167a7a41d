"""Fixtures the app's tests share."""

from __future__ import annotations

import pytest

import cockpit.components.board as board_module


@pytest.fixture
def renders(monkeypatch) -> list[str]:
    """The ids of the boards rendered (not served from the cache) while the test runs."""
    rendered: list[str] = []
    real = board_module.render_board

    def counting(board, view, lang, theme):
        rendered.append(board.id)
        return real(board, view, lang, theme)

    monkeypatch.setattr(board_module, "render_board", counting)
    return rendered
