"""Named models and which one each LLM stage uses: the one place a stage's inference section is found.

`models` maps names to full inference sections; every LLM stage names its model with a `model`
key in its own config section (so the name is part of the params its rule declares). The model
`default` is the `inference` section unless `models` defines it. Rules declare only their own
stage's model identity, so changing one stage's model reruns that stage and what reads its output.
"""

from __future__ import annotations

import copy

from mathforge.dicts import deep_update
from mathforge.errors import ConfigError
from mathforge.inference.endpoints import model_identity
from mathforge.params import Untracked

DEFAULT_MODEL = "default"

# Every LLM stage, as the dotted path of the config section that holds its `model` key. A new LLM
# stage adds its section here; validation then checks the name it gives.
STAGE_KEYS = (
    "problems.extraction",
    "problems.translation",
    "problems.classification",
    "problems.answers",
    "decontam.judge",
    "solutions",
    "answers.judge",
    "forum_cot.rewrite",
    "formal",
    "proofs",
)
MANAGED_BACKENDS = ("embedded", "vllm")


def stage_section(cfg: dict, stage_key: str) -> dict:
    section = cfg
    for part in stage_key.split("."):
        section = section[part]
    return section


def model_names(cfg: dict) -> list[str]:
    """Every defined model name, `default` first."""
    return [DEFAULT_MODEL, *sorted(n for n in cfg.get("models", {}) if n != DEFAULT_MODEL)]


def model_section(cfg: dict, name: str, key: str = "model") -> dict:
    """The inference section of the model `name`; `key` is the config key that named it (for errors)."""
    models = cfg.get("models") or {}
    if name in models:
        return models[name]
    if name == DEFAULT_MODEL:
        return cfg["inference"]
    raise ConfigError(f"{key}: {name!r} is not in models (defined: {', '.join(model_names(cfg))})")


def stage_model_name(cfg: dict, stage_key: str) -> str:
    return stage_section(cfg, stage_key).get("model") or DEFAULT_MODEL


def stage_model(cfg: dict, stage_key: str) -> dict:
    """The inference section the stage at `stage_key` (e.g. "proofs") sends its requests to."""
    return model_section(cfg, stage_model_name(cfg, stage_key), f"{stage_key}.model")


def stage_model_identity(cfg: dict, stage_key: str) -> str:
    """What the stage's rule declares in params: changes exactly when another model would answer."""
    return model_identity(stage_model(cfg, stage_key))


def declared_models(cfg: dict, *stage_keys: str) -> dict:
    """The `models` a job of these stages declares: each model they name, with its inference
    section Untracked (server arguments, addresses and concurrency change how requests are sent,
    not what comes back; what answers is declared apart, as the stage's model identity)."""
    return {stage_model_name(cfg, key): Untracked(stage_model(cfg, key)) for key in stage_keys}


def model_resources(cfg: dict, family: str, model: dict) -> dict:
    """Resources of a rule family, with the model's own overrides (its non-null `resources`)."""
    res = cfg["resources"][family]
    merged = {"mem_mb": res["mem_mb"], "runtime": res["runtime"], "gpu": res["gpu"]}
    merged.update(
        {k: v for k, v in (model.get("resources") or {}).items() if v is not None and k != "threads"}
    )
    return merged


def model_threads(cfg: dict, family: str, model: dict) -> int:
    own = (model.get("resources") or {}).get("threads")
    return own if own is not None else cfg["resources"][family]["threads"]


def layer_default_model(config: dict) -> None:
    """Before defaults are filled: `models.default` is layered over `inference` when both are given
    (the workflow's config/config.yaml gives `inference`; a recipe's `models.default` overrides it,
    as a later config file overrides an earlier one)."""
    models = config.get("models") or {}
    if DEFAULT_MODEL in models and config.get("inference"):
        models[DEFAULT_MODEL] = deep_update(copy.deepcopy(config["inference"]), models[DEFAULT_MODEL] or {})


def resolve_models(config: dict) -> None:
    """Validation of the model map (called by validate_config after the schema check)."""
    if DEFAULT_MODEL in config["models"]:
        config["inference"] = config["models"][DEFAULT_MODEL]  # code reading `inference` sees the default
    for key in STAGE_KEYS:
        stage_model(config, key)
    for entry in config["eval"]["models"]:
        if entry.get("model"):
            model_section(config, entry["model"], f"eval.models[{entry['name']}].model")
    check_distinct_servers(config)


def used_model_names(cfg: dict) -> list[str]:
    """The models some stage or evaluated prover names (the only ones that can start a server)."""
    names = {stage_model_name(cfg, key) for key in STAGE_KEYS}
    names |= {e.get("model") or stage_model_name(cfg, "proofs") for e in cfg["eval"]["models"]}
    return sorted(names)


def check_used_models(cfg: dict) -> None:
    """Before any job runs (the Snakefile): every model a stage uses can be served or reached."""
    for name in used_model_names(cfg):
        model = model_section(cfg, name)
        legacy = name == DEFAULT_MODEL and DEFAULT_MODEL not in cfg["models"]
        where = "inference" if legacy else f"models.{name}"
        if model["backend"] != "embedded" and not model.get("model"):
            raise ConfigError(
                f"{where}.model must be set for backend {model['backend']!r} "
                "(the Hugging Face id or path the server loads, or the endpoint's model name)"
            )
        if model["backend"] == "openai" and not model["openai"]["base_urls"]:
            raise ConfigError(f"{where}.openai.base_urls is empty: list at least one endpoint URL")


def check_distinct_servers(cfg: dict) -> None:
    """Two managed models on one fixed port, or two pools in one directory, would collide."""
    seen: dict[tuple, str] = {}
    for name in used_model_names(cfg):
        model = model_section(cfg, name)
        if model["backend"] in MANAGED_BACKENDS and model["server"]["port"]:
            place = ("port", model["server"]["host"], model["server"]["port"])
        elif model["backend"] == "pool":
            place = ("pool dir", model["pool"]["dir"])
        else:
            continue
        other = seen.setdefault(place, name)
        if other != name and model_section(cfg, other) != model:  # the same settings share one server
            raise ConfigError(
                f"models.{other} and models.{name} use the same {place[0]} {place[-1]!r}: "
                "give each model its own (port 0 picks a free one)"
            )


def managed_state_dirs(cfg: dict) -> list[str]:
    """Where every model's managed servers are recorded (stopped together at the end of a run)."""
    return sorted({model_section(cfg, n)["server"]["state_dir"] for n in model_names(cfg)})


def stage_resources(cfg: dict, stage_key: str, family: str) -> dict:
    """A stage's job resources: its family's, with its model's overrides unless the stage sends no
    requests (`enabled: false`, e.g. a switched-off judge needs no GPU)."""
    if not stage_section(cfg, stage_key).get("enabled", True):
        return model_resources(cfg, family, {})
    return model_resources(cfg, family, stage_model(cfg, stage_key))


def stage_threads(cfg: dict, stage_key: str, family: str) -> int:
    if not stage_section(cfg, stage_key).get("enabled", True):
        return cfg["resources"][family]["threads"]
    return model_threads(cfg, family, stage_model(cfg, stage_key))
