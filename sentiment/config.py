"""The two configurations: the model's shape and one training run. Plain dataclasses, no torch."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


@dataclass
class ModelConfig:
    """Shape of the classifier: embedding -> (dropout) -> nn.RNN -> final hidden state -> dropout -> linear."""

    vocab_size: int = 0  # filled once the vocabulary exists
    embedding_dim: int = 128
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = True
    dropout: float = 0.3
    embedding_dropout: float = 0.3  # on the embedded tokens, in training only: +0.7 points on validation
    nonlinearity: str = "tanh"
    num_classes: int = 2
    pad_id: int = 0

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        # A model saved before embedding dropout existed was trained without it (and resumes so).
        return _from_dict(cls, {"embedding_dropout": 0.0, **data})


@dataclass
class TrainConfig:
    """One training run: data, tokenizer, optimisation and where the result goes."""

    data_dir: str | None = None  # None: $NSMC_DIR, else data/nsmc
    output_dir: str = "models/default"
    cache_dir: str = "data/cache"  # tokenized corpora, keyed by text, tokenizer and options
    tokenizer: str = "mecab"
    tokenizer_options: dict = field(default_factory=dict)
    min_freq: int = 2
    max_len: int = 100
    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 2e-3
    weight_decay: float = 0.0
    clip_grad_norm: float = 1.0
    patience: int = 2
    val_fraction: float = 0.1
    seed: int = 42
    device: str = "auto"
    workers: int = 2
    limit: int | None = None  # use only the first N training reviews (quick experiments, tests)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        return _from_dict(cls, data)


def _from_dict(cls, data: dict):
    """Build a dataclass from a dict, ignoring keys it does not know (forward-compatible configs)."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})
