"""mathforge.publish: dataset folders (splits, Hub metadata, statistics) that `datasets` loads as
the Hub would, and the trainer exports (chat, NeMo-Skills, chat-template text)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml

from mathforge.config import validate_config
from mathforge.errors import ConfigError
from mathforge.funnel import StepStats
from mathforge.publish.checks import produced_variants
from mathforge.publish.exports import export_dataset
from mathforge.publish.splits import check_split_sizes, split_of
from mathforge.publish.stage import run as build_dataset_folder
from mathforge.publish.stats import percentile, token_stats
from mathforge.sft.proofs import PROOF_SFT_SCHEMA
from mathforge.sft.stage import bucket_name, write_shards

PUBLISH = validate_config({})["publish"]
TOOL_TURNS = [
    {"role": "assistant", "content": None, "reasoning_content": "Let me compute.",
     "tool_calls": [{"id": "call_1", "type": "function",
                     "function": {"name": "python", "arguments": json.dumps({"code": "print(6*7)"})}}]},
    {"role": "tool", "content": "42", "tool_call_id": "call_1"},
    {"role": "assistant", "content": "So \\boxed{42}."},
]  # fmt: skip


def sft_row(problem: int, seed: int, variant: str, tokens: int, license: str = "CC BY-SA 4.0") -> dict:
    tool = "with_tool" in variant
    answer = (
        TOOL_TURNS if tool else [{"role": "assistant", "content": f"Answer {problem}: \\boxed{{{problem}}}"}]
    )
    return {
        "messages": [{"role": "system", "content": "Solve."}, {"role": "user", "content": f"Problem {problem}?"}, *answer],
        "problem_id": f"p{problem}", "problem": f"Problem {problem}?", "expected_answer": str(problem),
        "generation": "g", "variant": variant, "reasoning_effort": variant.split("_")[0], "tool": tool,
        "num_tokens": tokens, "bucket": bucket_name(tokens, [100]), "license": license, "seed": seed,
        "authors": [], "truncated": [],
    }  # fmt: skip


def write_sft(tmp_path: Path, rows: list[dict]) -> tuple[Path, Path, Path]:
    data = tmp_path / "sft" / "data"
    manifest = write_shards(rows, data, shard_rows=3)
    manifest.setdefault("medium_with_tool", {})  # a variant without rows, as the shard writer lists it
    (tmp_path / "sft" / "manifest.json").write_text(json.dumps({"variants": manifest, "stats": {}}))
    card = tmp_path / "sft" / "card.md"
    card.write_text(
        "# demo: math reasoning SFT data\n\n## Funnel\n\nrows\n\n## Loading\n\nold glob\n\n## Licences\n\nx\n"
    )
    return data, tmp_path / "sft" / "manifest.json", card


@pytest.fixture
def sft_rows() -> list[dict]:
    rows = [sft_row(p, s, "high_without_tool", 40 + 30 * s) for p in range(40) for s in range(3)]
    rows += [sft_row(p, 0, "low_with_tool", 150, license="CC0-1.0") for p in range(0, 40, 2)]
    return rows


def front_matter(readme: Path) -> dict:
    text = readme.read_text()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_split_is_a_function_of_the_problem_id_seed_and_fractions():
    splits = {"validation": 0.2, "test": 0.1}
    labels = [split_of(f"p{i}", splits, "s") for i in range(2000)]
    assert labels == [split_of(f"p{i}", splits, "s") for i in range(2000)]
    share = {name: labels.count(name) / len(labels) for name in ("train", "validation", "test")}
    assert abs(share["validation"] - 0.2) < 0.04 and abs(share["test"] - 0.1) < 0.03
    assert labels != [split_of(f"p{i}", splits, "other seed") for i in range(2000)]
    assert {split_of(f"p{i}", {"validation": 0.0, "test": 0.0}, "s") for i in range(100)} == {"train"}


@pytest.mark.parametrize("splits", [{"validation": 1.5}, {"validation": 0.6, "test": 0.4}, {"test": -0.1}])
def test_split_sizes_that_leave_no_train_or_are_not_fractions_are_config_errors(splits):
    with pytest.raises(ConfigError, match=r"publish\.splits"):
        check_split_sizes(splits)


@pytest.mark.parametrize(
    ("publish", "match"),
    [
        ({"splits": {"validation": 1.5}}, "publish.splits.validation"),
        ({"splits": {"validation": 0.5, "test": 0.5}}, "publish.splits"),
        ({"variants": ["huge_with_tool"]}, "publish.variants"),
        ({"formats": ["text"]}, "publish.tokenizer"),
        ({"formats": ["text"], "tokenizer": "/no/such/tokenizer"}, "/no/such/tokenizer"),
    ],
)
def test_bad_publish_settings_fail_when_the_config_is_loaded(publish, match):
    with pytest.raises(ConfigError, match=match):
        validate_config({"publish": publish})


def test_variants_the_config_produces():
    cfg = validate_config({"solutions": {"efforts": ["low"], "n_tir": 0}})
    assert produced_variants(cfg) == ["low_without_tool", "single_turn", "multi_turn"]
    validate_config({"publish": {"variants": ["high_with_tool", "multi_turn"]}})


def test_token_statistics_use_nearest_rank_percentiles():
    assert percentile(list(range(1, 101)), 90) == 90 and percentile([5], 99) == 5 and percentile([], 50) == 0
    assert token_stats([10, 30, 20]) == {"sum": 60, "mean": 20.0, "p50": 20, "p90": 30, "p99": 30, "max": 30}


def test_sft_folder_loads_every_variant_and_split_with_datasets(tmp_path, sft_rows):
    datasets = pytest.importorskip("datasets")
    data, manifest_path, card = write_sft(tmp_path, sft_rows)
    publish = {**PUBLISH, "splits": {"validation": 0.25, "test": 0.1}, "shard_rows": 25}
    manifest = build_dataset_folder(
        "sft", str(data), str(manifest_path), publish, "demo", str(tmp_path / "hub"), str(card)
    )
    meta = front_matter(tmp_path / "hub" / "README.md")
    assert meta["license"] == ["cc-by-sa-4.0", "cc0-1.0"] and meta["size_categories"] == ["n<1K"]
    assert [c["config_name"] for c in meta["configs"]] == ["high_without_tool", "low_with_tool"]
    assert manifest["left_out"] == {"medium_with_tool": "no rows"}
    split_of_problem: dict[str, set] = defaultdict(set)
    for variant, expected_rows in (("high_without_tool", 120), ("low_with_tool", 20)):
        ds = datasets.load_dataset(str(tmp_path / "hub"), variant, cache_dir=str(tmp_path / "hf"))
        assert set(ds) == set(manifest["variants"][variant]) - {"all"}  # only non-empty splits are declared
        assert (
            sum(ds[s].num_rows for s in ds) == expected_rows == manifest["variants"][variant]["all"]["rows"]
        )
        for split in ds:
            assert ds[split].num_rows == manifest["variants"][variant][split]["rows"]
            for pid in ds[split]["problem_id"]:
                split_of_problem[pid].add(split)
        assert ds["train"][0]["messages"][-1]["role"] == "assistant"
    assert set(manifest["variants"]["high_without_tool"]) == {"train", "validation", "test", "all"}
    assert all(len(s) == 1 for s in split_of_problem.values())  # no problem in two splits, in any variant
    assert len(manifest["variants"]["high_without_tool"]["train"]["files"]) > 1  # shard_rows applies
    readme = (tmp_path / "hub" / "README.md").read_text()
    assert "## Funnel" in readme and "old glob" not in readme and "## Licences" in readme
    stats = manifest["variants"]["high_without_tool"]["all"]
    assert (
        stats["tokens"] == token_stats([40 + 30 * s for _ in range(40) for s in range(3)])
        and stats["problems"] == 40
    )
    assert f"| high_without_tool | all | 120 | 40 | {stats['tokens']['sum']} |" in readme


def test_proof_folder_has_its_own_card_and_loads(tmp_path):
    datasets = pytest.importorskip("datasets")
    rows = [
        {"messages": [{"role": "user", "content": f"Prove {i}"}, {"role": "assistant", "content": "by simp"}],
         "problem": f"p{i}", "formal_statement": f"theorem t{i} : True", "lean_header": "import Mathlib",
         "proof": "by simp", "statement_id": f"s{i}", "problem_id": None if i % 2 else f"p{i}",
         "variant": "single_turn", "attempt": 0, "num_turns": 1, "num_tokens": 20, "bucket": "all",
         "license": "CC0-1.0", "authors": []}
        for i in range(12)
    ]  # fmt: skip
    manifest = write_shards(rows, tmp_path / "data", 100, PROOF_SFT_SCHEMA, order=("statement_id", "attempt"))
    manifest["multi_turn"] = {}
    stats = StepStats("write_proof_sft_shards", 15, 12, Counter(unverified=3),
                      {"variants": {"single_turn": 12, "multi_turn": 0}})  # fmt: skip
    stats.write(tmp_path / "data.summary.json")
    (tmp_path / "m.json").write_text(json.dumps({"variants": manifest}))
    publish = {**PUBLISH, "splits": {"validation": 0.3, "test": 0.0}}
    build_dataset_folder(
        "proofs", str(tmp_path / "data"), str(tmp_path / "m.json"), publish, "demo", str(tmp_path / "hub"),
        summary_path=str(tmp_path / "data.summary.json"),
    )  # fmt: skip
    readme = (tmp_path / "hub" / "README.md").read_text()
    assert front_matter(tmp_path / "hub" / "README.md")["pretty_name"] == "demo: Lean 4 proof SFT data"
    assert "| write_proof_sft_shards | 15 | 12 | unverified: 3 |" in readme and "`formal_statement`" in readme
    ds = datasets.load_dataset(str(tmp_path / "hub"), "single_turn", cache_dir=str(tmp_path / "hf"))
    assert sum(ds[s].num_rows for s in ds) == 12
    assert ds["train"][0]["formal_statement"].startswith("theorem")


def tiny_tokenizer(path: Path) -> Path:
    """A real (word-level) tokenizer folder with a chat template that renders reasoning and tools."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    template = (
        "{% for m in messages %}<|{{ m.role }}|>"
        "{% if m.reasoning_content %}<think>{{ m.reasoning_content }}</think>{% endif %}"
        "{{ m.content or '' }}{% for c in m.tool_calls or [] %}[call {{ c.function.arguments.code }}]{% endfor %}"
        "\n{% endfor %}"
    )
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", chat_template=template).save_pretrained(
        path
    )
    return path


