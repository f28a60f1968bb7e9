"""One training epoch and batch inference in torch. Knows nothing about the model's insides."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from sentiment.batching import length_sorted_batches, pad_batch


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
    batches = length_sorted_batches(encoded, batch_size)
    for batch in tqdm(batches, desc="predict", unit="batch", disable=not progress, leave=False):
        ids, lengths = pad_batch([encoded[i] for i in batch])
        logits = model(torch.from_numpy(ids).to(device), torch.from_numpy(lengths))
        probs[batch] = torch.softmax(logits.float(), dim=1)[:, 1].cpu().numpy()
    return probs
