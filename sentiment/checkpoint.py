"""The model directory: everything prediction needs, written atomically, read by one `load`.

    model_dir/
      config.json          format version, model shape, tokenizer, labels, training run, metrics, versions
      model.safetensors    weights (no pickle; readable by NumPy alone)
      vocab.json           the vocabulary, id order
      sentencepiece.model  only for the sentencepiece tokenizer

Nothing here imports torch, so the NumPy engine can load and serve a model without it.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sentiment import LABEL_NAMES
from sentiment.config import ModelConfig
from sentiment.errors import ModelError, OutputError
from sentiment.vocab import Vocab

FORMAT_VERSION = 1
CONFIG_FILE, WEIGHTS_FILE, VOCAB_FILE = "config.json", "model.safetensors", "vocab.json"


@dataclass
class SavedModel:
    """A loaded model directory: NumPy weights plus what is needed to turn text into ids."""

    path: Path
    config: dict  # the whole config.json
    model_config: ModelConfig
    weights: dict[str, np.ndarray]
    vocab: Vocab

    @property
    def tokenizer_spec(self) -> dict:
        return self.config["tokenizer"]

    @property
    def max_len(self) -> int:
        return int(self.config["max_len"])

    @property
    def labels(self) -> list[str]:
        return list(self.config.get("labels", LABEL_NAMES))


def expected_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every weight, as torch names them in RNNClassifier's state dict."""
    h, d = config.hidden_size, config.num_directions
    shapes = {"embedding.weight": (config.vocab_size, config.embedding_dim)}
    for layer in range(config.num_layers):
        input_size = config.embedding_dim if layer == 0 else h * d
        for suffix in ["", "_reverse"][:d]:
            shapes[f"rnn.weight_ih_l{layer}{suffix}"] = (h, input_size)
            shapes[f"rnn.weight_hh_l{layer}{suffix}"] = (h, h)
            shapes[f"rnn.bias_ih_l{layer}{suffix}"] = (h,)
            shapes[f"rnn.bias_hh_l{layer}{suffix}"] = (h,)
    shapes["head.weight"] = (config.num_classes, h * d)
    shapes["head.bias"] = (config.num_classes,)
    return shapes


def save(
    path: str | os.PathLike,
    weights: dict[str, np.ndarray],
    config: dict,
    vocab: Vocab,
    tokenizer=None,
    extra: dict | None = None,
) -> None:
    """Write a model directory atomically: a complete new one replaces the old one, or nothing changes.

    `config` must hold at least "model" (ModelConfig as a dict), "tokenizer" and "max_len".
    `extra` maps more file names to functions that write them (the trainer's resume state).
    """
    from safetensors.numpy import save_file

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    old = path.with_name(f".{path.name}.old-{os.getpid()}")
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        save_file({k: np.ascontiguousarray(v) for k, v in weights.items()}, str(tmp / WEIGHTS_FILE))
        vocab.save(tmp / VOCAB_FILE)
        if tokenizer is not None:
            tokenizer.save(tmp)
        for name, write in (extra or {}).items():
            write(tmp / name)
        full = {"format_version": FORMAT_VERSION, "labels": list(LABEL_NAMES), **config}
        (tmp / CONFIG_FILE).write_text(json.dumps(full, ensure_ascii=False, indent=2), encoding="utf-8")
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
    except OSError as e:
        raise OutputError(f"cannot write model directory {path}: {e.strerror or e}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def load(path: str | os.PathLike) -> SavedModel:
    """The one way to read a model directory. Checks every file and shape; never runs code from it."""
    path = Path(path)
    if not (path / CONFIG_FILE).exists() and (path / "model" / CONFIG_FILE).exists():
        path = path / "model"  # a training run directory: its best model
    if not path.is_dir():
        raise ModelError(f"no model directory at {path}: train one first with `python scripts/train.py`")
    config = _read_config(path)
    try:
        model_config = ModelConfig.from_dict(config["model"])
        config["tokenizer"]["name"], int(config["max_len"])
    except (KeyError, TypeError, ValueError) as e:
        raise ModelError(f"{path / CONFIG_FILE}: missing or invalid entry {e}") from None
    weights = _read_weights(path)
    _check_shapes(path, model_config, weights)
    vocab = _read_vocab(path)
    if len(vocab) != model_config.vocab_size:
        raise ModelError(
            f"{path / VOCAB_FILE}: {len(vocab)} tokens but the embedding has {model_config.vocab_size} rows"
        )
    return SavedModel(path, config, model_config, weights, vocab)


def _read_config(path: Path) -> dict:
    file = path / CONFIG_FILE
    try:
        config = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{file}: missing (an incomplete model directory)") from None
    except (OSError, ValueError) as e:
        raise ModelError(f"{file}: unreadable: {e}") from None
    if not isinstance(config, dict):
        raise ModelError(f"{file}: not a JSON object")
    version = config.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelError(
            f"{file}: format version {version!r} is not supported (this version reads up to "
            f"{FORMAT_VERSION}); upgrade nsmc-sentiment"
        )
    return config


def _read_weights(path: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    file = path / WEIGHTS_FILE
    if not file.exists():
        raise ModelError(f"{file}: missing (an incomplete model directory)")
    try:
        return load_file(str(file))
    except Exception as e:  # safetensors raises its own error type for corrupt or truncated files
        raise ModelError(f"{file}: corrupt or truncated weights ({e})") from None


def _check_shapes(path: Path, config: ModelConfig, weights: dict[str, np.ndarray]) -> None:
    expected = expected_shapes(config)
    if set(weights) != set(expected):
        missing, extra = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
        raise ModelError(f"{path}: weights do not match the config (missing {missing}, unexpected {extra})")
    for name, shape in expected.items():
        if tuple(weights[name].shape) != shape:
            raise ModelError(
                f"{path}: weight {name} has shape {tuple(weights[name].shape)}, the config says {shape}"
            )


def _read_vocab(path: Path) -> Vocab:
    file = path / VOCAB_FILE
    try:
        return Vocab.load(file)
    except FileNotFoundError:
        raise ModelError(f"{file}: missing (an incomplete model directory)") from None
    except (OSError, ValueError, TypeError) as e:
        raise ModelError(f"{file}: unreadable vocabulary: {e}") from None
