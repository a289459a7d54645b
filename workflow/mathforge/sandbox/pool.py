"""SandboxPool: stateful Python sessions for tool-integrated reasoning, one process per session.

Each session is a fresh process forked from the pool's zygote (`zygote`, `spawner`), a
pre-initialised interpreter that never runs model code: a session costs a fork, not a new
interpreter, and starts from the same untouched image as every other, so nothing leaks between
solutions. Processes are started ahead of demand (`prestart`), so opening a session costs
nothing; a cell is one JSON line each way over pipes. Each request carries a random id that its
reply must echo: anything else read from a session is discarded and counted, so a reply can only
ever be the reply to its own cell. A cell that exceeds its time limit is interrupted (SIGINT): the session
keeps its variables. One that resists (ignores signals, loops in C, forks without end) is killed
with everything its uid runs, and the session is restarted empty and reported as such
(`restarted=True`) — never silently. A session that dies (os._exit, out of memory) is restarted
the same way. Processes a cell leaves running are killed by the session before it replies
(`orphans_killed`); if some cannot be, or a stray reply was seen, the session is restarted too.
As root each session runs as a uid leased host-wide (`uids`), so pools never share one.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mathforge.sandbox.isolation import Limits
from mathforge.sandbox.spawner import SessionProcess, Spawner
from mathforge.sandbox.uids import (
    DEFAULT_LEASE_DIR,
    DEFAULT_UID_BASE,
    DEFAULT_UID_COUNT,
    UidLeases,
    kill_uid,
)

TRUNCATION_MARKER = "\n[... output truncated: {shown} of {total} bytes shown ...]"


@dataclass
class CellResult:
    status: str  # ok | error | timeout | crashed
    output: str
    error: str | None = None
    truncated: bool = False
    restarted: bool = False
    seconds: float = 0.0
    orphans_killed: int = 0  # processes the cell left running, killed when it ended

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Process:
    proc: SessionProcess
    slot: int
    uid: int | None  # its own uid (as root), or None
    workdir: Path  # its own, removed with it (without namespaces; with them a private tmpfs)
    isolation: list[str] = field(default_factory=list)
    stray_replies: int = 0  # lines read that were not the reply awaited


def _note(error: str | None, note: str) -> str:
    return f"{error.rstrip()}\n{note}" if error else note


def _orphans_note(n: int) -> str:
    return f"note: {n} process{'es' * (n != 1)} the cell left running {'were' if n != 1 else 'was'} killed"


class SandboxPool:
    def __init__(
        self,
        max_sessions: int = 64,
        prestart: int = 4,
        limits: Limits | None = None,
        max_output: int = 1000,
        interrupt_grace_s: float = 1.0,
        python: str = sys.executable,
        isolate: bool | None = None,
        uid_base: int = DEFAULT_UID_BASE,
        uid_count: int = DEFAULT_UID_COUNT,
        lease_dir: str = DEFAULT_LEASE_DIR,
    ):
        """`isolate`: namespaces and a leased uid per session; needs root (None = when root).
        The uids come from [uid_base, uid_base + uid_count), leased in `lease_dir`."""
        self.max_sessions = max_sessions
        self.prestart = prestart
        self.limits = limits or Limits()
        self.max_output = max_output
        self.interrupt_grace_s = interrupt_grace_s
        self.python = python
        self.isolate = os.geteuid() == 0 if isolate is None else isolate
        if self.isolate and os.geteuid() != 0:
            raise ValueError("isolate=True needs root (per-session uids and namespaces)")
        self._uid_range = (uid_base, uid_count, lease_dir)
        self._leases: UidLeases | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="mathforge-sandbox-")
        os.chmod(self._tmp.name, 0o755)  # session uids must reach their own workdir below it
        self._free_slots = list(range(max_sessions))
        self._idle: list[_Process] = []
        self._sessions: dict[str, _Process] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._ids = itertools.count(1)
        self._workdirs = itertools.count(1)
        env = {
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
            "PATH": os.environ.get("PATH", ""),
            # The zygote binds every symbol of its libraries at start: no session binds one itself,
            # writing to (and copying) the library's pages. Gone from the sessions' environment.
            "LD_BIND_NOW": "1",
        }
        self._spawner = Spawner(python, env, self.isolate, asdict(self.limits), max_output)
        self._refill: asyncio.Task | None = None
        self._closing = False

    async def __aenter__(self) -> SandboxPool:
        await self._fill()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _uid(self, slot: int) -> int | None:
        if not self.isolate:
            return None
        if self._leases is None:  # all at once: an exhausted range fails the pool at its start
            base, count, lease_dir = self._uid_range
            self._leases = UidLeases.acquire(self.max_sessions, base, count, lease_dir)
        return self._leases.uids[slot]

    @property
    def zygote_restarts(self) -> int:
        """Zygotes that died (killed, crashed) and were replaced; each is logged."""
        return self._spawner.restarts

    async def _spawn(self, slot: int) -> _Process:
        workdir = Path(self._tmp.name) / f"session-{next(self._workdirs)}"  # never one a session used
        uid = self._uid(slot)
        proc = await self._spawner.spawn({"uid": uid, "workdir": str(workdir)})
        line = await proc.readline()
        try:
            hello = json.loads(line)
        except ValueError as exc:
            await self._kill(_Process(proc, slot, uid, workdir))
            raise RuntimeError(f"sandbox session failed to start: {line[:500]!r}") from exc
        return _Process(proc, slot, uid, workdir, hello.get("isolation", []))

    async def _fill(self) -> None:
        while len(self._idle) < self.prestart and self._free_slots:
            self._idle.append(await self._spawn(self._free_slots.pop()))

    def _schedule_refill(self) -> None:
        if self._closing or len(self._idle) >= self.prestart or not self._free_slots:
            return  # nothing to start: no task for it
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
            request_id = os.urandom(8).hex()
            try:
                await process.proc.send(json.dumps({"id": request_id, "code": code}).encode() + b"\n")
                async with asyncio.timeout(timeout_s):
                    reply = await self._reply(process, request_id)
            except TimeoutError:
                return await self._interrupt(session_id, process, request_id, timeout_s)
            except (BrokenPipeError, ConnectionResetError):
                reply = None
            if reply is None:  # the process died under the cell (os._exit, out of memory, killed)
                await self._restart(session_id, process)
                return CellResult(
                    "crashed", "", "the sandbox process died; the session was restarted", restarted=True
                )
            return await self._finish(session_id, process, self._result(reply), reply)

    async def _reply(self, process: _Process, request_id: str) -> dict | None:
        """The reply that echoes `request_id`; any other line is counted and dropped. None at EOF."""
        while line := await process.proc.readline():
            try:
                reply = json.loads(line)
            except ValueError:
                reply = None
            if isinstance(reply, dict) and reply.get("id") == request_id:
                return reply
            process.stray_replies += 1
        return None

    def _result(self, reply: dict, status: str | None = None) -> CellResult:
        output, total = reply["output"], reply["output_bytes"]
        truncated = total > len(output.encode())
        if truncated:
            output += TRUNCATION_MARKER.format(shown=len(output.encode()), total=total)
        return CellResult(
            status or reply["status"], output, reply.get("error"), truncated, False,
            reply.get("seconds", 0.0), reply.get("orphans_killed", 0),
        )  # fmt: skip

    async def _finish(
        self, session_id: str, process: _Process, result: CellResult, reply: dict
    ) -> CellResult:
        """`result`, after restarting a session that may not be clean any more, saying why."""
        if result.orphans_killed:  # the model reads why a process it started is gone
            result.error = _note(result.error, _orphans_note(result.orphans_killed))
        problems = []
        if reply.get("orphans_left"):
            problems.append(f"{reply['orphans_left']} processes the cell started could not be killed")
        if process.stray_replies:
            problems.append(f"{process.stray_replies} stray lines on its control channel were discarded")
        if problems:
            await self._restart(session_id, process)
            restarted = "the session was restarted (its variables are gone)"
            result.error = _note(result.error, f"{'; '.join(problems)}: {restarted}")
            result.restarted = True
        return result

    async def _interrupt(
        self, session_id: str, process: _Process, request_id: str, timeout_s: float
    ) -> CellResult:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.proc.pid, signal.SIGINT)
        try:
            async with asyncio.timeout(self.interrupt_grace_s):
                reply = await self._reply(process, request_id)
        except TimeoutError:
            reply = None
        if reply is not None:
            result = self._result(reply, status="timeout")
            result.error = f"TimeoutError: the cell ran longer than {timeout_s:g} s and was interrupted"
            return await self._finish(session_id, process, result, reply)
        await self._restart(session_id, process)
        return CellResult(
            "timeout", "", f"TimeoutError: the cell ran longer than {timeout_s:g} s and did not stop; "
            "the session was killed and restarted (its variables are gone)", restarted=True,
        )  # fmt: skip

    async def _kill(self, process: _Process) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.proc.pid, signal.SIGKILL)
        process.proc.kill()
        await process.proc.wait()
        # What left the process group (setsid) and still runs as its uid: killed by its zygote, or
        # (forked by a zygote that died since) found in /proc as before.
        if not await self._spawner.end(process.proc, process.uid) and process.uid is not None:
            kill_uid(process.uid)
        if "tmpfs:/tmp" not in process.isolation:  # else it worked in its own tmpfs, gone with it
            shutil.rmtree(process.workdir, ignore_errors=True)

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
        await self._spawner.close()
        if self._leases is not None:
            self._leases.release()
            self._leases = None
        self._tmp.cleanup()
