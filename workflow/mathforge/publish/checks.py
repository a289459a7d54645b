"""The publish settings checked when the config is loaded, so a bad one fails before any job."""

from __future__ import annotations

from pathlib import Path

from mathforge.errors import ConfigError
from mathforge.publish.hub import check_hub_config
from mathforge.publish.splits import check_split_sizes

PROOF_VARIANTS = ("single_turn", "multi_turn")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model")


def produced_variants(config: dict) -> list[str]:
    """The variants this config can produce: effort x mode of the solutions, and the proof ones."""
    solutions = config["solutions"]
    modes = [m for m, n in (("with", solutions["n_tir"]), ("without", solutions["n_plain"])) if n]
    return [f"{e}_{m}_tool" for e in solutions["efforts"] for m in modes] + list(PROOF_VARIANTS)


def tokenizer_dir(setting: str) -> Path:
    """The folder `publish.tokenizer` names (`embedded` = the embedded model's)."""
    if setting == "embedded":
        from mathforge.inference.embedded_model import model_dir

        return model_dir()
    return Path(setting).expanduser()


def check_tokenizer(publish: dict) -> None:
    setting = publish["tokenizer"]
    if setting is None:
        raise ConfigError(
            "publish.tokenizer: the `text` export format needs a tokenizer folder (or `embedded`)"
        )
    if setting == "embedded":
        return  # built by the run itself before any SFT data exists
    path = tokenizer_dir(setting)
    if not path.is_dir() or not any((path / f).is_file() for f in TOKENIZER_FILES):
        raise ConfigError(
            f"publish.tokenizer: {setting!r} is not a folder with tokenizer files "
            f"({', '.join(TOKENIZER_FILES)})"
        )


def check_publish_config(config: dict) -> None:
    publish = config["publish"]
    check_split_sizes(publish["splits"])
    known = produced_variants(config)
    unknown = [v for v in publish["variants"] if v not in known]
    if unknown:
        raise ConfigError(
            f"publish.variants: {unknown} are not produced by this config (it produces {known})"
        )
    if "text" in publish["formats"]:
        check_tokenizer(publish)
    check_hub_config(publish)
