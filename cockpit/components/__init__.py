"""Building blocks shared by every page, the wall and the briefing: pure functions from data to Dash/Plotly."""
