"""Job resources sized by input (mathforge.resources): floors, per-MB factors, retry growth, caps."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from mathforge.config import load_config
from mathforge.inference.models import stage_resources
from mathforge.resources import input_mb, job_resources, sized_amount, wildcard_sized

FAMILY = {
    "threads": 1, "mem_mb": 4000, "runtime": 60, "gpu": 0, "mem_mb_per_input_mb": 16,
    "runtime_per_input_mb": 0.1, "retry_growth": 1.5, "max_mem_mb": None, "max_runtime": None,
}  # fmt: skip


MB = 2**20


class Input(list):
    """What Snakemake passes as `input`: its files, and their size by Snakemake's own accounting
    (only storage files and broken symlinks may ask for it: it starts an event loop per call)."""

    def __init__(self, files, size_mb=None):
        super().__init__(files)
        self._size_mb = size_mb

    @property
    def size_mb(self):
        if self._size_mb is None:
            raise AssertionError("input.size_mb read for local files")
        return self._size_mb


@pytest.fixture
def job(tmp_path):
    """A job's `input`: one file of `mb` MB (sparse: only its size is read)."""

    def make(mb: float) -> Input:
        path = tmp_path / f"input-{len(list(tmp_path.iterdir()))}"
        path.touch()
        os.truncate(path, int(mb * MB))
        return Input([str(path)])

    return make


def test_memory_is_the_floor_plus_the_factor_times_the_input(job):
    mem = job_resources(FAMILY, FAMILY)["mem_mb"]
    assert mem(None, job(0), 1) == 4000
    assert mem(None, job(1000), 1) == 4000 + 16 * 1000
    assert mem(None, job(0.01), 1) == 4000  # a tiny input rounds to the floor


def test_runtime_grows_with_the_input_and_gpu_is_fixed(job):
    res = job_resources(FAMILY, {**FAMILY, "gpu": 2})
    assert res["runtime"](None, job(600), 1) == 60 + 60
    assert res["gpu"] == 2


def test_input_still_to_be_made_counts_as_nothing(tmp_path):
    # In a group job a member's input is made by an earlier member after Snakemake sized the
    # group: the member must count at its floor (plus the input that is there), not fail or
    # drop out of the group's sums.
    made = tmp_path / "made.parquet"
    made.write_bytes(b"x" * 2**20)
    res = job_resources(FAMILY, FAMILY)
    both = Input([str(made), str(tmp_path / "to_be_made.parquet")])
    assert res["mem_mb"](None, both, 1) == 4000 + 16
    assert res["runtime"](None, Input([str(tmp_path / "to_be_made.parquet")]), 1) == 60
    amount = wildcard_sized(FAMILY, lambda wc: {"mem_mb": 10_000, "runtime": 60, "gpu": 4}, "mem_mb")
    assert amount(SimpleNamespace(model="big"), both, 1) == 10_000 + 16


def test_each_retry_asks_for_more(job):
    mem = job_resources(FAMILY, FAMILY)["mem_mb"]
    first, second, third = (mem(None, job(100), attempt) for attempt in (1, 2, 3))
    assert (first, second, third) == (5600, 8400, 12600)


def test_a_cap_bounds_the_request_but_never_below_the_floor():
    assert sized_amount(4000, 16, 10_000, 1, 1.5, 64_000) == 64_000
    assert sized_amount(4000, 16, 10_000, 1, 1.5, 2000) == 4000
    assert sized_amount(4000, 16, 10, 1, 1.5, None) == 4160


def test_a_model_of_its_own_replaces_the_floor_and_keeps_the_family_factors(job):
    cfg = load_config(overrides={"models": {"big": {"backend": "vllm", "model": "m", "resources": {"mem_mb": 128000}}},
                             "proofs": {"model": "big"}})  # fmt: skip
    floors = stage_resources(cfg, "proofs", "llm")
    mem = job_resources(cfg["resources"]["llm"], floors)["mem_mb"]
    per_mb = cfg["resources"]["llm"]["mem_mb_per_input_mb"]
    assert mem(None, job(0), 1) == 128000
    assert mem(None, job(100), 1) == 128000 + 100 * per_mb


@pytest.mark.parametrize("name,expected", [("mem_mb", 10_000 + 16 * 50), ("runtime", 65), ("gpu", 4)])
def test_floors_from_the_wildcards_are_sized_by_the_job_input(name, expected, job):
    floors = {"big": {"mem_mb": 10_000, "runtime": 60, "gpu": 4}}
    amount = wildcard_sized(FAMILY, lambda wc: floors[wc.model], name)
    assert amount(SimpleNamespace(model="big"), job(50), 1) == expected


def test_every_family_has_factors_by_default():
    cfg = load_config(overrides={"resources": {"cpu": {"mem_mb": 2000}}})
    for family in ("llm", "cpu", "embed", "solutions"):
        res = cfg["resources"][family]
        assert res["mem_mb_per_input_mb"] > 0 and res["runtime_per_input_mb"] > 0, family
        assert res["retry_growth"] >= 1
    assert cfg["resources"]["cpu"]["mem_mb"] == 2000 and cfg["resources"]["cpu"]["mem_mb_per_input_mb"] == 20


def test_input_mb_is_snakemakes_sum_of_the_files_in_mb(tmp_path):
    sizes = [3 * MB + 17, 0, 12345]
    files = []
    for k, size in enumerate(sizes):
        files.append(tmp_path / f"f{k}")
        files[-1].write_bytes(b"x" * size)
    # Snakemake's size_mb: each file's bytes / 1024 / 1024, summed in the input's order
    assert input_mb(Input([str(f) for f in files])) == sum(s / 1024 / 1024 for s in sizes)


def test_storage_files_and_broken_symlinks_are_left_to_snakemake(tmp_path):
    class StorageFile(str):
        is_storage = True

    assert input_mb(Input([StorageFile("s3://bucket/key")], size_mb=7.5)) == 7.5
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    assert input_mb(Input([str(tmp_path / "dangling")], size_mb=1.25)) == 1.25
