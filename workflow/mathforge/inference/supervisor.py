"""Runs an inference server as a child and guarantees it dies with its owner.

`python -m mathforge.inference.supervisor --owner-pid P --owner-start T --state-file S -- CMD...`

The supervisor starts CMD in its own process group, records itself in the state file, and polls:
when the owner (the Snakemake process, or the job that started it) is gone, when it receives
SIGTERM/SIGINT/SIGHUP, or when the server exits, it stops the whole process group (SIGTERM,
then SIGKILL) and removes the state file. So a finished run, a failed run, Ctrl-C and even
SIGKILL of Snakemake leave no orphan vLLM process.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mathforge.inference.processes import is_alive, process_start_time, terminate_group

POLL_S = 0.5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--owner-pid", type=int, required=True)
    parser.add_argument("--owner-start", default=None)
    parser.add_argument("--state-file", required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--grace-s", type=float, default=15.0)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no server command given after --")

    stopping = {"signal": None}

    def on_signal(signum: int, _frame: object) -> None:
        stopping["signal"] = signum

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)

    child = subprocess.Popen(command, start_new_session=True, stdin=subprocess.DEVNULL)
    state_file = Path(args.state_file)
    state = {
        "supervisor_pid": os.getpid(),
        "supervisor_start": process_start_time(os.getpid()),
        "server_pid": child.pid,
        "owner_pid": args.owner_pid,
        "owner_start": args.owner_start,
        "base_url": args.base_url,
        "command": command,
        "started_at": time.time(),
    }
    tmp = state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    os.replace(tmp, state_file)
    reason = "server exited"
    try:
        while True:
            if stopping["signal"] is not None:
                reason = f"signal {stopping['signal']}"
                break
            if child.poll() is not None:
                reason = f"server exited with code {child.returncode}"
                break
            if not is_alive(args.owner_pid, args.owner_start):
                reason = f"owner {args.owner_pid} is gone"
                break
            time.sleep(POLL_S)
    finally:
        terminate_group(child.pid, args.grace_s)
        with contextlib.suppress(Exception):
            child.wait(timeout=5)
        # Only remove the state file if it still describes this supervisor.
        with contextlib.suppress(OSError, ValueError):
            if json.loads(state_file.read_text()).get("supervisor_pid") == os.getpid():
                state_file.unlink()
        print(f"[mathforge supervisor] stopped server {child.pid}: {reason}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
