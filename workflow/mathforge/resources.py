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


def made_input_mb(input) -> float:
    """MB of the job's input files that exist (Snakemake's `input.size_mb` when all do)."""
    made = [f for f in input if os.path.exists(f)]
    if len(made) == len(input):
        return input.size_mb
    return sum(os.path.getsize(f) for f in made) / 2**20


def input_sized(floor: int, per_input_mb: float, growth: float, cap: int | None) -> Callable[..., int]:
    """A Snakemake resource callable: the amount for the job's input files and attempt."""

    def amount(wildcards, input, attempt):  # Snakemake passes its arguments by these names
        return sized_amount(floor, per_input_mb, made_input_mb(input), attempt, growth, cap)

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
        return sized_amount(input_mb=made_input_mb(input), attempt=attempt, **sizing(family, floors)[name])

    return amount
