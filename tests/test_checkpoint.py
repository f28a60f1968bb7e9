"""The model directory: every broken one is a one-line ModelError (exit code 2), nothing on the loading
path unpickles, and a save is atomic even when interrupted or when the disk fails half-way."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest
from script_helpers import run_script

from sentiment import checkpoint
from sentiment.errors import ModelError, OutputError
from sentiment.predict import Predictor

TEXTS = ["정말 최고의 영화", "시간 아깝다 최악", ""]


@pytest.fixture
def model_copy(tiny_model_dir, tmp_path) -> Path:
    """A private copy of the tiny model, free to break."""
    return Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))


def edit_config(model_dir: Path, change) -> None:
    file = model_dir / checkpoint.CONFIG_FILE
    config = json.loads(file.read_text(encoding="utf-8"))
    change(config)
    file.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")


# --- each broken directory: ModelError from load, one line and exit code 2 from predict.py ---------


def _no_config(d):
    (d / checkpoint.CONFIG_FILE).unlink()


def _no_weights(d):
    (d / checkpoint.WEIGHTS_FILE).unlink()


def _no_vocab(d):
    (d / checkpoint.VOCAB_FILE).unlink()


def _truncated_weights(d):
    file = d / checkpoint.WEIGHTS_FILE
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])


def _corrupt_weights(d):
    (d / checkpoint.WEIGHTS_FILE).write_bytes(np.random.default_rng(0).bytes(4096))


def _config_not_json(d):
    (d / checkpoint.CONFIG_FILE).write_text('{"model": ', encoding="utf-8")


def _config_a_list(d):
    (d / checkpoint.CONFIG_FILE).write_text("[1, 2]", encoding="utf-8")


def _shapes_disagree(d):
    edit_config(d, lambda c: c["model"].update(hidden_size=c["model"]["hidden_size"] + 1))


def _layers_disagree(d):
    edit_config(d, lambda c: c["model"].update(num_layers=2))


def _vocab_longer_than_embedding(d):
    file = d / checkpoint.VOCAB_FILE
    file.write_text(json.dumps(json.loads(file.read_text(encoding="utf-8")) + ["새단어"]), encoding="utf-8")


def _vocab_not_a_vocabulary(d):
    (d / checkpoint.VOCAB_FILE).write_text('{"<pad>": 0}', encoding="utf-8")


def _newer_format(d):
    edit_config(d, lambda c: c.update(format_version=checkpoint.FORMAT_VERSION + 1))


def _size_not_a_number(d):
    edit_config(d, lambda c: c["model"].update(hidden_size="16"))


def _unknown_nonlinearity(d):
    edit_config(d, lambda c: c["model"].update(nonlinearity="gelu"))


def _three_labels(d):
    edit_config(d, lambda c: c.update(labels=["a", "b", "c"]))


def _max_len_zero(d):
    edit_config(d, lambda c: c.update(max_len=0))


def _no_tokenizer(d):
    edit_config(d, lambda c: c.pop("tokenizer"))


def _unknown_tokenizer(d):
    edit_config(d, lambda c: c.update(tokenizer={"name": "nonesuch", "options": {}}))


def _bad_tokenizer_options(d):
    edit_config(d, lambda c: c.update(tokenizer={"name": "okt", "options": {"colour": "blue"}}))


def _integer_weights(d):
    from safetensors.numpy import load_file, save_file

    weights = load_file(str(d / checkpoint.WEIGHTS_FILE))
    weights["head.bias"] = weights["head.bias"].astype(np.int32)
    save_file(weights, str(d / checkpoint.WEIGHTS_FILE))


BROKEN = [_no_config, _no_weights, _no_vocab, _truncated_weights, _corrupt_weights, _config_not_json,
          _config_a_list, _shapes_disagree, _layers_disagree, _vocab_longer_than_embedding,
          _vocab_not_a_vocabulary, _newer_format, _size_not_a_number, _unknown_nonlinearity, _three_labels,
          _max_len_zero, _no_tokenizer, _unknown_tokenizer, _bad_tokenizer_options, _integer_weights]


@pytest.mark.parametrize("breakage", BROKEN, ids=lambda f: f.__name__.strip("_"))
def test_broken_model_dir_is_one_line_error_exit_2(breakage, model_copy, capsys):
    breakage(model_copy)
    with pytest.raises(ModelError):
        Predictor(model_copy)
    code, out, err = run_script("predict", ["--model", str(model_copy), "영화 최고"], capsys)
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and err.count("\n") == 1, err


def test_missing_model_dir_is_exit_2(tmp_path, capsys):
    with pytest.raises(ModelError, match="no model directory"):
        checkpoint.load(tmp_path / "nowhere")
    code, _, err = run_script("predict", ["--model", str(tmp_path / "nowhere"), "영화 최고"], capsys)
    assert code == 2 and "train" in err and err.count("\n") == 1


def test_run_dir_without_a_model_says_train_first(tmp_path, capsys):
    # What a training run that stopped before its first epoch ended (e.g. a failed download) leaves.
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "train.lock").write_text("", encoding="utf-8")
    with pytest.raises(ModelError, match="no trained model"):
        checkpoint.load(run_dir)
    for script, argv in [("predict", ["--model", str(run_dir), "영화 최고"]), ("evaluate", ["--model", str(run_dir)])]:
        code, _, err = run_script(script, argv, capsys)
        assert code == 2 and "scripts/train.py" in err and err.count("\n") == 1, err


def test_newer_format_says_upgrade(model_copy):
    _newer_format(model_copy)
    with pytest.raises(ModelError, match="upgrade"):
        checkpoint.load(model_copy)


def test_evaluate_with_broken_model_is_exit_2(model_copy, tiny_data_dir, tmp_path, capsys):
    _no_weights(model_copy)
    argv = ["--model", str(model_copy), "--file", str(tiny_data_dir / "ratings_test.txt"),
            "--cache-dir", str(tmp_path / "cache")]
    code, _, err = run_script("evaluate", argv, capsys)
    assert code == 2 and err.count("\n") == 1


# --- no code from the model directory ------------------------------------------------------------


class _Payload:
    """Unpickling this writes a marker file: proof that something unpickled it."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "pwned"))


