"""``python -m remediation.unlearning``: see ``cli.py``."""

import os

# OpenMP's busy waiting makes a small shared CPU many times slower; it must be set
# before torch loads, which is why it is here and not in cli.py.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .cli import main  # noqa: E402

raise SystemExit(main())
