"""A job reads what its rule declares in `params:`, and nothing else.

Snakemake reruns a job when a declared param changes, so a setting that shapes an artifact must be
declared by the rule that writes it. Rules declare config with `declare(config, "problems.extraction",
...)`: a tree of the chosen paths, mirroring the config, so a stage reads `cfg["problems"]
["extraction"]` as before. The stage's shim hands it `stage_config(snakemake)`, a view of exactly
those params: reading a setting the rule did not declare raises `UndeclaredSetting`, naming the
rule and the setting, instead of silently reading the whole config.

Some settings change how a job runs but not what it writes: worker counts, concurrency, a server's
address or a model's server arguments (the model's identity is declared apart). They are declared
too, wrapped in `Untracked`. Snakemake compares params by `repr`, and an Untracked value's repr is
constant, so changing one reruns nothing; the stage sees the plain value.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping
from typing import Any


class Untracked:
    """A declared setting that does not rerun the job when it changes (see the module docstring)."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def __repr__(self) -> str:
        return "Untracked(...)"  # constant: Snakemake's params comparison never sees the value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Untracked) and other.value == self.value

    def __hash__(self) -> int:
        return hash(repr(self))

    def __reduce__(self):
        return (Untracked, (self.value,))


class UndeclaredSetting(LookupError):
    """A stage read a setting its rule does not declare in params (not a KeyError: nothing may
    swallow it as an optional key)."""


def declare(config: Mapping, *paths: str, untracked: Iterable[str] = ()) -> dict:
    """The params entries for the dotted `paths` of `config`, as one tree that mirrors the config
    (`"problems.extraction"` -> `{"problems": {"extraction": ...}}`), keys sorted so a reordered
    mapping is the same declaration. The `untracked` paths are declared as `Untracked` values, also
    inside a section declared whole. Rules unpack it: `params: **declare(config, ...)`."""
    tree: dict = {}
    for path in paths:
        *parents, leaf = path.split(".")
        node = _node(tree, parents, path)
        if leaf in node:
            raise ValueError(f"declare: {path!r} is declared twice")
        node[leaf] = canonical(_lookup(config, path))
    for path in untracked:
        *parents, leaf = path.split(".")
        _node(tree, parents, path)[leaf] = Untracked(copy.deepcopy(_lookup(config, path)))
    return canonical(tree)


def _lookup(config: Mapping, path: str) -> Any:
    value = config
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise KeyError(f"declare: config has no {path!r}")
        value = value[part]
    return value


def _node(tree: dict, parents: list[str], path: str) -> dict:
    node = tree
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ValueError(f"declare: {path!r} lies inside a value that is not a mapping")
    return node


def canonical(value: Any) -> Any:
    """A copy of `value` with every mapping's keys sorted (its repr no longer depends on the order
    in which a config file wrote them); Untracked values are kept as they are."""
    if isinstance(value, Mapping):
        return {k: canonical(value[k]) for k in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    return value


def plain(value: Any) -> Any:
    """`value` with every Untracked unwrapped (a fresh copy of dicts and lists)."""
    if isinstance(value, Untracked):
        return plain(value.value)
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def without_untracked(value: Any) -> Any:
    """`value` with every Untracked left out: what the job's reruns are keyed on."""
    if isinstance(value, Mapping):
        return {k: without_untracked(v) for k, v in value.items() if not isinstance(v, Untracked)}
    if isinstance(value, (list, tuple)):
        return [without_untracked(v) for v in value if not isinstance(v, Untracked)]
    return value


class StageConfig(Mapping):
    """The settings a job may read: its rule's params, Untracked values unwrapped. Asking for, or
    about, anything else raises `UndeclaredSetting`."""

    def __init__(self, declared: Mapping, rule: str):
        self._declared = {name: plain(value) for name, value in declared.items()}
        self._tracked = without_untracked(dict(declared))
        self._rule = rule

    def tracked(self) -> dict:
        """The declared settings a change of which reruns the job (for a config hash in a card)."""
        return self._tracked

    def _undeclared(self, key: object) -> UndeclaredSetting:
        return UndeclaredSetting(
            f"rule {self._rule!r} reads {key!r}, which its params do not declare (declared: "
            f"{', '.join(sorted(self._declared))}); add it to the rule's params so a change reruns it"
        )

    def __getitem__(self, key: str) -> Any:
        if key not in self._declared:
            raise self._undeclared(key)
        return self._declared[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self[key]

    def __contains__(self, key: object) -> bool:
        if key not in self._declared:
            raise self._undeclared(key)
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self._declared)

    def __len__(self) -> int:
        return len(self._declared)

    def __repr__(self) -> str:
        return f"StageConfig({self._rule!r}: {', '.join(sorted(self._declared))})"


def tracked_settings(cfg: Mapping) -> dict:
    """The settings behind an artifact: a job's tracked params, or a whole plain config."""
    return cfg.tracked() if isinstance(cfg, StageConfig) else dict(cfg)


def stage_config(smk: Any) -> StageConfig:
    """What a shim hands its stage: the job's declared params (`smk` is the `snakemake` object)."""
    return StageConfig(dict(smk.params.items()), smk.rule)