@pytest.fixture
def folder(tmp_path, sft_rows) -> Path:
    data, manifest_path, card = write_sft(tmp_path, sft_rows)
    publish = {**PUBLISH, "splits": {"validation": 0.25, "test": 0.0}}
    build_dataset_folder(
        "sft", str(data), str(manifest_path), publish, "demo", str(tmp_path / "hub"), str(card)
    )
    return tmp_path / "hub"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_chat_export_keeps_reasoning_and_tool_calls_and_drops_unset_fields(folder, tmp_path):
    manifest = export_dataset(str(folder), "chat", str(tmp_path / "chat"))
    rows = read_jsonl(tmp_path / "chat" / "low_with_tool" / "train.jsonl")
    assert len(rows) == manifest["variants"]["low_with_tool"]["train"]["rows"] > 0
    turns = rows[0]["messages"]
    assert (
        turns[2]["reasoning_content"] == "Let me compute."
        and turns[2]["tool_calls"][0]["function"]["name"] == "python"
    )
    assert turns[3] == {"role": "tool", "content": "42", "tool_call_id": "call_1"}
    assert turns[4] == {"role": "assistant", "content": "So \\boxed{42}."}
    assert rows[0]["license"] == "CC0-1.0" and rows[0]["problem_id"].startswith("p")


