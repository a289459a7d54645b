"""Config: fill defaults from the JSON schema, validate, and resolve paths.

Snakemake's own `validate(..., set_default=True)` does not descend into defaults of objects that
are missing altogether or behind `$ref`; this does, so every key a stage reads is present.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from mathforge.dicts import deep_update
from mathforge.errors import ConfigError
from mathforge.inference.reasoning_parsers import check_reasoning_parser
from mathforge.publish.checks import check_publish_config

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO_ROOT / "config" / "schema.yaml"
# Keys that were removed, with what replaces them: a config that still sets one fails with this
# migration note instead of the schema's bare "additional property" error.
REMOVED_KEYS = {
    ("proofs", "prompt_history"): (
        "replaced by proofs.context (remove_cot: true sends earlier attempts as code only, like "
        "`code`; false sends the full response, like `full`; delete_wrong_turns: true keeps only "
        "the latest attempt in the context)"
    ),
}


# libyaml's safe loader when PyYAML was built with it: every Snakemake invocation reads the schema
# (80 KB: 0.1 s with the pure-Python loader, a fifth of that with libyaml); both build the same data.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_schema(path: str | Path = SCHEMA_PATH) -> dict:
    with open(path) as fh:
        return yaml.load(fh, Loader=SAFE_LOADER)


def _resolve(schema: dict, root: dict) -> dict:
    ref = schema.get("$ref")
    if not ref:
        return schema
    if not ref.startswith("#/"):
        raise ConfigError(f"only local $ref is supported, got {ref}")
    target: Any = root
    for part in ref[2:].split("/"):
        target = target[part]
    merged = dict(target)
    merged.update({k: v for k, v in schema.items() if k != "$ref"})
    return merged


def apply_defaults(value: Any, schema: dict, root: dict) -> Any:
    schema = _resolve(schema, root)
    if isinstance(value, dict) and "properties" in schema:
        own_default = schema.get("default")
        if isinstance(own_default, dict):
            for key, default in own_default.items():
                value.setdefault(key, copy.deepcopy(default))
        required = set(schema.get("required", ()))  # never defaulted: a missing one must be an error
        for key, sub in schema["properties"].items():
            sub_resolved = _resolve(sub, root)
            if key not in value and key not in required and "default" in sub_resolved:
                value[key] = copy.deepcopy(sub_resolved["default"])
            if key in value:
                value[key] = apply_defaults(value[key], sub, root)
    if isinstance(value, dict) and isinstance(schema.get("additionalProperties"), dict):
        # maps of named entries (`models`): every entry gets its schema's defaults
        named = schema["additionalProperties"]
        for key in set(value) - set(schema.get("properties", {})):
            value[key] = apply_defaults(value[key], named, root)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        value = [apply_defaults(item, schema["items"], root) for item in value]
    return value


def removed_keys(config: dict) -> list[str]:
    """Migration notes for the removed keys `config` still sets."""
    notes = []
    for path, note in REMOVED_KEYS.items():
        section = config
        for key in path[:-1]:
            section = section.get(key) if isinstance(section, dict) else None
        if isinstance(section, dict) and path[-1] in section:
            notes.append(f"  {'.'.join(path)}: no longer exists; {note}")
    return notes


def validate_config(config: dict, schema: dict | None = None, basedir: str | Path | None = None) -> dict:
    """Fill defaults in place and validate; errors name the offending key path.

    `basedir` is the workflow's directory (Snakemake's `workflow.basedir`): the default prompts
    live under it, wherever the package itself is installed.
    """
    base = Path(basedir) if basedir else REPO_ROOT
    notes = removed_keys(config)
    if notes:
        raise ConfigError("invalid configuration:\n" + "\n".join(notes))
    schema = schema or load_schema(base / "config" / "schema.yaml")
    with_models = "models" in schema.get("properties", {})
    if with_models:
        from mathforge.inference.models import layer_default_model

        layer_default_model(config)
    apply_defaults(config, schema, schema)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"  {'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors[:20]]
        raise ConfigError("invalid configuration:\n" + "\n".join(lines))
    names = [s["name"] for s in config["sources"]]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"sources: names must be unique, repeated: {duplicates}")
    tables = {t["name"] for t in config["proofs"]["statement_tables"]} & set(names)
    if tables:
        # both name the folders of their prove jobs (proofs/<name>/shard-K)
        raise ConfigError(
            f"proofs.statement_tables: names must differ from the sources', shared: {sorted(tables)}"
        )
    _check_answer_benchmarks(config["eval"]["answer_benchmarks"])
    _check_reasoning_parsers(config)
    if "publish" in config:
        check_publish_config(config)
    if with_models:
        from mathforge.inference.models import resolve_models

        resolve_models(config)
    if config["prompts_dir"] is None:
        config["prompts_dir"] = str(base / "config" / "prompts")
    return config


def _check_answer_benchmarks(benchmarks: list[dict]) -> None:
    names = [b["name"] for b in benchmarks]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"eval.answer_benchmarks: names must be unique, repeated: {duplicates}")
    for bench in benchmarks:
        if bool(bench["path"]) == bool(bench["hf_dataset"]):
            raise ConfigError(
                f"eval.answer_benchmarks {bench['name']!r}: set exactly one of `path` and `hf_dataset`"
            )


def _check_reasoning_parsers(config: dict) -> None:
    """A reasoning parser vLLM does not know fails here, not when a job's server starts."""
    sections = [("inference", config.get("inference"))]
    sections += [(f"models.{name}", section) for name, section in (config.get("models") or {}).items()]
    models = (config.get("eval") or {}).get("models") or []
    sections += [(f"eval.models[{i}].inference", m.get("inference")) for i, m in enumerate(models)]
    for key, section in sections:
        server = (section or {}).get("server")
        if isinstance(server, dict):
            check_reasoning_parser(server, f"{key}.server.reasoning_parser")


def load_config(*paths: str | Path, overrides: dict | None = None) -> dict:
    """Merge YAML files (later ones win, deep) and overrides, then validate."""
    merged: dict = {}
    for path in paths:
        with open(path) as fh:
            deep_update(merged, yaml.safe_load(fh) or {})
    if overrides:
        deep_update(merged, overrides)
    return validate_config(merged)
