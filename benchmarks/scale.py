"""The whole DAG at scale on the scripted stub server: per-rule cost and threads/s end to end.

(1) A seeded generator writes --threads synthetic forum threads: AoPS-shaped JSONL (`forum_post`,
    `forum_discussions`) and a Stack Exchange Posts.xml (questions with Title/Body/Score/Tags and
    their answers by ParentId, some accepted), with lengths drawn from lognormals fitted to the
    shared real samples (../shared/data/forum: AoPS post median ~185 chars, replies ~800; SE
    question and answer bodies ~1,000), English filler drawn from Python's own documentation (so
    the same seed gives the same data on the same Python version), and
    --proof-share proof threads. Every problem is distinct (its own words and numbers) and has a
    deterministic answer, so the stub script below gives every stage real work: extraction
    (verbatim), classification, answer extraction, solutions (TIR ones run a Python cell in the
    sandbox, as today), the answer judge (worded plain answers need it), autoformalization,
    backtranslation and the statement judge, and proofs the prelude Lean checks.
(2) The runner writes a config (shard counts grow with N: --threads-per-shard), starts the stub,
    runs Snakemake with the local profile and --cores, and aggregates the `benchmark:` TSV every job
    writes (logs/<dataset>/benchmarks): per rule, jobs, wall s (sum and max), CPU s (sum), peak RSS
    MB (max); then end-to-end wall and threads/s. Every rule the DAG planned must have a row.

    Lean checks go through a REPL pool over the prelude-only Lean (`mathforge.lean.elpi_repl`), as
    users at scale run a REPL pool over Mathlib; --lean-backend file starts one Lean per check.

    .venv/bin/python benchmarks/scale.py [--threads 2000] [--seed 0] [--cores 2] [--keep DIR]
                                         [--lean-backend repl|file]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from xml.sax.saxutils import quoteattr

import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED_BENCHMARKS = REPO.parent / "shared" / "data" / "benchmarks"
PRIMES = [p for p in range(101, 2000) if all(p % d for d in range(2, int(p**0.5) + 1))]
EXPONENTS = range(2, 14)  # answer family k: N = p^k has k + 1 divisors
DIVISOR_QUESTIONS = (
    "How many positive divisors does ${power}$ have?",
    "Find the number of positive divisors of ${power}$.",
    "Count the positive integers that divide ${power}$.",
    "Determine how many divisors ${power}$ has.",
    "What is the number of factors of ${power}$?",
)
NUMBER_WORDS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
NUMBER_WORDS = NUMBER_WORDS.split()
# Lengths (chars): lognormal (median, sigma) fitted to the shared real samples.
AOPS_POST = (185, 0.8)
AOPS_REPLIES = (800, 1.0)
SE_QUESTION = (1050, 0.7)
SE_ANSWER = (1000, 0.8)
ANSWERS_PER_QUESTION = (0, 1, 1, 1, 2, 2, 3)  # mean 1.4 (the samples: 1.25 and 1.9)
ACCEPTED_SHARE = 0.67  # of answered questions: ~57% of all (the samples: 55% and 60%)
# the name on a line of its own: the stub's {echo} (the rest of the line) is then just the tag
STATEMENT = "theorem case_{echo}\n    (p q : Prop) (hp : p) (hq : q) : And p q := {proof}"


def vocabulary() -> list[str]:
    """English words (3-10 letters) from Python's own documentation, sorted (seed-stable)."""
    from pydoc_data.topics import topics

    words = set(re.findall(r"\b[a-z]{3,10}\b", " ".join(topics.values())))
    return sorted(words)


