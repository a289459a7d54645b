"""The decontamination stage (`run`), one job per source: drop problems that match a public
benchmark, then near-duplicates of each other and of the kept problems of the sources listed
before it (mathforge.decontam.dedup).

Per problem: candidates from dense retrieval (top-k cosine >= dense_threshold) and lexical
retrieval (n-gram containment >= lexical_threshold). A candidate at or above a "certain"
threshold removes the problem outright; the others go to the LLM judge ("same problem up to
rephrasing?"); with the judge disabled, every candidate counts. An unparseable judge answer is
recorded as such and counts as contaminated unless config says otherwise. Survivors are then
deduplicated semantically. Every removed row is in the audit with its reason and scores; the
output keeps the input's rows in the input's order, so the same inputs give the same bytes.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mathforge.benchmarks import BenchmarkItem, index_hash, load_benchmarks
from mathforge.decontam.dedup import near_duplicates
from mathforge.decontam.dense import Embedder, top_k
from mathforge.decontam.lexical import LexicalIndex
from mathforge.errors import InputError
from mathforge.funnel import StepStats
from mathforge.inference.client import SamplingParams
from mathforge.inference.generation import Generator, make_request
from mathforge.inference.models import stage_model
from mathforge.io import atomic_path, write_parquet
from mathforge.normalized_text import ngrams, tokens
from mathforge.prompts import load_prompt
from mathforge.text import parse_label

log = logging.getLogger(__name__)

AUDIT_SCHEMA = pa.schema(
    [
        ("problem_id", pa.string()),
        ("problem", pa.string()),
        ("source", pa.string()),
        ("reason", pa.string()),  # benchmark_match | duplicate_of
        ("benchmark", pa.string()),
        ("benchmark_item_id", pa.string()),
        ("benchmark_text", pa.string()),
        ("dense_score", pa.float32()),
        ("lexical_score", pa.float32()),
        ("method", pa.string()),  # certain_lexical | certain_dense | judge | retrieval | dedup
        ("judge_verdict", pa.string()),  # yes | no | unparseable | null
        ("judge_raw", pa.string()),
        ("duplicate_of", pa.string()),
    ]
)


# Every (problem, benchmark item) pair retrieval proposed, with what was decided: the audit of
# what was *kept* (a judge "no", a candidate beyond max_candidates) as much as of what was removed.
CANDIDATES_SCHEMA = pa.schema(
    [
        ("problem_id", pa.string()),
        ("benchmark", pa.string()),
        ("benchmark_item_id", pa.string()),
        ("dense_score", pa.float32()),
        ("lexical_score", pa.float32()),
        ("decision", pa.string()),  # certain_lexical | certain_dense | retrieval | judge | not_judged
        ("judge_verdict", pa.string()),
        ("judge_raw", pa.string()),
        ("removed", pa.bool_()),
    ]
)


@dataclass
class Candidate:
    item: int
    dense: float
    lexical: float

    @property
    def best(self) -> float:
        return max(self.dense, self.lexical)


@dataclass
class Retrieval:
    """Candidates per problem row, from both signals."""

    candidates: list[list[Candidate]] = field(default_factory=list)
    dense_hits: int = 0
    lexical_hits: int = 0


def retrieve(
    texts: list[str],
    vectors: np.ndarray,
    bench_vectors: np.ndarray,
    lexical: LexicalIndex,
    cfg: dict,
    signals: tuple[str, ...] = ("dense", "lexical"),
) -> Retrieval:
    """Candidate benchmark items per problem (both scores filled in for every candidate)."""
    out = Retrieval()
    lexical_hits = lexical.query_many(texts, cfg["lexical_threshold"]) if "lexical" in signals else None
    use_dense = "dense" in signals and bench_vectors.shape[0] > 0
    if use_dense:
        scores, idx = top_k(vectors, bench_vectors, cfg["top_k"], chunk=cfg["chunk_size"])
    for row, text in enumerate(texts):
        found: dict[int, Candidate] = {}
        if use_dense:
            for score, item in zip(scores[row], idx[row], strict=True):
                if score >= cfg["dense_threshold"]:
                    found[int(item)] = Candidate(int(item), float(score), 0.0)
                    out.dense_hits += 1
        if lexical_hits is not None:
            for item, score in lexical_hits[row]:
                cand = found.setdefault(item, Candidate(item, 0.0, 0.0))
                cand.lexical = score
                out.lexical_hits += 1
        if found:
            grams = ngrams(tokens(text), lexical.n)
            for cand in found.values():
                if cand.dense == 0.0 and bench_vectors.shape[0] > 0:
                    cand.dense = float(vectors[row] @ bench_vectors[cand.item])
                if cand.lexical == 0.0:
                    cand.lexical = lexical.pair_score(cand.item, grams)
        # Best first; among equal best scores the item agreeing on both signals (e.g. the exact copy
        # rather than a shorter item it contains), then the lower index. Scores are compared at 4
        # decimals: float noise (a cosine of 1.0000001 vs 0.9999999, which differs between CPUs)
        # must not decide which of two near-identical benchmark items a copy is attributed to.
        out.candidates.append(
            sorted(found.values(), key=lambda c: (-round(c.best, 4), -round(c.dense + c.lexical, 4), c.item))
        )
    return out


def _is_certain(c: Candidate, cfg: dict) -> str | None:
    if c.lexical >= cfg["lexical_certain"]:
        return "certain_lexical"
    if c.dense >= cfg["dense_certain"]:
        return "certain_dense"
    return None


def _judge(
    pairs: list[tuple[int, Candidate]], texts: list[str], items: list[BenchmarkItem], cfg: dict, store_path
) -> dict[tuple[int, int], tuple[str, str]]:
    """{(row, item): (verdict, raw)}; verdict is yes | no | unparseable."""
    judge = cfg["decontam"]["judge"]
    prompt = load_prompt(cfg["prompts_dir"], judge["prompt"])
    params = SamplingParams.from_config(judge)
    if prompt.labels is None:
        raise ValueError(f"prompt {prompt.name!r} needs 'labels' (positive = same problem)")
    requests = [
        make_request(
            stage_model(cfg, "decontam.judge"),
            prompt.render(problem=texts[row], benchmark=items[c.item].text),
            params,
        )
        for row, c in pairs
    ]
    with Generator(stage_model(cfg, "decontam.judge"), store_path) as gen:
        results = gen.run(requests)
    verdicts = {}
    for (row, c), request in zip(pairs, requests, strict=True):
        record = results[request.key]
        raw = record.get("text") or record.get("error") or ""
        label = None if record.get("error") else parse_label(raw, *prompt.labels)
        verdicts[(row, c.item)] = ("unparseable" if label is None else ("yes" if label else "no"), raw)
    return verdicts


@dataclass
class Screening:
    """What retrieval and the judge decided: removed rows (row -> audit record), every examined
    (row, item) pair (-> candidates record), and the pairs left for the judge."""

    removed: dict[int, dict] = field(default_factory=dict)
    examined: dict[tuple[int, int], dict] = field(default_factory=dict)
    to_judge: list[tuple[int, Candidate]] = field(default_factory=list)
    verdicts: Counter = field(default_factory=Counter)


def embed_all(
    texts: list[str], items: list[BenchmarkItem], cfg: dict, embedding_cache
) -> tuple[np.ndarray, np.ndarray, int]:
    """(problem vectors, benchmark vectors, embeddings computed rather than read from the cache).
    The problem vectors serve both decontamination and dedup: each problem is embedded once."""
    embedder = Embedder.from_config(cfg, embedding_cache)
    try:
        bench_vectors = embedder.embed([i.text for i in items]) if items else np.zeros((0, 1), np.float32)
        vectors = embedder.embed(texts) if texts else np.zeros((0, 1), np.float32)
    finally:
        embedder.close()
    return vectors, bench_vectors, embedder.computed


def screen_candidates(
    retrieval: Retrieval, rows: list[dict], items: list[BenchmarkItem], dcfg: dict
) -> Screening:
    """A certain candidate removes its row; with the judge off any candidate does; else the row's
    first `judge.max_candidates` candidates go to the judge."""
    rcfg, out = dcfg["retrieval"], Screening()
    for row, cands in enumerate(retrieval.candidates):
        if not cands:
            continue
        for c in cands:
            out.examined[(row, c.item)] = _candidate(
                rows[row], items[c.item], c, _is_certain(c, rcfg) or "not_judged"
            )
        certain = [(c, m) for c in cands if (m := _is_certain(c, rcfg))]
        if certain:
            c, method = certain[0]
            out.removed[row] = _audit(rows[row], items[c.item], c, method)
        elif not dcfg["judge"]["enabled"]:
            out.removed[row] = _audit(rows[row], items[cands[0].item], cands[0], "retrieval")
            for c in cands:
                out.examined[(row, c.item)]["decision"] = "retrieval"
        else:
            out.to_judge.extend((row, c) for c in cands[: dcfg["judge"]["max_candidates"]])
    return out


def judge_candidates(screening: Screening, rows, texts, items, cfg: dict, store_path: str) -> None:
    """The judge's verdicts on the pairs left; a `yes` (or an unparseable answer, when configured
    so) removes the row. Marks every examined pair with whether its row is removed."""
    if screening.to_judge:
        verdicts = _judge(screening.to_judge, texts, items, cfg, store_path)
        unparseable_counts = cfg["decontam"]["judge"]["unparseable_as"] == "contaminated"
        for row, c in screening.to_judge:
            verdict, raw = verdicts[(row, c.item)]
            screening.verdicts[verdict] += 1
            screening.examined[(row, c.item)].update(decision="judge", judge_verdict=verdict, judge_raw=raw)
            if row in screening.removed:
                continue
            if verdict == "yes" or (verdict == "unparseable" and unparseable_counts):
                screening.removed[row] = _audit(rows[row], items[c.item], c, "judge", verdict, raw)
    for (row, _item), record in screening.examined.items():
        record["removed"] = row in screening.removed


@dataclass
class Earlier:
    """The kept problems of the sources listed before this one (their sets and vectors)."""

    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    vectors: np.ndarray | None = None


def load_earlier(set_paths: list[str], vector_paths: list[str]) -> Earlier:
    """Earlier sources' kept problems; each set's rows must match its vectors' rows one to one."""
    out, blocks = Earlier(), []
    for set_path, vector_path in zip(set_paths, vector_paths, strict=True):
        table = pq.read_table(set_path, columns=["problem_id", "problem"])
        vectors = np.load(vector_path, mmap_mode="r")
        if vectors.shape[0] != table.num_rows:
            raise InputError(
                vector_path,
                None,
                f"{table.num_rows} vectors (one per row of {set_path}), found {vectors.shape[0]}",
            )
        if table.num_rows:
            out.ids += table.column("problem_id").to_pylist()
            out.texts += table.column("problem").to_pylist()
            blocks.append(vectors)
    out.vectors = np.concatenate(blocks).astype(np.float32, copy=False) if blocks else None
    return out


