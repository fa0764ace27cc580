"""Process-wide torch settings: threads and determinism."""

from __future__ import annotations

import ctypes
import ctypes.util
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


# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# Buffers up to this size come from the heap, and freed memory stays with the process.
_KEEP_BYTES = 1 << 30


def tune_allocator() -> bool:
    """Keep freed memory in the process instead of handing it back to the system.

    By default glibc serves large buffers (activations, gradients, logits) with fresh
    ``mmap`` pages and returns them on free, so every training step faults its working
    set back in page by page: measured on 2 cores, 1.5 million page faults in 250 demo
    training steps and about a tenth of the time in the kernel. With the thresholds
    raised, freed buffers are reused. A process-wide setting, for processes that run the
    engine (the CLI calls it); True where it took effect (glibc only).
    """
    path = ctypes.util.find_library("c")
    if path is None:
        return False
    try:
        mallopt = ctypes.CDLL(path).mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _KEEP_BYTES)) and bool(
        mallopt(_M_TRIM_THRESHOLD, _KEEP_BYTES)
    )


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) so runs repeat exactly."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
