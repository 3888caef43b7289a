"""The heads call BLAS on small matrices; OpenBLAS threads spin-waiting on a shared core make that ~50x
slower, so every heads test runs BLAS on one thread."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True)
def one_blas_thread():
    with threadpool_limits(1):
        yield
