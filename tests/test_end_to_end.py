"""Train on the tiny sample, then use the saved model from the scripts, each in a new process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from sentiment import LABEL_NAMES
from sentiment.checkpoint import load

PYTHON = sys.executable


def run_script(repo_root: Path, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, *args], cwd=repo_root, capture_output=True, text=True, timeout=timeout)


def test_model_directory_is_self_contained(tiny_model_dir):
    assert {"config.json", "model.safetensors", "vocab.json"} <= {p.name for p in tiny_model_dir.iterdir()}
    config = json.loads((tiny_model_dir / "config.json").read_text(encoding="utf-8"))
    assert config["tokenizer"] == {"name": "mecab", "options": {}}
    assert config["labels"] == list(LABEL_NAMES) == ["부정", "긍정"]
    assert config["seed"] == config["train"]["seed"] == 42
    assert {"python", "torch", "numpy"} <= set(config["versions"])
    assert 0.0 <= config["metrics"]["test"]["accuracy"] <= 1.0
    assert config["metrics"]["test"]["n"] == 20  # every test review, the empty one included
    # every epoch that ran is on record, not only those up to the best one, with the time they took
    history = config["metrics"]["history"]
    assert [h["epoch"] for h in history] == [1, 2] and config["metrics"]["epochs_run"] == 2
    assert config["metrics"]["training_seconds"] == sum(h["seconds"] for h in history) > 0
    vocab = json.loads((tiny_model_dir / "vocab.json").read_text(encoding="utf-8"))
    assert vocab[:2] == ["<pad>", "<unk>"] and len(vocab) == config["model"]["vocab_size"]
    assert "최고" in vocab and "지루" in vocab
    saved = load(tiny_model_dir.parent)  # a run directory resolves to its best model
    assert saved.path == tiny_model_dir


def test_predict_script_json(repo_root, tiny_model_dir):
    proc = run_script(repo_root, "scripts/predict.py", "영화 최고", "--model", str(tiny_model_dir), "--json")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["text"] == "영화 최고"
    assert result["label"] in ("긍정", "부정")
    assert 0.0 <= result["prob_positive"] <= 1.0


def test_predict_script_file_with_two_workers_answers_as_one(repo_root, tiny_model_dir, tmp_path):
    # 2,500 lines: enough for tokenize_many to spawn worker processes
    reviews = tmp_path / "reviews.txt"
    lines = "".join(f"영화 최고 {i}\n시간 아깝다\n\n😡😡\nhello {i}\n" for i in range(500))
    reviews.write_text(lines, encoding="utf-8")
    outputs = []
    for workers in ("1", "2"):
        proc = run_script(repo_root, "scripts/predict.py", "--file", str(reviews), "--model", str(tiny_model_dir),
                          "--workers", workers)
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout)
    assert len(outputs[0].splitlines()) == 2500
    assert outputs[0] == outputs[1]


def test_predict_script_numpy_engine_never_imports_torch(repo_root, tiny_model_dir):
    code = (
        "import runpy, sys\n"
        "sys.argv = ['predict.py', '시간 아깝다', '--model', sys.argv[1]]\n"
        "runpy.run_path('scripts/predict.py', run_name='__main__')\n"
        "print('torch' in sys.modules)\n"
    )
    proc = run_script(repo_root, "-c", code, str(tiny_model_dir))
    assert proc.returncode == 0, proc.stderr
    label, prob, text = proc.stdout.splitlines()[0].split("\t")
    assert label in ("긍정", "부정") and 0.0 <= float(prob) <= 1.0 and text == "시간 아깝다"
    assert proc.stdout.splitlines()[-1] == "False"


def test_predict_script_without_a_model_is_one_line_error(repo_root, tmp_path):
    missing = tmp_path / "no-such-model"
    proc = run_script(repo_root, "scripts/predict.py", "영화 최고", "--model", str(missing))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("error: ") and str(missing) in proc.stderr
    assert "Traceback" not in proc.stderr


def test_evaluate_script(repo_root, tiny_model_dir, tiny_data_dir, tmp_path):
    model_dir = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model_dir)  # evaluate writes into the model directory
    test_file = tiny_data_dir / "ratings_test.txt"
    proc = run_script(repo_root, "scripts/evaluate.py", "--model", str(model_dir), "--file", str(test_file),
                      "--cache-dir", str(tmp_path / "cache"), "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    assert "accuracy" in proc.stdout
    metrics = json.loads((model_dir / "evaluation-ratings_test.json").read_text(encoding="utf-8"))
    assert metrics["n"] == 20 and 0.0 <= metrics["accuracy"] <= 1.0
    assert metrics["engine"] == "numpy"
    assert sum(map(sum, metrics["confusion_matrix"])) == 20
    assert not list(model_dir.glob(".*.tmp"))


def test_train_script_then_predict_from_its_model(repo_root, tiny_data_dir, tmp_path):
    run_dir = tmp_path / "run"
    proc = run_script(
        repo_root, "scripts/train.py", "--epochs", "1", "--embedding-dim", "8", "--hidden-size", "8",
        "--min-freq", "1", "--workers", "1", "--batch-size", "8", "--data-dir", str(tiny_data_dir),
        "--output-dir", str(run_dir), "--cache-dir", str(tmp_path / "cache"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "accuracy" in proc.stdout
    assert "dropped 2 empty training documents" in proc.stdout
    assert list((tmp_path / "cache").glob("tokens-mecab-*.json"))
    config = json.loads((run_dir / "model" / "config.json").read_text(encoding="utf-8"))
    assert config["model"]["hidden_size"] == 8 and config["train"]["epochs"] == 1
    # The run directory works as --model too: it resolves to the best model inside.
    proc = run_script(repo_root, "scripts/predict.py", "지루하고 별로", "--model", str(run_dir), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["label"] in ("긍정", "부정")
