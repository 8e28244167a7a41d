"""The demo source generator: landing extracts for a street calibrated on 金鸡湖街道, with injected dirt.

`generate()` is the one entry point (the `cockpit demo` command calls it). The
modules split the work by source family: street (grid hierarchy and
geometry), grid (base-data snapshots), tickets (four intake channels and the
dispatch lifecycle), visits, iot, approvals, enforcement and party; dirt
decides which faults to inject, manifest records them, writers make the bytes.
"""

from pipelines.demo.generator import generate

__all__ = ["generate"]
