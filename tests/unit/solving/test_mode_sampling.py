"""solutions.mode_sampling: sampling settings for one mode only (e.g. a thinking budget and
min_tokens for plain solutions that think, which must never reach TIR requests: min_tokens
would hold back the stop strings that end a code cell)."""

from __future__ import annotations

import json

from mathforge.config import validate_config
from mathforge.solving.generate import build_tasks

ROW = {"problem_id": "p1", "problem": "What is $2+3$?"}


def tasks(**solutions):
    cfg = validate_config({"solutions": {"n_tir": 1, "n_plain": 1, "efforts": ["low"], **solutions}})
    return {meta["mode"]: (task, meta) for _row, meta, task in build_tasks([ROW], cfg)}


def test_a_mode_override_reaches_only_that_modes_requests():
    extra = {"thinking_token_budget": 64, "min_tokens": 110}
    by_mode = tasks(
        sampling={"temperature": 0.7, "max_tokens": 512, "extra_body": {"top_k": 20}},
        mode_sampling={"plain": {"extra_body": extra, "temperature": 0.6}},
    )
    plain, tir = by_mode["plain"][0].params, by_mode["tir"][0].params
    assert plain.extra_body == {"top_k": 20, **extra} and plain.temperature == 0.6
    assert tir.extra_body == {"top_k": 20} and tir.temperature == 0.7
    assert plain.max_tokens == tir.max_tokens == 512
    assert json.loads(by_mode["plain"][1]["sampling"])["min_tokens"] == 110  # recorded on the row


def test_without_overrides_the_request_keys_do_not_change():
    plain_before = tasks(sampling={"temperature": 0.7})["plain"][0]
    plain_empty = tasks(sampling={"temperature": 0.7}, mode_sampling={"plain": {}})["plain"][0]
    assert plain_before.key == plain_empty.key
    changed = tasks(sampling={"temperature": 0.7}, mode_sampling={"plain": {"temperature": 0.5}})["plain"][0]
    assert changed.key != plain_before.key
