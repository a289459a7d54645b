"""The session process: confines itself, then runs cells in one persistent namespace.

Forked by the pool's zygote (`zygote`), which calls `run`; `python -m mathforge.sandbox.session
[--uid U] ...` starts one in a new interpreter (the same code, for use and tests by hand). Protocol: one
JSON object per line on the original stdin/stdout, which are moved to private descriptors that
only this process uses (`Channel`); each reply echoes its request's id (a nonce the pool checks);
fd 0 becomes /dev/null and fds 1/2 a capture file, so prints and subprocess output alike are
captured (bounded by RLIMIT_FSIZE and read back up to max_output bytes).
A cell's last expression is echoed like a notebook. SIGINT interrupts a running cell
(KeyboardInterrupt) and leaves the namespace intact; between cells it is ignored. After each
cell, processes it left running are killed before its reply is sent (`reaper`) and counted in
the reply (`orphans_killed`; `orphans_left` if some could not be, and the pool restarts the session).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import os
import signal
import sys
import time
import traceback
import types

from mathforge.sandbox.isolation import (
    Limits,
    apply_limits,
    block_sockets,
    drop_privileges,
    expose_read_only,
    isolate_namespaces,
    remap_path,
)
from mathforge.sandbox.reaper import become_subreaper, end_cell_processes

_executing = False


def _on_sigint(_signum, _frame):
    if _executing:
        raise KeyboardInterrupt


def _run_cell(code: str, namespace: dict) -> tuple[str, str | None]:
    """(status, error text); output goes to fds 1/2."""
    global _executing
    try:
        tree = ast.parse(code, mode="exec")
    except SyntaxError:
        return "error", traceback.format_exc(limit=0)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    _executing = True
    try:
        exec(compile(tree, "<cell>", "exec"), namespace)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)
            if value is not None:
                print(repr(value))
        return "ok", None
    except KeyboardInterrupt:
        return "interrupted", "KeyboardInterrupt: the cell was interrupted (time limit)"
    except SystemExit as exc:
        return "error", f"SystemExit: {exc.code}"
    except BaseException as exc:
        tb = exc.__traceback__.tb_next if exc.__traceback__ else None
        return "error", "".join(traceback.format_exception(type(exc), exc, tb))
    finally:
        _executing = False


class Channel:
    """The control pipes (requests in, replies out), usable only by the session's main process.

    They are moved off fds 0/1 and, in every child forked from Python (`os.fork`, multiprocessing),
    pointed at /dev/null before the child runs a line; a reply is written only by the process that
    made the channel. A child that falls through its cell therefore can neither take the next
    request nor answer one, and it ends where its copy of the cell ends (`exit_if_child`).
    """

    def __init__(self) -> None:
        self.owner = os.getpid()
        self.requests = os.fdopen(os.dup(0), "rb")  # buffered: a line in one read, not a read per byte
        self.replies = os.fdopen(os.dup(1), "wb", buffering=0)
        for stream in (self.requests, self.replies):
            os.set_inheritable(stream.fileno(), False)
        os.register_at_fork(after_in_child=self._detach)

    def _detach(self) -> None:
        fds = [stream.fileno() for stream in (self.requests, self.replies)]
        try:
            null = os.open(os.devnull, os.O_RDWR)
        except OSError:  # out of descriptors (a fork bomb at its limits): close them instead
            for fd in fds:
                os.close(fd)
            return
        for fd in fds:
            os.dup2(null, fd, inheritable=False)
        os.close(null)

    def exit_if_child(self) -> None:
        if os.getpid() != self.owner:
            _flush_std_streams()
            os._exit(0)

    def send(self, message: dict) -> None:
        self.exit_if_child()
        self.replies.write(json.dumps(message).encode() + b"\n")


def _flush_std_streams() -> None:
    for stream in (sys.stdout, sys.stderr):  # (no contextlib.suppress: fewer pages touched per session)
        try:
            stream.flush()
        except (OSError, ValueError):  # e.g. a write over the file size limit
            continue


ISOLATED_WORKDIR = "/tmp/session"  # in the session's private /tmp
_environment_of: str | None = None  # the workdir the environment was scrubbed for, if it was

# Set by the zygote when it has mounted the Python installation read-only once for all sessions
# (`zygote.prepare_python`): the mount a session carries into its own /tmp.
PYTHON_MOUNT: str | None = None


def python_roots() -> list[str]:
    """The directories the interpreter imports from: its installation and sys.path beyond it."""
    prefixes = (sys.prefix, sys.base_prefix)
    roots = [*prefixes, *(p for p in sys.path if p and not p.startswith(prefixes))]
    return [r for r in roots if os.path.isdir(r)]


def remap_python(mapping: dict[str, str]) -> None:
    """Import from the read-only mounts from now on: sys.path, and loaded packages' __path__."""
    sys.path[:] = [remap_path(p, mapping) for p in sys.path]
    for module in list(sys.modules.values()):  # submodules of loaded packages load via __path__
        path = getattr(module, "__path__", None)
        if isinstance(path, list):
            path[:] = [remap_path(p, mapping) for p in path]
    sys.path_importer_cache.clear()
    importlib.invalidate_caches()


