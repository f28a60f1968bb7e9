"""scripts/benchmark.py --quick runs the whole measuring path on the tiny sample and writes its files.

It asserts the shape of the output, never a timing: speed is judged by the full benchmark run.
"""

from __future__ import annotations

import json
import subprocess
import sys


def test_quick_benchmark_writes_json_and_markdown(repo_root, tmp_path):
    proc = subprocess.run([sys.executable, "scripts/benchmark.py", "--quick", "--out-dir", str(tmp_path),
                           "--cache-dir", str(tmp_path / "cache")],
                          cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    [json_file] = tmp_path.glob("benchmark-*-quick.json")
    report = json.loads(json_file.read_text(encoding="utf-8"))
    assert set(report) >= {"machine", "accuracy", "tokenization", "training", "inference", "ratios"}
    assert report["accuracy"]["test_reviews"] == 20
    for system in ("rnn", "tfidf_svm"):
        assert 0.0 <= report["accuracy"][system]["accuracy"] <= 1.0
    assert report["inference"]["cli_cold_start"]["numpy"]["median_seconds"] > 0
    assert all(value == value for value in report["ratios"].values())  # no NaN
    assert set(report["ratios"]) == {"rnn_minus_svm_accuracy_points", "torch_over_numpy_cold_start",
                                     "numpy_over_torch_batch_model_only", "tokenizer_2_workers_over_1"}
    markdown = json_file.with_suffix(".md").read_text(encoding="utf-8")
    assert markdown.count("\n|") >= 10 and "TF-IDF" in markdown