def remove_duplicates(
    removed: dict[int, dict], rows, texts, vectors: np.ndarray, ddcfg: dict, earlier: Earlier
) -> None:
    """Near-duplicates among the rows still kept, and of earlier sources' kept problems, each
    removed in favour of its representative (an earlier source's problem when its cluster has one)."""
    kept = [i for i in range(len(rows)) if i not in removed]
    if not ddcfg["enabled"] or not kept or (len(kept) == 1 and not earlier.ids):
        return
    duplicates = near_duplicates(
        [texts[i] for i in kept],
        vectors[kept],
        [(rows[i]["expected_answer"] is None, rows[i]["problem_id"]) for i in kept],
        threshold=ddcfg["threshold"],
        certain=ddcfg["certain"],
        lexical_min=ddcfg["lexical_min"],
        k=ddcfg["top_k"],
        search=ddcfg,
        earlier_texts=earlier.texts,
        earlier_vectors=earlier.vectors,
    )
    for dup in duplicates:
        row = kept[dup.row]
        rep = (
            earlier.ids[dup.representative - len(kept)]
            if dup.representative >= len(kept)
            else rows[kept[dup.representative]]["problem_id"]
        )
        removed[row] = {
            **_audit(rows[row], None, Candidate(-1, dup.score, dup.lexical), "dedup"),
            "reason": "duplicate_of",
            "duplicate_of": rep,
        }


