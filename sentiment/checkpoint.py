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
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sentiment import LABEL_NAMES
from sentiment.config import ModelConfig
from sentiment.errors import ModelError, OutputError
from sentiment.vocab import PAD_ID, Vocab

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
    Ctrl-C and SIGTERM wait until the directory is complete: between the two renames there is
    no model directory at `path`, and an interrupt there would lose the model.
    """
    from safetensors.numpy import save_file

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    old = path.with_name(f".{path.name}.old-{os.getpid()}")
    with _interrupts_deferred():
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
            if old.exists() and not path.exists():
                os.replace(old, path)  # the new one could not be moved in: keep the old one
            raise OutputError(f"cannot write model directory {path}: {e.strerror or e}") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(old, ignore_errors=True)


@contextmanager
def _interrupts_deferred():
    """Hold back Ctrl-C and SIGTERM while the block runs, then deliver them to the usual handlers.

    Python-level handlers rather than a signal mask: a mask covers one thread, and torch or tqdm
    threads would still take the signal.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread can set handlers, and only it receives Python signals
        return
    received: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: received.append(signum))
                for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
        if received:
            signal.raise_signal(received[0])


def load(path: str | os.PathLike) -> SavedModel:
    """The one way to read a model directory. Checks every file and shape; never runs code from it."""
    path = Path(path)
    if not (path / CONFIG_FILE).exists() and (path / "model" / CONFIG_FILE).exists():
        path = path / "model"  # a training run directory: its best model
    if not path.is_dir():
        raise ModelError(f"no model directory at {path}: train one first with `python scripts/train.py`")
    if not any((path / name).exists() for name in (CONFIG_FILE, WEIGHTS_FILE, VOCAB_FILE)):
        # e.g. the run directory of a training run that stopped before its first epoch ended
        raise ModelError(f"no trained model in {path}: train one first with `python scripts/train.py`")
    config = _read_config(path)
    model_config = _check_config(path / CONFIG_FILE, config)
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


def _check_config(file: Path, config: dict) -> ModelConfig:
    """The model shape, after checking the type of every entry that prediction reads."""
    try:
        model_config = ModelConfig.from_dict(config["model"])
        tokenizer, max_len = config["tokenizer"], config["max_len"]
        labels = config.get("labels", list(LABEL_NAMES))
    except (KeyError, TypeError, AttributeError) as e:
        raise ModelError(f"{file}: missing or invalid entry {e}") from None
    sizes = ["vocab_size", "embedding_dim", "hidden_size", "num_layers"]
    invalid = [name for name in sizes if not _positive_int(getattr(model_config, name))]
    if not isinstance(model_config.bidirectional, bool):
        invalid.append("bidirectional")
    if model_config.nonlinearity not in ("tanh", "relu"):
        invalid.append("nonlinearity")
    if model_config.pad_id != PAD_ID:
        invalid.append("pad_id")
    if model_config.num_classes != 2 or not (
        isinstance(labels, list) and len(labels) == 2 and all(isinstance(x, str) for x in labels)
    ):
        invalid.append("num_classes/labels (a binary classifier has two label names)")
    if not _positive_int(max_len):
        invalid.append("max_len")
    if not (isinstance(tokenizer, dict) and isinstance(tokenizer.get("name"), str)
            and isinstance(tokenizer.get("options", {}), dict)):
        invalid.append("tokenizer")
    if invalid:
        raise ModelError(f"{file}: invalid {', '.join(invalid)}")
    return model_config


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


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
        if not np.issubdtype(weights[name].dtype, np.floating):
            raise ModelError(f"{path}: weight {name} has dtype {weights[name].dtype}, not a float type")
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
