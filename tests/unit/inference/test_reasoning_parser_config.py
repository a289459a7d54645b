"""`inference.server.reasoning_parser`: checked against vLLM's parser names, passed to the server,
part of the model identity (a changed parser reruns the LLM stages and misses the cache)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from mathforge.config import load_schema, validate_config
from mathforge.errors import ConfigError
from mathforge.inference import reasoning_parsers
from mathforge.inference.endpoints import model_identity, server_spec
from mathforge.inference.reasoning_parsers import (
    PINNED_VLLM_PARSERS,
    known_reasoning_parsers,
    registered_in_source,
)


@pytest.fixture(scope="module")
def schema() -> dict:
    return load_schema()


def config(schema: dict, **server) -> dict:
    cfg = {"inference": {"backend": "vllm", "model": "org/reasoner", "server": server}}
    return validate_config(cfg, schema)


def test_the_parser_reaches_the_vllm_command_line(schema):
    with_parser = server_spec(config(schema, reasoning_parser="deepseek_r1")["inference"])
    without = server_spec(config(schema)["inference"])
    joined = " ".join(with_parser.command(8000))
    assert "--reasoning-parser deepseek_r1" in joined
    assert "--reasoning-parser" not in " ".join(without.command(8000))
    # A server with another parser is another server: jobs must not share it.
    assert with_parser.spec_hash() != without.spec_hash()


def test_model_identity_changes_with_the_parser_and_only_then(schema):
    plain = model_identity(config(schema)["inference"])
    assert plain == "vllm:org/reasoner"  # unchanged for configs without a parser: caches stay valid
    r1 = model_identity(config(schema, reasoning_parser="deepseek_r1")["inference"])
    qwen3 = model_identity(config(schema, reasoning_parser="qwen3")["inference"])
    assert len({plain, r1, qwen3}) == 3
    embedded = validate_config(
        {"inference": {"backend": "embedded", "server": {"reasoning_parser": "olmo3"}}}, schema
    )
    assert model_identity(embedded["inference"]).endswith("+reasoning_parser=olmo3")


def test_external_endpoints_are_not_started_here_so_the_parser_is_not_theirs(schema):
    cfg = validate_config(
        {"inference": {"backend": "openai", "model": "m", "server": {"reasoning_parser": "qwen3"}}}, schema
    )
    assert model_identity(cfg["inference"]) == "openai:m"


def test_unknown_parser_names_the_key_and_lists_the_known_ones(schema):
    with pytest.raises(ConfigError) as err:
        config(schema, reasoning_parser="deepseek-r1")
    message = str(err.value)
    assert "inference.server.reasoning_parser" in message and "'deepseek-r1'" in message
    names, _origin = known_reasoning_parsers()
    assert all(name in message for name in names) and "deepseek_r1" in names


def test_unknown_parser_of_an_evaluated_model_names_that_model(schema):
    cfg = {
        "inference": {"backend": "vllm", "model": "m"},
        "eval": {"models": [{"name": "ok", "inference": {}}, {"name": "bad", "inference": {"server": {"reasoning_parser": "nope"}}}]},
    }  # fmt: skip
    with pytest.raises(ConfigError, match=r"eval\.models\[1\]\.inference\.server\.reasoning_parser"):
        validate_config(cfg, schema)


def test_a_plugin_parser_is_left_to_the_server(schema):
    cfg = config(schema, reasoning_parser="mine", extra_args=["--reasoning-parser-plugin", "/p/mine.py"])
    assert "--reasoning-parser mine" in " ".join(server_spec(cfg["inference"]).command(1))


def test_names_are_read_from_the_registration_table(tmp_path: Path):
    init = tmp_path / "__init__.py"
    init.write_text(
        "_REASONING_PARSERS_TO_REGISTER = {\n"
        '    "zeta": ("z_parser", "Z"),\n'
        '    "alpha": ("a_parser", "A"),\n'
        "}\n"
    )
    assert registered_in_source(init) == ("alpha", "zeta")
    init.write_text("PARSERS = {}\n")
    assert registered_in_source(init) is None
    assert registered_in_source(tmp_path / "missing.py") is None


def test_without_vllm_the_pinned_list_is_used(monkeypatch):
    known_reasoning_parsers.cache_clear()
    monkeypatch.setattr(reasoning_parsers.importlib.util, "find_spec", lambda name: None)
    try:
        names, origin = known_reasoning_parsers()
        assert names == PINNED_VLLM_PARSERS and "pinned" in origin
    finally:
        known_reasoning_parsers.cache_clear()


@pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="needs vllm")
def test_names_agree_with_the_installed_vllm_manager():
    from vllm.reasoning import ReasoningParserManager

    names, origin = known_reasoning_parsers()
    assert names == tuple(sorted(ReasoningParserManager.list_registered()))
    assert "installed" in origin
    # The fallback list is the pinned version's: it must follow a version bump of the pin.
    import vllm

    if vllm.__version__.startswith("0.32.0"):
        assert names == PINNED_VLLM_PARSERS


def test_unknown_parser_of_a_named_model_names_that_model(schema):
    cfg = {
        "models": {
            "solver": {"backend": "vllm", "model": "org/reasoner", "server": {"reasoning_parser": "r1"}}
        },
        "solutions": {"model": "solver"},
    }
    with pytest.raises(ConfigError, match=r"models\.solver\.server\.reasoning_parser"):
        validate_config(cfg, schema)
