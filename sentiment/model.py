"""The torch classifier: embedding -> nn.RNN over packed sequences -> final hidden state -> linear."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from sentiment.config import ModelConfig


class RNNClassifier(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=config.pad_id)
        # Identity when off: no random numbers drawn for it, so such runs reproduce exactly.
        self.embedding_dropout = nn.Dropout(config.embedding_dropout) if config.embedding_dropout else nn.Identity()
        self.rnn = nn.RNN(
            config.embedding_dim,
            config.hidden_size,
            num_layers=config.num_layers,
            nonlinearity=config.nonlinearity,
            bidirectional=config.bidirectional,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size * config.num_directions, config.num_classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """ids (batch, time) right-padded with pad_id; lengths (batch,) >= 1. Returns logits (batch, 2)."""
        embedded = self.embedding_dropout(self.embedding(ids))  # (batch, time, embedding_dim)
        packed = pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, h_n = self.rnn(packed)  # (num_layers * directions, batch, hidden), in the caller's order
        if self.config.bidirectional:
            final = torch.cat([h_n[-2], h_n[-1]], dim=1)  # last layer, forward then backward
        else:
            final = h_n[-1]
        return self.head(self.dropout(final))  # (batch, num_classes)

    @classmethod
    def from_weights(cls, config: ModelConfig, weights: dict[str, np.ndarray]) -> RNNClassifier:
        """Build from the NumPy arrays a model directory holds (see checkpoint.load)."""
        model = cls(config)
        model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in weights.items()})
        return model.eval()
