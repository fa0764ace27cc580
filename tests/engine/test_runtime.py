"""Process-wide settings: the allocator keeps freed buffers for reuse."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Holds a 32 MiB buffer, frees it, and prints what glibc's mallinfo2 said at each point:
# the bytes held in mmap'd chunks while it lived, and the free bytes kept in the heap after.
# (Page faults would show the same, but the VM's own reclaim adds faults at random.)
_MALLINFO = """
import ctypes, sys, torch
from remediation.unlearning.runtime import tune_allocator

class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd",
        "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
tuned = tune_allocator() if sys.argv[1] == "tuned" else None
buffer = torch.ones(8 << 20)
mapped = libc.mallinfo2().hblkhd
del buffer
print(tuned, mapped, libc.mallinfo2().fordblks)
"""
BUFFER = 32 << 20


def _mallinfo(mode: str) -> tuple[str, int, int]:
    out = subprocess.run(
        [sys.executable, "-c", _MALLINFO, mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()
    return out[0], int(out[1]), int(out[2])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_tuned_allocator_keeps_freed_buffers_instead_of_handing_them_back() -> None:
    # given a process that allocates a large buffer and frees it
    # when it runs with glibc's defaults, and with the allocator tuned
    plain_mode, plain_mapped, plain_kept = _mallinfo("plain")
    tuned_mode, tuned_mapped, tuned_kept = _mallinfo("tuned")
    # then by default the buffer is its own mmap (fresh pages, handed back on free), and
    # tuned it comes from the heap, which keeps it once freed for the next buffer to reuse
    assert plain_mode == "None" and tuned_mode == "True"
    assert plain_mapped >= BUFFER and plain_kept < BUFFER
    assert tuned_mapped < BUFFER and tuned_kept >= BUFFER
