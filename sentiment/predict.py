"""The Predictor: text in, label and probability out, from a saved model directory.

Two engines give the same numbers: `numpy` (default; never imports torch, so it starts fast) and
`torch`. A review's probability does not depend on what else is in its batch: sequences are packed
(torch) or masked (NumPy), never read past their length.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from sentiment import checkpoint
from sentiment.errors import ModelError
from sentiment.preprocess import make_tokenizer

ENGINES = ("numpy", "torch")
DEFAULT_MODEL_DIR = "models/default"


@dataclass
class Prediction:
    text: str
    label: str  # 긍정 (positive) or 부정 (negative)
    prob_positive: float
    tokens: int  # tokens after normalization and truncation to max_len
    known_tokens: int  # of those, how many the vocabulary knows

    @property
    def nothing_known(self) -> bool:
        """True when the model saw only <unk>: its answer is the model's prior, not about the text."""
        return self.known_tokens == 0

    def to_dict(self) -> dict:
        return {**asdict(self), "nothing_known": self.nothing_known}


class Predictor:
    def __init__(self, model_dir: str | os.PathLike = DEFAULT_MODEL_DIR, engine: str = "numpy",
                 batch_size: int = 256):
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
        self.saved = checkpoint.load(model_dir)
        self.tokenizer = _rebuild_tokenizer(self.saved)
        self.vocab, self.max_len, self.labels = self.saved.vocab, self.saved.max_len, self.saved.labels
        self.engine, self.batch_size = engine, batch_size
        self._scores = self._numpy_scorer() if engine == "numpy" else self._torch_scorer()

    def _numpy_scorer(self):
        from sentiment.numpy_rnn import NumpyClassifier

        classifier = NumpyClassifier.from_config(self.saved.weights, self.saved.config["model"])
        return lambda ids, lengths: classifier.predict_proba(ids, lengths)[:, 1]

    def _torch_scorer(self):
        import torch

        from sentiment.model import RNNClassifier

        model = RNNClassifier.from_weights(self.saved.model_config, self.saved.weights)

        def scores(ids, lengths):
            with torch.no_grad():
                logits = model(torch.from_numpy(ids), torch.from_numpy(lengths))
                return torch.softmax(logits, dim=1)[:, 1].numpy()

        return scores

    def predict(self, texts: Sequence[str], workers: int = 1) -> list[Prediction]:
        """Predictions in input order. Any string gets one; nothing known means a prior-only answer."""
        texts = [_as_text(t) for t in texts]
        token_lists = self.tokenizer.tokenize_many(texts, workers=workers, progress=False)
        token_lists = [tokens[: self.max_len] for tokens in token_lists]
        probs = self.predict_tokens(token_lists)
        return [
            Prediction(text, self.labels[int(p >= 0.5)], float(p), len(tok), self.vocab.known_count(tok))
            for text, tok, p in zip(texts, token_lists, probs, strict=True)
        ]

    def predict_tokens(self, token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """Probability of positive for already tokenized reviews (batch prediction, benchmarks)."""
        from sentiment.batching import length_sorted_batches, pad_batch

        encoded = [self.vocab.encode(tokens, self.max_len) for tokens in token_lists]
        probs = np.empty(len(encoded), dtype=np.float64)
        for batch in length_sorted_batches(encoded, self.batch_size):
            ids, lengths = pad_batch([encoded[i] for i in batch])
            probs[batch] = self._scores(ids, lengths)
        return probs


def _rebuild_tokenizer(saved: checkpoint.SavedModel):
    """The tokenizer the model was trained with; a missing package stays a MissingBackendError."""
    spec = saved.tokenizer_spec
    try:
        return make_tokenizer(spec["name"], spec.get("options"), saved.path)
    except (ValueError, TypeError, OSError, RuntimeError) as e:  # unknown name, bad options, bad file
        raise ModelError(f"{saved.path}: cannot rebuild the tokenizer {spec['name']!r}: {e}") from None


def _as_text(text) -> str:
    if not isinstance(text, str):
        raise TypeError(f"a review is a str, not {type(text).__name__}")
    return text
