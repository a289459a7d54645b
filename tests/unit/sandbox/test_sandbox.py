"""The sandbox with real execution: state, timeouts, truncation, and an adversarial suite in which
every attack is contained and followed by a normal cell that still works."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import mathforge
from mathforge.sandbox.isolation import Limits
from mathforge.sandbox.pool import SandboxPool
from mathforge.sandbox.uids import uid_processes

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(
    not ROOT, reason="namespaces and per-session uids need root (CI runs as root)"
)


def run(coro):
    return asyncio.run(coro)


async def session(pool: SandboxPool) -> str:
    return await pool.open_session()


def session_uid(pool: SandboxPool, sid: str) -> int:
    return next(int(item[4:]) for item in pool.isolation(sid) if item.startswith("uid:"))


def isolate_kw(isolate: bool | None) -> dict:
    return {} if isolate is None else {"isolate": isolate}


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
        # What the bomb forked is gone; only the session process runs as its uid.
        uids.append(session_uid(pool, sid))
        assert uid_processes(uids[0]) == [pool._sessions[sid].proc.pid]

    uids = []
    with_pool(t, limits=Limits(processes=16), interrupt_grace_s=0.5)
    deadline = time.monotonic() + 5
    while uid_processes(uids[0]):  # nothing left once closed
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_many_concurrent_sessions():
    async def t(pool):
        sids = [await session(pool) for _ in range(16)]
        await asyncio.gather(*(pool.execute(s, f"v = {i}") for i, s in enumerate(sids)))
        results = await asyncio.gather(*(pool.execute(s, "v * 2") for s in sids))
        assert [r.output for r in results] == [f"{2 * i}\n" for i in range(16)]

    with_pool(t, max_sessions=16, prestart=4)


# --- Forked children: a reply is only ever the reply to its own cell ---------------------------

FORK_FALLS_THROUGH = "import os\npid = os.fork()\nprint('pid', pid == 0)"
FORK_BOMB_UNCAUGHT = "import os\nwhile True:\n    os.fork()"  # every process dies of EAGAIN at the limit
# A setsid + double fork leaves a grandchild that outlives the cell; it tells the cell its pid.
DAEMON = """import os, time
r, w = os.pipe()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.write(w, str(os.getpid()).encode())
        time.sleep(60)
    os._exit(0)
os.wait()
print(int(os.read(r, 20)))"""
POOL_MAP = """import multiprocessing
def square(x):
    return x * x
multiprocessing.get_context('fork').Pool(2).map(square, range(8))"""


async def forty_cells_right(pool, sid) -> None:
    """Stateful cells, so a stray copy of the session answering a request shows too."""
    assert (await pool.execute(sid, "counter = 0")).status == "ok"
    for i in range(1, 41):
        result = await pool.execute(sid, "counter += 1\nprint(counter * 100)")
        assert (result.status, result.output, result.restarted) == ("ok", f"{i * 100}\n", False), (i, result)


def is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


ISOLATION_MODES = [
    pytest.param(None, marks=needs_root, id="isolated"),  # as root: namespaces and a per-session uid
    pytest.param(False, id="not-isolated"),  # what a non-root pool does: no uid, no namespaces
]


@pytest.mark.parametrize("isolate", ISOLATION_MODES)
def test_a_fork_that_falls_through_never_corrupts_later_replies(isolate):
    async def t(pool):
        sid = await session(pool)
        result = await pool.execute(sid, FORK_FALLS_THROUGH)
        assert result.status == "ok" and "pid False\n" in result.output
        await forty_cells_right(pool, sid)

    with_pool(t, **isolate_kw(isolate))


@pytest.mark.parametrize("isolate", ISOLATION_MODES)
def test_processes_that_outlive_their_cell_are_killed_and_reported(isolate):
    async def t(pool):
        sid = await session(pool)
        await pool.execute(sid, "kept = 'state'")
        result = await pool.execute(sid, DAEMON, timeout_s=5)
        assert result.status == "ok" and result.orphans_killed == 1 and not result.restarted
        assert is_gone(int(result.output))  # escaped its session and its parent, still killed
        assert (await pool.execute(sid, "kept")).output == "'state'\n"  # cleaned, not restarted
        quiet = await pool.execute(sid, "import subprocess\nsubprocess.run(['true']).returncode")
        assert (quiet.output, quiet.orphans_killed) == ("0\n", 0)
        await forty_cells_right(pool, sid)

    with_pool(t, **isolate_kw(isolate))


def test_a_line_on_the_control_channel_that_is_not_the_reply_is_discarded_and_reported():
    forge = (
        "import gc\nchannel = next(o for o in gc.get_objects() if type(o).__name__ == 'Channel')\n"
        'channel.replies.write(b\'{"id": 0, "status": "ok", "output": "forged", "output_bytes": 6}\\n\')\n'
        "print('real')"
    )

    async def t(pool):
        sid = await session(pool)
        result = await pool.execute(sid, forge)
        assert (result.status, result.output, result.restarted) == ("ok", "real\n", True)
        assert "1 stray lines on its control channel were discarded" in result.error
        await forty_cells_right(pool, sid)

    with_pool(t)


@needs_root  # without a uid of its own the process limit would count the test's processes too
def test_a_fork_bomb_that_hits_the_process_limit_never_corrupts_later_replies():
    async def t(pool):
        sid = await session(pool)
        can_fork = "import os\npid = os.fork()\nif pid == 0:\n    os._exit(0)\nos.waitpid(pid, 0)[0] == pid"
        assert (await pool.execute(sid, can_fork)).output == "True\n"  # the bomb really forks
        result = await pool.execute(sid, FORK_BOMB_UNCAUGHT, timeout_s=5)
        assert result.status in {"error", "timeout"}
        await forty_cells_right(pool, sid)
        assert uid_processes(session_uid(pool, sid)) == [pool._sessions[sid].proc.pid]

    with_pool(t, limits=Limits(processes=16), interrupt_grace_s=2)


@pytest.mark.parametrize("isolate", ISOLATION_MODES)
def test_multiprocessing_pool_map_in_a_cell_works(isolate):
    async def t(pool):
        sid = await session(pool)
        result = await pool.execute(sid, POOL_MAP, timeout_s=20)
        assert (result.status, result.output) == ("ok", "[0, 1, 4, 9, 16, 25, 36, 49]\n"), result
        await forty_cells_right(pool, sid)

    with_pool(t, **isolate_kw(isolate))


# --- Two pools on one host: session uids are leased host-wide ------------------------------------

# A pool in another process (another generate_solutions job): one session holding state, a cell
# run for each line on stdin, its result printed as JSON.
POOL_HOLDER = """
import asyncio, json, sys
from mathforge.sandbox.pool import SandboxPool

