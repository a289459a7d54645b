"""Sessions forked from the pool's zygote: each one fresh, whatever the one before it did; a zygote
that dies is replaced (logged, counted) without touching live sessions; a session's uid is left
with nothing running once it is closed."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_sandbox import ISOLATION_MODES, isolate_kw, needs_root, session_uid, still_works

from mathforge.sandbox import zygote
from mathforge.sandbox.pool import SandboxPool
from mathforge.sandbox.uids import uid_processes

WORKFLOW = str(Path(zygote.__file__).resolve().parents[2])

# Everything a solution could leave behind in its process or its directory.
LITTER = """import os, sys, types, json, random
leaked_global = 'from the first session'
sys.modules['leaked_module'] = types.ModuleType('leaked_module')
json.leaked_attribute = 1  # a module the zygote preloads
os.environ['LEAKED_ENV'] = '1'
open('leaked_file.txt', 'w').write('x')
sys.path.append('/leaked/path')
random.random()"""

CHECK = """import os, sys, json, random
[name for name, present in [
    ('global', 'leaked_global' in globals()),
    ('sys.modules', 'leaked_module' in sys.modules),
    ('module attribute', hasattr(json, 'leaked_attribute')),
    ('env', 'LEAKED_ENV' in os.environ),
    ('file in cwd', os.path.exists('leaked_file.txt')),
    ('sys.path', '/leaked/path' in sys.path),
] if present]"""


def run_pool(test, **kw):
    async def go():
        async with SandboxPool(**kw) as pool:
            return await test(pool)

    return asyncio.run(go())


@pytest.mark.parametrize("isolate", ISOLATION_MODES)
def test_nothing_one_session_does_is_seen_by_the_next(isolate):
    async def t(pool):
        first = await pool.open_session()
        assert (await pool.execute(first, LITTER)).status == "ok"
        assert (await pool.execute(first, CHECK)).output != "[]\n"  # the check sees litter where it is
        draw = (await pool.execute(first, "random.random()")).output
        await pool.close_session(first)
        second = await pool.open_session()  # one slot: the next process of the same slot (and uid)
        assert (await pool.execute(second, CHECK)).output == "[]\n"
        # A fork copies the zygote's random state; each session is reseeded, as a new interpreter is.
        assert (await pool.execute(second, "import random\nrandom.random()")).output != draw

    run_pool(t, max_sessions=1, prestart=1, **isolate_kw(isolate))


def test_concurrent_sessions_draw_different_random_numbers():
    async def t(pool):
        sids = [await pool.open_session() for _ in range(4)]
        draws = await asyncio.gather(
            *(pool.execute(s, "import random\nrandom.getrandbits(64)") for s in sids)
        )
        assert len({d.output for d in draws}) == 4

    run_pool(t, max_sessions=4, prestart=4)


# Which modules register at-fork hooks once the zygote has imported what it preloads.
RECORD_AT_FORK_HOOKS = """import os, sys
registered = set()
register = os.register_at_fork
def record(**hooks):
    registered.add(sys._getframe(1).f_globals['__name__'])
    register(**hooks)
os.register_at_fork = record
from mathforge.sandbox import zygote
zygote.preload(zygote.PRELOAD)
print(' '.join(sorted(registered)))"""


def test_every_at_fork_hook_of_the_zygotes_modules_is_handled_by_its_fork():
    """The zygote forks without `os.fork`'s hooks and calls the ones its modules need itself: a
    module added to what it preloads that registers another must be handled there too."""
    out = subprocess.run([sys.executable, "-c", RECORD_AT_FORK_HOOKS], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": WORKFLOW}).stdout  # fmt: skip
    assert "random" in out.split() and set(out.split()) <= set(zygote.AT_FORK_HOOKS), out


@pytest.mark.parametrize("isolate", ISOLATION_MODES)
def test_a_sessions_environment_is_only_what_it_needs(isolate):
    """Isolated sessions inherit the environment their zygote scrubbed once; the others scrub
    their own. Either way nothing the zygote was started with (PYTHONPATH, LD_BIND_NOW) is left."""
    code = """import os, subprocess
