"""Processes a cell leaves behind: killed and reaped before the cell's reply is sent.

The session process is a child subreaper (PR_SET_CHILD_SUBREAPER), so every process a cell
starts stays among its descendants: an orphan (a double fork, a setsid daemon) is re-parented to
the session, not to init. After each cell the session reaps what exited and, after a short
grace, kills what still runs, generation by generation, so nothing an earlier cell started can
write into a later cell's output or answer for it. With a uid of its own (as root) one kill(-1)
also signals everything that uid runs at once, which a fork bomb cannot outrun.

Every exited child is reaped too, so a `Popen` kept from an earlier cell reads returncode 0 from
`wait()` (Python's answer when a child was reaped elsewhere): wait for a process in its own cell.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

from mathforge.sandbox.isolation import check_result, load_libc

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    check_result(load_libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl(PR_SET_CHILD_SUBREAPER)")


def _reap() -> bool:
    """Reap exited children; True if a live child remains. One syscall when the cell started none."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
        return True
    except ChildProcessError:
        return False


def _children_by_scan() -> list[int]:
    me = os.getpid()
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError), open(f"/proc/{entry}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == me:  # field 4: the parent pid
                    pids.append(int(entry))
    return pids


def _children() -> list[int]:
    """Children of every thread of this process, zombies included."""
    pids = []
    try:
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/children") as f:
                pids += map(int, f.read().split())
    except OSError:  # no CONFIG_PROC_CHILDREN, or a thread ended under us: ask every process
        return _children_by_scan()
    return pids


def end_cell_processes(own_uid: bool, grace_s: float = 0.05, rounds: int = 50) -> tuple[int, int]:
    """Kill and reap every descendant of this process: (how many were killed, how many are left).

    Children get `grace_s` to end by themselves first (a forked child finishing its copy of the
    cell); only when some are left does the cell pay for the wait."""
    if not _reap():
        return 0, 0
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        time.sleep(0.002)
        if not _reap():
            return 0, 0
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # under SIG_IGN a wait would block on every child
    killed: set[int] = set()
    for _ in range(rounds):
        children = _children()
        if not children:
            break
        if own_uid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(-1, signal.SIGKILL)  # every process of this uid but this one
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid in children:  # once reaped, its own children are ours (we are their subreaper)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        killed.update(children)
    return len(killed), len(_children())
