"""The sandbox with real execution: state, timeouts, truncation, and an adversarial suite in which
every attack is contained and followed by a normal cell that still works."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from mathforge.sandbox.isolation import BASE_UID, Limits
from mathforge.sandbox.pool import SandboxPool, _uid_processes

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(
    not ROOT, reason="namespaces and per-session uids need root (CI runs as root)"
)


def run(coro):
    return asyncio.run(coro)


async def session(pool: SandboxPool) -> str:
    return await pool.open_session()


def with_pool(test, **kw):
    async def go():
        async with SandboxPool(
            max_sessions=kw.pop("max_sessions", 8), prestart=kw.pop("prestart", 1), **kw
        ) as pool:
            return await test(pool)

    return run(go())


async def still_works(pool, sid) -> None:
    result = await pool.execute(sid, "6 * 7")
    assert (result.status, result.output) == ("ok", "42\n")


def test_state_persists_and_last_expression_is_echoed():
    async def t(pool):
        sid = await session(pool)
        assert (await pool.execute(sid, "import math\nx = math.factorial(5)")).output == ""
        result = await pool.execute(sid, "print('x is', x)\nx + 1")
        assert (result.status, result.output) == ("ok", "x is 120\n121\n")
        other = await session(pool)
        assert "NameError" in (await pool.execute(other, "x")).error  # sessions do not share state

    with_pool(t)


def test_errors_are_reported_with_the_traceback():
    async def t(pool):
        sid = await session(pool)
        result = await pool.execute(sid, "def f():\n    return 1/0\nf()")
        assert result.status == "error" and "ZeroDivisionError" in result.error and "line 2" in result.error
        assert "SyntaxError" in (await pool.execute(sid, "def (")).error
        await still_works(pool, sid)

    with_pool(t)


def test_interruptible_timeout_keeps_the_session_state():
    async def t(pool):
        sid = await session(pool)
        await pool.execute(sid, "keep = 'me'")
        result = await pool.execute(sid, "while True:\n    pass", timeout_s=0.5)
        assert result.status == "timeout" and not result.restarted
        assert (await pool.execute(sid, "keep")).output == "'me'\n"

    with_pool(t)


@pytest.mark.parametrize(
    "code",
    [
        "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.01)",
        "while True:\n    try:\n        sum(range(10**9))\n    except KeyboardInterrupt:\n        pass",
        "sum(range(10**12))",  # a C loop never looks at signals
    ],
    ids=["ignores-sigint", "catches-interrupt", "c-loop"],
)
def test_a_resisting_cell_is_killed_and_the_restart_reported(code):
    async def t(pool):
        sid = await session(pool)
        await pool.execute(sid, "lost = 1")
        result = await pool.execute(sid, code, timeout_s=0.5)
        assert result.status == "timeout" and result.restarted
        assert "restarted" in result.error
        assert "NameError" in (await pool.execute(sid, "lost")).error  # never silently: state is gone
        await still_works(pool, sid)

    with_pool(t, interrupt_grace_s=0.5)


def test_output_is_truncated_with_a_marker():
    async def t(pool):
        sid = await session(pool)
        result = await pool.execute(sid, "print('y' * 5000)")
        assert result.truncated and result.output.startswith("y" * 100)
        assert "output truncated: 100 of 5001 bytes" in result.output

    with_pool(t, max_output=100)


def test_huge_output_is_capped_by_the_file_size_limit():
    async def t(pool):
        sid = await session(pool)
        result = await pool.execute(
            sid, "import sys\nfor _ in range(10**6):\n    sys.stdout.write('z' * 1000)", timeout_s=20
        )
        assert result.status == "error" and "File too large" in result.error
        assert result.truncated
        await still_works(pool, sid)

    with_pool(t, limits=Limits(file_size_mb=2))


def test_memory_bomb_is_contained():
    async def t(pool):
        sid = await session(pool)
        result = await pool.execute(
            sid, "blocks = []\nwhile True:\n    blocks.append(bytearray(50 * 2**20))", timeout_s=20
        )
        assert result.status in {"error", "crashed"}
        if result.status == "error":
            assert "MemoryError" in result.error
        await still_works(pool, sid)

    with_pool(t, limits=Limits(memory_mb=512))


def test_os_exit_restarts_the_session_and_says_so():
    async def t(pool):
        sid = await session(pool)
        result = await pool.execute(sid, "import os\nos._exit(3)")
        assert result.status == "crashed" and result.restarted
        await still_works(pool, sid)

    with_pool(t)


def test_environment_secrets_are_not_visible(monkeypatch):
    monkeypatch.setenv("MATHFORGE_TEST_SECRET", "hunter2")

    async def t(pool):
        sid = await session(pool)
        result = await pool.execute(sid, "import os\nsorted(os.environ)")
        assert "MATHFORGE_TEST_SECRET" not in result.output
        if ROOT:  # another uid cannot read the parent's environment through /proc either
            result = await pool.execute(sid, "open(f'/proc/{os.getppid()}/environ', 'rb').read()")
            assert result.status == "error" and (
                "PermissionError" in result.error or "No such file" in result.error
            )
        await still_works(pool, sid)

    with_pool(t)


def test_no_socket_to_localhost():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()

    async def t(pool):
        sid = await session(pool)
        code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)"
        result = await pool.execute(sid, code, timeout_s=5)
        assert result.status == "error" and ("unreachable" in result.error or "disabled" in result.error)
        await still_works(pool, sid)

    try:
        with_pool(t)
        assert not accepted
    finally:
        server.close()


@needs_root
def test_cannot_write_outside_its_temp_dir():
    target = Path("/etc") / f"mathforge-escaped-{os.getpid()}.txt"  # root-owned, never under /tmp
    beside_tests = Path(__file__).parent / f"escaped-{os.getpid()}.txt"  # hidden if the clone is under /tmp
    host_tmp = Path("/tmp") / f"mathforge-escape-{os.getpid()}"

    async def t(pool):
        sid = await session(pool)
        result = await pool.execute(sid, f"open({str(target)!r}, 'w').write('x')")
        assert result.status == "error" and "PermissionError" in result.error
        result = await pool.execute(sid, f"open({str(beside_tests)!r}, 'w').write('x')")
        assert result.status == "error" and (
            "PermissionError" in result.error or "FileNotFoundError" in result.error
        )
        result = await pool.execute(sid, f"open({str(host_tmp)!r}, 'w').write('x')")  # a private /tmp
        assert result.status == "ok"
        assert (await pool.execute(sid, "open('here.txt', 'w').write('ok')")).status == "ok"
        await still_works(pool, sid)

    try:
        with_pool(t)
    finally:
        escaped = [p for p in (target, beside_tests, host_tmp) if p.exists()]
        for p in escaped:
            p.unlink()
    assert not escaped


@needs_root
def test_cannot_kill_the_parent():
    async def t(pool):
        sid = await session(pool)
        result = await pool.execute(sid, "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)")
        assert result.status == "error" and "PermissionError" in result.error
        result = await pool.execute(
            sid, "import os, signal\nos.kill(-1, signal.SIGKILL)"
        )  # all it may signal
        await still_works(pool, sid) if result.status != "crashed" else None
        await still_works(pool, sid)

    with_pool(t)  # reaching this line means the test process survived


@needs_root
def test_fork_bomb_is_contained_and_cleaned_up():
    async def t(pool):
        sid = await session(pool)
        code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
        result = await pool.execute(sid, code, timeout_s=1)
        assert result.status == "timeout"
        await still_works(pool, sid)
        # What the bomb forked is gone; only session processes (one per uid) remain.
        assert all(len(_uid_processes(BASE_UID + k)) <= 1 for k in range(8))

    with_pool(t, limits=Limits(processes=16), interrupt_grace_s=0.5)
    deadline = time.monotonic() + 5
    while any(_uid_processes(BASE_UID + k) for k in range(8)):  # nothing left once closed
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_many_concurrent_sessions():
    async def t(pool):
        sids = [await session(pool) for _ in range(16)]
        await asyncio.gather(*(pool.execute(s, f"v = {i}") for i, s in enumerate(sids)))
        results = await asyncio.gather(*(pool.execute(s, "v * 2") for s in sids))
        assert [r.output for r in results] == [f"{2 * i}\n" for i in range(16)]

    with_pool(t, max_sessions=16, prestart=4)
