"""math-verify worker: one JSON pair [gold, answer] per stdin line -> [equal or null, method] per line.

Run by `AnswerComparer` as a separate process, so that a comparison that never ends can be
killed from outside (math-verify's own timeouts are turned off: they use signal.alarm and turn
a timeout into "not equal"). Parses are cached: answers repeat.
"""

from __future__ import annotations

import json
import logging
import sys


def _latex(answer: str) -> str:
    text = answer.strip()
    return text if text.startswith("$") else f"${text}$"


def main() -> None:
    logging.disable(logging.WARNING)  # math-verify warns on every call with its timeouts off
    from math_verify import parse, verify

    parsed: dict[str, list] = {}

    def parse_once(text: str) -> list:
        if text not in parsed:
            parsed[text] = parse(_latex(text), parsing_timeout=None)
        return parsed[text]

    def has_expression(values: list) -> bool:  # only the raw string back: math-verify would compare text
        return any(not isinstance(v, str) for v in values)

    verify(parse_once("1"), parse_once("1"), timeout_seconds=None)  # warm the parser up
    sys.stdout.write(json.dumps(["ready"]) + "\n")  # the caller's clock starts now, not at import
    sys.stdout.flush()
    for line in sys.stdin:
        gold, answer = json.loads(line)
        try:
            g, a = parse_once(gold), parse_once(answer)
            if not has_expression(g) or not has_expression(a):
                reply = [None, "unparseable"]
            else:
                reply = [bool(verify(g, a, timeout_seconds=None)), "symbolic"]
        except Exception as exc:  # any parser/sympy failure is "unknown", never fatal
            reply = [None, f"error: {type(exc).__name__}"]
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
