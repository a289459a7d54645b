"""mathforge.config: defaults filled from config/schema.yaml (also behind $ref and in list items)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
import yaml

from mathforge.config import SCHEMA_PATH, load_config, load_schema, validate_config
from mathforge.dicts import deep_update
from mathforge.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
SCHEMA_FILE = REPO / "config" / "schema.yaml"


@pytest.fixture(scope="module")
def schema() -> dict:
    return load_schema(SCHEMA_FILE)


def source(name: str = "aops", **extra: object) -> dict:
    return {"name": name, "format": "aops_jsonl", "path": "data/aops.jsonl", **extra}


def test_package_uses_the_repository_schema() -> None:
    assert SCHEMA_PATH.resolve() == SCHEMA_FILE.resolve()


def test_the_schema_reads_as_the_pure_python_safe_loader_reads_it() -> None:
    """load_schema uses libyaml's loader when it is there (planning speed); the data is the same."""
    assert repr(load_schema(SCHEMA_FILE)) == repr(yaml.load(SCHEMA_FILE.read_text(), Loader=yaml.SafeLoader))


def test_empty_config_gets_every_top_level_default(schema: dict) -> None:
    config = validate_config({}, schema)
    assert set(config) == set(schema["properties"])
    assert config["dataset"] == "default"
    assert config["results_dir"] == "results"
    assert config["sources"] == []
    assert config["prompts_dir"] == str(REPO / "config" / "prompts")


def test_validate_fills_in_place_and_returns_the_same_dict(schema: dict) -> None:
    config: dict = {}
    assert validate_config(config, schema) is config
    assert "inference" in config


def test_nested_object_defaults_are_filled(schema: dict) -> None:
    config = validate_config({}, schema)
    assert config["problems"]["remove_quotes"] is True
    assert config["problems"]["max_discussion_chars"] == 96000
    server = config["inference"]["server"]
    assert server["scope"] == "auto" and server["port"] == 0 and server["extra_args"] == []
    assert config["inference"]["openai"] == {"base_urls": [], "api_key_env": "OPENAI_API_KEY"}
    assert config["inference"]["embedded"] == {"cache_dir": None, "max_model_len": 4096, "dtype": "auto"}


def test_ref_objects_get_their_own_default_then_the_shared_definition(schema: dict) -> None:
    config = validate_config({}, schema)
    extraction = config["problems"]["extraction"]
    # from the property's own default ...
    assert extraction["prompt"] == "extract_problems"
    assert extraction["max_tokens"] == 2048
    # ... and from $defs/sampling for keys that default does not set
    assert extraction["top_p"] == 1.0
    assert (
        extraction["stop"] == []
        and extraction["extra_body"] == {}
        and extraction["chat_template_kwargs"] == {}
    )
    assert config["problems"]["answers"]["prompt"] == "extract_answer"
    assert config["problems"]["answers"]["max_tokens"] == 512
    sizing = {"retry_growth": 1.5, "max_mem_mb": None, "max_runtime": None}
    assert config["resources"]["llm"] == {
        "threads": 1, "mem_mb": 8000, "runtime": 720, "gpu": 0, "mem_mb_per_input_mb": 40, "runtime_per_input_mb": 5,
        **sizing,
    }  # fmt: skip
    assert config["resources"]["cpu"] == {
        "threads": 1, "mem_mb": 4000, "runtime": 60, "gpu": 0, "mem_mb_per_input_mb": 20, "runtime_per_input_mb": 0.1,
        **sizing,
    }  # fmt: skip


def test_partial_ref_object_keeps_user_values_and_gets_the_rest(schema: dict) -> None:
    config = validate_config({"problems": {"extraction": {"temperature": 0.7, "max_tokens": 99}}}, schema)
    extraction = config["problems"]["extraction"]
    assert extraction["temperature"] == 0.7
    assert extraction["max_tokens"] == 99
    assert extraction["prompt"] == "extract_problems"
    assert extraction["seed"] == 0 and extraction["top_p"] == 1.0


def test_list_items_get_defaults(schema: dict) -> None:
    config = validate_config(
        {
            "sources": [source("a"), source("b", shards=4, license="MIT")],
            "problems": {
                "classification": {"classes": [{"name": "x", "prompt": "classify_x", "route": "keep"}]}
            },
        },
        schema,
    )
    first, second = config["sources"]
    assert first == {"name": "a", "format": "aops_jsonl", "path": "data/aops.jsonl", "site": "",
                     "license": None, "shards": 1, "max_threads": None, "solution_shards": None,
                     "formal_shards": None}  # fmt: skip
    assert (second["shards"], second["license"]) == (4, "MIT")
    assert config["problems"]["classification"]["classes"] == [
        {"name": "x", "prompt": "classify_x", "route": "keep"}
    ]


