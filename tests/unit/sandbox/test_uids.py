"""Host-wide uid leases: disjoint between holders, free again when a holder dies however it dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mathforge
from mathforge.sandbox.uids import UidLeases, uid_processes

BASE = 64200  # far from the default range, so other pools on this host are never touched


def test_holders_get_disjoint_uids_and_released_ones_are_reused(tmp_path):
    first = UidLeases.acquire(3, BASE, 5, str(tmp_path))
    second = UidLeases.acquire(2, BASE, 5, str(tmp_path))
    assert not set(first.uids) & set(second.uids) and len(first.uids + second.uids) == 5
    first.release()
    third = UidLeases.acquire(3, BASE, 5, str(tmp_path))
    assert sorted(third.uids) == sorted(set(range(BASE, BASE + 5)) - set(second.uids))
    second.release()
    third.release()


def test_an_exhausted_range_says_which_range_how_many_are_used_and_what_to_change(tmp_path):
    held = UidLeases.acquire(3, BASE, 4, str(tmp_path))
    with pytest.raises(RuntimeError) as error:
        UidLeases.acquire(2, BASE, 4, str(tmp_path))
    message = str(error.value)
    assert f"{BASE}-{BASE + 3}" in message and "3 of 4" in message and "needs 2" in message
    assert "sandbox.uid_count" in message and str(tmp_path) in message
    assert len(UidLeases.acquire(1, BASE, 4, str(tmp_path)).uids) == 1  # the failed attempt kept nothing
    held.release()


def test_a_lease_directory_that_cannot_be_created_names_the_config_key(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(RuntimeError, match=r"sandbox\.uid_lease_dir"):
        UidLeases.acquire(1, BASE, 1, str(tmp_path / "file" / "leases"))


def test_the_leases_of_a_killed_holder_are_free_again(tmp_path):
    code = (
        "import sys\nfrom mathforge.sandbox.uids import UidLeases\n"
        f"UidLeases.acquire(2, {BASE}, 2, sys.argv[1])\nprint('held', flush=True)\nsys.stdin.read()"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(mathforge.__file__).parents[1])}
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
    )
    try:
        assert holder.stdout.readline() == b"held\n"
        with pytest.raises(RuntimeError, match="2 of 2"):
            UidLeases.acquire(1, BASE, 2, str(tmp_path))
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    leases = UidLeases.acquire(2, BASE, 2, str(tmp_path))
    assert sorted(leases.uids) == [BASE, BASE + 1]
    leases.release()


@pytest.mark.skipif(os.geteuid() != 0, reason="running a process as another uid needs root")
def test_what_a_dead_holders_uid_still_runs_is_killed_before_the_uid_is_reused(tmp_path):
    left_behind = subprocess.Popen(["sleep", "60"], user=BASE, group=BASE)
    (tmp_path / f"uid-{BASE}").write_text("999999\n")  # a holder that died without releasing
    try:
        leases = UidLeases.acquire(1, BASE, 1, str(tmp_path))
        deadline = time.monotonic() + 5
        while uid_processes(BASE):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert left_behind.wait(5) == -signal.SIGKILL
        leases.release()
        assert (tmp_path / f"uid-{BASE}").read_text() == ""  # released cleanly: nothing to clean up
    finally:
        left_behind.kill()
