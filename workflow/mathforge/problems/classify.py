"""classify_problems: chained yes/no classifiers (proof, mcq, binary, invalid), routed by config,
then the subject of every problem that stays (problems.problem_type).

Classes run in the configured order. A problem labelled yes by a class whose route is `drop` or
`proofs` leaves the chain, so later classifiers are not asked about it (as in the reference);
route `keep` only records the label. An unparseable answer is recorded as label null and the
problem continues (config `unparseable_as` can make it count as yes instead). The first class
labelled yes is the problem's `question_type` ("answer" when none is).

The subject (`problem_type`, NuminaMath's labels: Algebra, Geometry, ...) is asked of every row
that is not dropped, answer and proof problems alike; subjects listed in `drop` are dropped.
"""

from __future__ import annotations

import logging
from collections import Counter

from mathforge.errors import ConfigError
from mathforge.funnel import StepStats, write_step
from mathforge.inference.client import SamplingParams
from mathforge.inference.generation import Generator, make_request
from mathforge.inference.models import stage_model
from mathforge.io import read_records
from mathforge.prompts import load_prompt
from mathforge.schemas.problems import CLASSIFIED_SCHEMA, DROPPED_SCHEMA, llm_meta
from mathforge.text import parse_choice, parse_label

log = logging.getLogger(__name__)

ROUTES = ("drop", "proofs", "keep")
STEP = "classify_problems"


def _run_class(cls: dict, active: list[dict], cfg: dict, gen: Generator, stats: StepStats) -> list[dict]:
    """Ask one classifier about the `active` rows; the rows still in the chain after it."""
    stage = cfg["problems"]["classification"]
    params = SamplingParams.from_config(stage)
    if cls["route"] not in ROUTES:
        raise ConfigError(f"classification class {cls['name']!r}: route must be one of {ROUTES}")
    prompt = load_prompt(cfg["prompts_dir"], cls["prompt"])
    if prompt.labels is None:
        raise ConfigError(f"prompt {prompt.name!r} has no 'labels'; classifier prompts need them")
    requests = [
        make_request(stage_model(cfg, "problems.classification"), prompt.render(problem=r["problem"]), params)
        for r in active
    ]
    results = gen.run(requests)
    still_active = []
    for row, request in zip(active, requests, strict=True):
        record = results[request.key]
        label = None if record.get("error") else parse_label(record["text"], *prompt.labels)
        if label is None:
            stats.counters.setdefault("unparseable", {}).setdefault(cls["name"], 0)
            stats.counters["unparseable"][cls["name"]] += 1
        label_for_routing = stage["unparseable_as"] == "yes" if label is None else label
        row["classification"].append(
            {"class": cls["name"], "label": label, "meta": llm_meta(record, prompt, params)}
        )
        if label_for_routing and row["question_type"] == "answer":
            row["question_type"] = cls["name"]
        if label_for_routing and cls["route"] != "keep":
            row["route"] = "drop" if cls["route"] == "drop" else "proofs"
            row["drop_reason"] = f"class:{cls['name']}"
        else:
            still_active.append(row)
    return still_active


def _label_subjects(rows: list[dict], cfg: dict, gen: Generator, stats: StepStats) -> None:
    """Set `problem_type` (and `problem_typing`) of `rows`; subjects in `drop` route them to drop."""
    typing = cfg["problems"]["problem_type"]
    params = SamplingParams.from_config(typing["sampling"])
    prompt = load_prompt(cfg["prompts_dir"], typing["sampling"]["prompt"])
    labels = typing["labels"]
    unknown = sorted(set(typing["drop"]) - set(labels))
    if unknown:
        raise ConfigError(f"problems.problem_type.drop: {unknown} are not in problems.problem_type.labels")
    shown = ", ".join(labels)
    requests = [
        make_request(
            stage_model(cfg, "problems.classification"),
            prompt.render(problem=r["problem"], labels=shown),
            params,
        )
        for r in rows
    ]
    results = gen.run(requests)
    for row, request in zip(rows, requests, strict=True):
        record = results[request.key]
        row["problem_type"] = None if record.get("error") else parse_choice(record["text"] or "", labels)
        row["problem_typing"] = llm_meta(record, prompt, params)
        if row["problem_type"] in typing["drop"]:
            row["route"], row["drop_reason"] = "drop", f"problem_type:{row['problem_type']}"
    stats.counters["problem_type_unparseable"] = sum(r["problem_type"] is None for r in rows)


def classify_problems(
    in_path: str, cfg: dict, out_path: str, proofs_path: str, dropped_path: str, stats_path: str,
    store_path: str,
) -> StepStats:  # fmt: skip
    rows = read_records(in_path)
    stats = StepStats(step=STEP, n_in=len(rows))
    for row in rows:
        row.update(classification=[], question_type="answer", problem_type=None, route="answers",
                   problem_typing=None)  # fmt: skip
    with Generator(stage_model(cfg, "problems.classification"), store_path) as gen:
        active = list(rows)
        for cls in cfg["problems"]["classification"]["classes"]:
            active = _run_class(cls, active, cfg, gen, stats)
        if cfg["problems"]["problem_type"]["enabled"]:
            _label_subjects([r for r in rows if r["route"] != "drop"], cfg, gen, stats)
    stats.counters["requests"] = gen.totals.__dict__
    return _write(rows, stats, stats_path, out_path, proofs_path, dropped_path)


def _write(rows: list[dict], stats: StepStats, stats_path: str, out_path: str, proofs_path: str,
           dropped_path: str) -> StepStats:  # fmt: skip
    kept = [r for r in rows if r["route"] == "answers"]
    proofs = [r for r in rows if r["route"] == "proofs"]
    dropped = [
        {"problem_id": r["problem_id"], "thread_uid": r["thread_uid"], "step": STEP,
         "reason": r["drop_reason"], "problem": r["problem"], "detail": None}
        for r in rows if r["route"] == "drop"
    ]  # fmt: skip
    for d in dropped:
        stats.drop(d["reason"])
    stats.n_out = len(kept)
    stats.counters["routed_to_proofs"] = len(proofs)
    stats.counters["question_types"] = dict(sorted(Counter(r["question_type"] for r in rows).items()))
    return write_step(
        stats,
        stats_path,
        (kept, CLASSIFIED_SCHEMA, out_path),
        (proofs, CLASSIFIED_SCHEMA, proofs_path),
        (dropped, DROPPED_SCHEMA, dropped_path),
    )
