"""Job resources sized by input, as Snakemake plans them: a dry run of the demo with a large input
file gives that job more memory and runtime than the floor, and a small one the floor; an LLM job's
floor is its model's own `resources.mem_mb` (issue 22 item 5)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import REPO, run_snakemake

from mathforge.config import load_config

pytestmark = pytest.mark.e2e

MB = 2**20


def planned(dry_run: str) -> dict[str, dict]:
    """{first output: {"input": [files], "resources": {name: value}}} of each job a dry run prints."""
    jobs = {}
    for block in re.split(r"\n(?=\[[^\]]+\]\n(?:local)?rule )", dry_run):
        out, inp, res = (re.search(rf"\n\s+{k}: (.*)", block) for k in ("output", "input", "resources"))
        if out and res:
            values = dict(kv.split("=", 1) for kv in res.group(1).split(", "))
            jobs[out.group(1).split(", ")[0]] = {
                "input": inp.group(1).split(", ") if inp else [],
                "resources": values,
            }
    return jobs


def grow(path: Path, size_mb: int) -> None:
    """`path` extended to `size_mb` (a sparse tail: a dry run only asks for the size)."""
    os.truncate(path, size_mb * MB)


def expected(family: dict, floor: int, workdir: Path, files: list[str]) -> tuple[int, int]:
    size = sum(os.path.getsize(workdir / f) for f in files) / MB
    mem = round(floor + family["mem_mb_per_input_mb"] * size)
    return mem, round(family["runtime"] + family["runtime_per_input_mb"] * size)


def test_a_larger_input_gets_more_memory_and_runtime_than_the_floor(tmp_path):
    shutil.copytree(REPO / "config" / "demo", tmp_path / "config" / "demo")
    demo = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    demo["models"]["default"]["resources"] = {"mem_mb": 20000}  # the extraction model's own floor
    configfile = tmp_path / "demo.yaml"
    configfile.write_text(yaml.safe_dump(demo))
    grow(tmp_path / "config" / "demo" / "forum_threads.jsonl", 64)
    raw = tmp_path / "results" / "demo" / "problems" / "demo_forum"
    raw.mkdir(parents=True)
    (raw / "raw.summary.json").write_text("{}")
    (raw / "raw.parquet").touch()
    grow(raw / "raw.parquet", 32)  # made after its source: ingest_forum of demo_forum is done
    targets = [
        "results/demo/problems/demo_se/raw.parquet",
        "results/demo/problems/demo_forum/extracted/shard-0.parquet",
        "results/demo/problems/demo_forum/raw.parquet",
    ]
    out = run_snakemake(tmp_path, configfile, "-n", *targets[:2]).output
    forced = run_snakemake(tmp_path, configfile, "-n", "--forcerun", "ingest_forum", targets[2]).output
    jobs = {**planned(out), **planned(forced)}
    cfg = load_config(REPO / "config" / "config.yaml", configfile)
    cpu, llm = cfg["resources"]["cpu"], cfg["resources"]["llm"]

    small = jobs[targets[0]]["resources"]
    assert (int(small["mem_mb"]), int(small["runtime"])) == (cpu["mem_mb"], cpu["runtime"])  # the floor

    big = jobs[targets[2]]
    assert expected(cpu, cpu["mem_mb"], tmp_path, big["input"]) == (5280, 66)  # 64 MB of JSONL
    assert (int(big["resources"]["mem_mb"]), int(big["resources"]["runtime"])) == (5280, 66)

    extract = jobs[targets[1]]
    mem, runtime = expected(llm, 20000, tmp_path, extract["input"])
    assert mem >= 20000 + 32 * llm["mem_mb_per_input_mb"]  # the model's floor + 32 MB of Parquet
    assert (int(extract["resources"]["mem_mb"]), int(extract["resources"]["runtime"])) == (mem, runtime)
