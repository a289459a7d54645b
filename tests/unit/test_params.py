"""The params contract: what a rule declares is all its job can read; untracked settings rerun nothing."""

from __future__ import annotations

import pickle
from types import SimpleNamespace

import pytest

from mathforge.params import (
    StageConfig,
    UndeclaredSetting,
    Untracked,
    canonical,
    declare,
    plain,
    stage_config,
)

CONFIG = {
    "prompts_dir": "config/prompts",
    "problems": {
        "extraction": {"prompt": "extract", "model": None},
        "faithfulness": {"enabled": True},
        "x": 1,
    },
    "sandbox": {"timeout_s": 10, "url": None, "max_sessions": 4},
    "sft": {"system_prompt": True},
}


def test_declare_mirrors_the_config_and_keeps_only_the_declared_paths():
    tree = declare(CONFIG, "problems.extraction", "problems.faithfulness")
    assert tree == {
        "problems": {"extraction": CONFIG["problems"]["extraction"], "faithfulness": {"enabled": True}}
    }
    assert "x" not in tree["problems"]


def test_declare_sorts_keys_so_a_reordered_config_declares_the_same_params():
    reordered = {
        "problems": {"faithfulness": {"enabled": True}, "extraction": {"model": None, "prompt": "extract"}}
    }
    paths = ("problems.extraction", "problems.faithfulness")
    assert repr(declare(reordered, *paths)) == repr(declare(CONFIG, *paths))


def test_untracked_values_have_a_constant_repr_also_inside_a_section_declared_whole():
    """Snakemake compares params by repr: an untracked setting must not change it."""
    one = declare(CONFIG, "sandbox", untracked=["sandbox.url", "sandbox.max_sessions"])
    other_cfg = {**CONFIG, "sandbox": {**CONFIG["sandbox"], "url": "http://x", "max_sessions": 64}}
    other = declare(other_cfg, "sandbox", untracked=["sandbox.url", "sandbox.max_sessions"])
    assert repr(one) == repr(other)
    changed = {**CONFIG, "sandbox": {**CONFIG["sandbox"], "timeout_s": 11}}
    assert repr(declare(changed, "sandbox", untracked=["sandbox.url", "sandbox.max_sessions"])) != repr(one)
    assert plain(other)["sandbox"] == other_cfg["sandbox"]
    assert CONFIG["sandbox"]["url"] is None  # the config itself is not touched


def test_declare_rejects_unknown_and_twice_declared_paths():
    with pytest.raises(KeyError, match=r"problems\.nope"):
        declare(CONFIG, "problems.nope")
    with pytest.raises(ValueError, match="twice"):
        declare(CONFIG, "sft", "sft")


def test_a_stage_reading_an_undeclared_setting_fails_naming_the_rule_and_the_setting():
    view = StageConfig({**declare(CONFIG, "problems.extraction"), "model": "m"}, "extract_problems")
    assert view["problems"]["extraction"]["prompt"] == "extract"
    for read in (lambda: view["sft"], lambda: view.get("sft", {}), lambda: "sft" in view):
        with pytest.raises(
            UndeclaredSetting, match=r"rule 'extract_problems' reads 'sft'.*declared: model, problems"
        ):
            read()
    assert not isinstance(UndeclaredSetting("x"), KeyError)  # `except KeyError` cannot swallow it


def test_the_view_unwraps_untracked_values_and_survives_pickling():
    """Snakemake pickles params into the script's preamble: Untracked must round-trip."""
    params = {"lean": {"timeout_s": 5, "workers": Untracked(2)}, "prompts_dir": Untracked("p")}
    params = pickle.loads(pickle.dumps(params))
    smk = SimpleNamespace(params=SimpleNamespace(items=lambda: params.items()), rule="prove")
    view = stage_config(smk)
    assert view["lean"] == {"timeout_s": 5, "workers": 2} and view["prompts_dir"] == "p"
    assert dict(view) == {"lean": {"timeout_s": 5, "workers": 2}, "prompts_dir": "p"}


def test_canonical_sorts_nested_mappings_inside_lists():
    assert list(canonical([{"b": 1, "a": {"d": 1, "c": 2}}])[0]) == ["a", "b"]
    assert list(canonical({"z": {"y": 1, "x": 2}})["z"]) == ["x", "y"]
