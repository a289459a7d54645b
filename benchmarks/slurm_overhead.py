"""Local profile vs Slurm profile wall time for the same workflow: the scheduler's overhead.

The stub workflow of the end-to-end tests (the whole DAG: forum threads, a Stack Exchange dump, a
problem table, solutions, answers, SFT, formal statements, proofs, evaluation; a scripted model,
so the numbers are about scheduling, not generation), run (a) with the local profile and (b)
through the running Slurm (`.ci/slurm.sh start`) with profiles/slurm + profiles/slurm-ci, each
from scratch in its own directory, in one run. Prints jobs, wall seconds and the ratio.

    .venv/bin/python benchmarks/slurm_overhead.py
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from conftest import STUB_WORKFLOW_SCRIPT, write_stub_workflow  # noqa: E402

from mathforge.inference.processes import free_port  # noqa: E402


def run(workdir: Path, *profile: str) -> tuple[float, int]:
    cmd = ["timeout", "-s", "KILL", "3600", sys.executable, "-m", "snakemake", "--snakefile",
           str(REPO / "Snakefile"), "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"),
           *profile]  # fmt: skip
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, start_new_session=True)
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"snakemake failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    done = re.findall(r"(\d+) of (\d+) steps \(100%\) done", proc.stdout + proc.stderr)
    return seconds, int(done[-1][1]) if done else 0


def main() -> None:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        port = free_port()
        (tmp / "stub.json").write_text(json.dumps(STUB_WORKFLOW_SCRIPT))
        stub = subprocess.Popen([sys.executable, "-m", "mathforge.inference.stub_server", "--port", str(port),
                                 "--script", str(tmp / "stub.json")])  # fmt: skip
        try:
            time.sleep(2)
            results = {}
            for name, profile in (
                ("local", ["--profile", str(REPO / "profiles" / "local"), "--cores", "2"]),
                ("slurm", ["--profile", str(REPO / "profiles" / "slurm"),
                           "--workflow-profile", str(REPO / "profiles" / "slurm-ci")]),
            ):  # fmt: skip
                workdir = tmp / name
                workdir.mkdir()
                write_stub_workflow(workdir, f"http://127.0.0.1:{port}")
                results[name] = run(workdir, *profile)
                print(f"{name} done", file=sys.stderr)
        finally:
            stub.terminate()
            stub.wait()
    print(f"\n{'profile':>8} {'jobs':>6} {'wall s':>8} {'s/job':>7}")
    for name, (seconds, jobs) in results.items():
        print(f"{name:>8} {jobs:>6} {seconds:>8.1f} {seconds / max(jobs, 1):>7.2f}")
    print(f"slurm / local wall time: {results['slurm'][0] / results['local'][0]:.2f}x")


if __name__ == "__main__":
    main()
