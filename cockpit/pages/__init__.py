"""One module per page; each owns its layout and callbacks, with ids prefixed by the page name."""
