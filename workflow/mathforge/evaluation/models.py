"""The models an evaluation runs: the one place that says which models are evaluated and with
which inference settings (evaluate_prover and evaluate_solver both ask here).

An `eval.models` entry names a model of the `models` map (null = the model of the stage being
evaluated: `proofs` for the prover evaluation, `solutions` for the solver evaluation); its
deprecated per-entry `inference` overrides are merged over that model's section.
"""

from __future__ import annotations

import copy

from mathforge.config import validate_config
from mathforge.dicts import deep_update
from mathforge.inference.models import model_section, stage_model_name


def eval_models(cfg: dict) -> list[dict]:
    """The models to evaluate: the configured ones, or the evaluated stage's own model as `main`."""
    return cfg["eval"]["models"] or [{"name": "main", "model": None, "inference": {}}]


def evaluated_model_name(cfg: dict, entry: dict, stage_key: str) -> str:
    """The `models` name an eval.models entry evaluates: its own `model`, else `stage_key`'s."""
    return entry.get("model") or stage_model_name(cfg, stage_key)


def model_inference(cfg: dict, name: str, stage_key: str = "proofs") -> dict:
    """The inference section of the evaluated model `name`; `stage_key` is the stage whose model an
    entry without `model` evaluates."""
    entry = next((m for m in eval_models(cfg) if m["name"] == name), None)
    if entry is None:
        raise KeyError(f"eval.models has no model named {name!r}")
    base = model_section(cfg, evaluated_model_name(cfg, entry, stage_key), f"eval.models[{name}].model")
    if not entry.get("inference"):
        return base
    merged = deep_update(copy.deepcopy(base), entry["inference"])
    return validate_config({"inference": merged})["inference"]
