"""The demo source generator: landing extracts for a street calibrated on published figures, with injected dirt.

`generate()` is the one entry point (the `cockpit demo` command calls it). The
modules split the work by source family: street (grid hierarchy and
geometry), grid (base-data snapshots), tickets (four intake channels and the
dispatch lifecycle), visits, iot, approvals, enforcement and party; dirt
decides which faults to inject, manifest records them, writers make the bytes.
The demo street's identity (name, code, area) is street.toml (`DemoStreet`).
"""

from pipelines.demo.generator import generate
from pipelines.demo.profile import DemoStreet

__all__ = ["DemoStreet", "generate"]
