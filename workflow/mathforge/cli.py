"""`python -m mathforge ...`: set-up commands that live outside the DAG."""

from __future__ import annotations

import argparse
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mathforge", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build-model", help="assemble, verify and convert the embedded model (cached)")
    build.add_argument("--cache-dir", default=None, help="default: $XDG_CACHE_HOME/mathforge/models")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "build-model":
        from mathforge.inference.embedded_model import ensure_embedded_model

        print(ensure_embedded_model(args.cache_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
