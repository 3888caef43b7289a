"""Independent coding streams, one worker process each: ``N`` cores code ``N`` streams at once.

The symbol stream is cut into ``threads`` contiguous parts (:func:`stream_sizes`); each part is coded by its own
worker (its own lanes, range coder and, in adaptive mode, its own copy of the model) in a forked process running
torch on one thread. The streams share one thing: the copy model's view of the bases. All streams' lanes form one
"world" grid; after every block each stream indexes the other streams' block just coded
(:meth:`bioLM.compression.match.MatchModel.absorb`). The encoder knows the whole world from the start; the
decoders exchange blocks through a shared-memory world and wait for each other at a barrier after each block. A
stream's arithmetic depends only on the world's contents at those points, so the file is the same whether the
streams ran in processes, threads or one after another, and decoding may use any number of cores.

Why processes: the per-step work outside torch's kernels (copy model, softmax, range coder, op dispatch) holds
the GIL, and two lane groups on Python threads gave 1.1x where two processes give 1.8x on two cores
(benchmarks/RESULTS.md). Fork (not spawn) shares the loaded model without pickling it; torch must stay on one
thread in a forked child (OpenMP's pool does not survive fork), which also makes the arithmetic the same in every
schedule. Without fork, or with fewer cores than streams, the streams run on threads (together) or one after
another here.
"""

from __future__ import annotations

import mmap
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import TypeVar

import numpy as np
import torch

from bioLM.compression.stepper import lane_sizes
from bioLM.hardware import single_thread

T = TypeVar("T")
STREAM_LANES = 64
"""A stream is split off only when every part still fills this many lanes of ``min_lane_tokens`` tokens."""
_WORK: tuple[Callable, object] | None = None


def stream_sizes(n_symbols: int, streams: int, min_lane_tokens: int) -> list[int]:
    """Symbols per stream (contiguous parts, in order): at most ``streams``, each >= ``STREAM_LANES *
    min_lane_tokens`` unless there is only one."""
    return lane_sizes(n_symbols, streams, STREAM_LANES * min_lane_tokens)


def available_cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def shared_array(shape: tuple[int, ...], fill: int) -> np.ndarray:
    """An int8 array in anonymous shared memory: forked workers write into the same bytes."""
    size = max(1, int(np.prod(shape)))
    array = np.frombuffer(mmap.mmap(-1, size), dtype=np.int8, count=size)[:int(np.prod(shape))].reshape(shape)
    array.fill(fill)
    return array


def run_streams(work: Callable[[int, object], T], count: int, together: bool = False) -> list[T]:
    """``[work(0, barrier), ..., work(count - 1, barrier)]`` with torch on one thread.

    ``together``: the calls wait for each other at ``barrier`` (a ``threading.Barrier``-like object of
    ``count`` parties; None otherwise), so they all run at once: in forked workers when there are ``count``
    free cores, else on threads here. Otherwise: forked workers (as many as free cores) or one after another
    here. A failing call aborts the barrier; the first error that is not a broken barrier is raised.
    """
    global _WORK
    fork = "fork" in multiprocessing.get_all_start_methods()
    together = together and count > 1
    workers = min(count, available_cores())
    if count == 1 or not fork or workers < (count if together else 2):
        if not together:
            with single_thread():
                return [work(index, None) for index in range(count)]
        barrier = threading.Barrier(count)
        with single_thread(), ThreadPoolExecutor(count) as pool:
            return _gather([pool.submit(_guarded, work, barrier, index) for index in range(count)])
    barrier = multiprocessing.get_context("fork").Barrier(count) if together else None
    _WORK = (work, barrier)
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                 initializer=torch.set_num_threads, initargs=(1,)) as pool:
            return _gather([pool.submit(_call, index) for index in range(count)])  # a dead worker raises
    finally:
        _WORK = None


def _guarded(work: Callable, barrier, index: int):
    try:
        return work(index, barrier)
    except BaseException:
        if barrier is not None:
            barrier.abort()  # the other streams stop waiting for this one
        raise


def _call(index: int):
    work, barrier = _WORK
    return _guarded(work, barrier, index)


def _gather(futures: list) -> list:
    failed = [error for error in (future.exception() for future in futures) if error is not None]
    if failed:  # the stream that failed, not the ones whose barrier it broke
        raise next((e for e in failed if not isinstance(e, threading.BrokenBarrierError)), failed[0])
    return [future.result() for future in futures]
