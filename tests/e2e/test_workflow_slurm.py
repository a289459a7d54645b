"""The same workflow through a real Slurm (`.ci/slurm.sh start`: slurmctld, slurmd, slurmdbd,
munge, fake GPUs) with profiles/slurm + profiles/slurm-ci, against a local run: the artifacts
must be identical. Skipped where no Slurm answers, unless MATHFORGE_REQUIRE_SLURM=1 (CI).

Every Slurm run is under `timeout -s KILL`: executor-plugin failures show up as silent hangs.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import REPO, STUB_WORKFLOW_SCRIPT, require_slurm, run_snakemake, write_stub_workflow

from mathforge.config import load_config

pytestmark = pytest.mark.e2e

# Values that legitimately differ between two runs: timings and per-run paths.
VOLATILE_KEY = re.compile(r"seconds|latency|_s$|elapsed|time|duration|cpu_time|path|file$|log")


require_slurm()


def canonical(value):
    """`value` without volatile keys, as comparable JSON-like data."""
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in sorted(value.items()) if not VOLATILE_KEY.search(k)}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def artifacts(results) -> dict:
    out = {}
    for path in sorted(results.rglob("*")):
        rel = str(path.relative_to(results))
        if not path.is_file() or rel.startswith(".requests"):
            continue
        if path.suffix == ".parquet":
            out[rel] = canonical(pq.read_table(path).to_pylist())
        elif path.suffix == ".json":
            out[rel] = canonical(json.loads(path.read_text()))
        elif path.suffix in (".md", ".tsv"):
            out[rel] = path.read_text()
        else:
            out[rel] = "present"
    return out


def test_slurm_run_gives_the_local_artifacts(tmp_path, stub_server):
    server = stub_server(STUB_WORKFLOW_SCRIPT)
    local, slurm = tmp_path / "local", tmp_path / "slurm"
    local.mkdir()
    slurm.mkdir()
    run_snakemake(local, write_stub_workflow(local, server.base_url))
    config = write_stub_workflow(slurm, server.base_url)
    cmd = [
        "timeout", "-s", "KILL", "1200", sys.executable, "-m", "snakemake",
        "--snakefile", str(REPO / "Snakefile"), "--directory", str(slurm), "--configfile", str(config),
        "--profile", str(REPO / "profiles" / "slurm"), "--workflow-profile", str(REPO / "profiles" / "slurm-ci"),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, start_new_session=True)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"Slurm run failed ({proc.returncode}):\n{output[-6000:]}"
    # One sbatch per group job (log under logs/slurm/group_<group>_<its rules>/) or ungrouped job.
    submitted = re.findall(r"Job \S+ has been submitted with SLURM jobid (\d+) \(log: ([^)]*)\)", output)
    jobs = int(re.findall(r"\d+ of (\d+) steps \(100%\) done", output)[-1])
    assert jobs >= 30 and 5 <= len(submitted) <= jobs // 2, (jobs, len(submitted), output[-3000:])
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    groups = set(profile["groups"].values())
    gpu_rules = {
        rule for rule, res in profile["set-resources"].items() if res.get("slurm_partition") == "gpu"
    }
    gpu_groups = {group for rule, group in profile["groups"].items() if rule in gpu_rules}
    group_of = {slurm_id: [g for g in groups if f"/group_{g}_" in log] for slurm_id, log in submitted}
    group_of = {slurm_id: found[0] for slurm_id, found in group_of.items() if found}
    assert {"sources", "problems_llm", "decontam", "solutions_llm", "finish"} <= set(group_of.values()), (
        group_of
    )
    accounted = subprocess.run(
        ["sacct", "-n", "-X", "-P", "-o", "JobID,State,Partition,AllocCPUS,TimelimitRaw",
         "-j", ",".join(slurm_id for slurm_id, _ in submitted)],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    accounted = {line.split("|")[0]: line.split("|")[1:] for line in accounted}
    assert len(accounted) == len(submitted), accounted
    assert all(state == "COMPLETED" for state, *_ in accounted.values()), accounted
    for slurm_id, group in group_of.items():
        _, partition, cpus, minutes = accounted[slurm_id]
        # A group job goes to its jobs' partition: the CPU groups to cpu, the GPU chains to gpu.
        assert partition == ("gpu" if group in gpu_groups else "cpu"), (group, slurm_id, partition)
        if group == "sources":
            # Three one-thread ingests run one after another (`lane`): one CPU, their runtimes added.
            assert (cpus, int(minutes)) == ("1", 3 * load_config()["resources"]["cpu"]["runtime"])

    local_artifacts, slurm_artifacts = artifacts(local / "results" / "t"), artifacts(slurm / "results" / "t")
    assert sorted(slurm_artifacts) == sorted(local_artifacts)
    different = [k for k in local_artifacts if local_artifacts[k] != slurm_artifacts[k]]
    assert not different, different
    assert (slurm / "logs" / "slurm").is_dir()  # per-rule Slurm logs (slurm-logdir)
