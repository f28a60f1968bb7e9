"""Interruption and resumption: Ctrl-C or SIGTERM leaves the best model intact and a resumable state;
`--resume` ends with the same weights as an unbroken run; two runs never share a run directory."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file
from script_helpers import run_script

from sentiment import checkpoint, trainer
from sentiment.config import ModelConfig, TrainConfig
from sentiment.errors import ModelError, OutputError, SentimentError

REPO_ROOT = Path(__file__).resolve().parents[1]
QUIET = lambda *args: None  # noqa: E731


@pytest.fixture(autouse=True)
def one_thread():
    """Two CPUs are shared by everyone: one torch thread is faster here and the same on every run."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def configs(run_dir: Path, data_dir: Path, epochs: int) -> tuple[TrainConfig, ModelConfig]:
    cfg = TrainConfig(data_dir=str(data_dir), output_dir=str(run_dir), cache_dir=str(run_dir.parent / "cache"),
                      tokenizer="char", min_freq=1, max_len=30, epochs=epochs, batch_size=8, patience=10,
                      val_fraction=0.2, device="cpu", workers=1, seed=7)
    return cfg, ModelConfig(embedding_dim=8, hidden_size=8, dropout=0.2)


def weights(model_dir: Path) -> dict[str, np.ndarray]:
    return load_file(str(model_dir / checkpoint.WEIGHTS_FILE))


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for name in wa:
        np.testing.assert_array_equal(wa[name], wb[name], err_msg=name)


def train_state(run_dir: Path) -> dict:
    return torch.load(run_dir / trainer.RESUME_SUBDIR / trainer.STATE_FILE, weights_only=True)


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory, tiny_data_dir) -> Path:
    """Three epochs without a break: what every resumed run must reproduce."""
    torch.set_num_threads(1)
    run_dir = tmp_path_factory.mktemp("straight") / "run"
    trainer.train(*configs(run_dir, tiny_data_dir, epochs=3), log=QUIET)
    return run_dir


