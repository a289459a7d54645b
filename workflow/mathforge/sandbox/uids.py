"""Session uids leased host-wide, so that no two live sandbox pools on a host share one.

As root every session runs as a uid of its own, and ending a session kills everything that uid
runs. Pools that each mapped slot k to the same uid (two generate_solutions jobs on one node)
therefore killed each other's sessions. A pool now leases its uids from a range: one lock file
per uid in a lease directory shared by the host, held with flock(2) for the pool's lifetime. The
kernel drops the lock when the holder exits, however it exits (SIGKILL included), so a crashed
pool's uids are free again; the pid it left in the file tells the next holder to kill whatever
that uid still runs before using it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import time
from pathlib import Path

DEFAULT_UID_BASE = 61000
DEFAULT_UID_COUNT = 128  # 61000-61127: below systemd's dynamic service users (61184-65519)
DEFAULT_LEASE_DIR = "/run/mathforge-sandbox"


def uid_processes(uid: int) -> list[int]:
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


def kill_uid(uid: int, rounds: int = 3) -> None:
    """SIGKILL everything `uid` runs; repeated, since a fork bomb may race one sweep."""
    for _ in range(rounds):
        pids = uid_processes(uid)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)


class UidLeases:
    """`count` uids of [base, base + span) that no other live pool on this host holds."""

    def __init__(self, held: list[tuple[int, int]]):
        self._held = held  # (uid, fd of its locked lease file)

    @property
    def uids(self) -> list[int]:
        return [uid for uid, _ in self._held]

    @classmethod
    def acquire(cls, count: int, base: int, span: int, lease_dir: str) -> UidLeases:
        try:
            os.makedirs(lease_dir, mode=0o755, exist_ok=True)
        except OSError as exc:
            raise RuntimeError(
                f"cannot create the sandbox uid lease directory {lease_dir} ({exc.strerror}); "
                "set sandbox.uid_lease_dir to a writable path shared by the pools of this host"
            ) from exc
        held: list[tuple[int, int]] = []
        for uid in range(base, base + span):
            if len(held) == count:
                break
            fd = os.open(os.path.join(lease_dir, f"uid-{uid}"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            if os.pread(fd, 32, 0).strip():  # its last holder died without releasing it
                kill_uid(uid)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            held.append((uid, fd))
        if len(held) < count:
            in_use = span - len(held)
            cls(held).release()
            raise RuntimeError(
                f"sandbox uid range {base}-{base + span - 1} is exhausted: {in_use} of {span} uids are "
                f"leased by live sandbox pools on this host (lease files in {lease_dir}) and this pool "
                f"needs {count}; raise sandbox.uid_count (or move sandbox.uid_base to a free range) "
                "or lower sandbox.max_sessions"
            )
        return cls(held)

    def release(self) -> None:
        for _, fd in self._held:
            os.ftruncate(fd, 0)  # a clean release: the next holder has nothing to clean up
            os.close(fd)  # drops the lock
        self._held = []