def run(
    problem_paths: list[str],
    target: str,
    cfg: dict,
    out_set: str,
    out_audit: str,
    out_summary: str,
    out_candidates: str,
    out_vectors: str,
    store_path: str,
    embedding_cache: str | os.PathLike,
    earlier_sets: list[str] = (),
    earlier_vectors: list[str] = (),
) -> StepStats:
    """One source's problems of `target` (all its shards): benchmark decontamination, then dedup
    within the source and against the kept problems of the sources before it (`earlier_*`)."""
    dcfg = cfg["decontam"]
    rcfg = dcfg["retrieval"]
    table = pa.concat_tables([pq.read_table(p) for p in problem_paths])
    rows = table.select(["problem_id", "problem", "source", "expected_answer"]).to_pylist()
    texts = [r["problem"] for r in rows]
    items = load_benchmarks(dcfg["benchmarks"], target)
    vectors, bench_vectors, computed = embed_all(texts, items, cfg, embedding_cache)
    lexical = LexicalIndex([i.text for i in items], n=rcfg["ngram"], max_postings=rcfg["max_postings"])
    retrieval = retrieve(texts, vectors, bench_vectors, lexical, rcfg)
    screening = screen_candidates(retrieval, rows, items, dcfg)
    judge_candidates(screening, rows, texts, items, cfg, store_path)
    earlier = load_earlier(list(earlier_sets), list(earlier_vectors))
    remove_duplicates(screening.removed, rows, texts, vectors, dcfg["dedup"], earlier)

    removed = screening.removed
    keep = [i not in removed for i in range(len(rows))]
    write_parquet(table.filter(pa.array(keep, type=pa.bool_())), out_set)
    write_vectors(vectors[np.array(keep, dtype=bool)] if rows else vectors[:0], out_vectors)
    audit = [removed[i] for i in sorted(removed)]
    write_parquet(pa.Table.from_pylist(audit, schema=AUDIT_SCHEMA), out_audit)
    pairs = [screening.examined[k] for k in sorted(screening.examined)]
    write_parquet(pa.Table.from_pylist(pairs, schema=CANDIDATES_SCHEMA), out_candidates)
    summary = _summary(target, rows, items, audit, retrieval, screening.verdicts, cfg, screening.to_judge)
    summary.counters["compared_with_earlier_sources"] = len(earlier.ids)
    log.info("embeddings computed: %d (the rest came from %s)", computed, embedding_cache)
    summary.write(out_summary)
    log.info("%s (judge: %s)", summary.summary(), dict(screening.verdicts))
    return summary


