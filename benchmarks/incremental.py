"""Incremental rebuilds and DAG planning, measured with real Snakemake in one run.

(1) Requests after adding new threads: a finished run on --threads synthetic forum threads (each
    its own problem: "Compute k+k"), then --new-percent more threads are appended and the
    workflow rerun. Requests the rerun sent / requests a full rerun from scratch sends (the
    first run's count), target <= 1.5% at 1% new threads. Counted at the scripted stub server.
(2) `snakemake -n` wall time on synthetic configs of --shards shards per stage (sources, solutions
    and formal shards alike), from nothing planned to every job planned, and how it grows;
    target < 10 s at 1,000 shards. Each is timed as users run it (`-n`, which prints every job)
    and quiet (`-n -q`), next to Snakemake's own floor: a chain of three one-line `script:` rules
    planned for the same number of jobs, so the ratio is what mathforge's rules add per job; and a
    shaped floor: the same jobs with mathforge's files per job (3 outputs, 4 produced inputs, 2
    prompt files) and the log/benchmark/conda/params/resources every rule must declare, as
    constants, planned `-n -q` and `-n`, so that ratio is what mathforge's own code adds. One
    more config has --solutions-at-scale S:F: S solutions shards, F forum and formal shards (the
    scale where generation, 16 solutions per problem, is what is split finest).
(3) A no-op invocation on the finished run of (1): `snakemake -n` when everything is done; and on
    the last config of (2) with every output it planned created (no Snakemake metadata).

    .venv/bin/python benchmarks/incremental.py [--threads 200] [--new-percent 1] [--shards 10,100,1000]
        [--solutions-at-scale 1000:64] [--planning-only] [--baseline DIR] [--repeat 1]

    --planning-only runs (2) alone (no finished run, no no-op timings): a few minutes.
    --baseline DIR also plans (2) with the Snakefile of DIR, another checkout (`git archive <commit> |
    tar -x -C DIR`), and prints its table first: before and after from one run.
    --repeat K times every planning variant K times, interleaved, and keeps the least wall and CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SCRIPT = {
    "rules": [
        {"contains": "Forum post:\n", "reply": "Problem 1: {echo}"},
        {"contains": "Problem: Compute", "reply": "\\boxed{2}"},
    ],
    "default_reply": "no",
}


class Seconds(float):
    """A run's wall seconds, with its CPU seconds (user + system) as `.cpu`: on a machine shared
    with other work, wall time varies by tens of percent between identical runs, CPU much less."""

    cpu: float


def snakemake(
    workdir: Path, *args: str, snakefile: Path = REPO / "Snakefile"
) -> tuple[Seconds, subprocess.CompletedProcess]:
    """Snakemake on `snakefile` in `workdir` (its config.yaml, if it has one), timed; failures end the run."""
    configfile = workdir / "config.yaml"
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile), "--directory", str(workdir),
           *(["--configfile", str(configfile)] if configfile.exists() else []), "--cores", "2", *args]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = Seconds(time.monotonic() - started)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # only waited-for children: this run
    seconds.cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if proc.returncode != 0:
        raise SystemExit(f"snakemake failed:\n{proc.stderr[-4000:]}")
    return seconds, proc


def threads(start: int, stop: int) -> str:
    return "".join(
        json.dumps(
            {
                "thread_id": f"t{k}",
                "forum_post": f"Compute {k}+{k}.",
                "forum_discussions": f"Post 1:\n{2 * k}",
            }
        )
        + "\n"
        for k in range(start, stop)
    )


def config(base_url: str, shards: int, solution_shards: int, formal_shards: int | None = None) -> dict:
    return {
        "dataset": "bench",
        "sources": [{"name": "forum", "format": "aops_jsonl", "path": "data/forum.jsonl", "shards": shards}],
        "inference": {"backend": "openai", "model": "stub", "max_concurrent_requests": 64,
                      "openai": {"base_urls": [base_url], "api_key_env": None}},
        "solutions": {"n_shards": solution_shards, "n_tir": 0, "n_plain": 2, "efforts": ["low"]},
        "formal": {"n_shards": formal_shards or solution_shards},
        "lean": {"command": [sys.executable, "-m", "mathforge.lean.elpi_lean"]},
    }  # fmt: skip


FLOOR_SNAKEFILE = """
N = int(config["jobs"]) // 3
rule all:
    input: expand("c/{i}.txt", i=range(N))
rule a:
    output: "a/{i}.txt"
    script: "noop.py"
rule b:
    input: "a/{i}.txt"
    output: "b/{i}.txt"
    script: "noop.py"
rule c:
    input: "b/{i}.txt"
    output: "c/{i}.txt"
    script: "noop.py"
