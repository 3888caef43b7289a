"""benchmarks/speed.py: ratio collection, the Markdown table, and calling a script's main in-process."""

import json
import sys


def test_ratios_are_collected_from_nested_json(benchmark_script):
    speed = benchmark_script("speed")
    scripts = {"io_speed": {"plain": {"biolm_mb_s": 300.0, "biolm_vs_pysam": 0.9}},
               "embed_speed": {"results": [{"task": "proteins", "speedup": 4.2, "naive": {"seconds": 3}}]},
               "train_speed": {"speed": {"mfu": 0.3, "speedup_vs_hf_llama": 1.7, "flag": True}}}
    assert speed.ratios(scripts) == [("io_speed", "plain.biolm_vs_pysam", 0.9),
                                     ("embed_speed", "results[proteins].speedup", 4.2),
                                     ("train_speed", "speed.mfu", 0.3),
                                     ("train_speed", "speed.speedup_vs_hf_llama", 1.7)]


def test_run_script_captures_json_and_errors(tmp_path, monkeypatch, benchmark_script):
    speed = benchmark_script("speed")
    (tmp_path / "fake_bench.py").write_text(
        "import json, sys\ndef main(argv=None):\n    print(json.dumps({'argv': argv, 'speedup': 2.0}))\n")
    (tmp_path / "broken_bench.py").write_text("def main():\n    raise RuntimeError('boom')\n")
    monkeypatch.setattr(speed, "HERE", tmp_path)
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    result = speed.run_script("fake_bench", ["--quick"])
    assert result["argv"] == ["--quick"] and result["speedup"] == 2.0
    assert speed.run_script("broken_bench", [])["error"] == "RuntimeError: boom"


def test_markdown_lists_peaks_and_ratios(benchmark_script):
    speed = benchmark_script("speed")
    report = {"quick": True, "device": "cpu", "matmul_peak": {"bf16_matmul_tflops": 1.0},
              "memory_bandwidth": {"copy_gb_s": 10.0}, "ratios": [("io_speed", "plain.biolm_vs_pysam", 0.9)],
              "scripts": {"io_speed": {}, "x": {"error": "E"}},
              "machine": {"platform": "p", "cpu_count": 2, "torch_threads": 1, "gpu": None,
                          "load_average_before": 1.0, "load_average_after": 2.0}}
    text = speed.markdown(report)
    assert "| bf16_matmul_tflops | 1.0 |" in text and "| io_speed | plain.biolm_vs_pysam | 0.9 |" in text
    assert "| x | error | E |" in text
    assert json.dumps(report)


def test_targets_are_not_reported_as_measurements(benchmark_script):
    speed = benchmark_script("speed")
    scripts = {"train_speed": {"speed": {"mfu": 0.3, "targets": {"mfu": 0.35, "speedup_vs_hf_llama": 1.5}}}}
    assert speed.ratios(scripts) == [("train_speed", "speed.mfu", 0.3)]
