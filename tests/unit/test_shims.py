"""The shims are thin and read only their rule's params: no shim sees the whole config."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SCRIPTS = sorted((Path(__file__).resolve().parents[2] / "scripts").glob("*.py"))


@pytest.mark.parametrize("shim", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_a_shim_hands_its_stage_the_declared_params_never_the_config(shim):
    tree = ast.parse(shim.read_text())
    reads = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "config"]
    assert not reads, (
        f"{shim.name} reads snakemake.config (line {reads[0].lineno}): pass stage_config(snakemake)"
    )
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        for kw in call.keywords:
            if kw.arg == "cfg":
                assert ast.unparse(kw.value) == "stage_config(snakemake)", (
                    f"{shim.name}: cfg={ast.unparse(kw.value)}"
                )


def test_shims_stay_short():
    long = {p.name: n for p in SCRIPTS if (n := len(p.read_text().splitlines())) > 40}
    assert not long, f"logic belongs in the package, not in these shims: {long}"
