"""detect_language: every problem's language and confidence, then keep / drop / translate by language.

Translation is NuminaMath's step for non-English forums: the LLM writes the problem in English,
the original stays in `original_problem`. Formulas and numbers must survive: the numbers and
content commands of the original must all be in the translation (the faithfulness check of
extraction, mathforge.hygiene.faithful, run from original to translation); a translation that
loses one is dropped as `translation:lost_math` with what it lost, and a reply that is still in
another language (small models copy the original back) as `translation:not_translated`.
"""

from __future__ import annotations

import logging
from collections import Counter

from mathforge.funnel import StepStats, write_step
from mathforge.hygiene.faithful import describe, unsupported_content
from mathforge.inference.client import SamplingParams
from mathforge.inference.generation import Generator, make_request
from mathforge.inference.models import stage_model
from mathforge.io import read_records
from mathforge.problems.language import UNDETERMINED, detect_language
from mathforge.prompts import load_prompt
from mathforge.schemas.problems import DROPPED_SCHEMA, LANGUAGE_SCHEMA, llm_meta

log = logging.getLogger(__name__)

STEP = "detect_language"


def route_of(language: str, confidence: float, lang_cfg: dict) -> str:
    """keep | drop | translate for a detection, by the `problems.language` config."""
    if language == UNDETERMINED or confidence < lang_cfg["min_confidence"]:
        return lang_cfg["uncertain_route"]
    return lang_cfg["route"].get(language, lang_cfg["default_route"])


def translation_problem(
    record: dict, original: str, lang_cfg: dict
) -> tuple[str | None, str | None, str | None]:
    """(translation, drop reason, detail) of one translation reply (`lang_cfg`: problems.language)."""
    if record.get("error"):
        return None, "translation:request_rejected", record["error"]
    if record.get("finish_reason") == "length":
        return None, "translation:cut_by_token_limit", record.get("text")
    text = (record.get("text") or "").strip()
    if not text:
        return None, "translation:empty", None
    if not lang_cfg["check_translation"]:
        return text, None, None
    # No implicit numbers: the 0s and 1s of the original are content a translation must carry.
    lost = unsupported_content(original, text, implicit=())
    if lost:
        return None, "translation:lost_math", f"{describe(lost)} | translation: {text}"
    found = detect_language(text, lang_cfg["min_letters"])
    if (
        found.language not in (lang_cfg["target"], UNDETERMINED)
        and found.confidence >= lang_cfg["min_confidence"]
    ):
        return None, "translation:not_translated", f"{found.language} ({found.confidence}): {text}"
    return text, None, None


def _dropped(row: dict, reason: str, detail: str | None) -> dict:
    return {"problem_id": row["problem_id"], "thread_uid": row["thread_uid"], "step": STEP,
            "reason": reason, "problem": row["problem"], "detail": detail}  # fmt: skip


def _label(rows: list[dict], lang_cfg: dict, stats: StepStats) -> None:
    """Detect each row's language and set its route."""
    for row in rows:
        found = detect_language(row["problem"], lang_cfg["min_letters"])
        route = route_of(found.language, found.confidence, lang_cfg)
        row.update(language=found.language, language_confidence=found.confidence, original_problem=None,
                   translation=None, language_route=route)  # fmt: skip
    stats.counters["languages"] = dict(sorted(Counter(r["language"] for r in rows).items()))
    stats.counters["language_routes"] = dict(sorted(Counter(r["language_route"] for r in rows).items()))


def _translate(rows: list[dict], cfg: dict, store_path: str, stats: StepStats) -> list[tuple]:
    """Translate `rows` in place; (row, drop reason, detail) of those whose translation failed."""
    stage = cfg["problems"]["translation"]
    params = SamplingParams.from_config(stage)
    prompt = load_prompt(cfg["prompts_dir"], stage["prompt"])
    requests = [
        make_request(
            stage_model(cfg, "problems.translation"),
            prompt.render(problem=r["problem"], language=r["language"]),
            params,
        )
        for r in rows
    ]
    with Generator(stage_model(cfg, "problems.translation"), store_path) as gen:
        results = gen.run(requests) if requests else {}
    stats.counters["requests"] = gen.totals.__dict__
    failed = []
    for row, request in zip(rows, requests, strict=True):
        record = results[request.key]
        row["translation"] = llm_meta(record, prompt, params)
        text, reason, detail = translation_problem(record, row["problem"], cfg["problems"]["language"])
        if reason:
            failed.append((row, reason, detail))
        else:
            row["original_problem"], row["problem"] = row["problem"], text
    stats.counters["translated"] = len(rows) - len(failed)
    return failed


def detect_languages(
    in_path: str, cfg: dict, out_path: str, dropped_path: str, stats_path: str, store_path: str
) -> StepStats:
    lang_cfg = cfg["problems"]["language"]
    rows = read_records(in_path)
    stats = StepStats(step=STEP, n_in=len(rows))
    _label(rows, lang_cfg, stats)
    dropped = [_dropped(r, f"language:{r['language']}", None) for r in rows if r["language_route"] == "drop"]
    failed = _translate([r for r in rows if r["language_route"] == "translate"], cfg, store_path, stats)
    dropped += [_dropped(row, reason, detail) for row, reason, detail in failed]
    gone = {id(r) for r in rows if r["language_route"] == "drop"} | {id(row) for row, _, _ in failed}
    kept = [r for r in rows if id(r) not in gone]
    for d in dropped:
        stats.drop(d["reason"])
    stats.n_out = len(kept)
    return write_step(
        stats, stats_path, (kept, LANGUAGE_SCHEMA, out_path), (dropped, DROPPED_SCHEMA, dropped_path)
    )
