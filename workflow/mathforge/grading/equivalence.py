"""Are two final answers the same? Exact after normalization first, then symbolic (math-verify).

math-verify's own timeouts use `signal.alarm` (main thread only; fractional seconds silently
fail; it cancels other alarms) and report a timeout as "not equal". So it runs here with its
timeouts off, in worker processes that this module kills when one comparison exceeds a hard
wall-clock limit; that comparison is then "unknown", never "equal" or "different". Verdicts
are cached by (normalized gold, normalized answer): most answers repeat.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mathforge.grading.normalize import as_integer, is_text, normalize_answer

log = logging.getLogger(__name__)
STARTUP_TIMEOUT_S = 120.0  # importing sympy + math-verify on a busy machine
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # workers import mathforge from here


@dataclass(frozen=True)
class Verdict:
    equal: bool | None  # None: could not be decided
    method: str  # exact | integer | symbolic | text | unparseable | timeout | error | missing

    @property
    def decided(self) -> bool:
        return self.equal is not None


class _Slot:
    """One worker process (`python -m mathforge.grading.verify_worker`), one pair at a time."""

    def __init__(self):
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [_PACKAGE_ROOT, os.environ.get("PYTHONPATH")])),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mathforge.grading.verify_worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, start_new_session=True,
        )  # fmt: skip
        self.job: tuple[str, str] | None = None
        self.started = 0.0
        self.ready = False

    def wait_ready(self, timeout_s: float = STARTUP_TIMEOUT_S) -> bool:
        """Wait for the worker's ready line (imports done): start-up is not comparison time.
        False if it died or did not get ready in time."""
        if not self.ready:
            fd = self.process.stdout.fileno()
            self.ready = (
                bool(select.select([fd], [], [], timeout_s)[0]) and self.process.stdout.readline() != b""
            )
        return self.ready

    def send(self, pair: tuple[str, str]) -> None:
        self.process.stdin.write((json.dumps(pair) + "\n").encode())
        self.process.stdin.flush()

    def receive(self) -> tuple[bool | None, str]:
        line = self.process.stdout.readline()
        if not line:
            return None, "error: worker died"
        equal, method = json.loads(line)
        return equal, method

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                stream.close()


class AnswerComparer:
    """`compare(gold, answer)` / `compare_many(pairs)` with caching and a hard per-pair time limit."""

    def __init__(self, workers: int = 2, timeout_s: float = 5.0):
        self.workers = max(1, workers)
        self.timeout_s = timeout_s
        self.cache: dict[tuple[str, str], Verdict] = {}
        self.stats = {"exact": 0, "integer": 0, "cached": 0, "symbolic": 0, "timeouts": 0}
        self._slots: list[_Slot] = []

    def __enter__(self) -> AnswerComparer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for slot in self._slots:
            slot.kill()
        self._slots = []

    def fast(self, gold: str | None, answer: str | None) -> tuple[Verdict | None, tuple[str, str] | None]:
        """(verdict, None) when decided without math-verify, else (None, cache key)."""
        g, a = normalize_answer(gold), normalize_answer(answer)
        if g is None or a is None:
            return Verdict(None if g is None else False, "missing"), None
        if g == a:
            self.stats["exact"] += 1
            return Verdict(True, "exact"), None
        if is_text(g) or is_text(a):  # words: equal up to case, else for the LLM judge to decide
            return (Verdict(True, "exact"), None) if g.lower() == a.lower() else (Verdict(None, "text"), None)
        gi, ai = as_integer(g), as_integer(a)
        if gi is not None and ai is not None:
            self.stats["integer"] += 1
            return Verdict(gi == ai, "integer"), None
        key = (g, a)
        if key in self.cache:
            self.stats["cached"] += 1
            return self.cache[key], None
        return None, key

    def compare(self, gold: str | None, answer: str | None) -> Verdict:
        return self.compare_many([(gold, answer)])[0]

    def compare_many(self, pairs: Iterable[tuple[str | None, str | None]]) -> list[Verdict]:
        pairs = list(pairs)
        verdicts: list[Verdict | None] = [None] * len(pairs)
        todo: dict[tuple[str, str], tuple[str, str]] = {}  # cache key -> raw pair to send
        waiting: dict[tuple[str, str], list[int]] = {}
        for i, (gold, answer) in enumerate(pairs):
            verdict, key = self.fast(gold, answer)
            if verdict is not None:
                verdicts[i] = verdict
            else:
                todo.setdefault(key, (gold, answer))
                waiting.setdefault(key, []).append(i)
        if todo:
            self._run_symbolic(todo)
            self.stats["cached"] += sum(len(indices) - 1 for indices in waiting.values())
            for key, indices in waiting.items():
                for i in indices:
                    verdicts[i] = self.cache[key]
        return verdicts  # type: ignore[return-value]

    def _run_symbolic(self, todo: dict[tuple[str, str], tuple[str, str]]) -> None:
        queue = list(todo.items())
        while len(self._slots) < min(self.workers, len(queue)):
            self._slots.append(_Slot())
        busy: dict[int, _Slot] = {}
        while queue or busy:
            for slot in self._slots:
                if slot.job is None and queue and not slot.wait_ready():
                    raise RuntimeError(
                        f"the math-verify worker (python -m mathforge.grading.verify_worker) did not start "
                        f"within {STARTUP_TIMEOUT_S:.0f} s"
                    )
                if slot.job is None and queue:
                    key, pair = queue.pop()
                    slot.job, slot.started = key, time.monotonic()
                    slot.send(pair)
                    busy[slot.process.stdout.fileno()] = slot
            deadline = min(s.started for s in busy.values()) + self.timeout_s
            ready, _, _ = select.select(list(busy), [], [], max(0.0, deadline - time.monotonic()))
            for fd in ready:
                slot = busy.pop(fd)
                equal, method = slot.receive()
                if method == "error: worker died":  # e.g. out of memory: unknown, and a fresh worker
                    self._replace(slot)
                self.cache[slot.job] = Verdict(equal, method)
                self.stats["symbolic"] += 1
                slot.job = None
            now = time.monotonic()
            for fd, slot in list(busy.items()):
                if now - slot.started >= self.timeout_s:  # hard limit: kill the stuck worker
                    busy.pop(fd)
                    self.cache[slot.job] = Verdict(None, "timeout")
                    self.stats["timeouts"] += 1
                    log.warning("answer comparison timed out after %.1fs: %r", self.timeout_s, todo[slot.job])
                    self._replace(slot)

    def _replace(self, slot: _Slot) -> None:
        index = self._slots.index(slot)
        slot.kill()
        self._slots[index] = _Slot()