class Forum:
    """Seeded synthetic threads: problem lines, filler text and replies of realistic lengths."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.words = vocabulary()

    def length(self, median_sigma: tuple[float, float]) -> int:
        median, sigma = median_sigma
        return int(self.rng.lognormvariate(math.log(median), sigma))

    def filler(self, chars: int) -> str:
        out: list[str] = []
        while sum(len(w) + 1 for w in out) < chars:
            sentence = self.rng.sample(self.words, self.rng.randint(6, 16))
            out.append(" ".join(sentence).capitalize() + ".")
        text = " ".join(out)
        if len(text) <= chars:
            return text
        head = text[:chars].rsplit(" ", 1)[0].rstrip(".")
        return head + "." if head else ""

    def problem(self, tag: str, proof: bool) -> tuple[str, int | None]:
        """(one-line problem statement, its answer or None for a proof problem)."""
        context = self.filler(self.rng.randint(30, 150))
        if proof:
            return (
                f"{context} Prove that if p holds and q holds then both hold, for every case labelled {tag}",
                None,
            )
        k, prime = self.rng.choice(EXPONENTS), self.rng.choice(PRIMES)
        base, power = self.rng.sample("abcdmnpqrstuvwxyz", 2)
        ask = self.rng.choice(DIVISOR_QUESTIONS).format(power=power)
        return f"{context} Let ${base} = {prime}$ and ${power} = {base}^{{{k}}}$. {ask}", k + 1

    def reply(self, answer: int | None, chars: int) -> str:
        closing = f" So the answer is ${answer}$." if answer is not None else " This proves it."
        return self.filler(chars - len(closing)) + closing

    def replies(self, answer: int | None, chars: int) -> list[str]:
        """An AoPS discussion of about `chars` characters, in posts of ~400."""
        posts, left = [], chars
        while left > 0:
            size = max(40, min(left, self.length((400, 0.8))))
            posts.append(self.reply(answer, size))
            left -= size
        return posts


def aops_record(forum: Forum, i: int, proof: bool) -> dict:
    problem, answer = forum.problem(f"a{i}", proof)
    post = problem + "\n" + forum.filler(forum.length(AOPS_POST) - len(problem))
    replies = [] if forum.rng.random() < 0.15 else forum.replies(answer, forum.length(AOPS_REPLIES))
    discussion = "\n\n".join(f"Post {n}:\n{text}" for n, text in enumerate(replies, 1))
    return {"thread_id": f"a{i}", "forum_post": post.rstrip(), "forum_discussions": discussion}


def se_rows(forum: Forum, i: int, next_id: int, proof: bool) -> list[str]:
    """The <row> lines of one question and its answers (Ids from next_id on)."""
    problem, answer = forum.problem(f"s{i}", proof)
    n_answers = forum.rng.choice(ANSWERS_PER_QUESTION)
    answer_ids = list(range(next_id + 1, next_id + 1 + n_answers))
    accepted = answer_ids[0] if answer_ids and forum.rng.random() < ACCEPTED_SHARE else None
    body = f"<p>{problem}</p>\n<p>{forum.filler(forum.length(SE_QUESTION) - len(problem))}</p>"
    attrs = {"Id": next_id, "PostTypeId": 1, "AcceptedAnswerId": accepted, "Score": forum.rng.randint(-2, 40),
             "CreationDate": "2020-01-01T00:00:00.000", "Tags": "<number-theory>", "Title": problem, "Body": body}  # fmt: skip
    rows = [attrs]
    for answer_id in answer_ids:
        text = forum.reply(answer, forum.length(SE_ANSWER))
        rows.append({"Id": answer_id, "PostTypeId": 2, "ParentId": next_id, "Score": forum.rng.randint(0, 30),
                     "CreationDate": "2020-01-02T00:00:00.000", "Body": f"<p>{text}</p>"})  # fmt: skip
    return [
        "  <row " + " ".join(f"{k}={quoteattr(str(v))}" for k, v in row.items() if v is not None) + " />"
        for row in rows
    ]


def write_forum_data(data: Path, threads: int, seed: int, se_share: float, proof_share: float) -> dict:
    """data/forum.jsonl and data/Posts.xml; returns counts (threads per source, proof threads in
    all and per source)."""
    forum = Forum(seed)
    n_se = round(threads * se_share)
    counts = {"aops": threads - n_se, "se": n_se, "proof": 0, "proofs": {"aops": 0, "se": 0}}
    with (data / "forum.jsonl").open("w") as fh:
        for i in range(threads - n_se):
            proof = forum.rng.random() < proof_share
            counts["proof"] += proof
            counts["proofs"]["aops"] += proof
            fh.write(json.dumps(aops_record(forum, i, proof)) + "\n")
    next_id = 1
    with (data / "Posts.xml").open("w") as fh:
        fh.write('<?xml version="1.0" encoding="utf-8"?>\n<posts>\n')
        for i in range(n_se):
            proof = forum.rng.random() < proof_share
            counts["proof"] += proof
            counts["proofs"]["se"] += proof
            rows = se_rows(forum, i, next_id, proof)
            next_id += len(rows)
            fh.write("\n".join(rows) + "\n")
        fh.write("</posts>\n")
    return counts


def stub_script() -> dict:
    """Replies for every stage, chosen by the last user message (and the system prompt)."""
    lean = "proving theorems in Lean 4"
    rules = [
        {"contains": "Predicted answer:", "reply": "Both name the same count.\nJudgement: Yes"},
        {"contains": "Original problem:\n", "reply": "The statement says what the problem says.\nJudgement: Yes"},
        {"contains": "theorem case_", "system_contains": lean, "reply": f"```lean4\n{STATEMENT.format(echo='{echo}', proof='⟨hp, hq⟩')}\n```"},
        {"contains": "theorem case_", "system_contains": "You read Lean 4", "reply": "If p and q hold, p and q hold."},
        {"contains": "for every case labelled ", "system_contains": "You translate math problems into Lean 4",
         "reply": f"Here it is.\n```lean4\n{STATEMENT.format(echo='{echo}', proof='sorryAx _ Bool.false')}\n```\n"},
        {"contains": "Forum post:\n", "reply": "Problem 1: {echo}"},
        {"contains": "", "system_contains": "You check texts from a math forum", "reply": "valid"},
        {"contains": "", "system_contains": '"yesno": a question', "reply": "other"},
        {"contains": "", "system_contains": '"choices": the problem', "reply": "open"},
        {"contains": "Prove that", "system_contains": '"proof": the problem', "reply": "proof"},
        {"contains": "", "system_contains": '"proof": the problem', "reply": "answer"},
        {"contains": "Prove that", "system_contains": "sort math problems by subject", "reply": "Logic and Puzzles"},
        {"contains": "", "system_contains": "sort math problems by subject", "reply": "Number Theory"},
    ]  # fmt: skip
    for k in EXPONENTS:
        key, answer = f"^{{{k}}}$. ", k + 1  # only the divisor problems have a `^{k}$. `
        # odd k: a worded plain answer, which only the LLM judge can compare
        plain = f"\\text{{{NUMBER_WORDS[answer]}}}" if k % 2 else str(answer)
        rules += [
            {"contains": key, "system_contains": "You read math forum threads", "reply": f"\\boxed{{{answer}}}"},
            {"contains": key, "system_contains": "You are a careful mathematician. Solve",
             "reply": f"The exponents give {k} + 1 choices.\nSo \\boxed{{{plain}}}."},
            {"contains": key, "system_contains": "checks computations with Python",
             "turns": [f"Count them:\n```python\nprint(len([d for d in range({k} + 1)]))\n```\n",
                       f"So \\boxed{{{answer}}}."]},
        ]  # fmt: skip
    return {"rules": rules, "default_reply": "I am not sure."}


def shards(items: float, per_shard: int) -> int:
    return max(1, math.ceil(items / per_shard))


def lean_config(demo_lean: dict, backend: str) -> dict:
    """The demo's prelude-only Lean, behind a REPL pool (`repl`: how users at scale check, each
    check a round trip to a process that loaded Lean once) or one process per check (`file`)."""
    if backend == "file":
        return demo_lean
    return {**demo_lean, "backend": "repl", "repl_command": ["python", "-m", "mathforge.lean.elpi_repl"]}


def scale_config(
    base_url: str,
    counts: dict,
    per_shard: int,
    solutions: tuple[int, int],
    lean_backend: str = "repl",
    uid_base: int | None = None,
) -> dict:
    """The run's config: both forum sources, the stub endpoint, shards scaled with N (solution and
    formal shards are per source, each sized by its own source's threads)."""
    demo = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    n_tir, n_plain = solutions
    decontam = [
        {"name": name, "path": str(SHARED_BENCHMARKS / f"{name}.jsonl"), "field": field}
        for name, field in (("math500", "problem"), ("gsm8k_test", "question"), ("aime24", "problem"))
        if (SHARED_BENCHMARKS / f"{name}.jsonl").exists()
    ]
    return {
        "dataset": "scale",
        "sources": [
            {"name": "aops", "format": "aops_jsonl", "path": "data/forum.jsonl", "site": "aops.example.org",
             "shards": shards(counts["aops"], per_shard), "solution_shards": shards(counts["aops"], per_shard // 2),
             "formal_shards": shards(counts["proofs"]["aops"], per_shard)},
            {"name": "se", "format": "stackexchange_xml", "path": "data/Posts.xml", "site": "se.example.org",
             "shards": shards(counts["se"], per_shard), "solution_shards": shards(counts["se"], per_shard // 2),
             "formal_shards": shards(counts["proofs"]["se"], per_shard)},
        ],
        "problems": {"language": {"enabled": True}, "problem_type": {"enabled": True}},
        "inference": {"backend": "openai", "model": "stub", "max_concurrent_requests": 64,
                      "openai": {"base_urls": [base_url], "api_key_env": None}},
        "decontam": {"benchmarks": decontam},
        "solutions": {"n_tir": n_tir, "n_plain": n_plain, "efforts": ["low"]},
        "lean": lean_config(demo["lean"], lean_backend),
        # other runs on a shared host (tests, other agents) lease uids of the default range
        "sandbox": {"uid_base": uid_base} if uid_base else {},
        "formal": {"max_turns": 2, "effort_via": "none"},
        "proofs": {"n_pass": 2, "max_turns": 2},
        "eval": {"benchmarks": [{"name": "prelude", "path": str(REPO / "config" / "demo" / "prelude_eval.jsonl")}],
                 "n_samples": 2, "max_turns": 1},
    }  # fmt: skip


def planned_jobs(output: str) -> dict[str, int]:
    """{rule: jobs} from the first 'Job stats' table Snakemake prints."""
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Job stats:")), None)
    counts: dict[str, int] = {}
    for row in lines[start + 3 :] if start is not None else []:
        parts = row.split()
        if len(parts) != 2 or not parts[1].isdigit() or parts[0] == "total":
            break
        counts[parts[0]] = int(parts[1])
    return counts


def number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0  # Snakemake writes "-" or "NA" for what it could not measure


def rule_costs(bench_dir: Path) -> dict[str, dict]:
    """Per rule (the first folder under benchmarks/, or the file's stem): jobs, wall sum and max,
    CPU sum, peak RSS max, from every job's benchmark TSV."""
    costs: dict[str, dict] = {}
    for tsv in sorted(bench_dir.rglob("*.tsv")):
        rel = tsv.relative_to(bench_dir)
        rule = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        with tsv.open() as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
        c = costs.setdefault(rule, {"jobs": 0, "wall": 0.0, "wall_max": 0.0, "cpu": 0.0, "rss": 0.0})
        for row in rows:
            wall = number(row["s"])
            c["jobs"] += 1
            c["wall"] += wall
            c["wall_max"] = max(c["wall_max"], wall)
            c["cpu"] += number(row.get("cpu_time", "0"))
            c["rss"] = max(c["rss"], number(row.get("max_rss", "0")))
    return costs


def print_table(costs: dict[str, dict], planned: dict[str, int], wall: float, threads: int) -> None:
    print("\n| rule | jobs | wall s (sum) | wall s (max) | CPU s | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    for rule, c in sorted(costs.items(), key=lambda item: -item[1]["wall"]):
        print(
            f"| {rule} | {c['jobs']} | {c['wall']:.1f} | {c['wall_max']:.1f} | {c['cpu']:.1f} | {c['rss']:.0f} |"
        )
    missing = sorted(set(planned) - set(costs) - {"all"})
    print(f"\nend to end: {threads:,} threads in {wall:.1f} s = {threads / wall:.2f} threads/s; "
          f"{sum(planned.values())} jobs planned, rules without a benchmark row: {missing or 'none'}")  # fmt: skip


def start_stub(tmp: Path) -> tuple[subprocess.Popen, str]:
    """The scripted stub server in its own process, once it answers /health."""
    from mathforge.inference.processes import free_port

    port = free_port()
    (tmp / "stub.json").write_text(json.dumps(stub_script()))
    cmd = [sys.executable, "-m", "mathforge.inference.stub_server", "--port", str(port), "--script", str(tmp / "stub.json")]  # fmt: skip
    proc, base_url = subprocess.Popen(cmd), f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            with urllib.request.urlopen(base_url + "/health", timeout=1):
                return proc, base_url
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit(f"the stub server at {base_url} did not answer /health")


def run(args: argparse.Namespace, workdir: Path) -> None:
    (workdir / "data").mkdir(parents=True)
    started = time.monotonic()
    counts = write_forum_data(workdir / "data", args.threads, args.seed, args.se_share, args.proof_share)
    print(f"generated {counts} in {time.monotonic() - started:.1f} s", file=sys.stderr)
    stub, base_url = start_stub(workdir)
    try:
        cfg = scale_config(
            base_url, counts, args.threads_per_shard, (args.n_tir, args.n_plain), args.lean_backend,
            args.sandbox_uid_base,
        )  # fmt: skip
        (workdir / "config.yaml").write_text(yaml.safe_dump(cfg))
        cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
               "--configfile", str(workdir / "config.yaml"), "--profile", str(REPO / "profiles" / "local"),
               "--cores", str(args.cores)]  # fmt: skip
        started, before = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall, after = time.monotonic() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        stub.terminate()
        stub.wait(timeout=10)
    (workdir / "snakemake.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"snakemake failed (log: {workdir / 'snakemake.log'}):\n{proc.stderr[-4000:]}")
    costs = rule_costs(workdir / "logs" / "scale" / "benchmarks")
    print(f"\n{args.threads:,} threads (seed {args.seed}), --cores {args.cores}, shards: "
          f"{[s['shards'] for s in cfg['sources']]} forum, {[s['solution_shards'] for s in cfg['sources']]} "
          f"solutions, {[s['formal_shards'] for s in cfg['sources']]} formal (aops, se); "
          f"{counts['proof']} proof threads")  # fmt: skip
    print_table(costs, planned_jobs(proc.stdout + proc.stderr), wall, args.threads)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(f"CPU s of every process of the run (getrusage, stub excluded): {cpu:.1f} "
          f"(rules' sampled CPU: {sum(c['cpu'] for c in costs.values()):.1f}); "
          f"largest single process: {after.ru_maxrss / 1024:.0f} MB peak RSS")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=2000, help="forum threads (AoPS and SE together)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--se-share", type=float, default=0.3, help="share of Stack Exchange questions")
    parser.add_argument("--proof-share", type=float, default=0.15, help="share of proof threads")
    parser.add_argument(
        "--threads-per-shard", type=int, default=1000, help="forum shard size (solutions: half)"
    )
    parser.add_argument("--n-tir", type=int, default=2, help="TIR solutions per problem (effort low)")
    parser.add_argument("--n-plain", type=int, default=2, help="plain solutions per problem (effort low)")
    parser.add_argument("--keep", type=Path, help="run in this (new) directory and keep it")
    parser.add_argument(
        "--sandbox-uid-base", type=int, help="sandbox.uid_base (a range no other run on the host uses)"
    )
    parser.add_argument(
        "--lean-backend", choices=("repl", "file"), default="repl",
        help="repl: a pool of mathforge.lean.elpi_repl processes; file: one Lean process per check",
    )  # fmt: skip
    args = parser.parse_args()
    if args.keep:
        run(args, args.keep)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(args, Path(tmp) / "run")


if __name__ == "__main__":
    main()
