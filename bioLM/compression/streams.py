"""Independent coding streams, one worker process each: ``N`` cores code ``N`` streams at once.

The symbol stream is cut into ``threads`` contiguous parts (:func:`stream_sizes`); each part is coded on its
own (its own lanes, copy model, range coder and, in adaptive mode, its own copy of the model) in a forked
worker process running torch on one thread. A stream's arithmetic depends only on its symbols, so the file is
the same whether the streams ran side by side or one after another, and decoding may use any number of
processes. Python threads could not do this: the per-step work outside torch's kernels (copy model, softmax,
range coder, op dispatch) holds the GIL, and two lane groups on threads gave 1.1x where two processes give
1.8x on two cores (benchmarks/RESULTS.md). Fork (not spawn) shares the loaded model without pickling it; torch
must stay on one thread in a forked child (OpenMP's pool does not survive fork), which is also what makes the
arithmetic the same in both schedules. Where fork is not available, the streams run one after another here.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

import torch

from bioLM.compression.stepper import lane_sizes

T = TypeVar("T")
STREAM_LANES = 64
"""A stream is split off only when every part still fills this many lanes of ``min_lane_tokens`` tokens."""
_WORK: Callable[[int], object] | None = None


def stream_sizes(n_symbols: int, streams: int, min_lane_tokens: int) -> list[int]:
    """Symbols per stream (contiguous parts, in order): at most ``streams``, each >= ``STREAM_LANES *
    min_lane_tokens`` unless there is only one."""
    return lane_sizes(n_symbols, streams, STREAM_LANES * min_lane_tokens)


def available_cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_streams(work: Callable[[int], T], count: int) -> list[T]:
    """``[work(0), ..., work(count - 1)]``, each call in a forked worker with one torch thread (as many workers
    as free cores, at most ``count``), or here one after another (one worker, no fork, or ``count == 1``).
    ``work`` must not depend on state another call changes (each adaptive stream copies its model)."""
    global _WORK
    workers = min(count, available_cores())
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return [work(index) for index in range(count)]
        finally:
            torch.set_num_threads(previous)
    _WORK = work
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                 initializer=torch.set_num_threads, initargs=(1,)) as pool:
            return list(pool.map(_call, range(count)))  # a worker that dies raises BrokenProcessPool
    finally:
        _WORK = None


def _call(index: int):
    return _WORK(index)
