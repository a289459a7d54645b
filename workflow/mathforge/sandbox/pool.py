"""SandboxPool: stateful Python sessions for tool-integrated reasoning, one process per session.

Processes are started ahead of demand (`prestart`), so opening a session costs nothing; a cell is
one JSON line each way over pipes. A cell that exceeds its time limit is interrupted (SIGINT):
the session keeps its variables. One that resists (ignores signals, loops in C, forks without
end) is killed with everything its uid runs, and the session is restarted empty and reported as
such (`restarted=True`) — never silently. A session that dies (os._exit, out of memory) is
restarted the same way. Processes a cell leaves behind are killed when it times out.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mathforge.sandbox.isolation import BASE_UID, Limits

TRUNCATION_MARKER = "\n[... output truncated: {shown} of {total} bytes shown ...]"


@dataclass
class CellResult:
    status: str  # ok | error | timeout | crashed
    output: str
    error: str | None = None
    truncated: bool = False
    restarted: bool = False
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Process:
    proc: asyncio.subprocess.Process
    slot: int
    isolation: list[str] = field(default_factory=list)


def _uid_processes(uid: int) -> list[int]:
    """Live (non-zombie) processes running as `uid`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = dict(
                    line.split(":", 1) for line in (entry / "status").read_text().splitlines() if ":" in line
                )
                if int(fields["Uid"].split()[0]) == uid and not fields["State"].strip().startswith(
                    ("Z", "X")
                ):
                    pids.append(int(entry.name))
            except (OSError, ValueError, KeyError):
                continue
    return pids


