"""The zygote: a pre-initialised interpreter that forks one fresh process per sandbox session.

Started once per pool as `python -u -m mathforge.sandbox.zygote --socket FD`. It imports what a
session needs (the session runtime, libc, the stdlib modules cells use most) and then only waits
on its socket for requests from the pool, so a session costs a fork instead of a new interpreter
(~50 ms of CPU). It never runs model-written code: a request carries the session's two control
pipes (SCM_RIGHTS), its uid and workdir; the zygote forks, and the child — alone — makes itself a
session exactly as `python -m mathforge.sandbox.session` does (new process group and session, the
pipes as fds 0/1, every other descriptor closed, then `session.run`: subreaper, namespaces, uid,
rlimits, scrubbed environment, fresh `__main__`). Each session therefore starts from the same
untouched image, and nothing one solution does can reach the next. The parent hands the pool a
pidfd of the child and keeps it unreaped until the pool says the session is gone ("end"), so its
pid (and process group) cannot be reused while the pool may still signal it; at "end" it also
kills whatever the session's uid still runs, with one kill(-1) as that uid.
As root with isolation, the zygote mounts the Python installation read-only once
(`prepare_python`) in a mount namespace of its own that sessions inherit, and keeps one network
namespace per session uid (no interface up) that the child enters, instead of each session
creating one (~0.5 ms of its CPU, and as much again for a kernel worker to tear it down).

The limits and output cap of every session of its pool come once, on its command line.
Messages (SOCK_SEQPACKET, JSON): {"op": "spawn", "id", "session": {"uid", "workdir"}} +
[requests_r, replies_w] fds -> {"id", "pid"} + [pidfd];
{"op": "end", "id", "pid", "uid"} -> {"id", "ended", "killed"};  EOF (the pool is gone) -> exit.
"""

from __future__ import annotations

import argparse
import array
import contextlib
import ctypes
import gc
import importlib
import json
import os
import random
import signal
import socket
import sys
import threading
import traceback

from mathforge.sandbox import session
from mathforge.sandbox.isolation import (
    Limits,
    enter_network_namespace,
    load_libc,
    new_network_namespace,
    prepare_python_mount,
)

# What cells import most, loaded once here so `import math` in a cell costs nothing. Only modules
# that start no threads and keep no descriptors open: a fork copies them as they are.
PRELOAD = (
    "ast", "collections", "decimal", "fractions", "functools", "itertools", "math", "random",
    "statistics", "subprocess", "traceback",
)  # fmt: skip
PR_SET_DUMPABLE = 4
PYTHON_MOUNT = "/tmp/.mathforge-python"
MAX_FDS = 4
# Messages are parsed with the JSON scanner itself and replies formatted with %: json.loads and
# json.dumps run Python code and a regex around it. Whatever the zygote touches after a fork is
# copied once more while that session lives; this halves what it touches per session.
PARSE = json.JSONDecoder().raw_decode  # (the pool sends compact JSON: nothing before or after it)
_netns: dict[int, int] = {}  # uid -> descriptor of its sessions' network namespace
_libc_fork = ctypes.PyDLL(load_libc()._name, use_errno=True).fork  # PyDLL: called with the GIL held
# Modules that register at-fork hooks, and so must be handled by `_fork` when preloaded.
AT_FORK_HOOKS = ("random", "threading")


def preload(modules: tuple[str, ...]) -> None:
    for name in modules:
        importlib.import_module(name)
    load_libc()  # cached: the lookup runs `ldconfig`, once here instead of in every session


def _set_dumpable(on: bool) -> None:
    """Off in the zygote: a session running as the same uid (no root) cannot ptrace it or read its
    memory, so it cannot change what later sessions are forked from."""
    load_libc().prctl(PR_SET_DUMPABLE, int(on), 0, 0, 0)


def _network_namespace(uid: int | None) -> int | None:
    """The network namespace of `uid`'s sessions (made at its first session, kept by the zygote):
    entering one costs a setns instead of building and tearing down a namespace per session.
    Sessions that run at the same time have different uids, hence different namespaces, as
    before; the next session of a uid starts after everything its last one ran was killed (`_end`),
    and what a process holds in a network namespace (sockets, abstract socket names) ends with it.
    None: no namespaces (no isolation), or none could be made (the session tries and reports)."""
    if uid is None:
        return None
    if uid not in _netns:
        try:
            _netns[uid] = new_network_namespace()
        except OSError as exc:
            print(f"sandbox zygote: no network namespace for uid {uid} ({exc})", file=sys.stderr)
            return None
    return _netns[uid]


def _become_session(
    sock: socket.socket, fds: list[int], spec: dict, netns: int | None, settings: tuple[Limits, int]
) -> None:
    """In the forked child: never returns. `settings`: the pool's limits and output cap."""
    code = 1
    try:
        os.setsid()
        if spec["uid"] is None:  # dumpable as a fresh interpreter is (a drop to a uid clears it)
            _set_dumpable(True)
        if netns is not None:
            enter_network_namespace(netns)
        os.dup2(fds[0], 0)
        os.dup2(fds[1], 1)
        os.close(sock.detach())  # the zygote's socket: no session can ever talk to the zygote
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # the zygote's namespace descriptors too
        sys.argv = [session.__file__]
        code = session.run(spec["uid"], spec["workdir"], *settings, netns is not None)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