def write_vectors(vectors: np.ndarray, path: str) -> None:
    """The kept rows' embeddings (float32, set order) for the dedup of later sources."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, np.ascontiguousarray(vectors, dtype=np.float32))


def _audit(row: dict, item: BenchmarkItem | None, c: Candidate, method: str, verdict=None, raw=None) -> dict:
    return {
        "problem_id": row["problem_id"],
        "problem": row["problem"],
        "source": row["source"],
        "reason": "benchmark_match",
        "benchmark": item.benchmark if item else None,
        "benchmark_item_id": item.item_id if item else None,
        "benchmark_text": item.text if item else None,
        "dense_score": round(c.dense, 6),
        "lexical_score": round(c.lexical, 6),
        "method": method,
        "judge_verdict": verdict,
        "judge_raw": raw,
        "duplicate_of": None,
    }


def _candidate(row: dict, item: BenchmarkItem, c: Candidate, decision: str) -> dict:
    return {
        "problem_id": row["problem_id"],
        "benchmark": item.benchmark,
        "benchmark_item_id": item.item_id,
        "dense_score": round(c.dense, 6),
        "lexical_score": round(c.lexical, 6),
        "decision": decision,
        "judge_verdict": None,
        "judge_raw": None,
        "removed": False,
    }


def _summary(target, rows, items, audit, retrieval, verdicts, cfg, to_judge) -> StepStats:
    per_benchmark = Counter(a["benchmark"] for a in audit if a["reason"] == "benchmark_match")
    stats = StepStats(step=f"decontaminate:{target}", n_in=len(rows), n_out=len(rows) - len(audit))
    stats.dropped.update(a["reason"] for a in audit)
    stats.counters = {
        "removed_per_benchmark": dict(sorted(per_benchmark.items())),
        "removed_per_method": dict(sorted(Counter(a["method"] for a in audit).items())),
        "benchmark_items": dict(sorted(Counter(i.benchmark for i in items).items())),
        "candidates": {"dense": retrieval.dense_hits, "lexical": retrieval.lexical_hits},
        "judge": {"pairs": len(to_judge), **dict(sorted(verdicts.items()))},
    }
    stats.notes = {
        "target": target,
        "benchmark_index_hash": index_hash(items),
        "thresholds": {k: v for k, v in cfg["decontam"]["retrieval"].items()},
        "dedup": cfg["decontam"]["dedup"],
    }
    return stats