env = subprocess.run(['env'], capture_output=True, text=True).stdout.split()
(sorted(os.environ), os.environ['HOME'] == os.environ['TMPDIR'] == os.getcwd(), len(env))"""

    async def t(pool):
        result = await pool.execute(await pool.open_session(), code)
        assert result.output == "(['HOME', 'LANG', 'PATH', 'TMPDIR'], True, 4)\n", result

    run_pool(t, max_sessions=1, prestart=0, **isolate_kw(isolate))


def test_threads_work_in_a_forked_session():
    code = """import threading
ran = []
worker = threading.Thread(target=lambda: ran.append(threading.get_ident() != threading.main_thread().ident))
worker.start()
worker.join()
(threading.current_thread() is threading.main_thread(), ran, threading.active_count())"""

    async def t(pool):
        result = await pool.execute(await pool.open_session(), code)
        assert result.output == "(True, [True], 1)\n", result

    run_pool(t, max_sessions=1, prestart=0)


def test_a_session_holds_no_descriptor_but_its_own():
    """No socket (the zygote's, the pool's): a cell cannot talk to what forks the sessions."""
    code = """import os
links = []
for fd in os.listdir('/proc/self/fd'):
    try:
        links.append(os.readlink(f'/proc/self/fd/{fd}'))
    except OSError:  # the directory listing's own descriptor, closed by now
        pass
sorted(links)"""

    async def t(pool):
        sid = await pool.open_session()
        result = await pool.execute(sid, code)
        links = result.output
        assert result.status == "ok", result
        assert "socket:" not in links and links.count("pipe:") == 2, links  # requests and replies

    run_pool(t, max_sessions=1, prestart=1)


def zygote_is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (ProcessLookupError, FileNotFoundError):  # reaped since the kill(0) above
        return True


@pytest.mark.parametrize("isolate", ISOLATION_MODES)
def test_a_killed_zygote_is_replaced_logged_and_counted(isolate, caplog):
    caplog.set_level(logging.WARNING, logger="mathforge.sandbox.spawner")

    async def t(pool):
        live = await pool.open_session()
        await pool.execute(live, "kept = 'state'")
        zygote = pool._spawner.zygote_pid
        os.kill(zygote, signal.SIGKILL)
        while not zygote_is_gone(zygote):
            await asyncio.sleep(0.01)
        fresh = await pool.open_session()  # forked by a new zygote
        await still_works(pool, fresh)
        assert pool.zygote_restarts == 1 and pool._spawner.zygote_pid != zygote
        assert (await pool.execute(live, "kept")).output == "'state'\n"  # untouched by the restart
        uid = session_uid(pool, live) if isolate is None else None
        await pool.close_session(live)  # its zygote is gone: closed through the /proc sweep
        if uid is not None:
            assert not uid_processes(uid)
        again = await pool.open_session()
        await still_works(pool, again)
        assert pool.zygote_restarts == 1

    run_pool(t, max_sessions=3, prestart=0, **isolate_kw(isolate))
    assert any("zygote" in r.message and "restart 1" in r.message for r in caplog.records)


# A thread that keeps starting daemons (setsid, so outside the session's process group) after its
# cell has returned: closing the session must still leave nothing running as its uid.
DAEMON_SPAWNER = """import os, threading, time
def spawn_forever():
    while True:
        if os.fork() == 0:
            os.setsid()
            time.sleep(60)
            os._exit(0)
        time.sleep(0.005)
