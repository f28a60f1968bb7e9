"""Batching, one training epoch, and batch inference. Knows nothing about the model's insides."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from sentiment.vocab import PAD_ID


def pad_batch(sequences: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad id arrays with <pad>: ids (batch, time) int64, lengths (batch,) int64."""
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    ids = np.full((len(sequences), int(lengths.max())), PAD_ID, dtype=np.int64)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = seq
    return ids, lengths


def batch_order(lengths: np.ndarray, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
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


def train_epoch(
    model: nn.Module,
    encoded: Sequence[np.ndarray],
    labels: np.ndarray,
    batches: list[np.ndarray],
    optimizer: torch.optim.Optimizer,
    clip_grad_norm: float,
    device: torch.device,
    desc: str = "train",
) -> tuple[float, float]:
    """One pass over `batches`; returns (mean loss, accuracy) over the samples seen."""
    model.train()
    loss_fn = nn.CrossEntropyLoss()
    total_loss, correct, seen = 0.0, 0, 0
    bar = tqdm(batches, desc=desc, unit="batch", mininterval=0.5, leave=False)
    for batch in bar:
        ids, lengths = pad_batch([encoded[i] for i in batch])
        target = torch.from_numpy(labels[batch]).to(device)
        logits = model(torch.from_numpy(ids).to(device), torch.from_numpy(lengths))
        loss = loss_fn(logits, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
        optimizer.step()
        total_loss += loss.item() * len(batch)
        correct += (logits.argmax(1) == target).sum().item()
        seen += len(batch)
        bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.4f}", refresh=False)
    return total_loss / max(seen, 1), correct / max(seen, 1)


@torch.no_grad()
def predict_proba(
    model: nn.Module,
    encoded: Sequence[np.ndarray],
    batch_size: int = 512,
    device: torch.device | str = "cpu",
    progress: bool = False,
) -> np.ndarray:
    """Probability of the positive class for each sequence, in input order."""
    model.eval()
    probs = np.empty(len(encoded), dtype=np.float64)
    for batch in _length_sorted_batches(encoded, batch_size, progress):
        ids, lengths = pad_batch([encoded[i] for i in batch])
        logits = model(torch.from_numpy(ids).to(device), torch.from_numpy(lengths))
        probs[batch] = torch.softmax(logits.float(), dim=1)[:, 1].cpu().numpy()
    return probs


def _length_sorted_batches(encoded, batch_size: int, progress: bool) -> Iterator[np.ndarray]:
    """Batches of similar lengths (less padding to step over); the caller scatters results back."""
    order = np.argsort([len(s) for s in encoded], kind="stable")
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    return iter(tqdm(batches, desc="predict", unit="batch", disable=not progress, leave=False))
