"""The benchmark registry: every configured benchmark as (benchmark, item_id, text) rows.

Sources: a local JSONL/JSON/Parquet file (a path, or a file inside an installed Python package),
or a Hugging Face dataset (id + split), loaded only when the machine is online.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from mathforge.errors import ConfigError, InputError
from mathforge.ids import sha256_hex
from mathforge.io import read_table_records, require_nonempty
from mathforge.normalized_text import strip_lean_doc_comment

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BenchmarkItem:
    benchmark: str
    item_id: str
    text: str


def _package_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"benchmark package {package!r} is not installed (pip install {package.replace('_', '-')})"
        )
    return Path(next(iter(spec.submodule_search_locations))) / relative


def _json_records(path: Path, records_key: str | None) -> list[tuple[str, dict]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(path, None, f"expected a JSON document ({exc})") from exc
    for part in (records_key or "").split("."):
        if part:
            if not isinstance(data, dict) or part not in data:
                raise InputError(path, None, f"expected a key {part!r} (records path {records_key!r})")
            data = data[part]
    if isinstance(data, dict):
        return [(str(k), v) for k, v in data.items()]
    if isinstance(data, list):
        return [(f"item {i}", v) for i, v in enumerate(data)]
    raise InputError(path, None, "expected a list or mapping of records")


def hf_records(spec: dict) -> list[tuple[str, dict]]:
    try:
        import datasets
    except ImportError as exc:
        raise ConfigError("benchmark from the Hugging Face hub needs `pip install datasets`") from exc
    try:
        ds = datasets.load_dataset(spec["hf_dataset"], spec.get("hf_config"), split=spec["split"])
    except Exception as exc:  # offline machines, unknown ids: say which benchmark
        raise ConfigError(f"benchmark {spec['name']!r}: cannot load {spec['hf_dataset']!r} ({exc})") from exc
    return [(f"row {i}", dict(r)) for i, r in enumerate(ds)]


def benchmark_spec(name: str, field: str, **fields) -> dict:
    """A benchmark entry with every key the schema defines, defaults filled in (for code, not config)."""
    from mathforge.config import apply_defaults, load_schema

    schema = load_schema()
    item_schema = schema["properties"]["decontam"]["properties"]["benchmarks"]["items"]
    return apply_defaults({"name": name, "field": field, **fields}, item_schema, schema)


def load_benchmark(spec: dict) -> list[BenchmarkItem]:
    name, field = spec["name"], spec["field"]
    if spec.get("hf_dataset"):
        records = hf_records(spec)
        origin: object = spec["hf_dataset"]
    else:
        path = _package_file(spec["package"], spec["path"]) if spec.get("package") else Path(spec["path"])
        require_nonempty(path, f"benchmark {name!r} ({'JSON' if path.suffix == '.json' else 'table'})")
        origin = path
        if path.suffix.lower() == ".json":
            records = _json_records(path, spec.get("records"))
        else:
            records = list(read_table_records(path))
    items = []
    for where, record in records:
        value = record.get(field) if isinstance(record, dict) else None
        if not isinstance(value, str):
            raise InputError(origin, where, f"benchmark {name!r}: expected a text field {field!r}")
        item_id = (
            str(record.get(spec["id_field"]))
            if spec.get("id_field") and record.get(spec["id_field"])
            else where
        )
        text = strip_lean_doc_comment(value).strip()
        if text:
            items.append(BenchmarkItem(name, item_id, text))
    log.info("benchmark %s: %d items from %s", name, len(items), origin)
    return items


def load_benchmarks(specs: list[dict], target: str) -> list[BenchmarkItem]:
    """All benchmarks that apply to `target` ("answers" or "proofs"), in config order."""
    items: list[BenchmarkItem] = []
    for spec in specs:
        if target in spec["applies_to"]:
            items.extend(load_benchmark(spec))
    return items


def index_hash(items: list[BenchmarkItem]) -> str:
    return sha256_hex("\x1e".join(f"{i.benchmark}\x1f{i.item_id}\x1f{i.text}" for i in items))[:16]