def test_nemo_skills_export_is_input_output_and_skips_later_user_turns(folder, tmp_path):
    export_dataset(str(folder), "nemo_skills", str(tmp_path / "ns"))
    row = read_jsonl(tmp_path / "ns" / "low_with_tool" / "train.jsonl")[0]
    assert row["system"] == "Solve." and row["input"].startswith("Problem ")
    assert (
        row["output"]
        == "<think>\nLet me compute.\n</think>\n\n```python\nprint(6*7)\n```\n\n```output\n42\n```\n\nSo \\boxed{42}."
    )
    multi = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                          {"role": "user", "content": "error"}, {"role": "assistant", "content": "c"}]}  # fmt: skip
    from mathforge.publish.exports import nemo_skills_record

    assert nemo_skills_record(multi) is None


def test_text_export_renders_the_tokenizers_chat_template_with_token_counts(folder, tmp_path):
    pytest.importorskip("transformers")
    tokenizer = tiny_tokenizer(tmp_path / "tok")
    manifest = export_dataset(str(folder), "text", str(tmp_path / "text"), str(tokenizer))
    row = read_jsonl(tmp_path / "text" / "low_with_tool" / "train.jsonl")[0]
    assert row["text"].startswith("<|system|>Solve.<|user|>Problem ")
    assert "<think>Let me compute.</think>[call print(6*7)]" in row["text"]
    from tokenizers.pre_tokenizers import Whitespace

    assert row["num_tokens"] == len(Whitespace().pre_tokenize_str(row["text"]))  # one word-level token each
    assert manifest["checks"] == {"reasoning_inlined": 0, "longer_than_bucket": 0}
    from transformers import AutoTokenizer

    from mathforge.publish.exports import text_recorder

    counts = Counter()
    record = text_recorder(AutoTokenizer.from_pretrained(tokenizer), counts)
    short = {"messages": [{"role": "user", "content": "a b c d e"}], "bucket": "le3"}
    assert record(short)["num_tokens"] > 3 and counts["longer_than_bucket"] == 1
    assert manifest["variants"]["high_without_tool"]["train"]["text_tokens"]["sum"] > 0


def test_text_export_with_a_folder_without_tokenizer_is_a_config_error(folder, tmp_path):
    pytest.importorskip("transformers")
    with pytest.raises(ConfigError, match=r"publish\.tokenizer"):
        export_dataset(str(folder), "text", str(tmp_path / "text"), str(tmp_path / "missing"))


def test_text_export_inlines_thinking_a_template_leaves_out(folder, tmp_path):
    pytest.importorskip("transformers")
    from transformers import AutoTokenizer

    path = tiny_tokenizer(tmp_path / "tok")
    tok = AutoTokenizer.from_pretrained(path)
    tok.chat_template = "{% for m in messages %}<|{{ m.role }}|>{{ m.content or '' }}{% endfor %}"
    tok.save_pretrained(path)
    manifest = export_dataset(str(folder), "text", str(tmp_path / "text"), str(path))
    row = read_jsonl(tmp_path / "text" / "low_with_tool" / "train.jsonl")[0]
    assert "<|assistant|><think>\nLet me compute.\n</think>" in row["text"]
    assert manifest["checks"]["reasoning_inlined"] == 20  # every low_with_tool row thinks
