"""A Lean-REPL-protocol front over the prelude-only real Lean (tests only; no REPL binary here).

Reads `{"cmd": ..., "env"?: n}` commands separated by blank lines; the first command without
`env` is the header and returns env 0; each later command is compiled with real Lean as
header + blank line + command, and its messages are returned with positions relative to the
command, as the REPL does. A command containing `SLEEP_FOREVER` hangs (to test timeouts).
"""

import json
import os
import subprocess
import sys
import tempfile
import time

LEAN = [sys.executable, "-m", "mathforge.lean.elpi_lean"]
headers: list[str] = []
buffer: list[str] = []


def reply(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, indent=2) + "\n\n")
    sys.stdout.flush()


def run(command: dict) -> None:
    if "env" not in command:
        headers.append(command["cmd"])
        reply({"env": len(headers) - 1})
        return
    if "SLEEP_FOREVER" in command["cmd"]:
        time.sleep(3600)
    header = headers[command["env"]]
    offset = header.rstrip().count("\n") + 2
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "Cmd.lean")
        with open(path, "w") as fh:
            fh.write(f"{header.rstrip()}\n\n{command['cmd']}\n")
        out = subprocess.run([*LEAN, "--json", path], capture_output=True, text=True).stdout
    messages = []
    for line in out.splitlines():
        m = json.loads(line)
        for key in ("pos", "endPos"):
            if m.get(key):
                m[key]["line"] -= offset
        messages.append({k: m[k] for k in ("severity", "pos", "endPos", "data") if k in m})
    reply({"env": command["env"] + 1, "messages": messages})


for line in sys.stdin:
    if line.strip():
        buffer.append(line)
    elif buffer:
        run(json.loads("".join(buffer)))
        buffer = []