@pytest.mark.parametrize("missing", ["name", "format", "path"])
def test_required_source_keys_are_not_defaulted(schema: dict, missing: str) -> None:
    """A source without `format` must not silently become aops_jsonl, nor one without `path` read ''."""
    incomplete = {k: v for k, v in source().items() if k != missing}
    with pytest.raises(ConfigError) as exc:
        validate_config({"sources": [incomplete]}, schema)
    assert f"  sources.0: '{missing}' is a required property" in str(exc.value)


def test_required_class_keys_are_not_defaulted(schema: dict) -> None:
    config = {"problems": {"classification": {"classes": [{"name": "x", "prompt": "classify_x"}]}}}
    with pytest.raises(
        ConfigError, match=r"problems\.classification\.classes\.0: 'route' is a required property"
    ):
        validate_config(config, schema)


def test_default_classes_list(schema: dict) -> None:
    classes = validate_config({}, schema)["problems"]["classification"]["classes"]
    assert [(c["name"], c["route"]) for c in classes] == [
        ("proof", "proofs"),
        ("mcq", "drop"),
        ("binary", "drop"),
        ("invalid", "drop"),
    ]


def test_defaults_are_copies_not_shared_objects(schema: dict) -> None:
    pristine = copy.deepcopy(schema)
    first = validate_config({}, schema)
    first["inference"]["server"]["extra_args"].append("--mutated")
    first["problems"]["classification"]["classes"].clear()
    second = validate_config({}, schema)
    assert second["inference"]["server"]["extra_args"] == []
    assert len(second["problems"]["classification"]["classes"]) == 4
    assert schema == pristine


def test_user_prompts_dir_is_kept(schema: dict) -> None:
    assert validate_config({"prompts_dir": "my/prompts"}, schema)["prompts_dir"] == "my/prompts"


@pytest.mark.parametrize(
    ("config", "path", "fragment"),
    [
        ({"bogus": 1}, "<root>", "'bogus' was unexpected"),
        (
            {"problems": {"extraction": {"tempreature": 0.1}}},
            "problems.extraction",
            "'tempreature' was unexpected",
        ),
        ({"inference": {"server": {"hots": "x"}}}, "inference.server", "'hots' was unexpected"),
        ({"sources": [source(colour="red")]}, "sources.0", "'colour' was unexpected"),
        ({"resources": {"cpu": {"gpus": 1}}}, "resources.cpu", "'gpus' was unexpected"),
    ],
)
def test_unknown_keys_are_rejected_with_the_key_path(
    schema: dict, config: dict, path: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as exc:
        validate_config(config, schema)
    assert f"  {path}: " in str(exc.value)
    assert fragment in str(exc.value)


@pytest.mark.parametrize(
    ("config", "path", "bad"),
    [
        ({"inference": {"backend": "llamacpp"}}, "inference.backend", "'llamacpp'"),
        ({"inference": {"server": {"scope": "global"}}}, "inference.server.scope", "'global'"),
        ({"sources": [source(), source("b", format="csv")]}, "sources.1.format", "'csv'"),
        ({"problems": {"classification": {"classes": [{"name": "x", "prompt": "p", "route": "maybe"}]}}},
         "problems.classification.classes.0.route", "'maybe'"),
        ({"problems": {"classification": {"unparseable_as": "perhaps"}}},
         "problems.classification.unparseable_as", "'perhaps'"),
    ],
)  # fmt: skip
def test_bad_enum_values_name_the_key_path(schema: dict, config: dict, path: str, bad: str) -> None:
    with pytest.raises(ConfigError) as exc:
        validate_config(config, schema)
    assert f"  {path}: {bad} is not one of" in str(exc.value)


@pytest.mark.parametrize(
    ("config", "path"),
    [
        ({"dataset": "has space"}, "dataset"),
        ({"resources": {"llm": {"gpu": -1}}}, "resources.llm.gpu"),
        ({"problems": {"answers": {"top_p": 0}}}, "problems.answers.top_p"),
        ({"inference": {"max_retries": "3"}}, "inference.max_retries"),
    ],
)
def test_other_schema_violations_name_the_key_path(schema: dict, config: dict, path: str) -> None:
    with pytest.raises(ConfigError, match=rf"invalid configuration:\n  {path}: "):
        validate_config(config, schema)


def test_duplicate_source_names_are_rejected(schema: dict) -> None:
    config = {"sources": [source("a"), source("b"), source("a", path="other.jsonl")]}
    with pytest.raises(ConfigError, match=r"sources: names must be unique, repeated: \['a'\]"):
        validate_config(config, schema)


def test_valid_sources_pass(schema: dict) -> None:
    sources = [source("a"), {"name": "mse", "format": "stackexchange_xml", "path": "Posts.xml"}]
    assert [s["name"] for s in validate_config({"sources": sources}, schema)["sources"]] == ["a", "mse"]


def test_load_config_merges_files_deeply_then_overrides(tmp_path: Path) -> None:
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump({"dataset": "base", "inference": {"backend": "vllm", "max_retries": 5}}))
    local = tmp_path / "local.yaml"
    local.write_text(yaml.safe_dump({"inference": {"max_retries": 1}}))
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    config = load_config(base, local, empty, overrides={"dataset": "over"})
    assert config["dataset"] == "over"
    assert config["inference"]["backend"] == "vllm"
    assert config["inference"]["max_retries"] == 1
    assert config["inference"]["server"]["port"] == 0