class SandboxPool:
    def __init__(
        self,
        max_sessions: int = 64,
        prestart: int = 4,
        limits: Limits | None = None,
        max_output: int = 1000,
        interrupt_grace_s: float = 1.0,
        python: str = sys.executable,
    ):
        self.max_sessions = max_sessions
        self.prestart = prestart
        self.limits = limits or Limits()
        self.max_output = max_output
        self.interrupt_grace_s = interrupt_grace_s
        self.python = python
        self.root = os.geteuid() == 0
        self._tmp = tempfile.TemporaryDirectory(prefix="mathforge-sandbox-")
        os.chmod(self._tmp.name, 0o755)  # session uids must reach their own workdir below it
        self._free_slots = list(range(max_sessions))
        self._idle: list[_Process] = []
        self._sessions: dict[str, _Process] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._ids = itertools.count(1)
        self._refill: asyncio.Task | None = None
        self._closing = False

    async def __aenter__(self) -> SandboxPool:
        await self._fill()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _spawn(self, slot: int) -> _Process:
        workdir = Path(self._tmp.name) / f"slot-{slot}"
        env = {"PYTHONPATH": str(Path(__file__).resolve().parents[2]), "PATH": os.environ.get("PATH", "")}
        proc = await asyncio.create_subprocess_exec(
            self.python, "-u", "-m", "mathforge.sandbox.session",
            "--slot", str(slot), "--workdir", str(workdir),
            "--limits", json.dumps(asdict(self.limits)), "--max-output", str(self.max_output),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            env=env, start_new_session=True, limit=1 << 24,
        )  # fmt: skip
        line = await proc.stdout.readline()
        try:
            hello = json.loads(line)
        except ValueError as exc:
            proc.kill()
            raise RuntimeError(f"sandbox session failed to start: {line[:500]!r}") from exc
        return _Process(proc, slot, hello.get("isolation", []))

    async def _fill(self) -> None:
        while len(self._idle) < self.prestart and self._free_slots:
            self._idle.append(await self._spawn(self._free_slots.pop()))

    def _schedule_refill(self) -> None:
        if self._closing:
            return
        if self._refill is None or self._refill.done():
            self._refill = asyncio.ensure_future(self._fill())

    async def open_session(self) -> str:
        if not self._idle and not self._free_slots and self._refill is not None and not self._refill.done():
            await self._refill  # the last free slots are being pre-started right now
        if self._idle:
            process = self._idle.pop()
        elif self._free_slots:
            process = await self._spawn(self._free_slots.pop())
        else:
            raise RuntimeError(f"all {self.max_sessions} sandbox sessions are in use")
        session_id = f"s{next(self._ids)}"
        self._sessions[session_id] = process
        self._locks[session_id] = asyncio.Lock()
        self._schedule_refill()
        return session_id

    def has_session(self, session_id: str) -> bool:
        return session_id in self._sessions

    def isolation(self, session_id: str) -> list[str]:
        return list(self._sessions[session_id].isolation)

    async def execute(self, session_id: str, code: str, timeout_s: float = 10.0) -> CellResult:
        async with self._locks[session_id]:
            process = self._sessions[session_id]
            proc = process.proc
            try:
                proc.stdin.write(json.dumps({"id": 0, "code": code}).encode() + b"\n")
                await proc.stdin.drain()
                line = await asyncio.wait_for(proc.stdout.readline(), timeout_s)
            except TimeoutError:
                return await self._interrupt(session_id, process, timeout_s)
            except (BrokenPipeError, ConnectionResetError):
                line = b""
            if not line:  # the process died under the cell (os._exit, out of memory, killed)
                await self._restart(session_id, process)
                return CellResult(
                    "crashed", "", "the sandbox process died; the session was restarted", restarted=True
                )
            return self._result(json.loads(line))

    def _result(self, reply: dict, status: str | None = None) -> CellResult:
        output, total = reply["output"], reply["output_bytes"]
        truncated = total > len(output.encode())
        if truncated:
            output += TRUNCATION_MARKER.format(shown=len(output.encode()), total=total)
        return CellResult(
            status or reply["status"], output, reply.get("error"), truncated, False, reply.get("seconds", 0.0)
        )

    async def _interrupt(self, session_id: str, process: _Process, timeout_s: float) -> CellResult:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.proc.pid, signal.SIGINT)
        try:
            line = await asyncio.wait_for(process.proc.stdout.readline(), self.interrupt_grace_s)
        except TimeoutError:
            line = b""
        if line:
            self._kill_strays(process)
            result = self._result(json.loads(line), status="timeout")
            result.error = f"TimeoutError: the cell ran longer than {timeout_s:g} s and was interrupted"
            return result
        await self._restart(session_id, process)
        return CellResult(
            "timeout", "", f"TimeoutError: the cell ran longer than {timeout_s:g} s and did not stop; "
            "the session was killed and restarted (its variables are gone)", restarted=True,
        )  # fmt: skip

    def _kill_strays(self, process: _Process) -> None:
        """Processes a cell started (and left running) are killed; the session itself stays."""
        if self.root:
            for _ in range(5):  # forking children can race one sweep: repeat until none is left
                strays = [p for p in _uid_processes(BASE_UID + process.slot) if p != process.proc.pid]
                if not strays:
                    break
                for pid in strays:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)

    async def _kill(self, process: _Process) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.proc.pid, signal.SIGKILL)
        if self.root:
            for _ in range(3):  # a fork bomb may race the sweep: repeat until its uid runs nothing
                pids = _uid_processes(BASE_UID + process.slot)
                if not pids:
                    break
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                await asyncio.sleep(0.01)
        with contextlib.suppress(ProcessLookupError):
            process.proc.kill()
        await process.proc.wait()

    async def _restart(self, session_id: str, process: _Process) -> None:
        await self._kill(process)
        self._sessions[session_id] = await self._spawn(process.slot)

    async def close_session(self, session_id: str) -> None:
        process = self._sessions.pop(session_id)
        self._locks.pop(session_id, None)
        await self._kill(process)
        self._free_slots.append(process.slot)
        self._schedule_refill()

    async def close(self) -> None:
        self._closing = True
        if self._refill is not None:
            with contextlib.suppress(BaseException):
                await self._refill
        for session_id in list(self._sessions):
            await self.close_session(session_id)
        for process in self._idle:
            await self._kill(process)
        self._idle.clear()
        self._tmp.cleanup()