threading.Thread(target=spawn_forever, daemon=True).start()
time.sleep(0.05)"""


@needs_root
def test_closing_a_session_kills_everything_its_uid_runs():
    async def t(pool):
        sid = await pool.open_session()
        await pool.execute(sid, DAEMON_SPAWNER)
        await asyncio.sleep(0.1)  # daemons started between cells
        uid = session_uid(pool, sid)
        assert len(uid_processes(uid)) > 1
        await pool.close_session(sid)
        deadline = time.monotonic() + 2  # SIGKILLed at close; the kernel takes a moment to end them
        while uid_processes(uid):
            assert time.monotonic() < deadline, uid_processes(uid)
            await asyncio.sleep(0.01)

    run_pool(t, max_sessions=1, prestart=0)


@needs_root
def test_a_zygote_that_stops_answering_is_replaced_and_the_uid_still_cleaned(monkeypatch):
    """A session uid may SIGSTOP the zygote in the instant it kills as that uid: the pool does not
    hang on it, kills it, sweeps the uid itself, and the next session comes from a new zygote."""
    monkeypatch.setattr("mathforge.sandbox.spawner.ZYGOTE_REPLY_TIMEOUT_S", 0.5)

    async def t(pool):
        sid = await pool.open_session()
        await pool.execute(sid, DAEMON_SPAWNER)
        uid = session_uid(pool, sid)
        os.kill(pool._spawner.zygote_pid, signal.SIGSTOP)
        await pool.close_session(sid)
        deadline = time.monotonic() + 2
        while uid_processes(uid):
            assert time.monotonic() < deadline, uid_processes(uid)
            await asyncio.sleep(0.01)
        await still_works(pool, await pool.open_session())
        assert pool.zygote_restarts == 1

    run_pool(t, max_sessions=1, prestart=0)


# An abstract unix socket lives in a network namespace, not in the filesystem: the only way two
# sessions could reach each other if they shared one.
LISTEN_ABSTRACT = """import socket
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind('\\0{name}')
listener.listen()"""
REACHES_ABSTRACT = """import socket
probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    probe.connect('\\0{name}')
    reached = True
except OSError:
    reached = False
finally:
    probe.close()
reached"""


@needs_root
def test_a_session_cannot_reach_another_sessions_abstract_socket():
    name = f"mathforge-test-{os.getpid()}-concurrent"

    async def t(pool):
        first, second = await pool.open_session(), await pool.open_session()
        assert (await pool.execute(first, LISTEN_ABSTRACT.format(name=name))).status == "ok"
        assert (await pool.execute(first, REACHES_ABSTRACT.format(name=name))).output == "True\n"
        assert (await pool.execute(second, REACHES_ABSTRACT.format(name=name))).output == "False\n"

    run_pool(t, max_sessions=2, prestart=0)


@needs_root
def test_the_next_session_of_a_uid_cannot_reach_a_socket_its_last_session_left():
    """Sessions of one uid share its network namespace, one after the other: what the last one
    bound ended with its processes."""
    name = f"mathforge-test-{os.getpid()}-sequential"

    async def t(pool):
        first = await pool.open_session()
        uid = session_uid(pool, first)
        assert (await pool.execute(first, LISTEN_ABSTRACT.format(name=name))).status == "ok"
        assert (await pool.execute(first, REACHES_ABSTRACT.format(name=name))).output == "True\n"
        await pool.close_session(first)
        second = await pool.open_session()  # one slot: the same uid, so the same namespace
        assert session_uid(pool, second) == uid
        assert (await pool.execute(second, REACHES_ABSTRACT.format(name=name))).output == "False\n"

    run_pool(t, max_sessions=1, prestart=0)


# Netlink's user-socket family lets two unprivileged processes of one network namespace exchange
# messages by port id, a channel no abstract-socket scoping (Landlock) closes: each uid's sessions
# have a namespace of their own instead.
NETLINK_LISTEN = """import socket
listener = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 2)  # NETLINK_USERSOCK
listener.bind((0, 0))
listener.setblocking(False)
listener.getsockname()[0]"""
NETLINK_SEND = """import socket, struct
sender = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 2)
try:
    sender.sendto(struct.pack('=LHHLL', 21, 0, 0, 0, 0) + b'hello', ({port}, 0))
    outcome = 'sent'
except OSError as exc:
    outcome = type(exc).__name__
outcome"""
NETLINK_RECEIVED = """try:
    received = listener.recv(100)[16:]
except BlockingIOError:
    received = b''
received"""


@needs_root
def test_a_session_cannot_send_a_netlink_message_to_another():
    async def t(pool):
        first, second = await pool.open_session(), await pool.open_session()
        port = int((await pool.execute(first, NETLINK_LISTEN)).output)
        own = (await pool.execute(first, NETLINK_SEND.format(port=port))).output
        assert (own, (await pool.execute(first, NETLINK_RECEIVED)).output) == ("'sent'\n", "b'hello'\n")
        other = (await pool.execute(second, NETLINK_SEND.format(port=port))).output
        assert other != "'sent'\n" and (await pool.execute(first, NETLINK_RECEIVED)).output == "b''\n"

    run_pool(t, max_sessions=2, prestart=0)