"""


# The same jobs shaped like mathforge's DAG, with what the project makes every rule declare (log,
# benchmark, conda, threads, params, resources) as constants: each job writes a table, its dropped
# rows and a summary, reads its predecessor's three and two prompt files; every first-stage job reads
# one global table, and `all` reads every summary and the last tables: 4 produced inputs per job
# (mathforge at 1,000 shards: 4.25), 3 outputs (2.6). What Snakemake costs for that, before any of
# mathforge's own functions (input functions, resource callables sized by input).
SHAPED_FLOOR_SNAKEFILE = """
N = (int(config["jobs"]) - 2) // 3
SETTINGS = {"model": {"name": "m", "max_tokens": 4096}, "prompts": ["p1", "p2"], "n": 16}
rule all:
    input:
        expand("c/{i}.out", i=range(N)),
        expand("{step}/{i}.summary.json", step=["a", "b", "c"], i=range(N)),
        "g/table.summary.json",
rule table:
    output: "g/table.out", "g/table.summary.json"
    log: "logs/table.log"
    benchmark: "bench/table.tsv"
    conda: "env.yaml"
    script: "noop.py"
"""
for step, upstream in (("a", None), ("b", "a"), ("c", "b")):
    inputs = (
        '"g/table.out"'
        if upstream is None
        else ", ".join(f'"{upstream}/{{i}}.{ext}"' for ext in ("out", "dropped", "summary.json"))
    )
    SHAPED_FLOOR_SNAKEFILE += f"""
rule {step}:
    input: {inputs}, "prompts/p1.yaml", "prompts/p2.yaml"
    output: "{step}/{{i}}.out", "{step}/{{i}}.dropped", "{step}/{{i}}.summary.json"
    params: settings=SETTINGS, store="cache/{step}/{{i}}.jsonl"
    wildcard_constraints: i=r"\\d+"
    log: "logs/{step}/{{i}}.log"
    benchmark: "bench/{step}/{{i}}.tsv"
    threads: 2
    resources: mem_mb=4000, runtime=60
    conda: "env.yaml"
    script: "noop.py"
