"""What a row records that a run measures rather than decides: wall times (of sandbox cells, model
requests and Lean checks) and the sandbox's leased uid. They differ between any two runs of the
same inputs, so comparing two runs' artifacts (a rerun with new data against a rebuild from
scratch) leaves them out."""

from __future__ import annotations

from typing import Any

MEASURED_KEYS = frozenset({"seconds", "latency_s", "lean_seconds"})
LEASED_UID_PREFIX = "uid:"  # an entry of `sandbox_isolation`


def decided(value: Any) -> Any:
    """`value` (rows, a row, or a nested field) without its measurements."""
    if isinstance(value, dict):
        return {k: decided(v) for k, v in value.items() if k not in MEASURED_KEYS}
    if isinstance(value, list):
        return [decided(v) for v in value if not (isinstance(v, str) and v.startswith(LEASED_UID_PREFIX))]
    return value
