"""The run's funnel from stage summaries: problem steps, decontamination, shards added up."""

from mathforge.run_report import funnel, funnel_markdown, write_run_report

PROBLEMS = {
    "funnel": {
        "ingest": {"n_in": 17, "n_out": 17, "dropped": {}},
        "extract_problems": {"n_in": 17, "n_out": 15, "dropped": {"no_problem:none": 2}},
        "classify_problems": {"n_in": 15, "n_out": 3, "dropped": {"class:mcq": 3}, "routed_to_proofs": 7},
    }
}
DECONTAM = {
    "target": "answers",
    "n_in": 3,
    "n_out": 2,
    "removed": {"benchmark_match": 1},
    "removed_per_method": {},
}
SHARD = {"step": "generate_solutions", "n_in": 2, "n_out": 8, "dropped": {}, "shard": 0}
SFT = {"variants": {}, "stats": {"step": "write_sft_shards", "n_in": 16, "n_out": 9, "dropped": {"wrong": 7}}}


def test_funnel_adds_shards_and_reads_every_summary_kind():
    stages = funnel([PROBLEMS, DECONTAM, SHARD, {**SHARD, "shard": 1}, SFT])
    assert list(stages) == [
        "ingest", "extract_problems", "classify_problems", "decontaminate (answers)",
        "generate_solutions", "write_sft_shards",
    ]  # fmt: skip
    assert stages["generate_solutions"]["n_out"] == 16 and stages["generate_solutions"]["n_in"] == 4
    assert stages["decontaminate (answers)"]["dropped"] == {"benchmark_match": 1}
    md = funnel_markdown(stages)
    assert "| classify_problems | 15 | 3 | 20% | class:mcq: 3 |" in md
    assert "| write_sft_shards | 16 | 9 | 56% | wrong: 7 |" in md


def test_written_table_and_plot(tmp_path):
    import json

    paths = []
    for i, summary in enumerate([PROBLEMS, SHARD]):
        paths.append(tmp_path / f"{i}.json")
        paths[-1].write_text(json.dumps(summary))
    out = [str(tmp_path / name) for name in ("f.md", "f.svg", "s.md", "s.svg", "t.svg")]
    write_run_report([str(p) for p in paths], *out)
    assert "<svg" in (tmp_path / "t.svg").read_text()
    assert (tmp_path / "f.md").read_text().startswith("# Funnel")
    assert "<svg" in (tmp_path / "f.svg").read_text() and "<svg" in (tmp_path / "s.svg").read_text()
    assert (tmp_path / "s.md").read_text().startswith("# Solutions, answers and decontamination")


def test_truncation_is_a_note_not_a_drop():
    cut = {
        "forum_post": {"rows": 2, "chars_cut": 4984000},
        "forum_discussions": {"rows": 1, "chars_cut": 10, "posts_cut": 3},
    }
    problems = {"funnel": {"ingest": {"n_in": 5, "n_out": 5, "dropped": {}, "truncated": cut}}}
    sft = {"variants": {}, "stats": {"step": "write_sft_shards", "n_in": 4, "n_out": 4, "dropped": {},
                                     "truncated": {"generation": {"rows": 1, "chars_cut": 7}}}}  # fmt: skip
    stages = funnel([problems, problems, sft])
    assert stages["ingest"]["dropped"] == {} and stages["ingest"]["n_out"] == 10
    assert stages["ingest"]["truncated"]["forum_post"] == {"rows": 4, "chars_cut": 9968000}
    md = funnel_markdown(stages)
    assert "| ingest | 10 | 10 | 100% | - |" in md  # nothing dropped
    assert "## Text cut (rows kept, not dropped)" in md
    assert "| ingest | forum_post | 4 | 9968000 | - |" in md
    assert "| ingest | forum_discussions | 2 | 20 | 6 |" in md
    assert "| write_sft_shards | generation | 1 | 7 | - |" in md
