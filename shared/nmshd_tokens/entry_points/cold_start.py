"""What every function does once, at its init: build its adapters (the API functions and the batch function alike)."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import TypeVar

Built = TypeVar("Built")


def build_in_init(build: Callable[[], Built]) -> Built:
    """Build the process's adapters now, in init, with the cyclic GC paused, then freeze the heap.

    Lambda runs init on a full vCPU, a first request may get a slice of one. botocore is the biggest part of a cold
    start and allocates many small objects; with the cyclic GC running, every pass would rescan all of them and
    everything imported before. What init built lives as long as the process, so it is frozen: later passes skip it.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return build()
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
