"""A scripted OpenAI-compatible server, for deterministic tests of the client and the stages.

`python -m mathforge.inference.stub_server --port P [--script rules.json]` accepts (and ignores)
vLLM's other flags, so a managed-server spec can point at it instead of vLLM. It is never the
only test of a path: the end-to-end tests run the real vLLM engine.

Script (JSON): {"rules": [{"contains": "...", "reply": "..."}], "default_reply": "...",
"fail_first": N, "fail_status": 503, "delay_s": 0.0, "reject_contains": "...", "startup_delay_s": 0}
The first rule whose `contains` occurs in the last user message gives the reply; `{echo}` in a
reply is replaced by the rest of that line after `contains`. A rule with `system_contains` applies
only when that text is in the system message (requests that differ only by their system prompt,
such as solutions with and without the tool). A rule's `finish_reason` (e.g. "length", a reply
cut by the token limit) replaces "stop".
A rule may give `turns` instead of `reply`, for multi-turn (TIR) tests: the turn shown is the
number of `turn_marker`s (default "```output") in what the client asks it to continue (the
final assistant message under `continue_final_message`, or the prompt after `contains`).
Stop strings are honoured like vLLM does: the text ends at the first one (kept with
`include_stop_str_in_output`), and `stop_reason` names it.

Reasoning models: a rule's `reasoning` is returned on the chat API in the message's
`reasoning_field` (script key: `reasoning_content` as older vLLM, or `reasoning`).
gpt-oss (`"gpt_oss": true`): replies are harmony text. /v1/completions returns them raw, ended
at the first stop token (`<|call|>` 200012, `<|return|>` 200002; kept in the text only with
`"keep_stop_tokens": true`); /v1/chat/completions returns what vLLM's harmony parser makes of
them: analysis channel -> the reasoning field, final channel -> `content`, a call to
`functions.<name>` -> `tool_calls` (finish_reason `tool_calls`); there the turn shown is the
number of `tool` messages in the request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from aiohttp import web

from mathforge.inference.reasoning import parse_harmony

HARMONY_STOP_TOKENS = {"<|call|>": 200012, "<|return|>": 200002}


class StubState:
    def __init__(self, script: dict, model: str):
        self.script = script
        self.model = model
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.bodies: list[dict] = []

    def rule_for(self, messages: list[dict]) -> dict | None:
        last_user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
        return next((r for r in self.script.get("rules", []) if r["contains"] in last_user), None)

    def reply_for(self, messages: list[dict], prefix: str | None = None) -> str:
        last_user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
        system = "\n".join(m["content"] for m in messages if m.get("role") == "system")
        for rule in self.script.get("rules", []):
            if rule["contains"] in last_user and rule.get("system_contains", "") in system:
                if "turns" not in rule:
                    # `{echo}`: the rest of the line after `contains` (per-input replies at scale)
                    echo = last_user[last_user.find(rule["contains"]) + len(rule["contains"]) :].split(
                        "\n", 1
                    )[0]
                    return rule["reply"].replace("{echo}", echo)
                if prefix is None:  # completions: what follows the problem in the prompt
                    prefix = last_user[last_user.rfind(rule["contains"]) :]
                turn = prefix.count(rule.get("turn_marker", "```output"))
                return rule["turns"][min(turn, len(rule["turns"]) - 1)]
        return self.script.get("default_reply", "ok")


def apply_stops(text: str, stops: list[str], include: bool) -> tuple[str, str | None]:
    """(text cut at the first stop string, the stop string) as vLLM returns them."""
    hits = [(text.find(s), s) for s in stops if s and s in text]
    if not hits:
        return text, None
    pos, stop = min(hits)
    return text[: pos + (len(stop) if include else 0)], stop


def harmony_stop(text: str, keep: bool) -> tuple[str, int | None]:
    """gpt-oss completions: the text ends at its first stop token, reported by id."""
    hits = [(text.find(t), t) for t in HARMONY_STOP_TOKENS if t in text]
    if not hits:
        return text, None
    pos, token = min(hits)
    return text[: pos + (len(token) if keep else 0)], HARMONY_STOP_TOKENS[token]


def harmony_chat_message(text: str, reasoning_field: str) -> tuple[dict, str]:
    """(message, finish_reason) as vLLM's chat API returns a gpt-oss completion."""
    reasoning, content, calls = [], [], []
    for message in parse_harmony(text):
        if message.recipient and message.recipient.startswith("functions."):
            calls.append({"id": f"chatcmpl-tool-{len(calls)}", "type": "function",
                          "function": {"name": message.recipient.removeprefix("functions."),
                                       "arguments": message.text}})  # fmt: skip
        elif message.channel == "final":
            content.append(message.text)
        else:
            reasoning.append(message.text)
    out = {
        "role": "assistant",
        "content": "".join(content) or None,
        reasoning_field: "".join(reasoning) or None,
    }
    if calls:
        out["tool_calls"] = calls
    return out, "tool_calls" if calls else "stop"


