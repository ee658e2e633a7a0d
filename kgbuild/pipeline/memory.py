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
