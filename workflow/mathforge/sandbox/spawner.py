"""The pool's side of the zygote: session processes forked on request, restarted zygotes counted.

`Spawner.spawn(spec)` creates a session's two control pipes, hands the child's ends to the
zygote (`mathforge.sandbox.zygote`), and returns a `SessionProcess` (`send`, `readline`, `pid`,
`kill()`, `wait()`). Signals and the wait go through a pidfd, so they can only ever reach that
process. A zygote that died (killed, crashed) is replaced at the next spawn, logged and counted in
`restarts`; the sessions it forked earlier live on, untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket

log = logging.getLogger(__name__)

ZYGOTE_START_TIMEOUT_S = 60.0
# It answers at once; only a zygote stopped under it (SIGSTOP from the session uid in the moment
# it kills as that uid) does not, and is replaced.
ZYGOTE_REPLY_TIMEOUT_S = 10.0


MAX_LINE = 1 << 24  # a longer line on a session's control channel is an error


class SessionProcess:
    """A forked session: its control pipes (requests written, replies read by lines) and a pidfd
    for signals and the wait. The pipes are plain non-blocking descriptors waited on with the
    event loop, not asyncio transports: per session that is two transports, four protocol and
    stream objects and several loop rounds fewer."""

    def __init__(self, pid: int, pidfd: int, generation: int, requests: int, replies: int) -> None:
        self.pid = pid
        self.pidfd = pidfd
        self.generation = generation  # which zygote forked it (`Spawner.restarts` then)
        self._requests, self._replies = requests, replies
        for fd in (requests, replies):
            os.set_blocking(fd, False)
        self._buffer = bytearray()
        self._eof = False

    async def send(self, data: bytes) -> None:
        """Write all of `data` to the requests pipe (BrokenPipeError once the process is gone)."""
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self._requests, view) :]
            except BlockingIOError:
                await _ready(self._requests, write=True)

    async def readline(self) -> bytes:
        """The next line of the replies pipe, newline included; at its end what is left, then b""."""
        while True:
            end = self._buffer.find(b"\n") + 1
            if end or self._eof:
                line = bytes(self._buffer[: end or len(self._buffer)])
                del self._buffer[: len(line)]
                return line
            if len(self._buffer) > MAX_LINE:
                raise ValueError(f"a line of more than {MAX_LINE} bytes on a session's control channel")
            try:
                chunk = os.read(self._replies, 1 << 16)
            except BlockingIOError:
                await _ready(self._replies)
                continue
            self._eof = not chunk
            self._buffer += chunk

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, OSError):
            signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)

    async def wait(self) -> None:
        """Until the process has ended (then `Spawner.end` lets its zygote reap it)."""
        await _ready(self.pidfd)  # a pidfd turns readable when its process ends
        for fd in (self._requests, self._replies, self.pidfd):
            os.close(fd)


async def _ready(fd: int, write: bool = False) -> None:
    """Until `fd` is readable (or writable)."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    add, remove = (loop.add_writer, loop.remove_writer) if write else (loop.add_reader, loop.remove_reader)
    add(fd, lambda: ready.done() or ready.set_result(None))
    try:
        await ready
    finally:
        remove(fd)


