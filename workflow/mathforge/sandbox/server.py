"""The sandbox as a small HTTP service, for clusters where generation and execution run on
different nodes: `python -m mathforge.sandbox.server --host 0.0.0.0 --port 6000`.

POST /sessions                      -> {"session_id": ...}
POST /sessions/{id}/execute         {"code": ..., "timeout_s": 10} -> a CellResult as JSON
DELETE /sessions/{id}               -> {"closed": id}
GET /health                         -> "ok"
"""

from __future__ import annotations

import argparse

from aiohttp import web

from mathforge.sandbox.isolation import Limits
from mathforge.sandbox.pool import SandboxPool
from mathforge.sandbox.uids import DEFAULT_LEASE_DIR, DEFAULT_UID_BASE, DEFAULT_UID_COUNT


def make_app(pool: SandboxPool, max_timeout_s: float = 60.0) -> web.Application:
    app = web.Application(client_max_size=4 * 2**20)

    async def health(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def open_session(_request: web.Request) -> web.Response:
        try:
            return web.json_response({"session_id": await pool.open_session()})
        except RuntimeError as exc:
            return web.json_response({"error": str(exc)}, status=503)

    async def execute(request: web.Request) -> web.Response:
        session_id = request.match_info["session_id"]
        if not pool.has_session(session_id):
            return web.json_response({"error": f"no session {session_id!r}"}, status=404)
        try:
            body = await request.json()
            code = body["code"]
            timeout_s = min(float(body.get("timeout_s", 10.0)), max_timeout_s)
        except (ValueError, KeyError, TypeError) as exc:
            return web.json_response(
                {"error": f"expected JSON with 'code' (and 'timeout_s'): {exc}"}, status=400
            )
        if not isinstance(code, str):
            return web.json_response({"error": "'code' must be a string"}, status=400)
        result = await pool.execute(session_id, code, timeout_s)
        return web.json_response(result.to_dict())

    async def close_session(request: web.Request) -> web.Response:
        session_id = request.match_info["session_id"]
        if not pool.has_session(session_id):
            return web.json_response({"error": f"no session {session_id!r}"}, status=404)
        await pool.close_session(session_id)
        return web.json_response({"closed": session_id})

    async def on_startup(_app: web.Application) -> None:
        await pool.__aenter__()

    async def on_cleanup(_app: web.Application) -> None:
        await pool.close()

    app.router.add_get("/health", health)
    app.router.add_post("/sessions", open_session)
    app.router.add_post("/sessions/{session_id}/execute", execute)
    app.router.add_delete("/sessions/{session_id}", close_session)
    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6000)
    parser.add_argument("--max-sessions", type=int, default=64)
    parser.add_argument("--prestart", type=int, default=8)
    parser.add_argument("--memory-mb", type=int, default=1024)
    parser.add_argument("--max-output", type=int, default=1000)
    parser.add_argument("--uid-base", type=int, default=DEFAULT_UID_BASE, help="as root: first session uid")
    parser.add_argument("--uid-count", type=int, default=DEFAULT_UID_COUNT, help="size of the uid range")
    parser.add_argument("--uid-lease-dir", default=DEFAULT_LEASE_DIR, help="host-wide uid leases")
    args = parser.parse_args(argv)
    pool = SandboxPool(
        args.max_sessions, args.prestart, Limits(memory_mb=args.memory_mb), args.max_output,
        uid_base=args.uid_base, uid_count=args.uid_count, lease_dir=args.uid_lease_dir,
    )  # fmt: skip
    web.run_app(make_app(pool), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
