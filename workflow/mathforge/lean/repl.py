"""Two more ways to compile Lean, behind the same `check(header, body)` as `LeanFileBackend`:

LeanREPLPool: a pool of Lean REPL processes (leanprover-community/repl). Each process imports
one header once (`{"cmd": header}` -> env 0) and checks every body against that environment
(`{"cmd": body, "env": 0}`), so Mathlib's import (seconds to minutes, ~6.5 GB) is paid once per
process, not per check. Processes are keyed by the exact header; one that times out, dies or
hits its memory limit is killed and replaced (the next check re-imports).

KiminaBackend: a Kimina-style Lean server over HTTP (`POST /api/check`), which pools REPLs the
same way on its own machines.

Both report message positions relative to the whole file (header + blank line + body), like
the file backend, and turn the REPL's `sorries` into sorry messages.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import resource
import select
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from mathforge.lean.messages import LeanMessage, message_from_dict
from mathforge.lean.verify import CompileResult, assemble, body_line_offset


def _messages_from_repl(response: dict, line_offset: int) -> list[LeanMessage]:
    out = [message_from_dict(m, line_offset) for m in response.get("messages") or []]
    for s in response.get("sorries") or []:
        pos = s.get("pos") or {}
        out.append(
            LeanMessage(
                "warning",
                "declaration uses sorry",
                pos.get("line", 0) + line_offset,
                pos.get("column"),
                kind="hasSorry",
            )
        )
    return out


@dataclass
class _Repl:
    process: subprocess.Popen
    header: str
    env: int | None = None
    pending: bytes = b""  # read from the REPL but not yet parsed


class LeanREPLPool:
    def __init__(
        self, command: list[str], cwd: str | None = None, workers: int = 2, timeout_s: float = 60.0,
        import_timeout_s: float = 900.0, memory_mb: int = 16384,
    ):  # fmt: skip
        self.command, self.cwd = list(command), cwd
        self.timeout_s, self.import_timeout_s, self.memory_mb = timeout_s, import_timeout_s, memory_mb
        self._idle: queue.LifoQueue[_Repl | None] = queue.LifoQueue()
        for _ in range(workers):
            self._idle.put(None)  # a slot; its process starts on first use
        self.restarts = 0

    def _limits(self) -> None:
        limit = self.memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    def _spawn(self, header: str) -> _Repl:
        process = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            preexec_fn=self._limits,
            start_new_session=True,
        )
        repl = _Repl(process, header)
        response = self._send(repl, {"cmd": header}, self.import_timeout_s)
        if response is None or "env" not in response:
            self._kill(repl)
            raise RuntimeError(f"the Lean REPL could not import the header: {response}")
        repl.env = response["env"]
        return repl

    def _send(self, repl: _Repl, command: dict, timeout_s: float) -> dict | None:
        """One command; the reply is a JSON object ended by a blank line. None on timeout/death.

        Reads the pipe unbuffered (os.read after select), so no reply can sit in a buffer that
        select does not see."""
        try:
            repl.process.stdin.write((json.dumps(command) + "\n\n").encode())
            repl.process.stdin.flush()
        except (BrokenPipeError, OSError):
            return None
        deadline = time.monotonic() + timeout_s
        fd = repl.process.stdout.fileno()
        while True:
            start = 0
            while (cut := repl.pending.find(b"\n\n", start)) >= 0:  # the shortest prefix that parses
                head = repl.pending[:cut]
                if not head.strip():
                    repl.pending, start = repl.pending[cut + 2 :], 0
                    continue
                try:
                    reply = json.loads(head)
                except ValueError:
                    start = cut + 2
                    continue
                repl.pending = repl.pending[cut + 2 :]
                return reply
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                return None
            data = os.read(fd, 1 << 16)
            if not data:
                return None
            repl.pending += data

    def _kill(self, repl: _Repl) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(repl.process.pid, 9)
        repl.process.wait()

    def check(self, header: str, body: str) -> CompileResult:
        slot = self._idle.get()
        started = time.monotonic()
        try:
            if slot is not None and (slot.header != header or slot.process.poll() is not None):
                self._kill(slot)
                slot = None
            if slot is None:
                slot = self._spawn(header)
            response = self._send(slot, {"cmd": body.strip(), "env": slot.env}, self.timeout_s)
            seconds = time.monotonic() - started
            if response is None:  # timed out or died: replace the process, the check is a timeout
                self._kill(slot)
                slot, self.restarts = None, self.restarts + 1
                return CompileResult([], None, True, seconds, ["REPL timed out or died"])
            if "env" not in response:  # an error reply (unknown environment, unreadable command): no verdict
                reason = f"the Lean REPL answered without an environment: {response.get('message', response)}"
                return CompileResult([], None, False, seconds, [], infra_error=reason)
            return CompileResult(
                _messages_from_repl(response, body_line_offset(header)), 0, False, seconds, []
            )
        except (OSError, RuntimeError) as exc:
            slot = None
            return CompileResult([], None, False, time.monotonic() - started, [], infra_error=str(exc))
        finally:
            self._idle.put(slot)

    def close(self) -> None:
        while not self._idle.empty():
            slot = self._idle.get()
            if slot is not None:
                self._kill(slot)


class KiminaBackend:
    """A Kimina Lean server: `POST {url}/api/check` with one snippet per check."""

    def __init__(self, url: str, timeout_s: float = 60.0, api_key: str | None = None):
        self.url, self.timeout_s, self.api_key = url.rstrip("/"), timeout_s, api_key

    def check(self, header: str, body: str) -> CompileResult:
        payload = {
            "snippets": [{"id": "0", "code": assemble(header, body)}],
            "timeout": self.timeout_s,
            "reuse": True,
        }
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url + "/api/check", json.dumps(payload).encode(), headers)
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s + 30) as resp:
                result = json.load(resp)["results"][0]
        except (urllib.error.URLError, OSError, ValueError, KeyError, IndexError) as exc:
            return CompileResult(
                [], None, False, time.monotonic() - started, [], infra_error=f"{self.url}: {exc}"
            )
        seconds = float(result.get("time") or time.monotonic() - started)
        if result.get("error"):
            timed_out = "timeout" in str(result["error"]).lower()
            return CompileResult([], None, timed_out, seconds, [str(result["error"])])
        return CompileResult(_messages_from_repl(result.get("response") or {}, 0), 0, False, seconds, [])