def test_ctrl_c_after_epoch_2_keeps_best_model_and_resume_state(straight_run, tiny_data_dir, tmp_path,
                                                                 monkeypatch):
    run_dir = tmp_path / "run"
    real_train_epoch = trainer.train_epoch
    epochs_started = []

    def ctrl_c_in_epoch_3(*args, **kwargs):
        epochs_started.append(1)
        if len(epochs_started) == 3:
            raise KeyboardInterrupt
        return real_train_epoch(*args, **kwargs)

    monkeypatch.setattr(trainer, "train_epoch", ctrl_c_in_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        trainer.train(*configs(run_dir, tiny_data_dir, epochs=3), log=QUIET)
    monkeypatch.undo()

    best = checkpoint.load(run_dir / trainer.MODEL_SUBDIR)  # intact and loadable
    assert best.config["metrics"]["epoch"] in (1, 2)
    state = train_state(run_dir)
    assert set(state) >= {"model", "optimizer", "scheduler", "progress", "rng"}
    assert state["progress"]["epoch"] == 2 and len(state["progress"]["history"]) == 2
    assert {"best_val", "bad_epochs"} <= set(state["progress"])  # early-stopping state
    assert not [p.name for p in run_dir.iterdir() if ".tmp-" in p.name or ".old-" in p.name]

    with pytest.raises(AssertionError):  # epoch 3 changes the weights: the comparison below means something
        assert_same_weights(run_dir / trainer.RESUME_SUBDIR, straight_run / trainer.RESUME_SUBDIR)

    trainer.train(*configs(run_dir, tiny_data_dir, epochs=3), resume=True, log=QUIET)
    assert train_state(run_dir)["progress"]["epoch"] == 3
    assert_same_weights(run_dir / trainer.RESUME_SUBDIR, straight_run / trainer.RESUME_SUBDIR)
    assert_same_weights(run_dir / trainer.MODEL_SUBDIR, straight_run / trainer.MODEL_SUBDIR)


def test_resume_with_more_epochs_equals_straight_run(straight_run, tiny_data_dir, tmp_path, capsys):
    """Two epochs, then `train.py --resume RUN --epochs 3`; the run directory moved in between."""
    first = tmp_path / "first"
    trainer.train(*configs(first, tiny_data_dir, epochs=2), log=QUIET)
    moved = tmp_path / "moved"
    first.rename(moved)
    code, _, err = run_script("train", ["--resume", str(moved), "--epochs", "3"], capsys)
    assert code == 0, err
    assert not first.exists()  # written where the run is now, not where it was
    cfg = checkpoint.load(moved / trainer.RESUME_SUBDIR).config["train"]
    assert (cfg["epochs"], cfg["output_dir"]) == (3, str(moved))
    assert_same_weights(moved / trainer.RESUME_SUBDIR, straight_run / trainer.RESUME_SUBDIR)
    assert_same_weights(moved / trainer.MODEL_SUBDIR, straight_run / trainer.MODEL_SUBDIR)


def test_resume_refuses_to_change_the_model(straight_run, tmp_path, capsys):
    run_dir = tmp_path / "run"
    shutil.copytree(straight_run, run_dir)
    code, _, err = run_script("train", ["--resume", str(run_dir), "--hidden-size", "32"], capsys)
    assert code == 1
    assert err.startswith("error: --resume") and "hidden_size" in err and err.count("\n") == 1


def test_resume_refuses_changed_data(straight_run, tiny_data_dir, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(straight_run, run_dir)
    data_dir = tmp_path / "data"
    shutil.copytree(tiny_data_dir, data_dir)
    train_file = data_dir / "ratings_train.txt"
    train_file.write_text(train_file.read_text(encoding="utf-8").replace("최고", "굉장"), encoding="utf-8")
    with pytest.raises(SentimentError, match="not the data the run started with"):
        trainer.train(*configs(run_dir, data_dir, epochs=4), resume=True, log=QUIET,
                      overrides={"data_dir": str(data_dir), "epochs": 4})


def test_nothing_to_resume_is_exit_2(tmp_path, capsys):
    code, _, err = run_script("train", ["--resume", str(tmp_path / "never-trained")], capsys)
    assert code == 2
    assert err.startswith("error: nothing to resume") and err.count("\n") == 1


def test_unreadable_resume_state_is_a_model_error(straight_run, tiny_data_dir, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(straight_run, run_dir)
    state_file = run_dir / trainer.RESUME_SUBDIR / trainer.STATE_FILE
    state_file.write_bytes(state_file.read_bytes()[:100])
    with pytest.raises(ModelError, match="unreadable resume state"):
        trainer.train(*configs(run_dir, tiny_data_dir, epochs=4), resume=True, log=QUIET)


def test_second_run_on_a_locked_directory_refuses(tiny_data_dir, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with open(run_dir / "train.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what a first run holds while it trains
        with pytest.raises(OutputError, match="another training run"):
            trainer.train(*configs(run_dir, tiny_data_dir, epochs=1), log=QUIET)
        result = subprocess.run(
            [sys.executable, str(REPO_ROOT / "scripts" / "train.py"), "--data-dir", str(tiny_data_dir),
             "--output-dir", str(run_dir), "--tokenizer", "char"],
            capture_output=True, text=True, timeout=120,
        )
    assert result.returncode == 5
    assert result.stderr.startswith("error: another training run") and result.stderr.count("\n") == 1
    assert sorted(p.name for p in run_dir.iterdir()) == ["train.lock"]  # nothing of the first run touched


def test_sigterm_stops_training_with_130_and_leaves_a_loadable_model(tiny_data_dir, tmp_path):
    run_dir = tmp_path / "run"
    command = [sys.executable, str(REPO_ROOT / "scripts" / "train.py"), "--data-dir", str(tiny_data_dir),
               "--output-dir", str(run_dir), "--cache-dir", str(tmp_path / "cache"), "--tokenizer", "char",
               "--min-freq", "1", "--epochs", "1000", "--patience", "1000", "--batch-size", "8",
               "--embedding-dim", "8", "--hidden-size", "8", "--val-fraction", "0.2", "--device", "cpu",
               "--workers", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        while not (run_dir / trainer.RESUME_SUBDIR / checkpoint.CONFIG_FILE).exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no epoch finished within 60 s"
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert err.rstrip().endswith("interrupted")
    assert "--resume" in out
    checkpoint.load(run_dir / trainer.MODEL_SUBDIR)
    checkpoint.load(run_dir / trainer.RESUME_SUBDIR)
    assert train_state(run_dir)["progress"]["epoch"] >= 1
    leftovers = [p.name for p in run_dir.iterdir() if ".tmp-" in p.name or ".old-" in p.name]
    assert leftovers == []
