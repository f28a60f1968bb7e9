"""Padding and batch order, in NumPy only: shared by training (torch) and prediction (either engine)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sentiment.vocab import PAD_ID


def pad_batch(sequences: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad id arrays with <pad>: ids (batch, time) int64, lengths (batch,) int64."""
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    ids = np.full((len(sequences), int(lengths.max())), PAD_ID, dtype=np.int64)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = seq
    return ids, lengths


def shuffled_batches(lengths: np.ndarray, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """Shuffled batches of similar lengths: shuffle, sort within pools of 50 batches, shuffle batches.

    Similar lengths keep the packed RNN from stepping through long tails with tiny batches. The
    order depends only on (seed, epoch), so a resumed run sees the same batches as an unbroken one.
    """
    rng = np.random.default_rng([seed, epoch])
    index = rng.permutation(len(lengths))
    pool = batch_size * 50
    batches = []
    for start in range(0, len(index), pool):
        chunk = index[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def length_sorted_batches(sequences: Sequence[np.ndarray], batch_size: int) -> list[np.ndarray]:
    """Index batches of similar lengths, for inference; callers scatter results back by index."""
    order = np.argsort([len(s) for s in sequences], kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