def make_app(script: dict, model: str) -> web.Application:
    state = StubState(script, model)
    app = web.Application()
    keep_bodies = bool(script.get("keep_bodies"))

    async def health(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def models(_request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": state.model, "object": "model"}]})

    async def stats(_request: web.Request) -> web.Response:
        return web.json_response(
            {"requests": state.requests, "max_in_flight": state.max_in_flight, "bodies": state.bodies}
        )

    async def completion(request: web.Request, chat: bool) -> web.Response:
        state.requests += 1
        state.in_flight += 1
        state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            body = await request.json()
            if keep_bodies:
                state.bodies.append(body)
            if state.requests <= script.get("fail_first", 0):
                return web.Response(status=script.get("fail_status", 503), text="scripted failure")
            if script.get("delay_s"):
                await asyncio.sleep(script["delay_s"])
            messages = body.get("messages") or [{"role": "user", "content": body.get("prompt", "")}]
            if script.get("reject_contains") and script["reject_contains"] in json.dumps(messages):
                return web.Response(status=400, text="scripted rejection: prompt too long")
            prefix = None
            gpt_oss = bool(script.get("gpt_oss"))
            if chat and body.get("continue_final_message") and messages[-1].get("role") == "assistant":
                prefix, messages = messages[-1]["content"], messages[:-1]
            elif chat and gpt_oss:  # the turn: how many tool replies the conversation holds
                rule = state.rule_for(messages) or {}
                prefix = rule.get("turn_marker", "```output") * sum(m.get("role") == "tool" for m in messages)
            elif chat:
                prefix = ""
            text, stop_reason = state.reply_for(messages, prefix), None
            if gpt_oss and not chat:
                text, stop_reason = harmony_stop(text, bool(script.get("keep_stop_tokens")))
            if stop_reason is None:
                text, stop_reason = apply_stops(
                    text, list(body.get("stop") or []), bool(body.get("include_stop_str_in_output"))
                )
            field = script.get("reasoning_field", "reasoning_content")
            finish = (state.rule_for(messages) or {}).get("finish_reason", "stop")
            if chat and gpt_oss:
                message, finish = harmony_chat_message(text, field)
            elif chat:
                message = {"role": "assistant", "content": text}
                reasoning = (state.rule_for(messages) or {}).get("reasoning")
                if reasoning is not None:
                    message[field] = reasoning
            n = int(body.get("n", 1))
            choices = [
                {"index": i, "finish_reason": finish, "stop_reason": stop_reason,
                 **({"message": message} if chat else {"text": text})}
                for i in range(n)
            ]  # fmt: skip
            return web.json_response(
                {
                    "id": f"stub-{state.requests}",
                    "object": "chat.completion" if chat else "text_completion",
                    "created": int(time.time()),
                    "model": body.get("model", state.model),
                    "choices": choices,
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5 * n, "total_tokens": 10 + 5 * n},
                }
            )
        finally:
            state.in_flight -= 1

    async def chat(request: web.Request) -> web.Response:
        return await completion(request, chat=True)

    async def plain(request: web.Request) -> web.Response:
        return await completion(request, chat=False)

    app.router.add_get("/health", health)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/stats", stats)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/v1/completions", plain)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--served-model-name", default="stub")
    parser.add_argument("--script", default=None, help="JSON file with the reply rules")
    args, _ignored_vllm_flags = parser.parse_known_args(argv)
    script = {}
    if args.script:
        with open(args.script) as fh:
            script = json.load(fh)
    if script.get("startup_delay_s"):
        time.sleep(script["startup_delay_s"])
    web.run_app(make_app(script, args.served_model_name), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