def test_loading_and_predicting_never_unpickles(model_copy, tmp_path, monkeypatch):
    marker = tmp_path / "unpickled"
    for name in ["model.pt", "train_state.pt", "pytorch_model.bin", "vocab.pkl"]:
        (model_copy / name).write_bytes(pickle.dumps(_Payload(str(marker))))

    def refuse(*args, **kwargs):
        raise AssertionError("something on the loading path unpickled")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    import torch

    monkeypatch.setattr(torch, "load", refuse)
    for engine in ["numpy", "torch"]:
        predictions = Predictor(model_copy, engine=engine).predict(TEXTS)
        assert len(predictions) == len(TEXTS)
    assert not marker.exists()


# --- a model saved from (CUDA) tensors loads on the CPU --------------------------------------------


def test_safetensors_written_from_torch_tensors_loads_in_numpy(model_copy):
    import torch
    from safetensors.torch import save_file

    from sentiment.model import RNNClassifier

    before = Predictor(model_copy).predict(TEXTS)
    saved = checkpoint.load(model_copy)
    model = RNNClassifier.from_weights(saved.model_config, saved.weights)
    # What a CUDA run would write if it saved tensors instead of NumPy arrays (.cpu() is implied
    # by safetensors: the file has no device). Contiguous copies, as safetensors requires.
    tensors = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    assert all(isinstance(v, torch.Tensor) for v in tensors.values())
    save_file(tensors, str(model_copy / checkpoint.WEIGHTS_FILE))
    for engine in ["numpy", "torch"]:
        after = Predictor(model_copy, engine=engine).predict(TEXTS)
        np.testing.assert_allclose([p.prob_positive for p in after], [p.prob_positive for p in before],
                                   rtol=1e-5, atol=1e-6)


def test_half_precision_weights_load(model_copy):
    saved = checkpoint.load(model_copy)
    checkpoint.save(model_copy, {k: v.astype(np.float16) for k, v in saved.weights.items()},
                    saved.config, saved.vocab)
    for p in Predictor(model_copy).predict(TEXTS):
        assert 0.0 <= p.prob_positive <= 1.0


# --- atomic save ----------------------------------------------------------------------------------


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


def test_interrupt_between_the_two_renames_loses_nothing(model_copy, monkeypatch):
    """Ctrl-C right after the old directory moved aside: the save completes, then the interrupt."""
    saved = checkpoint.load(model_copy)
    config = {**saved.config, "metrics": {"marker": "new"}}
    real_replace = os.replace
    calls = []

    def replace_then_ctrl_c(src, dst):
        real_replace(src, dst)
        calls.append(dst)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(checkpoint.os, "replace", replace_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(model_copy, saved.weights, config, saved.vocab)
    assert len(calls) == 2  # both renames happened before the interrupt was raised
    assert checkpoint.load(model_copy).config["metrics"] == {"marker": "new"}
    assert _leftovers(model_copy.parent) == []


def test_sigterm_during_save_is_delivered_after_it(model_copy, monkeypatch):
    saved = checkpoint.load(model_copy)
    received = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    try:
        real_save = saved.vocab.save

        def save_then_sigterm(path):
            real_save(path)
            os.kill(os.getpid(), signal.SIGTERM)
            assert received == []  # held back while the directory is incomplete

        monkeypatch.setattr(saved.vocab, "save", save_then_sigterm)
        checkpoint.save(model_copy, saved.weights, saved.config, saved.vocab)
        assert received == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)
    checkpoint.load(model_copy)


def test_failed_rename_keeps_the_old_model(model_copy, monkeypatch):
    saved = checkpoint.load(model_copy)
    real_replace = os.replace
    calls = []

    def second_rename_fails(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(checkpoint.os, "replace", second_rename_fails)
    with pytest.raises(OutputError, match="No space left"):
        checkpoint.save(model_copy, saved.weights, {**saved.config, "metrics": {"marker": "new"}}, saved.vocab)
    monkeypatch.undo()
    assert checkpoint.load(model_copy).config["metrics"] == saved.config["metrics"]
    assert _leftovers(model_copy.parent) == []


def test_failed_write_keeps_the_old_model_and_no_temp_dir(model_copy, monkeypatch):
    saved = checkpoint.load(model_copy)

    def disk_full(path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(saved.vocab, "save", disk_full)
    with pytest.raises(OutputError):
        checkpoint.save(model_copy, saved.weights, saved.config, saved.vocab)
    checkpoint.load(model_copy)
    assert _leftovers(model_copy.parent) == []
