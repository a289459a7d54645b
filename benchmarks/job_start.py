"""What a job pays before it starts working: the imports of each Snakemake shim, this tree next to a
baseline tree, side by side in one run.

Every job of the workflow is a fresh interpreter running one `scripts/*.py` shim, so the modules
that shim imports are paid once per job (1,052 jobs at 100,000 threads, more on Slurm, where each
job also starts Snakemake). For every shim both trees have, the benchmark runs only its import
statements (taken from the shim with `ast`) in a new interpreter, the trees alternating round by
round, and prints the median CPU seconds (user + system, `getrusage` of the children) per shim and
tree, their ratio, and the mean over shims.

    .venv/bin/python benchmarks/job_start.py                        # baseline: merge-base with main
    .venv/bin/python benchmarks/job_start.py --baseline-rev 9bfd654 [--rounds 7]
"""

from __future__ import annotations

import argparse
import ast
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def baseline_tree(rev: str | None, into: str) -> Path:
    """`scripts/` and `workflow/` of `rev` (default: the merge-base with main) under `into`."""
    git = ["git", "-C", str(REPO)]
    rev = rev or subprocess.run([*git, "merge-base", "HEAD", "main"], capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    archive = subprocess.run(
        [*git, "archive", rev, "workflow", "scripts"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", into], input=archive, check=True)
    return Path(into)


def shim_imports(path: Path) -> str:
    """The shim's import statements, as code (what a job runs before its stage's `run`)."""
    tree = ast.parse(path.read_text())
    return "\n".join(ast.unparse(node) for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom))


def import_cpu(code: str, tree: Path) -> float:
    """CPU seconds of a fresh interpreter that runs `code` with `tree`'s package on the path."""
    env = {**os.environ, "PYTHONPATH": str(tree / "workflow")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline-rev", help="git revision to compare with (default: merge-base with main)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"this tree": REPO, "baseline": baseline_tree(args.baseline_rev, tmp)}
        shims = sorted(
            p.name
            for p in (REPO / "scripts").glob("*.py")
            if (trees["baseline"] / "scripts" / p.name).exists()
        )
        codes = {(name, s): shim_imports(tree / "scripts" / s) for name, tree in trees.items() for s in shims}
        cpu: dict[tuple[str, str], list[float]] = {key: [] for key in codes}
        for r in range(args.rounds):
            print(f"round {r + 1}/{args.rounds}", file=sys.stderr)
            for s in shims:
                for name, tree in trees.items():
                    cpu[(name, s)].append(import_cpu(codes[(name, s)], tree))
    print("\n| shim | this tree ms CPU | baseline ms CPU | ratio |\n|---|---|---|---|")
    ratios = []
    for s in shims:
        new, old = (statistics.median(cpu[(name, s)]) for name in trees)
        ratios.append(new / old)
        print(f"| {s} | {new * 1000:.0f} | {old * 1000:.0f} | {new / old:.2f} |")
    new_mean = statistics.mean(statistics.median(cpu[("this tree", s)]) for s in shims)
    old_mean = statistics.mean(statistics.median(cpu[("baseline", s)]) for s in shims)
    print(f"\nmean over {len(shims)} shims: {new_mean * 1000:.0f} vs {old_mean * 1000:.0f} ms CPU per job start "
          f"({new_mean / old_mean:.2f}); medians of {args.rounds} alternating rounds")  # fmt: skip


if __name__ == "__main__":
    main()
