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
    out = [str(tmp_path / name) for name in ("f.md", "f.svg", "s.md", "s.svg")]
    write_run_report([str(p) for p in paths], *out)
    assert (tmp_path / "f.md").read_text().startswith("# Funnel")
    assert "<svg" in (tmp_path / "f.svg").read_text() and "<svg" in (tmp_path / "s.svg").read_text()
    assert (tmp_path / "s.md").read_text().startswith("# Solutions, answers and decontamination")
