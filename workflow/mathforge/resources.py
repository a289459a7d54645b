"""Job resources sized by the job's input: `mem_mb` and `runtime` grow with the input's size and with
each retry, above a floor, so a job at a million threads asks Slurm for what it uses (a fixed
request is either wasted at small N or OOM-killed at large N).

A family's (`resources.<family>` in the config) `mem_mb` and `runtime` are floors: what a job needs
with no data (the interpreter, its libraries, a model server). On top of them come
`mem_mb_per_input_mb` and `runtime_per_input_mb` times the MB of the job's input files (Snakemake's
`input.size_mb`), then `retry_growth` per earlier attempt (a job killed for memory or time is
resubmitted with more when Snakemake runs with `--retries`), capped at `max_mem_mb` / `max_runtime`
(a node's memory, a partition's time limit) but never below the floor. A model's own `resources`
(the models map) replace the floors, as they did before these were sized.

Input files not made yet count as 0 MB (the job is sized by the input that exists, the floor if
none): Snakemake sizes a job again once its input is there, before submitting it, except inside a
group job (profiles/slurm `groups`), whose resources it adds up at submission, when a member's input
is still to be made by an earlier member. Left unsized, that member would drop out of the group's
summed runtime and max memory; at its floor it counts.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

SIZED = {"mem_mb": ("mem_mb_per_input_mb", "max_mem_mb"), "runtime": ("runtime_per_input_mb", "max_runtime")}


def sized_amount(
    floor: int, per_input_mb: float, input_mb: float, attempt: int, growth: float, cap: int | None
) -> int:
    """`floor` plus `per_input_mb` per MB of input, times `growth` per retry, within [floor, cap]."""
    amount = round((floor + per_input_mb * input_mb) * growth ** (max(attempt, 1) - 1))
    if cap is not None:
        amount = min(amount, cap)
    return max(amount, floor)


def sizing(family: dict, floors: dict) -> dict[str, dict[str, Any]]:
    """{resource: its floor, per-MB factor, growth and cap} for `mem_mb` and `runtime`: the family's
    factors with `floors` (the family's, or a model's overrides of them)."""
    return {
        name: {
            "floor": floors[name],
            "per_input_mb": family[per_mb],
            "growth": family["retry_growth"],
            "cap": family[cap],
        }
        for name, (per_mb, cap) in SIZED.items()
    }


def input_mb(input: Any) -> float:
    """MB of the job's input files that exist: Snakemake's `input.size_mb` sum (MB per file, in
    the input's order), without its cost for local files (it starts an event loop per call, and a
    dry run sizes every job twice). A file not made yet counts as nothing: in a group job a
    member's input is made by an earlier member after Snakemake sized the group, and the member
    must count at its floor, not drop out of the group's sums. Storage files and broken symlinks
    are left to Snakemake (its remote sizes and its error)."""
    sizes = []
    for name in input:
        if getattr(name, "is_storage", False) or (os.path.lexists(name) and not os.path.exists(name)):
            return input.size_mb
        if os.path.exists(name):
            sizes.append(os.path.getsize(name))
    return sum(size / 1024 / 1024 for size in sizes)


def input_sized(floor: int, per_input_mb: float, growth: float, cap: int | None) -> Callable[..., int]:
    """A Snakemake resource callable: the amount for the job's input files and attempt."""

    def amount(wildcards, input, attempt):  # Snakemake passes its arguments by these names
        return sized_amount(floor, per_input_mb, input_mb(input), attempt, growth, cap)

    return amount


def job_resources(family: dict, floors: dict) -> dict[str, Any]:
    """The `resources:` of a rule: `gpu` as `floors` gives it, `mem_mb` and `runtime` sized by input."""
    sized = {name: input_sized(**terms) for name, terms in sizing(family, floors).items()}
    return {**sized, "gpu": floors["gpu"]}


def wildcard_sized(family: dict, floors_of: Callable[[Any], dict], name: str) -> Callable[..., Any]:
    """A resource callable for jobs whose floors depend on their wildcards (the evaluated model's
    resources): `name` (mem_mb, runtime or gpu) for the job's input and attempt."""

    def amount(wildcards, input, attempt):  # Snakemake passes its arguments by these names
        floors = floors_of(wildcards)
        if name not in SIZED:
            return floors[name]
        return sized_amount(input_mb=input_mb(input), attempt=attempt, **sizing(family, floors)[name])

    return amount
