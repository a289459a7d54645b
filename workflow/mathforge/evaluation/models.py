"""The models an evaluation runs: the one place that says which models are evaluated and with
which inference settings (evaluate_prover and evaluate_solver both ask here)."""

from __future__ import annotations

import copy

from mathforge.config import deep_update, validate_config


def eval_models(cfg: dict) -> list[dict]:
    """The models to evaluate: the configured ones, or the pipeline's own as `main`."""
    return cfg["eval"]["models"] or [{"name": "main", "inference": {}}]


def model_inference(cfg: dict, name: str) -> dict:
    """The inference section of the evaluated model `name` (its overrides over the pipeline's)."""
    model = next((m for m in eval_models(cfg) if m["name"] == name), None)
    if model is None:
        raise KeyError(f"eval.models has no model named {name!r}")
    merged = deep_update(copy.deepcopy(cfg["inference"]), model["inference"])
    return validate_config({"inference": merged})["inference"]
