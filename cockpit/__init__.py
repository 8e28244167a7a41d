"""街道数字驾驶舱: the Dash app, its metric catalog and its command line."""