def _expose_python() -> None:
    """Keep the interpreter's own files importable after dropping root (lazy imports of numpy,
    sympy, codecs...): the installation is reached through read-only bind mounts."""
    remap_python(expose_read_only(python_roots()))


def scrub_environment(workdir: str) -> None:
    """Nothing of the pipeline's environment (keys, tokens) reaches a cell: only what it needs.
    The zygote scrubs its own once for the workdir of isolated sessions, which then skip it."""
    global _environment_of
    if _environment_of == workdir:
        return
    os.environ.clear()
    os.environ.update(
        {"HOME": workdir, "TMPDIR": workdir, "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
    )
    _environment_of = workdir


def _confine(uid: int | None, workdir: str, limits: Limits, in_netns: bool = False) -> list[str]:
    """Namespaces and `uid` (root only; None = neither), limits, and fds 0/1/2 -> /dev/null and
    the capture file. Returns what was done; the session runs in `workdir` afterwards.
    `in_netns`: already in a network namespace of its own uid (forked by the zygote)."""
    isolation = []
    namespaces = False
    if uid is not None:
        try:
            isolation = isolate_namespaces(
                max(64, limits.file_size_mb * 4), carry=PYTHON_MOUNT, network=not in_netns
            )
            namespaces = True
        except OSError as exc:  # e.g. a container that forbids unshare: say so, keep the rest
            isolation = [f"namespaces-unavailable:{exc.strerror}"]
    if namespaces:
        if PYTHON_MOUNT is None:
            _expose_python()
        isolation.append("python:read-only")
        workdir = ISOLATED_WORKDIR
    os.makedirs(workdir, exist_ok=True)
    if uid is not None:
        os.chown(workdir, uid, uid)
    os.chdir(workdir)
    capture = os.open(os.path.join(workdir, ".cell-output"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(capture, 1)
    os.dup2(capture, 2)
    if uid is not None:
        os.chown(os.path.join(workdir, ".cell-output"), uid, uid)
        drop_privileges(uid)
        isolation.append(f"uid:{uid}")
    scrub_environment(workdir)
    apply_limits(limits)
    isolation.append("rlimits")
    if "netns" not in isolation:
        block_sockets()
        isolation.append("socket-block")
    return isolation


def _main_module() -> dict:
    """The cells' namespace: a fresh `__main__` module, so functions and classes a cell defines
    pickle by reference (multiprocessing with the fork start method, like a notebook)."""
    module = types.ModuleType("__main__")
    sys.modules["__main__"] = module
    return module.__dict__


def serve(channel: Channel, namespace: dict, max_output: int, own_uid: bool) -> None:
    for line in channel.requests:
        request = json.loads(line)
        os.ftruncate(1, 0)
        os.lseek(1, 0, os.SEEK_SET)
        started = time.perf_counter()
        status, error = _run_cell(request["code"], namespace)
        elapsed = time.perf_counter() - started
        channel.exit_if_child()  # a forked child that fell through the cell ends with it
        killed, left = end_cell_processes(own_uid)  # before the output is read: none can add to it
        _flush_std_streams()
        size = os.fstat(1).st_size
        output = os.pread(1, min(size, max_output), 0).decode("utf-8", "replace")
        channel.send({"id": request["id"], "status": status, "output": output, "output_bytes": size,
                      "error": error, "seconds": round(elapsed, 6), "orphans_killed": killed,
                      "orphans_left": left})  # fmt: skip


def run(uid: int | None, workdir: str, limits: Limits, max_output: int, in_netns: bool = False) -> int:
    """Become a session (see the module doc) and serve cells until the pool closes the channel.
    `in_netns`: the process has entered its uid's own network namespace (see `zygote`)."""
    become_subreaper()
    channel = Channel()
    isolation = _confine(uid, workdir, limits, in_netns)
    signal.signal(signal.SIGINT, _on_sigint)
    namespace = _main_module()
    channel.send({"ready": True, "pid": os.getpid(), "isolation": isolation})
    serve(channel, namespace, max_output, own_uid=uid is not None)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uid", type=int, help="run as this uid in private namespaces (needs root)")
    parser.add_argument("--workdir", required=True, help="used without --uid (with it: a private tmpfs)")
    parser.add_argument("--limits", default="{}")
    parser.add_argument("--max-output", type=int, default=1000)
    args = parser.parse_args(argv)
    if args.uid is not None and os.geteuid() != 0:
        parser.error("--uid needs root")
    return run(args.uid, args.workdir, Limits(**json.loads(args.limits)), args.max_output)


if __name__ == "__main__":
    sys.exit(main())
