"""Shared fixtures: the hand-written tiny NSMC sample and a model trained on it once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY_DATA_DIR = REPO_ROOT / "tests" / "data" / "nsmc_tiny"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def tiny_data_dir() -> Path:
    """Folder with the hand-written ratings_train.txt (40 rows) and ratings_test.txt (20 rows)."""
    return TINY_DATA_DIR


@pytest.fixture(scope="session")
def tiny_run_dir(tmp_path_factory, tiny_data_dir) -> Path:
    """A training run directory (model/, resume/) from two epochs on the tiny sample. Treat as read-only."""
    from sentiment.config import ModelConfig, TrainConfig
    from sentiment.trainer import train

    run_dir = tmp_path_factory.mktemp("tiny_run")
    cfg = TrainConfig(
        data_dir=str(tiny_data_dir),
        output_dir=str(run_dir),
        cache_dir=str(run_dir / "cache"),
        epochs=2,
        batch_size=8,
        min_freq=1,
        workers=1,
        val_fraction=0.2,
        tokenizer="mecab",
    )
    train(cfg, ModelConfig(embedding_dim=16, hidden_size=16), log=lambda *a: None)
    return run_dir


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_run_dir) -> Path:
    """The best model of the tiny run: config.json, model.safetensors, vocab.json. Treat as read-only
    (copy it with shutil.copytree before changing anything in it)."""
    return tiny_run_dir / "model"
