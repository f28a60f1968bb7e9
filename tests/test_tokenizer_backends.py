"""Every installed tokenizer backend survives a trip through a saved model directory.

A model is trained on the tiny sample with each backend; a new process loads the directory with
`Predictor` and must rebuild the very same tokenizer (same tokens for the same texts). A backend
whose package is missing gives a one-line error naming the install command.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from sentiment.config import ModelConfig, TrainConfig
from sentiment.errors import MissingBackendError
from sentiment.preprocess import make_tokenizer
from sentiment.trainer import train

TEXTS = ["영화 정말 최고였어요 ㅋㅋㅋㅋ", "시간 아깝다... 최악!!", "hello 123 😡", ""]
PACKAGES = {"mecab": "mecab", "kiwi": "kiwipiepy", "sentencepiece": "sentencepiece", "char": None}
OPTIONS = {"sentencepiece": {"vocab_size": 300}}  # the tiny sample cannot fill 8,000 pieces

LOAD_AND_TOKENIZE = """
import json, sys
from sentiment.predict import Predictor
predictor = Predictor(sys.argv[1])
print(json.dumps([predictor.tokenizer.spec(), [predictor.tokenizer.tokenize(t) for t in json.loads(sys.argv[2])]],
                 ensure_ascii=False))
"""


def installed(name: str) -> bool:
    package = PACKAGES[name]
    return package is None or importlib.util.find_spec(package) is not None


@pytest.mark.parametrize("name", list(PACKAGES))
def test_backend_round_trips_through_model_directory(name, tiny_data_dir, repo_root, tmp_path):
    if not installed(name):
        pytest.skip(f"{PACKAGES[name]} is not installed")
    cfg = TrainConfig(data_dir=str(tiny_data_dir), output_dir=str(tmp_path / "run"), cache_dir=str(tmp_path / "c"),
                      epochs=1, batch_size=8, min_freq=1, workers=1, val_fraction=0.2, tokenizer=name,
                      tokenizer_options=OPTIONS.get(name, {}))
    train(cfg, ModelConfig(embedding_dim=8, hidden_size=8), log=lambda *a: None)
    model_dir = tmp_path / "run" / "model"
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    assert config["tokenizer"]["name"] == name

    here = make_tokenizer(name, config["tokenizer"]["options"], model_dir)
    proc = subprocess.run([sys.executable, "-c", LOAD_AND_TOKENIZE, str(model_dir), json.dumps(TEXTS)],
                          cwd=repo_root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    spec, tokens = json.loads(proc.stdout)
    assert spec == here.spec() == config["tokenizer"]
    assert tokens == [here.tokenize(t) for t in TEXTS]
    assert tokens[0] and tokens[-1] == []


def test_missing_backend_package_is_a_one_line_error(monkeypatch):
    import importlib

    real_import = importlib.import_module

    def fake_import(name, *args):
        if name == "kiwipiepy":
            raise ImportError("No module named 'kiwipiepy'")
        return real_import(name, *args)

    monkeypatch.setattr(importlib, "import_module", fake_import)
    with pytest.raises(MissingBackendError) as error:
        make_tokenizer("kiwi")
    message = str(error.value)
    assert "\n" not in message and "pip install" in message and "kiwi" in message


def test_missing_backend_in_predict_script_exits_6(tiny_model_dir, repo_root, tmp_path):
    """predict.py on a model whose tokenizer package is not installed: one line, exit code 6."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "mecab.py").write_text("raise ImportError('No module named mecab')\n", encoding="utf-8")
    env = {"PYTHONPATH": f"{blocker}", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "scripts/predict.py", "영화 최고", "--model", str(tiny_model_dir)],
                          cwd=repo_root, capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 6, proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "pip install python-mecab-ko" in proc.stderr
