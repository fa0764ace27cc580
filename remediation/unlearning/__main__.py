"""``python -m remediation.unlearning``: see ``cli.py``."""

import os
import sys

# OpenMP's busy waiting makes a small shared CPU many times slower (measured on 2 cores:
# two 10-person runs side by side took 12 s each with passive threads, 38 s spinning),
# so commands wait passively. Building the demo model is one long job that has the
# machine to itself (the site builds it before starting its worker, in a process that
# leaves OpenMP as it is), and spinning threads train it a third faster. Either way it
# must be set before torch loads, which is why it is here and not in cli.py; a value
# given in the environment wins.
if sys.argv[1:2] != ["demo-model"]:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .cli import main  # noqa: E402
from .runtime import tune_allocator  # noqa: E402

tune_allocator()

raise SystemExit(main())
