"""Give the memory a finished batch freed back to the operating system.

A batch's work (the encoder's states, the extractor's pair tables, fusion's candidate matrices) is freed when the
batch is written, but glibc's allocator keeps freed heap pages mapped, so the resident set a user sees stays at the
largest batch so far. ``malloc_trim(0)`` returns them (glibc only; elsewhere this does nothing). Issue 18.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from typing import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None
    if trim is not None:
        trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Return freed heap pages to the OS; whether the C library could (False off glibc)."""
    trim = _malloc_trim()
    return bool(trim is not None and trim(0) >= 0)


M_MMAP_THRESHOLD = -3  # glibc mallopt parameter (malloc.h)
MMAP_THRESHOLD_BYTES = 4 << 20


def map_large_blocks_apart() -> bool:
    """Serve every allocation over 4 MB (the encoder's states, the relation head's score tables) with its own mmap.

    glibc raises its mmap threshold each time such a block is freed (up to 32 MB), after which big tensors come from
    the heap, which fragments and grows over the thousands of blocks of a long batch (measured: +640 MB over one
    batch of a 50 MB file, given back only by ``malloc_trim``). Fixing the threshold stops that; a block's memory goes
    back to the OS when it is freed. Whether the C library took it (False off glibc)."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):
        return False
    return bool(mallopt is not None and mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1)
