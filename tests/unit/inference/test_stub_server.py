"""The stub's reply rules: by the last user message, optionally only under a given system prompt."""

from mathforge.inference.stub_server import StubState

SCRIPT = {
    "rules": [
        {"contains": "Compute", "system_contains": "without tools", "reply": "plain"},
        {"contains": "Compute", "reply": "any"},
    ]
}


def test_a_rule_can_require_text_in_the_system_prompt():
    state = StubState(SCRIPT, "m")
    user = {"role": "user", "content": "Compute 1+1."}
    assert state.reply_for([{"role": "system", "content": "Solve without tools."}, user]) == "plain"
    assert state.reply_for([{"role": "system", "content": "Solve with Python."}, user]) == "any"
    assert state.reply_for([user]) == "any"