class Spawner:
    """One zygote process (started on first use) and the sessions forked from it."""

    def __init__(self, python: str, env: dict[str, str], isolate: bool, limits: dict, max_output: int):
        """`limits` (a `Limits` as a dict) and `max_output`: what every session gets."""
        self.python = python
        self.env = env
        self.isolate = isolate
        self._settings = ["--limits", json.dumps(limits), "--max-output", str(max_output)]
        self.restarts = 0  # zygotes that died and were replaced
        self._zygote: asyncio.subprocess.Process | None = None
        self._sock: socket.socket | None = None
        self._lock = asyncio.Lock()  # one request at a time: each reply belongs to the last request
        self._ids = 0

    @property
    def zygote_pid(self) -> int | None:
        return self._zygote.pid if self._zygote is not None else None

    async def _start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            self._zygote = await asyncio.create_subprocess_exec(
                self.python, "-u", "-m", "mathforge.sandbox.zygote", "--socket", str(theirs.fileno()),
                *(["--isolate"] if self.isolate else []), *self._settings,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),), env=self.env, start_new_session=True,
            )  # fmt: skip
        ours.setblocking(False)
        self._sock = ours
        hello = await asyncio.wait_for(self._recv(), ZYGOTE_START_TIMEOUT_S)
        if hello is None or "ready" not in hello[0]:
            raise RuntimeError("the sandbox zygote failed to start (its stderr says why)")

    async def _recv(self) -> tuple[dict, list[int]] | None:
        """The zygote's next message and the descriptors it carries; None if the zygote is gone."""
        while True:
            try:
                msg, fds, _flags, _addr = socket.recv_fds(self._sock, 1 << 16, 2)
            except BlockingIOError:
                await _ready(self._sock.fileno())
                continue
            except OSError:
                return None
            return (json.loads(msg), fds) if msg else None

    async def _replace(self) -> None:
        """A zygote that is gone (or never started) is (re)started; a restart is logged and counted."""
        if self._zygote is not None:
            with contextlib.suppress(ProcessLookupError):
                self._zygote.kill()
            code = await self._zygote.wait()
            self._sock.close()
            self.restarts += 1
            log.warning(
                "sandbox zygote (pid %d) died or stopped answering (exit status %s); "
                "starting a new one (restart %d)",
                self._zygote.pid, code, self.restarts,
            )  # fmt: skip
        await self._start()

    async def spawn(self, spec: dict) -> SessionProcess:
        """A new session process; `spec`: its "uid" (or None) and "workdir"."""
        async with self._lock:
            for attempt in range(2):
                if self._zygote is None or self._zygote.returncode is not None or attempt:
                    await self._replace()
                process = await self._spawn_once(spec)
                if process is not None:
                    return process
            raise RuntimeError("the sandbox zygote died twice in a row while forking a session")

    async def _ask(self, request: dict, fds: tuple[int, ...] = ()) -> tuple[dict, list[int]] | None:
        """The zygote's reply to `request`; None if it died or does not answer in time (then it is
        killed, and the next spawn replaces it). Called under `_lock`."""
        self._ids += 1
        try:
            socket.send_fds(self._sock, [json.dumps({**request, "id": self._ids}).encode()], fds)
            async with asyncio.timeout(ZYGOTE_REPLY_TIMEOUT_S):
                reply = await self._recv()
        except (OSError, TimeoutError):
            reply = None
        if reply is not None and reply[0].get("id") == self._ids:
            return reply
        with contextlib.suppress(ProcessLookupError):
            self._zygote.kill()  # stopped, or dead already: replaced at the next spawn
        for fd in reply[1] if reply else []:
            os.close(fd)
        return None

    async def _spawn_once(self, spec: dict) -> SessionProcess | None:
        requests_r, requests_w = os.pipe()
        replies_r, replies_w = os.pipe()
        try:
            reply = await self._ask({"op": "spawn", "session": spec}, (requests_r, replies_w))
        finally:
            os.close(requests_r)  # the child's ends live in the child only
            os.close(replies_w)
        if reply is None or len(reply[1]) != 1:
            for fd in (requests_w, replies_r, *(reply[1] if reply else [])):
                os.close(fd)
            return None
        return SessionProcess(reply[0]["pid"], reply[1][0], self.restarts, requests_w, replies_r)

    async def end(self, process: SessionProcess, uid: int | None) -> bool:
        """`process` has ended (`wait`): the zygote that forked it kills what `uid` still runs and
        reaps it. False if that zygote is gone (its children went to init, which reaped them) or
        does not answer: the caller must clean `uid` up itself."""
        async with self._lock:
            if (
                process.generation != self.restarts
                or self._zygote is None
                or self._zygote.returncode is not None
            ):
                return False
            reply = await self._ask({"op": "end", "pid": process.pid, "uid": uid})
            return reply is not None and reply[0].get("ended") is True

    async def close(self) -> None:
        if self._zygote is None:
            return
        self._sock.close()  # EOF: the zygote exits
        try:
            await asyncio.wait_for(self._zygote.wait(), 10)
        except TimeoutError:
            self._zygote.kill()
            await self._zygote.wait()
        self._zygote = None
