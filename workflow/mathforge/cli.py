"""`python -m mathforge ...`: set-up commands that live outside the DAG."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mathforge", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build-model", help="assemble, verify and convert the embedded model (cached)")
    build.add_argument("--cache-dir", default=None, help="default: $XDG_CACHE_HOME/mathforge/models")
    pool = sub.add_parser("pool", help="the long-lived vLLM server pool on Slurm (inference.backend: pool)")
    pool.add_argument("action", choices=["start", "status", "stop"])
    pool.add_argument(
        "--configfile", required=True, help="the workflow config (its models / inference section)"
    )
    pool.add_argument(
        "--model", default="default", help="the model of `models` the pool serves (default: default)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "build-model":
        from mathforge.inference.embedded_model import ensure_embedded_model

        print(ensure_embedded_model(args.cache_dir))
    elif args.command == "pool":
        return _pool(args.action, args.configfile, args.model)
    return 0


def _pool(action: str, configfile: str, model: str) -> int:
    from mathforge.config import load_config
    from mathforge.inference import pool, pool_registry
    from mathforge.inference.models import model_section

    cfg = model_section(load_config(configfile), model, "--model")
    if action == "start":
        print("\n".join(pool.start_pool(cfg)))
    elif action == "stop":
        print("\n".join(pool.stop_pool(cfg["pool"]["dir"])))
    else:
        urls = pool_registry.pool_endpoints(Path(cfg["pool"]["dir"]), wait_s=0)
        print("\n".join(urls))
    return 0


if __name__ == "__main__":
    sys.exit(main())