"""


def floor_seconds(workdir: Path, jobs: int, snakefile: str = FLOOR_SNAKEFILE, *flags: str) -> Seconds:
    """`snakemake -n -q` (or `flags`) on a floor Snakefile with `jobs` jobs (Snakemake's own cost)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "Snakefile").write_text(snakefile)
    (workdir / "noop.py").write_text("pass\n")
    (workdir / "env.yaml").write_text("dependencies: [python]\n")
    (workdir / "prompts").mkdir(exist_ok=True)
    for name in ("p1", "p2"):
        (workdir / "prompts" / f"{name}.yaml").write_text("{}\n")
    flags = flags or ("-n", "-q")
    seconds, _ = snakemake(workdir, *flags, "--config", f"jobs={jobs}", snakefile=workdir / "Snakefile")
    return seconds


def noop_at_scale(plan: Path, dry_run_output: str) -> tuple[float, int]:
    """`snakemake -n -q` once every planned output exists: the outputs listed by the dry run are
    created in the order it listed them (inputs older than outputs), without Snakemake's metadata,
    so this is the mtime and DAG cost of a finished large run, not its metadata reads."""
    outputs = [
        name.strip()
        for line in dry_run_output.splitlines()
        if line.startswith("    output: ")
        for name in line.removeprefix("    output: ").split(",")
    ]
    old = time.time() - 100_000
    for path in (plan / "data").iterdir():
        os.utime(path, (old, old))
    start = time.time() - 10
    for k, name in enumerate(outputs):
        path = plan / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        os.utime(path, (start + k * 1e-3, start + k * 1e-3))
    seconds, proc = snakemake(plan, "-n", "-q")
    if "Nothing to be done" not in proc.stdout + proc.stderr:
        raise SystemExit(f"no-op at scale planned jobs:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return seconds, len(outputs)


def requests_sent(base_url: str) -> int:
    with urllib.request.urlopen(base_url + "/stats", timeout=10) as resp:
        return json.load(resp)["requests"]


def incremental_run(tmp: Path, base_url: str, n_threads: int, new_percent: float) -> dict:
    """(1) and the no-op of (3): a finished run, new threads appended, rerun, then `snakemake -n`."""
    run = tmp / "run"
    (run / "data").mkdir(parents=True)
    (run / "data" / "forum.jsonl").write_text(threads(0, n_threads))
    (run / "config.yaml").write_text(yaml.safe_dump(config(base_url, 8, 8)))
    full_s, _ = snakemake(run)
    full = requests_sent(base_url)
    new = max(1, round(n_threads * new_percent / 100))
    with (run / "data" / "forum.jsonl").open("a") as fh:
        fh.write(threads(n_threads, n_threads + new))
    inc_s, _ = snakemake(run)
    incremental = requests_sent(base_url) - full
    noop_s, noop = snakemake(run, "-n")
    assert "Nothing to be done" in noop.stdout + noop.stderr
    print(f"\n(1) {n_threads} threads, then {new} new ({100 * new / n_threads:.1f}%)", file=sys.stderr)
    return {"full": full, "new": new, "incremental": incremental, "full_s": full_s, "inc_s": inc_s,
            "noop_s": noop_s}  # fmt: skip


def planned_jobs(dry_run_output: str) -> int:
    """The total of every "Job stats" table of a dry run."""
    stats = dry_run_output.split("Job stats:")[1].split("Reasons:")[0].splitlines()[3:]
    return sum(int(line.split()[-1]) for line in stats if line.split() and line.split()[0] == "total")


def plan_configs(shards: str, solutions_at_scale: str) -> list[tuple[str, int, int, int]]:
    """(label, forum shards, solutions shards, formal shards) of every config (2) plans."""
    plans = [(f"all {n}", n, n, n) for n in (int(x) for x in shards.split(","))]
    if solutions_at_scale:
        sol, other = (int(x) for x in solutions_at_scale.split(":"))
        plans.append((f"sol {sol}, forum/formal {other}", other, sol, other))
    return plans


def best(runs: list[Seconds]) -> Seconds:
    """The least wall and the least CPU seconds of repeated runs (what the machine's other load added least)."""
    fastest = Seconds(min(runs))
    fastest.cpu = min(run.cpu for run in runs)
    return fastest


def plan_once(plan: Path, tmp: Path, k: int, jobs: int, baseline: Path | None) -> tuple[dict, str]:
    """Every timing of one config once, interleaved so that load from elsewhere hits them alike:
    ours -n and -q, the floors, and the baseline's -n and -q; and our -n output."""
    timed, proc = {}, None
    timed["n"], proc = snakemake(plan, "-n")
    timed["q"], _ = snakemake(plan, "-n", "-q")
    timed["floor"] = floor_seconds(tmp / f"floor-{k}", jobs)
    timed["shaped"] = floor_seconds(tmp / f"shaped-{k}", jobs, SHAPED_FLOOR_SNAKEFILE)
    timed["shaped_n"] = floor_seconds(tmp / f"shaped-{k}", jobs, SHAPED_FLOOR_SNAKEFILE, "-n")
    if baseline is not None:
        timed["base_n"], base = snakemake(plan, "-n", snakefile=baseline / "Snakefile")
        timed["base_q"], _ = snakemake(plan, "-n", "-q", snakefile=baseline / "Snakefile")
        if planned_jobs(base.stdout + base.stderr) != jobs:
            raise SystemExit(f"the baseline plans {planned_jobs(base.stdout + base.stderr)} jobs, not {jobs}")
    return timed, proc.stdout + proc.stderr


def planning(
    tmp: Path, base_url: str, plans: list, baseline: Path | None = None, repeat: int = 1
) -> tuple[list[tuple], list[tuple], Path, str]:
    """(2): every config planned as printed and quiet, next to the floors (and by the `baseline`
    checkout's Snakefile, if given: its -n and -q), each the best of `repeat` runs; the last plan's
    directory and dry-run output (for the no-op at scale)."""
    rows, baseline_rows = [], []
    for k, (label, forum_shards, solution_shards, formal_shards) in enumerate(plans):
        plan = tmp / f"plan-{k}"
        (plan / "data").mkdir(parents=True)
        (plan / "data" / "forum.jsonl").write_text(threads(0, 10))
        cfg = config(base_url, forum_shards, solution_shards, formal_shards)
        (plan / "config.yaml").write_text(yaml.safe_dump(cfg))
        _, first = snakemake(plan, "-n")
        jobs = planned_jobs(first.stdout + first.stderr)
        runs = [plan_once(plan, tmp, k, jobs, baseline) for _ in range(repeat)]
        output = runs[-1][1]
        t = {name: best([timed[name] for timed, _ in runs]) for name in runs[0][0]}
        floors = (t["floor"], t["shaped"], t["shaped_n"])
        rows.append((label, jobs, t["n"], t["q"], *floors))
        if baseline is not None:
            baseline_rows.append((label, jobs, t["base_n"], t["base_q"], *floors))
        print(f"(2) {label} planned", file=sys.stderr)
    return rows, baseline_rows, plan, output


def print_incremental(inc: dict, rows: list[tuple], noop_big: tuple[float, int]) -> None:
    full, incremental = inc["full"], inc["incremental"]
    print("\n(1) incremental requests")
    print(
        f"{'full run':>10} {'new threads':>12} {'rerun':>8} {'rerun/full':>11} {'full s':>8} {'rerun s':>8}"
    )
    print(f"{full:>10} {inc['new']:>12} {incremental:>8} {100 * incremental / full:>10.2f}% {inc['full_s']:>8.1f}"
          f" {inc['inc_s']:>8.1f}   target <= 1.5%: {'PASS' if incremental / full <= 0.015 else 'FAIL'}")  # fmt: skip
    print(f"\n(3) no-op `snakemake -n` on the finished run: {inc['noop_s']:.2f} s; with every output of the last"
          f" config of (2) present ({rows[-1][1]} jobs, {noop_big[1]} files, no metadata): {noop_big[0]:.2f} s")  # fmt: skip


def print_planning(rows: list[tuple], title: str = "") -> None:
    print(
        f"\n(2){title} `snakemake -n` with every job planned (seconds; floor = bare `script:` chain, same jobs, -q;"
        "\n    shaped = the same jobs with mathforge's files per job and every rule's log/benchmark/conda/"
        "\n    params/resources as constants, -q and -n); wall seconds, then CPU seconds"
    )
    for unit, measure in (("wall", float), ("CPU", lambda s: s.cpu)):
        print(f"{'shards (' + unit + ')':>28} {'jobs':>6} {'-n':>6} {'-n -q':>6} {'floor':>6} {'-q/floor':>9}"
              f" {'shaped':>7} {'-q/shaped':>10} {'shaped -n':>10} {'-n/shaped -n':>13} {'ms/job -q':>10} target")  # fmt: skip
        for label, jobs, *timed in rows:
            seconds, quiet_s, floor_s, shaped_s, shaped_n_s = map(measure, timed)
            verdict = f"-n {'PASS' if seconds < 10 else 'FAIL'}, -n -q {'PASS' if quiet_s < 10 else 'FAIL'}"
            print(f"{label:>28} {jobs:>6} {seconds:>6.2f} {quiet_s:>6.2f} {floor_s:>6.2f} {quiet_s / floor_s:>8.2f}x"
                  f" {shaped_s:>7.2f} {quiet_s / shaped_s:>9.2f}x {shaped_n_s:>10.2f} {seconds / shaped_n_s:>12.2f}x"
                  f" {1000 * quiet_s / max(jobs, 1):>10.2f} {verdict if unit == 'wall' else ''}")  # fmt: skip
    alike = [r for r in rows if r[0].startswith("all ")]
    first, last = alike[0], alike[-1]
    print(
        f"{last[0]} vs {first[0]} shards per stage: {last[2] / first[2]:.1f}x the wall time for "
        f"{last[1] / first[1]:.1f}x the jobs (target: < 10 s at 1,000 shards; issue 22 item 7: -q <= 1.2x the floor)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=200)
    parser.add_argument("--new-percent", type=float, default=1.0)
    parser.add_argument("--shards", default="10,100,1000", help="shards per stage, every stage alike")
    parser.add_argument(
        "--solutions-at-scale",
        default="1000:64",
        help="one more config, S:F = S solutions shards with F forum and F formal shards (config.yaml has 64)",
    )
    parser.add_argument("--planning-only", action="store_true", help="run (2) alone, without (1) and (3)")
    parser.add_argument("--repeat", type=int, default=1, help="(2): each timing the best of this many runs")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a checkout of another commit (`git archive <commit> | tar -x -C DIR`): (2) also plans each"
        " config with its Snakefile, printed first (before/after in one run)",
    )
    args = parser.parse_args()
    from mathforge.inference.processes import free_port

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        port = free_port()
        (tmp / "stub.json").write_text(json.dumps(SCRIPT))
        stub = subprocess.Popen([sys.executable, "-m", "mathforge.inference.stub_server", "--port", str(port),
                                 "--script", str(tmp / "stub.json")])  # fmt: skip
        base_url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    requests_sent(base_url)
                    break
                except OSError:
                    time.sleep(0.1)
            inc = (
                None if args.planning_only else incremental_run(tmp, base_url, args.threads, args.new_percent)
            )
            plans = plan_configs(args.shards, args.solutions_at_scale)
            rows, baseline_rows, plan, dry_run_output = planning(
                tmp, base_url, plans, args.baseline, args.repeat
            )
            if inc is not None:
                noop_big = noop_at_scale(plan, dry_run_output)
        finally:
            stub.terminate()
            stub.wait()
    if inc is not None:
        print_incremental(inc, rows, noop_big)
    if baseline_rows:
        print_planning(baseline_rows, f" baseline {args.baseline}:")
    print_planning(rows, " this checkout:" if baseline_rows else "")


if __name__ == "__main__":
    main()
