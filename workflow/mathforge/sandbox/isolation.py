"""Confining a session process before it runs any model-written code.

As root (clusters' containers, CI): a private network namespace (no network at all, loopback
included), a private mount namespace with fresh tmpfs on /tmp, /var/tmp and /dev/shm, and a
per-session unprivileged uid (leased host-wide, see `uids`), so the code can neither write outside
its temp dir, read other processes' environments, nor signal the pipeline. Without root, only what
an ordinary user can do: resource limits, and a socket-level block of the network inside the
interpreter.
Resource limits apply either way: address space, CPU seconds, processes, open files, file size.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import resource
import signal
import socket
from dataclasses import dataclass

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_REMOUNT = 32
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_PRIVATE = 1 << 18


@dataclass(frozen=True)
class Limits:
    memory_mb: int = 1024
    cpu_seconds: int = 600  # for the whole session
    processes: int = 32
    open_files: int = 64
    file_size_mb: int = 16


@functools.cache  # finding libc runs `ldconfig -p`: once per process, not once per call
def load_libc():
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def check_result(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def new_network_namespace() -> int:
    """A fresh network namespace (no interface up, loopback included) as a descriptor to enter it
    by (`enter_network_namespace`); the caller stays in its own. Needs root."""
    libc = load_libc()
    own = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        check_result(libc.unshare(CLONE_NEWNET), "unshare")
        try:
            return os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        finally:
            check_result(libc.setns(own, CLONE_NEWNET), "setns back")
    finally:
        os.close(own)


def enter_network_namespace(fd: int) -> None:
    check_result(load_libc().setns(fd, CLONE_NEWNET), "setns")


def isolate_namespaces(tmp_size_mb: int, carry: str | None = None, network: bool = True) -> list[str]:
    """New network and mount namespaces with private tmpfs mounts; needs root. Returns what was done.

    `carry`: a mount directly under /tmp (the zygote's read-only Python, `prepare_python_mount`)
    moved into the fresh /tmp, so a session reaches it without mounting it again.
    `network=False`: the caller has entered a network namespace of its own already (the zygote's
    one per uid, `new_network_namespace`), only the mount namespace is new."""
    libc = load_libc()
    check_result(libc.unshare((CLONE_NEWNET if network else 0) | CLONE_NEWNS), "unshare")
    if carry is None:  # else a copy of the zygote's namespace, private already (`prepare_python_mount`)
        check_result(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    done = ["netns", "mountns"]
    opts = f"size={tmp_size_mb}m,mode=1777".encode()
    if carry is not None:  # a fresh tmpfs staged below /tmp, the mount moved into it, then it onto /tmp
        stage = "/tmp/.mathforge-next"
        check_result(libc.mount(b"tmpfs", stage.encode(), b"tmpfs", 0, opts), "tmpfs on /tmp")
        moved = os.path.join(stage, os.path.basename(carry))
        os.mkdir(moved, 0o755)
        check_result(libc.mount(carry.encode(), moved.encode(), None, MS_MOVE, None), f"move {carry}")
        check_result(libc.mount(stage.encode(), b"/tmp", None, MS_MOVE, None), "move the fresh /tmp")
        done.append("tmpfs:/tmp")
    for path in ("/tmp", "/var/tmp", "/dev/shm"):
        if os.path.isdir(path) and f"tmpfs:{path}" not in done:
            check_result(libc.mount(b"tmpfs", path.encode(), b"tmpfs", 0, opts), f"tmpfs on {path}")
            done.append(f"tmpfs:{path}")
    return done


def prepare_python_mount(sources: list[str], under: str = "/tmp/.mathforge-python") -> dict[str, str]:
    """In the zygote, once: a private mount namespace whose /tmp holds `sources` read-only under
    `under` (`expose_read_only`), for `isolate_namespaces(carry=under)` in every session it forks.
    Needs root. Returns {original: new path}."""
    libc = load_libc()
    check_result(libc.unshare(CLONE_NEWNS), "unshare")
    check_result(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    check_result(libc.mount(b"tmpfs", b"/tmp", b"tmpfs", 0, b"size=1m,mode=755"), "tmpfs on /tmp")
    os.makedirs("/tmp/.mathforge-next", mode=0o755)
    os.makedirs(under, mode=0o755)
    check_result(libc.mount(b"tmpfs", under.encode(), b"tmpfs", 0, b"size=1m,mode=755"), f"tmpfs on {under}")
    return expose_read_only(sources, under)


def expose_read_only(sources: list[str], under: str = "/tmp/.mathforge-python") -> dict[str, str]:
    """Bind-mount directories (the Python installation) read-only into the private tmpfs.

    Python is often installed under a home directory an unprivileged uid cannot traverse
    (/root is 0700); a bind mount reaches the same files by another path. Needs the private
    mount namespace. Returns {original: new path}.
    """
    libc = load_libc()
    mapping = {}
    for k, src in enumerate(dict.fromkeys(sources)):
        target = os.path.join(under, str(k))
        os.makedirs(target, mode=0o755, exist_ok=True)
        os.chmod(under, 0o755)
        check_result(libc.mount(src.encode(), target.encode(), None, MS_BIND | MS_REC, None), f"bind {src}")
        check_result(
            libc.mount(None, target.encode(), None, MS_REMOUNT | MS_BIND | MS_RDONLY, None),
            f"read-only {src}",
        )
        mapping[src] = target
    return mapping


def remap_path(path: str, mapping: dict[str, str]) -> str:
    for src, target in sorted(mapping.items(), key=lambda kv: -len(kv[0])):
        if path == src or path.startswith(src.rstrip("/") + "/"):
            return target + path[len(src.rstrip("/")) :]
    return path


def drop_privileges(uid: int) -> None:
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def apply_limits(limits: Limits) -> None:
    mb = 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb * mb, limits.memory_mb * mb))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size_mb * mb, limits.file_size_mb * mb))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # A write past RLIMIT_FSIZE raises OSError (EFBIG) instead of killing the session.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


class _NoNetwork(socket.socket):
    def __init__(self, family=-1, *args, **kwargs):
        if family in (socket.AF_INET, socket.AF_INET6, -1):
            raise PermissionError("network access is disabled in the sandbox")
        super().__init__(family, *args, **kwargs)


def block_sockets() -> None:
    """The non-root fallback: no INET sockets from Python (C extensions could still open some)."""
    socket.socket = _NoNetwork  # type: ignore[misc]
