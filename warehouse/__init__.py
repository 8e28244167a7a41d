"""The warehouse: SQL models that turn the lake into a release of marts, and the checks on them."""
