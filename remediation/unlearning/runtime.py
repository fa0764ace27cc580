"""Process-wide torch settings: threads and determinism."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def configure_threads(threads: int | None = None) -> int:
    """Use every available core for torch on CPU (or ``UNLEARN_THREADS`` / ``threads``).

    OpenMP's busy waiting makes a small machine shared with other processes many times
    slower, so callers that start a process should also set ``OMP_WAIT_POLICY=PASSIVE``
    before torch loads (the CLI does).
    """
    wanted = threads or int(os.environ.get("UNLEARN_THREADS", "0") or 0) or available_cores()
    torch.set_num_threads(wanted)
    return wanted


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) so runs repeat exactly."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
