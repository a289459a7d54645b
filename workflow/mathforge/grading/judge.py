"""Judging solutions' final answers against an expected answer: symbolic first, LLM for the rest.

Prefill without a model (the reference's rule): no predicted answer -> No; no expected answer ->
null. Then exact/integer/symbolic comparison (`AnswerComparer`). What that cannot decide
(worded answers, unparseable forms, timeouts) goes to the LLM judge, whose reply is parsed
after its LAST "Judgement:"; an unparseable or rejected reply is recorded and counts as No.
Every row says which method decided (`judge_method`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mathforge.grading.equivalence import AnswerComparer
from mathforge.inference.client import SamplingParams
from mathforge.inference.generation import Generator, make_request
from mathforge.inference.models import stage_model
from mathforge.prompts import load_prompt
from mathforge.schemas.problems import llm_meta

_JUDGEMENT = re.compile(r"judge?ment\s*:", re.IGNORECASE)


def parse_judgement(text: str) -> bool | None:
    """Yes/No after the last "Judgement:"; None when there is none or it says neither."""
    found = list(_JUDGEMENT.finditer(text or ""))
    if not found:
        return None
    word = re.match(r"[\s*_`\"']*([A-Za-z]+)", text[found[-1].end() :])
    if word is None:
        return None
    return {"yes": True, "no": False}.get(word.group(1).lower())


@dataclass
class Judged:
    judgement: bool | None  # None only when there is no expected answer
    method: str  # exact | integer | symbolic | llm | llm_unparseable | llm_rejected | missing | no_expected
    meta: dict | None = None  # the LLM call, when one was made


def judge_answers(
    items: list[tuple[str, str | None, str | None]],
    comparer: AnswerComparer,
    cfg: dict,
    generator: Generator | None,
) -> list[Judged]:
    """Judge (problem, expected, predicted) triples; `generator` None disables the LLM judge."""
    verdicts = comparer.compare_many([(expected, predicted) for _, expected, predicted in items])
    out: list[Judged | None] = []
    undecided: list[int] = []
    for i, ((_, expected, _predicted), verdict) in enumerate(zip(items, verdicts, strict=True)):
        if expected is None or not expected.strip():
            out.append(Judged(None, "no_expected"))
        elif verdict.method == "missing":
            out.append(Judged(False, "missing"))
        elif verdict.decided:
            out.append(Judged(verdict.equal, verdict.method))
        else:
            out.append(None)
            undecided.append(i)
    if undecided and generator is None:
        for i in undecided:
            out[i] = Judged(False, f"undecided_{verdicts[i].method}")
    elif undecided:
        stage = cfg["answers"]["judge"]
        prompt = load_prompt(cfg["prompts_dir"], stage["prompt"])
        params = SamplingParams.from_config(stage)
        requests = [
            make_request(
                stage_model(cfg, "answers.judge"),
                prompt.render(problem=items[i][0], expected_answer=items[i][1], predicted_answer=items[i][2]),
                params,
            )
            for i in undecided
        ]
        results = generator.run(requests)
        for i, request in zip(undecided, requests, strict=True):
            record = results[request.key]
            meta = llm_meta(record, prompt, params)
            if record.get("error"):
                out[i] = Judged(False, "llm_rejected", meta)
                continue
            judgement = parse_judgement(record["text"])
            out[i] = Judged(bool(judgement), "llm" if judgement is not None else "llm_unparseable", meta)
    return out  # type: ignore[return-value]