def test_deep_update_copies_values() -> None:
    value = {"x": [1]}
    merged = deep_update({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}, "d": value})
    assert merged == {"a": {"b": 1, "c": 3}, "d": {"x": [1]}}
    value["x"].append(2)
    assert merged["d"] == {"x": [1]}


def test_repository_config_files_validate() -> None:
    for path in sorted((REPO / "config").glob("*.yaml")):
        if path.name == "schema.yaml":
            continue
        load_config(path)


# --- project rule: every property in the schema has a description and a default ----------------------------

_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SUBSCHEMA_DICTS = ("items", "additionalProperties", "not", "if", "then", "else", "contains")


def walk_properties(node: object, path: str, with_parent: bool = False) -> Iterator[tuple]:
    """Every (path, subschema[, parent]) under a `properties` keyword anywhere in the schema."""
    if not isinstance(node, dict):
        return
    for name, sub in node.get("properties", {}).items():
        yield (f"{path}.{name}", sub, node) if with_parent else (f"{path}.{name}", sub)
        yield from walk_properties(sub, f"{path}.{name}", with_parent)
    for name, sub in node.get("$defs", {}).items():
        yield from walk_properties(sub, f"$defs.{name}", with_parent)
    for key in _SUBSCHEMA_DICTS:
        if isinstance(node.get(key), dict):
            yield from walk_properties(node[key], f"{path}.{key}", with_parent)
    for key in _SUBSCHEMA_LISTS:
        for i, sub in enumerate(node.get(key, [])):
            yield from walk_properties(sub, f"{path}.{key}[{i}]", with_parent)


def test_schema_walk_finds_properties_everywhere(schema: dict) -> None:
    paths = {p for p, _ in walk_properties(schema, "")}
    assert ".sources.items.shards" in paths  # list items
    assert "$defs.sampling.top_p" in paths  # definitions
    assert ".problems.classification.classes.items.route" in paths  # list items inside objects
    assert "$defs.inference.server.cpu_threads" in paths  # the inference section, shared by `models`
    assert "$defs.llm_call.model" in paths and ".proofs.model" in paths
    assert len(paths) > 70


def test_every_schema_property_has_description_and_default(schema: dict) -> None:
    missing = [
        f"{path}: {', '.join(k for k in ('description', 'default') if k not in sub)}"
        for path, sub in walk_properties(schema, "")
        if "description" not in sub or "default" not in sub
    ]
    assert missing == []


def test_every_description_is_non_empty(schema: dict) -> None:
    empty = [path for path, sub in walk_properties(schema, "") if not str(sub.get("description", "")).strip()]
    assert empty == []


def test_every_default_satisfies_its_own_schema(schema: dict) -> None:
    """A default that fails its own type/enum/minimum would make the default config invalid."""
    bad = []
    for path, sub, parent in walk_properties(schema, "", with_parent=True):
        if "default" not in sub or path.rsplit(".", 1)[1] in parent.get("required", ()):
            continue  # required keys are never defaulted; their default is documentation only
        standalone = {**sub, "$defs": schema["$defs"]}
        validator = jsonschema.Draft202012Validator(standalone)
        for error in validator.iter_errors(copy.deepcopy(sub["default"])):
            if error.validator == "required":  # partial defaults of objects are completed by their items
                continue
            bad.append(f"{path}: {error.message}")
    assert bad == []
