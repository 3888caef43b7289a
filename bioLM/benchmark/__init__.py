"""Benchmark suites: one command from a model (or a pretraining recipe) to a report with tables, 95%
bootstrap confidence intervals and plots, against baselines measured in the same run.

    from bioLM.benchmark import Suite, run_benchmark
    run_benchmark(Suite.from_yaml("benchmarks/suites/dna-small.yaml"), "../shared/data", "out/dna-small")
"""

from bioLM.benchmark.suite import Suite


def __getattr__(name: str):
    """``run_benchmark`` is imported on first use (it pulls in torch, scikit-learn and the model)."""
    if name == "run_benchmark":
        from bioLM.benchmark.run import run_benchmark

        return run_benchmark
    raise AttributeError(name)


__all__ = ["Suite", "run_benchmark"]
