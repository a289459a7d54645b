"""The session process: confines itself, then runs cells in one persistent namespace.

Started by `SandboxPool` as `python -m mathforge.sandbox.session --slot K ...`. Protocol: one
JSON object per line on the original stdin/stdout, which are moved to private descriptors;
fd 0 becomes /dev/null and fds 1/2 a capture file, so prints and subprocess output alike are
captured (bounded by RLIMIT_FSIZE and read back up to max_output bytes).
A cell's last expression is echoed like a notebook. SIGINT interrupts a running cell
(KeyboardInterrupt) and leaves the namespace intact; between cells it is ignored.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import json
import os
import signal
import sys
import time
import traceback

from mathforge.sandbox.isolation import (
    BASE_UID,
    Limits,
    apply_limits,
    block_sockets,
    drop_privileges,
    expose_read_only,
    isolate_namespaces,
    remap_path,
)

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slot", type=int, required=True)
    parser.add_argument("--workdir", required=True, help="used when not root (as root: a private tmpfs)")
    parser.add_argument("--limits", default="{}")
    parser.add_argument("--max-output", type=int, default=1000)
    args = parser.parse_args(argv)
    limits = Limits(**json.loads(args.limits))

    proto_in = os.fdopen(os.dup(0), "rb", buffering=0)
    proto_out = os.fdopen(os.dup(1), "wb", buffering=0)
    for fd in (proto_in.fileno(), proto_out.fileno()):
        os.set_inheritable(fd, False)
    isolation = []
    workdir = args.workdir
    namespaces = False
    if os.geteuid() == 0:
        try:
            isolation = isolate_namespaces(tmp_size_mb=max(64, limits.file_size_mb * 4))
            namespaces = True
        except OSError as exc:  # e.g. a container that forbids unshare: say so, keep the rest
            isolation = [f"namespaces-unavailable:{exc.strerror}"]
    if namespaces:
        # Keep the interpreter's own files importable after dropping root (lazy imports of numpy,
        # sympy, codecs...): the installation is reached through read-only bind mounts.
        prefixes = (sys.prefix, sys.base_prefix)
        roots = [*prefixes, *(p for p in sys.path if p and not p.startswith(prefixes))]
        mapping = expose_read_only([r for r in roots if os.path.isdir(r)])
        sys.path[:] = [remap_path(p, mapping) for p in sys.path]
        for module in list(sys.modules.values()):  # submodules of loaded packages load via __path__
            path = getattr(module, "__path__", None)
            if isinstance(path, list):
                path[:] = [remap_path(p, mapping) for p in path]
        sys.path_importer_cache.clear()
        importlib.invalidate_caches()
        isolation.append("python:read-only")
        workdir = "/tmp/session"
    uid = BASE_UID + args.slot
    if os.geteuid() == 0:
        os.makedirs(workdir, exist_ok=True)
        os.chown(workdir, uid, uid)
    os.makedirs(workdir, exist_ok=True)
    os.chdir(workdir)
    capture = os.open(os.path.join(workdir, ".cell-output"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(capture, 1)
    os.dup2(capture, 2)
    if os.geteuid() == 0:
        os.chown(os.path.join(workdir, ".cell-output"), uid, uid)
        drop_privileges(uid)
        isolation.append(f"uid:{uid}")
    os.environ.clear()
    os.environ.update(
        {"HOME": workdir, "TMPDIR": workdir, "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
    )
    apply_limits(limits)
    isolation.append("rlimits")
    if "netns" not in isolation:
        block_sockets()
        isolation.append("socket-block")
    signal.signal(signal.SIGINT, _on_sigint)
    namespace: dict = {"__name__": "__main__"}

    def send(message: dict) -> None:
        proto_out.write(json.dumps(message).encode() + b"\n")

    send({"ready": True, "pid": os.getpid(), "isolation": isolation})
    for line in proto_in:
        request = json.loads(line)
        os.ftruncate(1, 0)
        os.lseek(1, 0, os.SEEK_SET)
        started = time.perf_counter()
        status, error = _run_cell(request["code"], namespace)
        elapsed = time.perf_counter() - started
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # e.g. a write over the file size limit
                stream.flush()
        size = os.fstat(1).st_size
        output = os.pread(1, min(size, args.max_output), 0).decode("utf-8", "replace")
        send({"id": request["id"], "status": status, "output": output, "output_bytes": size, "error": error,
              "seconds": round(elapsed, 6)})  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
