"""The endpoint files of a server pool (mathforge.inference.pool): `<dir>/endpoints/<job id>.json`,
one per running server, read by the jobs that send it requests."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

from mathforge.errors import ConfigError
from mathforge.inference.server import is_healthy


def pool_endpoints(pool_dir: Path, wait_s: float) -> list[str]:
    """URLs of the pool's servers that answer; waits up to `wait_s` for at least one."""
    deadline = time.monotonic() + wait_s
    while True:
        urls = []
        for path in sorted((pool_dir / "endpoints").glob("*.json")):
            with contextlib.suppress(ValueError, OSError):
                url = json.loads(path.read_text())["url"]
                if is_healthy(url):
                    urls.append(url)
        if urls or time.monotonic() >= deadline:
            break
        time.sleep(2)
    if not urls:
        raise ConfigError(
            f"inference.backend is pool but no server of the pool in {pool_dir} answers: start one with "
            "`python -m mathforge pool start --configfile <config>` (see `pool status`)"
        )
    return urls