async def main():
    async with SandboxPool(**json.loads(sys.argv[1])) as pool:
        sid = await pool.open_session()
        await pool.execute(sid, "x = 41")
        print(json.dumps(pool.isolation(sid)), flush=True)
        for code in iter(sys.stdin.readline, ""):
            print(json.dumps((await pool.execute(sid, code.strip())).to_dict()), flush=True)

asyncio.run(main())
"""


def start_pool_holder(**pool_kw) -> tuple[subprocess.Popen, list[str]]:
    holder = subprocess.Popen(
        [sys.executable, "-c", POOL_HOLDER, json.dumps({"max_sessions": 2, "prestart": 1, **pool_kw})],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(mathforge.__file__).parents[1])},
    )  # fmt: skip
    line = holder.stdout.readline()
    assert line, "the pool holder did not start"
    return holder, json.loads(line)


@needs_root
def test_two_pools_in_two_processes_never_kill_each_others_sessions():
    holder, holder_isolation = start_pool_holder()
    try:

        async def t(pool):
            for _ in range(3):  # open, use and close sessions here while the other pool's lives on
                sid = await session(pool)
                assert f"uid:{session_uid(pool, sid)}" not in holder_isolation
                await still_works(pool, sid)
                await pool.close_session(sid)

        with_pool(t, max_sessions=2)
        holder.stdin.write("x + 1\n")
        holder.stdin.flush()
        result = json.loads(holder.stdout.readline())
        assert (result["status"], result["output"], result["restarted"]) == ("ok", "42\n", False)
        holder.stdin.close()  # the holder closes its pool and releases its uids
        assert holder.wait(30) == 0
    finally:
        holder.kill()
        holder.wait()


@needs_root
def test_a_killed_pools_uids_are_reusable_and_an_exhausted_range_is_a_clear_error(tmp_path):
    leases = {"uid_base": 64100, "uid_count": 2, "lease_dir": str(tmp_path / "leases")}
    holder, _ = start_pool_holder(**leases)  # takes both uids of the range
    try:
        with pytest.raises(RuntimeError, match=r"64100-64101.*2 of 2 .*uid_count"):
            with_pool(session, max_sessions=1, **leases)
    finally:
        holder.kill()  # SIGKILL: no chance to release anything
        holder.wait()

    async def t(pool):
        sids = [await session(pool) for _ in range(2)]
        assert sorted(session_uid(pool, s) for s in sids) == [64100, 64101]
        for sid in sids:
            await still_works(pool, sid)

    with_pool(t, max_sessions=2, **leases)
    assert not uid_processes(64100) and not uid_processes(64101)
