"""The run's funnel from the step summaries: problem steps first, decontamination per target,
shards added up, non-funnel steps left out."""

import json
from collections import Counter

from mathforge.funnel import StepStats, by_step
from mathforge.run_report import funnel, funnel_markdown, write_run_report


def step(name, n_in, n_out, dropped=None, **counters) -> StepStats:
    return StepStats(name, n_in, n_out, Counter(dropped or {}), counters)


SUMMARIES = [
    step("generate_solutions", 2, 8),  # written before the problem steps: the funnel orders them
    step("ingest", 17, 17),
    step("import_problems", 1, 1),
    step("extract_problems", 17, 15, {"no_problem:none": 2}),
    step("classify_problems", 15, 3, {"class:mcq": 3}, routed_to_proofs=7),
    step("merge_problems", 10, 10),
    StepStats("decontaminate:answers", 3, 2, Counter(benchmark_match=1), notes={"target": "answers"}),
    step("generate_solutions", 2, 8),
    step("write_sft_shards", 16, 9, {"wrong": 7}),
]


def test_funnel_adds_shards_orders_the_problem_steps_and_leaves_out_non_funnel_steps():
    stages = funnel(by_step(SUMMARIES))
    assert list(stages) == [
        "ingest", "extract_problems", "classify_problems", "generate_solutions", "decontaminate (answers)",
        "write_sft_shards",
    ]  # fmt: skip
    assert stages["generate_solutions"].n_out == 16 and stages["generate_solutions"].n_in == 4
    assert stages["decontaminate (answers)"].dropped == {"benchmark_match": 1}
    md = funnel_markdown(stages)
    assert "| classify_problems | 15 | 3 | 20% | class:mcq: 3 |" in md
    assert "| write_sft_shards | 16 | 9 | 56% | wrong: 7 |" in md


def test_written_table_and_plot(tmp_path):
    paths = []
    for i, summary in enumerate(SUMMARIES):
        paths.append(tmp_path / f"{i}.summary.json")
        paths[-1].write_text(json.dumps(summary.to_dict()))
    out = [str(tmp_path / name) for name in ("f.md", "f.svg", "s.md", "s.svg", "t.svg")]
    write_run_report([str(p) for p in paths], *out)
    assert "<svg" in (tmp_path / "t.svg").read_text()
    assert (tmp_path / "f.md").read_text().startswith("# Funnel")
    assert "| generate_solutions | 4 | 16 |" in (tmp_path / "f.md").read_text()
    assert "<svg" in (tmp_path / "f.svg").read_text() and "<svg" in (tmp_path / "s.svg").read_text()
    assert (tmp_path / "s.md").read_text().startswith("# Solutions, answers and decontamination")


def test_truncation_is_a_note_not_a_drop():
    cut = {
        "forum_post": {"rows": 2, "chars_cut": 4984000},
        "forum_discussions": {"rows": 1, "chars_cut": 10, "posts_cut": 3},
    }
    ingest = step("ingest", 5, 5, truncated=cut)
    sft = step("write_sft_shards", 4, 4, truncated={"generation": {"rows": 1, "chars_cut": 7}})
    stages = funnel(by_step([ingest, ingest, sft]))
    assert stages["ingest"].dropped == {} and stages["ingest"].n_out == 10
    assert stages["ingest"].counters["truncated"]["forum_post"] == {"rows": 4, "chars_cut": 9968000}
    md = funnel_markdown(stages)
    assert "| ingest | 10 | 10 | 100% | - |" in md  # nothing dropped
    assert "## Text cut (rows kept, not dropped)" in md
    assert "| ingest | forum_post | 4 | 9968000 | - |" in md
    assert "| ingest | forum_discussions | 2 | 20 | 6 |" in md
    assert "| write_sft_shards | generation | 1 | 7 | - |" in md