def _receive(sock: socket.socket) -> tuple[dict | None, list[int]]:
    fds = array.array("i")
    msg, ancdata, _flags, _addr = sock.recvmsg(1 << 16, socket.CMSG_SPACE(MAX_FDS * fds.itemsize))
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
    return (PARSE(msg.decode())[0] if msg else None), list(fds)


def _fork() -> int:
    """fork(2) without `os.fork`'s work in the child, ~50 copy-on-write faults per session: it
    re-creates the locks other threads may have held (the zygote never starts a thread, `main`
    checks) and runs the at-fork hooks modules registered, which among the zygote's imports are
    threading's (bookkeeping of those other threads) and random's (a new seed), called here.
    `test_zygote` fails if a preloaded module registers another."""
    pid = _libc_fork()
    if pid < 0:
        raise OSError(ctypes.get_errno(), "fork failed")
    if pid == 0:
        random.seed()  # as a new interpreter: no two sessions draw the same numbers
    return pid


def _spawn(sock: socket.socket, request: dict, fds: list[int], settings: tuple[Limits, int]) -> None:
    netns = _network_namespace(request["session"]["uid"])
    pid = _fork()
    if pid == 0:
        _become_session(sock, fds, request["session"], netns, settings)
    pidfd = os.pidfd_open(pid)
    try:
        reply = b'{"id": %d, "pid": %d}' % (request["id"], pid)
        sock.sendmsg([reply], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", (pidfd,)))])
    finally:
        os.close(pidfd)


def _kill_uid_at_once(uid: int) -> bool:
    """SIGKILL every process `uid` runs, with one kill(-1) sent as that uid: atomic, so even a fork
    bomb cannot outrun it (a process forking when it lands is killed with its child), and no
    scan of /proc. The zygote keeps root as its saved uid and takes it back at once."""
    os.setresuid(uid, uid, 0)
    try:
        os.kill(-1, signal.SIGKILL)  # every process with this uid, not the sender
        return True
    except ProcessLookupError:  # none was left
        return False
    finally:
        os.setresuid(0, 0, 0)


def _end(request: dict) -> bytes:
    """A session has ended (the pool waited for it): kill what its uid still runs, then reap it,
    so neither its pid nor its uid can be reused while anything of it runs."""
    killed = _kill_uid_at_once(request["uid"]) if request["uid"] is not None else False
    with contextlib.suppress(ChildProcessError):  # forked by a zygote before this one
        os.waitpid(request["pid"], os.WNOHANG)
    return b'{"id": %d, "ended": true, "killed": %s}' % (request["id"], b"true" if killed else b"false")


def serve(sock: socket.socket, settings: tuple[Limits, int]) -> None:
    sock.send(json.dumps({"ready": os.getpid()}).encode())
    while True:
        request, fds = _receive(sock)
        try:
            if request is None:  # the pool is gone
                return
            if request["op"] == "spawn":
                gc.freeze()  # what the zygote allocated since: a collection in a session copies no page of it
                _spawn(sock, request, fds, settings)
            elif request["op"] == "end":
                sock.send(_end(request))
        finally:
            for fd in fds:
                os.close(fd)


def prepare_python(isolate: bool) -> None:
    """As root, for isolated sessions: the Python installation mounted read-only once, here, and
    imported from there, so a session only moves that mount into its own /tmp. If the mount
    namespace cannot be made, sessions try (and report) their own as before."""
    if not isolate:
        return
    try:
        mapping = prepare_python_mount(session.python_roots(), PYTHON_MOUNT)
    except OSError as exc:
        print(
            f"sandbox zygote: no shared read-only Python mount ({exc}); sessions mount their own",
            file=sys.stderr,
        )
        return
    session.remap_python(mapping)
    session.PYTHON_MOUNT = PYTHON_MOUNT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--socket", type=int, required=True, help="fd of the pool's SOCK_SEQPACKET socket")
    parser.add_argument("--isolate", action="store_true", help="sessions get namespaces and uids (root)")
    parser.add_argument("--limits", default="{}", help="every session's limits (JSON of `Limits`)")
    parser.add_argument("--max-output", type=int, default=1000, help="bytes of a cell's output replied")
    args = parser.parse_args(argv)
    settings = (Limits(**json.loads(args.limits)), args.max_output)  # built once, not per session
    sock = socket.socket(fileno=args.socket)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # only the pool ends the zygote (EOF, SIGKILL)
    prepare_python(args.isolate)
    preload(PRELOAD)
    if args.isolate:  # a fork then carries what `session._confine` would set
        session.scrub_environment(session.ISOLATED_WORKDIR)
    _set_dumpable(False)
    if threading.active_count() != 1:  # `_fork` copies no lock a thread could hold
        raise RuntimeError("the sandbox zygote must have no thread but its main one")
    gc.freeze()
    serve(sock, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
