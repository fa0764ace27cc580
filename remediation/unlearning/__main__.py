"""``python -m remediation.unlearning``: see ``cli.py``."""

import os
import sys
from collections.abc import Sequence

# Global options that take a value (see ``cli.build_parser``); the command follows them.
_VALUED_OPTIONS = {"--threads"}


def command_of(argv: Sequence[str]) -> str | None:
    """The sub-command named in ``argv`` (after the global options), if any; read without
    the parser, which cannot be built before torch loads."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _VALUED_OPTIONS:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


if __name__ == "__main__":
    # OpenMP's busy waiting makes a small shared CPU many times slower (measured on 2
    # cores: two 10-person runs side by side took 12 s each with passive threads, 38 s
    # spinning), so commands wait passively. Building the demo model is one long job that
    # has the machine to itself (the site builds it before starting its worker, in a
    # process that leaves OpenMP as it is), and spinning threads train it a third faster.
    # Either way it must be set before torch loads, which is why it is here and not in
    # cli.py; a value given in the environment wins.
    if command_of(sys.argv[1:]) != "demo-model":
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    from .cli import main
    from .runtime import tune_allocator

    tune_allocator()

    raise SystemExit(main())
