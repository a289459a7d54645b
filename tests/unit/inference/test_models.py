"""mathforge.inference.models: named models, each stage's model, old one-model configs, bad names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mathforge.config import validate_config
from mathforge.errors import ConfigError
from mathforge.evaluation.models import model_inference
from mathforge.inference.endpoints import model_identity, served_model_name, server_spec
from mathforge.inference.models import (
    STAGE_KEYS,
    check_used_models,
    managed_state_dirs,
    stage_model,
    stage_model_identity,
    stage_resources,
    stage_threads,
    used_model_names,
)

PACKAGE = Path(__file__).resolve().parents[3] / "workflow" / "mathforge"


def vllm(model: str, **extra) -> dict:
    return {"backend": "vllm", "model": model, **extra}


def two_models(**stages) -> dict:
    """Problem stages on `default` (Qwen), the prover on `prover` (Goedel)."""
    return validate_config(
        {
            "models": {
                "default": vllm("Qwen/Qwen2.5-32B-Instruct"),
                "prover": vllm("Goedel-LM/Goedel-Prover-V2-32B", resources={"gpu": 4, "mem_mb": 200000}),
            },
            "proofs": {"model": "prover"},
            **stages,
        }
    )


def test_an_old_config_with_one_inference_section_is_the_default_model_of_every_stage():
    cfg = validate_config({"inference": vllm("org/m", max_concurrent_requests=7)})
    assert cfg["models"] == {}
    for key in STAGE_KEYS:
        assert stage_model(cfg, key) is cfg["inference"]
        assert stage_model_identity(cfg, key) == "vllm:org/m"
    assert used_model_names(cfg) == ["default"]
    # the section stays the one tests and older code replace after validation
    cfg["inference"] = {**cfg["inference"], "model": "org/other"}
    assert stage_model_identity(cfg, "proofs") == "vllm:org/other"


def test_each_stage_resolves_the_model_it_names_and_entries_get_every_default():
    cfg = two_models(solutions={"model": "default"})
    prover = stage_model(cfg, "proofs")
    assert prover["model"] == "Goedel-LM/Goedel-Prover-V2-32B"
    assert prover["server"]["tensor_parallel_size"] == 1 and prover["max_retries"] == 3  # schema defaults
    assert stage_model_identity(cfg, "proofs") == "vllm:Goedel-LM/Goedel-Prover-V2-32B"
    others = [k for k in STAGE_KEYS if k != "proofs"]
    assert {stage_model_identity(cfg, k) for k in others} == {"vllm:Qwen/Qwen2.5-32B-Instruct"}
    assert cfg["inference"] is cfg["models"]["default"]  # code reading `inference` sees the default
    assert validate_config(cfg) is cfg  # validating again is harmless
    assert used_model_names(cfg) == ["default", "prover"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"proofs": {"model": "prover"}},
            "proofs.model: 'prover' is not in models (defined: default, solver)",
        ),
        (
            {"problems": {"extraction": {"model": "qwen"}}},
            "problems.extraction.model: 'qwen' is not in models (defined: default, solver)",
        ),
        (
            {"decontam": {"judge": {"model": "judge"}}},
            "decontam.judge.model: 'judge' is not in models (defined: default, solver)",
        ),
        (
            {"eval": {"models": [{"name": "g", "model": "goedel"}]}},
            "eval.models[g].model: 'goedel' is not in models (defined: default, solver)",
        ),
    ],
)
def test_a_stage_naming_an_undefined_model_fails_validation_naming_the_key(config, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        validate_config({"models": {"solver": vllm("org/solver")}, **config})


def test_models_default_is_layered_over_inference_like_a_later_config_file():
    # config/config.yaml gives `inference`; a recipe's `models.default` overrides what it sets
    cfg = validate_config(
        {
            "inference": vllm("Qwen/Qwen2.5-32B-Instruct", server={"tensor_parallel_size": 4}),
            "models": {"default": {"backend": "embedded", "max_concurrent_requests": 16}},
        }
    )
    default = stage_model(cfg, "problems.extraction")
    assert default["backend"] == "embedded" and default["max_concurrent_requests"] == 16
    assert default["server"]["tensor_parallel_size"] == 4  # what only `inference` set is kept
    assert cfg["inference"] is default and validate_config(cfg)["inference"] == default


def test_a_model_entry_is_checked_with_the_inference_schema():
    with pytest.raises(ConfigError, match=r"models.prover.backend: 'tgi' is not one of"):
        validate_config({"models": {"prover": {"backend": "tgi"}}})
    with pytest.raises(ConfigError, match=r"models.prover: Additional properties .*'gpus'"):
        validate_config({"models": {"prover": {"backend": "vllm", "gpus": 4}}})


def test_a_used_model_without_a_model_to_serve_fails_before_any_job():
    cfg = validate_config({"models": {"prover": {"backend": "vllm"}}, "proofs": {"model": "prover"}})
    with pytest.raises(ConfigError, match=r"models.prover.model must be set for backend 'vllm'"):
        check_used_models(cfg)
    cfg = validate_config({"inference": {"backend": "openai", "model": "m"}})
    with pytest.raises(ConfigError, match=r"inference.openai.base_urls is empty"):
        check_used_models(cfg)
    # an unused model is not checked: nothing would start it
    check_used_models(validate_config({"models": {"spare": {"backend": "vllm"}}}))


def test_two_different_models_on_one_fixed_port_are_rejected():
    fixed = {"server": {"port": 8000}}
    with pytest.raises(ConfigError, match=r"models.default and models.prover use the same port 8000"):
        validate_config(
            {
                "models": {"default": vllm("a", **fixed), "prover": vllm("b", **fixed)},
                "proofs": {"model": "prover"},
            }
        )


def test_stage_resources_take_the_model_overrides_unless_the_stage_sends_nothing():
    cfg = two_models(resources={"llm": {"gpu": 1, "mem_mb": 8000, "runtime": 600, "threads": 3}})
    assert stage_resources(cfg, "proofs", "llm") == {"gpu": 4, "mem_mb": 200000, "runtime": 600}
    assert stage_resources(cfg, "formal", "llm") == {"gpu": 1, "mem_mb": 8000, "runtime": 600}
    assert stage_threads(cfg, "proofs", "llm") == 3
    cfg["models"]["default"]["resources"]["gpu"] = 2
    assert stage_resources(cfg, "answers.judge", "llm")["gpu"] == 2
    cfg["answers"]["judge"]["enabled"] = False  # no LLM judge: no GPU for it
    assert stage_resources(cfg, "answers.judge", "llm")["gpu"] == 1


def test_every_models_state_dir_is_stopped_at_the_end_of_a_run():
    cfg = two_models()
    cfg["models"]["prover"]["server"]["state_dir"] = "elsewhere/servers"
    assert managed_state_dirs(cfg) == [".mathforge/servers", "elsewhere/servers"]


def test_the_embedded_model_can_be_served_twice_under_two_names(tmp_path, monkeypatch):
    import mathforge.inference.endpoints as endpoints

    monkeypatch.setattr(endpoints.embedded_model, "ensure_embedded_model", lambda cache_dir: tmp_path)
    cfg = validate_config(
        {
            "models": {"default": {}, "solver": {"served_model_name": "mathforge-solver"}},
            "solutions": {"model": "solver"},
        }
    )
    first, second = stage_model(cfg, "problems.extraction"), stage_model(cfg, "solutions")
    assert served_model_name(second) == "mathforge-solver" != served_model_name(first)
    assert server_spec(first).spec_hash() != server_spec(second).spec_hash()  # two servers, own state
    assert model_identity(first) == model_identity(second)  # the same weights answer


def test_evaluated_provers_name_a_model_or_use_the_provers():
    cfg = two_models(eval={"models": [{"name": "qwen", "model": "default"}, {"name": "mine"}]})
    assert model_inference(cfg, "qwen")["model"] == "Qwen/Qwen2.5-32B-Instruct"
    assert model_inference(cfg, "mine")["model"] == "Goedel-LM/Goedel-Prover-V2-32B"
    cfg["eval"]["models"] = []
    assert model_inference(cfg, "main")["model"] == "Goedel-LM/Goedel-Prover-V2-32B"
    # the older form, overrides merged over the prover's model, still works
    cfg["eval"]["models"] = [{"name": "old", "inference": {"max_concurrent_requests": 4}}]
    old = model_inference(cfg, "old")
    assert old["model"] == "Goedel-LM/Goedel-Prover-V2-32B" and old["max_concurrent_requests"] == 4


def test_no_stage_reads_the_inference_section_directly():
    """Every stage resolves its model through mathforge.inference.models (one place)."""
    pattern = re.compile(r"\b(cfg|config)\[\"inference\"\]")
    offenders = [
        f"{path.relative_to(PACKAGE)}:{i}"
        for path in PACKAGE.rglob("*.py")
        if path.name != "models.py"
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_the_pool_command_serves_the_model_it_is_given(tmp_path, monkeypatch):
    import yaml

    from mathforge import cli
    from mathforge.inference import pool_registry

    config = tmp_path / "c.yaml"
    pool_dir = tmp_path / "pools" / "prover"
    config.write_text(
        yaml.safe_dump(
            {"models": {"prover": vllm("Goedel-LM/Goedel-Prover-V2-32B", pool={"dir": str(pool_dir)})}}
        )
    )
    asked = []
    monkeypatch.setattr(pool_registry, "pool_endpoints", lambda path, wait_s: asked.append(path) or [])
    assert cli.main(["pool", "status", "--configfile", str(config), "--model", "prover"]) == 0
    assert asked == [pool_dir]
    with pytest.raises(ConfigError, match=r"--model: 'solver' is not in models \(defined: default, prover\)"):
        cli.main(["pool", "status", "--configfile", str(config), "--model", "solver"])
