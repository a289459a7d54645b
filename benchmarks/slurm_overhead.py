"""Local profile vs Slurm profile wall time for the same workflow: the scheduler's overhead.

The stub workflow of the end-to-end tests (the whole DAG: forum threads, a Stack Exchange dump, a
problem table, solutions, answers, SFT, formal statements, proofs, evaluation; a scripted model,
so the numbers are about scheduling, not generation), run (a) with the local profile, then
through the running Slurm (`.ci/slurm.sh start`) with profiles/slurm + profiles/slurm-ci, (b)
without the profile's job grouping (every job its own sbatch job) and (c) as the profile is (short
jobs grouped), each from scratch in its own directory, in one run. Prints jobs, sbatch submissions
(a group job is one), wall seconds and the ratios to local.

    .venv/bin/python benchmarks/slurm_overhead.py [--grouping-only]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from conftest import STUB_WORKFLOW_SCRIPT, write_stub_workflow  # noqa: E402

from mathforge.inference.processes import free_port  # noqa: E402


def run(workdir: Path, *profile: str) -> tuple[float, int, int]:
    """Wall seconds, jobs and sbatch submissions (group jobs: one for all their jobs) of a run."""
    cmd = ["timeout", "-s", "KILL", "3600", sys.executable, "-m", "snakemake", "--snakefile",
           str(REPO / "Snakefile"), "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"),
           *profile]  # fmt: skip
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, start_new_session=True)
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"snakemake failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    output = proc.stdout + proc.stderr
    done = re.findall(r"(\d+) of (\d+) steps \(100%\) done", output)
    submissions = len(re.findall(r"has been submitted with SLURM jobid", output))
    return seconds, int(done[-1][1]) if done else 0, submissions


# The keys of profiles/slurm that group jobs: without them, every job is its own sbatch job.
GROUPING_KEYS = ("groups", "group-components", "resources", "set-resource-scopes")


def ungrouped_profile(directory: Path) -> Path:
    """profiles/slurm without its grouping keys, in `directory`."""
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    directory.mkdir()
    (directory / "config.yaml").write_text(
        yaml.safe_dump({k: v for k, v in profile.items() if k not in GROUPING_KEYS})
    )
    return directory


def profiles(tmp: Path, grouping_only: bool) -> dict[str, list[str]]:
    """{name: Snakemake's profile arguments} of the runs to compare."""
    ci = ["--workflow-profile", str(REPO / "profiles" / "slurm-ci")]
    runs = {"local": ["--profile", str(REPO / "profiles" / "local"), "--cores", "2"]}
    if not grouping_only:
        runs["ungrouped"] = ["--profile", str(ungrouped_profile(tmp / "ungrouped-profile")), *ci]
    runs["slurm"] = ["--profile", str(REPO / "profiles" / "slurm"), *ci]
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grouping-only", action="store_true", help="skip the ungrouped Slurm run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        port = free_port()
        (tmp / "stub.json").write_text(json.dumps(STUB_WORKFLOW_SCRIPT))
        stub = subprocess.Popen([sys.executable, "-m", "mathforge.inference.stub_server", "--port", str(port),
                                 "--script", str(tmp / "stub.json")])  # fmt: skip
        try:
            time.sleep(2)
            results = {}
            for name, profile in profiles(tmp, args.grouping_only).items():
                workdir = tmp / name
                workdir.mkdir()
                write_stub_workflow(workdir, f"http://127.0.0.1:{port}")
                results[name] = run(workdir, *profile)
                print(f"{name} done", file=sys.stderr)
        finally:
            stub.terminate()
            stub.wait()
    print(f"\n{'profile':>9} {'jobs':>6} {'sbatch':>7} {'wall s':>8} {'s/job':>7} {'/ local':>8}")
    for name, (seconds, jobs, submissions) in results.items():
        ratio = seconds / results["local"][0]
        print(
            f"{name:>9} {jobs:>6} {submissions:>7} {seconds:>8.1f} {seconds / max(jobs, 1):>7.2f} {ratio:>7.2f}x"
        )
    print(f"slurm / local wall time: {results['slurm'][0] / results['local'][0]:.2f}x (target <= 3x)")


if __name__ == "__main__":
    main()
