"""A recurrent neural network written from scratch in NumPy, equal to ``torch.nn.RNN``.

Every step of every layer and direction computes

    h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)        (relu instead of tanh if asked)

exactly as ``torch.nn.RNN`` does, and the parameters carry torch's names, so
``{name: p.detach().numpy() for name, p in rnn.named_parameters()}`` loads unchanged.

Three uses:

- teaching: ``simple_rnn`` is the textbook loop over one sequence;
- parity: ``rnn_forward`` and ``rnn_backward`` take a right-padded batch of variable-length sequences
  (batch_first), several layers, both directions, and match torch with ``pack_padded_sequence`` (values)
  and autograd (gradients) to float64 precision; see tests/test_numpy_rnn.py;
- serving: ``NumpyClassifier`` runs the trained classifier from its safetensors weights.

This module never imports torch, not even lazily: the prediction path must start without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

NONLINEARITIES = ("tanh", "relu")
PARAM_KINDS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")  # per layer and direction, torch's order


def param_name(kind: str, layer: int, reverse: bool = False) -> str:
    """torch's name for one RNN parameter: ``param_name("weight_ih", 0, True) == "weight_ih_l0_reverse"``."""
    return f"{kind}_l{layer}" + ("_reverse" if reverse else "")


def rnn_param_names(num_layers: int, bidirectional: bool) -> list[str]:
    """All parameter names of an ``nn.RNN``, in the order of its ``named_parameters()``."""
    return [
        param_name(kind, layer, reverse)
        for layer in range(num_layers)
        for reverse in ([False, True] if bidirectional else [False])
        for kind in PARAM_KINDS
    ]


def simple_rnn(
    inputs: np.ndarray, W_x: np.ndarray, W_h: np.ndarray, b: np.ndarray, h0: np.ndarray | None = None
) -> np.ndarray:
    """The textbook RNN over one sequence: ``h_t = tanh(W_x x_t + W_h h_{t-1} + b)``.

    inputs: (time, input_size); W_x: (hidden, input_size); W_h: (hidden, hidden); b: (hidden,), which is
    ``bias_ih + bias_hh`` for torch's two biases. Returns every state, (time, hidden).
    """
    h = np.zeros(W_h.shape[0], dtype=inputs.dtype) if h0 is None else h0
    states = []
    for x_t in inputs:
        h = np.tanh(W_x @ x_t + W_h @ h + b)
        states.append(h)
    return np.stack(states)


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax that cannot overflow: shifting by the max changes nothing mathematically."""
    shifted = logits - logits.max(axis=axis, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=axis, keepdims=True)


# ---------------------------------------------------------------------------------------------------
# Forward


@dataclass
class _DirectionCache:
    """What backprop needs from one direction of one layer."""

    x: np.ndarray  # (batch, time, input) the layer's input
    h_prev: np.ndarray  # (batch, time, hidden) the state each step started from
    h: np.ndarray  # (batch, time, hidden) the state after each step (unchanged at padded steps)
    reverse: bool


@dataclass
class RNNCache:
    """Everything ``rnn_backward`` needs; ``directions`` is ordered like h_n (l0 fwd, l0 bwd, l1 fwd, ...)."""

    params: Mapping[str, np.ndarray]
    mask: np.ndarray  # (batch, time) True at real steps, False at padding
    num_layers: int
    bidirectional: bool
    nonlinearity: str
    directions: list[_DirectionCache]


def _activate(pre: np.ndarray, nonlinearity: str) -> np.ndarray:
    return np.tanh(pre) if nonlinearity == "tanh" else np.maximum(pre, 0)


def _activation_grad(h: np.ndarray, nonlinearity: str) -> np.ndarray:
    """d h / d pre-activation, written in terms of h itself (all the cache keeps)."""
    if nonlinearity == "tanh":
        return 1 - h * h
    return (h > 0).astype(h.dtype)  # torch's relu backward also uses output > 0


def _time_steps(time: int, reverse: bool) -> range:
    """The order a direction visits the steps in."""
    return range(time - 1, -1, -1) if reverse else range(time)


def _length_mask(lengths: np.ndarray, batch: int, time: int) -> np.ndarray:
    """(batch, time) boolean mask of real steps; rejects lengths that torch's packing would reject."""
    lengths = np.asarray(lengths)
    if lengths.shape != (batch,):
        raise ValueError(f"lengths must have shape ({batch},), got {lengths.shape}")
    if (lengths < 1).any() or (lengths > time).any():
        raise ValueError(f"every length must be in 1..{time}, got {lengths.tolist()}")
    return np.arange(time)[None, :] < lengths[:, None]


def _direction_params(params: Mapping[str, np.ndarray], layer: int, reverse: bool) -> tuple[np.ndarray, ...]:
    return tuple(params[param_name(kind, layer, reverse)] for kind in PARAM_KINDS)


def _direction_forward(
    x: np.ndarray,
    mask: np.ndarray,
    h0: np.ndarray,
    params: tuple[np.ndarray, ...],
    nonlinearity: str,
    reverse: bool,
) -> tuple[np.ndarray, np.ndarray, _DirectionCache]:
    """One direction of one layer over a padded batch; returns (output, final state, cache).

    A padded step leaves the state as it was. Going forward, the state therefore stops at t = len - 1;
    going in reverse, the state is still h0 when the walk reaches t = len - 1, so each sequence starts at
    its own last real step. That is what torch does with a packed sequence, without any re-sorting.
    """
    w_ih, w_hh, b_ih, b_hh = params
    batch, time, _ = x.shape
    x_proj = x @ w_ih.T + b_ih  # (batch, time, hidden): the input half of every step, in one matmul
    h_prev_all = np.empty(x_proj.shape, dtype=x_proj.dtype)
    h_all = np.empty(x_proj.shape, dtype=x_proj.dtype)
    h = h0  # (batch, hidden)
    for t in _time_steps(time, reverse):
        h_new = _activate(x_proj[:, t] + h @ w_hh.T + b_hh, nonlinearity)
        h_prev_all[:, t] = h
        h = np.where(mask[:, t, None], h_new, h)
        h_all[:, t] = h
    output = np.where(mask[..., None], h_all, 0)  # pad_packed_sequence pads with 0
    return output, h, _DirectionCache(x, h_prev_all, h_all, reverse)


def rnn_forward(
    x: np.ndarray,
    lengths: np.ndarray,
    params: Mapping[str, np.ndarray],
    num_layers: int = 1,
    bidirectional: bool = False,
    nonlinearity: str = "tanh",
    h0: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, RNNCache]:
    """``torch.nn.RNN(batch_first=True)`` on a packed batch, in NumPy.

    x: (batch, time, input_size), right-padded; lengths: (batch,), each in 1..time;
    params: torch's names (``weight_ih_l0``, ``bias_hh_l1_reverse``, ...); h0: (layers * directions,
    batch, hidden) or None for zeros. Returns output (batch, time, directions * hidden), 0 at padded steps,
    h_n (layers * directions, batch, hidden) ordered like torch, and the cache for ``rnn_backward``.
    """
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity must be one of {NONLINEARITIES}, got {nonlinearity!r}")
    batch, time, _ = x.shape
    mask = _length_mask(lengths, batch, time)
    num_directions = 2 if bidirectional else 1
    hidden = params["weight_hh_l0"].shape[0]
    h0_shape = (num_layers * num_directions, batch, hidden)
    if h0 is None:
        h0 = np.zeros(h0_shape, dtype=np.result_type(x, params["weight_ih_l0"]))
    elif h0.shape != h0_shape:
        raise ValueError(f"h0 must have shape {h0_shape}, got {h0.shape}")

    layer_input = x
    h_n, caches = [], []
    for layer in range(num_layers):
        outputs = []
        for direction in range(num_directions):
            reverse = direction == 1
            output, h_last, cache = _direction_forward(
                layer_input,
                mask,
                h0[layer * num_directions + direction],
                _direction_params(params, layer, reverse),
                nonlinearity,
                reverse,
            )
            outputs.append(output)
            h_n.append(h_last)
            caches.append(cache)
        # no dropout between layers: this module is for inference and parity checks
        layer_input = np.concatenate(outputs, axis=-1)  # (batch, time, directions * hidden)
    cache = RNNCache(params, mask, num_layers, bidirectional, nonlinearity, caches)
    return layer_input, np.stack(h_n), cache


# ---------------------------------------------------------------------------------------------------
# Backward


def _direction_backward(
    cache: _DirectionCache,
    mask: np.ndarray,
    d_output: np.ndarray,
    d_h_last: np.ndarray,
    params: tuple[np.ndarray, ...],
    nonlinearity: str,
) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]:
    """Backprop through time for one direction; returns ((d_w_ih, d_w_hh, d_b_ih, d_b_hh), d_x, d_h0)."""
    w_ih, w_hh, _, _ = params
    time = mask.shape[1]
    d_pre_all = np.zeros_like(cache.h)  # (batch, time, hidden): gradient of each step's pre-activation
    dh = d_h_last  # (batch, hidden): gradient of the state carried between steps
    for t in reversed(_time_steps(time, cache.reverse)):
        active = mask[:, t, None]
        # a real step's new state feeds both this step's output and the next step
        dh_new = np.where(active, dh + d_output[:, t], 0)
        d_pre = dh_new * _activation_grad(cache.h[:, t], nonlinearity)
        d_pre_all[:, t] = d_pre
        # a padded step passed the state through unchanged, so it passes the gradient through too
        dh = d_pre @ w_hh + np.where(active, 0, dh)
    # the weights are shared by every step: sum the steps' contributions, one contraction each
    d_w_ih = np.tensordot(d_pre_all, cache.x, axes=([0, 1], [0, 1]))  # (hidden, input)
    d_w_hh = np.tensordot(d_pre_all, cache.h_prev, axes=([0, 1], [0, 1]))  # (hidden, hidden)
    d_b = d_pre_all.sum(axis=(0, 1))
    d_x = d_pre_all @ w_ih  # (batch, time, input); 0 at padded steps, as with a packed sequence
    return (d_w_ih, d_w_hh, d_b, d_b.copy()), d_x, dh


def rnn_backward(
    cache: RNNCache, d_output: np.ndarray | None = None, d_h_n: np.ndarray | None = None
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Gradients of a scalar loss, given its gradients w.r.t. ``rnn_forward``'s output and h_n.

    d_output: (batch, time, directions * hidden) or None (the loss ignores the output); entries at padded
    steps are ignored, since the output there is the constant 0. d_h_n: like h_n, or None.
    Returns (grads named like params, d_x like x, d_h0 like h0).
    """
    num_directions = 2 if cache.bidirectional else 1
    first = cache.directions[0]
    batch, time, _ = first.x.shape
    hidden = first.h.shape[-1]
    dtype = first.h.dtype
    if d_output is None:
        d_output = np.zeros((batch, time, num_directions * hidden), dtype=dtype)
    if d_h_n is None:
        d_h_n = np.zeros((cache.num_layers * num_directions, batch, hidden), dtype=dtype)

    grads: dict[str, np.ndarray] = {}
    d_h0 = np.zeros_like(d_h_n)
    d_layer_output = d_output
    for layer in reversed(range(cache.num_layers)):
        d_layer_input = 0  # both directions read the same input, so their gradients add up
        for direction in range(num_directions):
            index = layer * num_directions + direction
            reverse = direction == 1
            params = _direction_params(cache.params, layer, reverse)
            d_params, d_x, d_h0[index] = _direction_backward(
                cache.directions[index],
                cache.mask,
                d_layer_output[..., direction * hidden : (direction + 1) * hidden],
                d_h_n[index],
                params,
                cache.nonlinearity,
            )
            for kind, grad in zip(PARAM_KINDS, d_params, strict=True):
                grads[param_name(kind, layer, reverse)] = grad
            d_layer_input = d_layer_input + d_x
        d_layer_output = d_layer_input
    ordered = {name: grads[name] for name in rnn_param_names(cache.num_layers, cache.bidirectional)}
    return ordered, d_layer_output, d_h0


# ---------------------------------------------------------------------------------------------------
# Serving


class NumpyClassifier:
    """The trained classifier without torch: embedding -> RNN -> last layer's final state -> linear.

    ``weights`` are the torch model's state_dict names (as saved to safetensors): ``embedding.weight``,
    ``rnn.weight_ih_l0`` ..., ``head.weight`` (classes, directions * hidden), ``head.bias``.
    Computes in the embedding's dtype (float32 from safetensors).
    """

    def __init__(
        self,
        weights: Mapping[str, np.ndarray],
        num_layers: int,
        bidirectional: bool,
        nonlinearity: str = "tanh",
    ) -> None:
        rnn_names = rnn_param_names(num_layers, bidirectional)
        required = ["embedding.weight", *(f"rnn.{name}" for name in rnn_names), "head.weight", "head.bias"]
        missing = [name for name in required if name not in weights]
        unexpected = [name for name in weights if name.startswith("rnn.") and name not in required]
        if missing or unexpected:
            # most likely the config and the weights come from different models
            raise ValueError(
                f"weights do not fit num_layers={num_layers}, bidirectional={bidirectional}: "
                f"missing {missing}, unexpected {unexpected}"
            )
        self.dtype = np.asarray(weights["embedding.weight"]).dtype
        self.embedding = np.asarray(weights["embedding.weight"])  # (vocab, embedding_dim)
        self.rnn_params = {name: np.asarray(weights[f"rnn.{name}"], dtype=self.dtype) for name in rnn_names}
        self.head_weight = np.asarray(weights["head.weight"], dtype=self.dtype)  # (classes, D * hidden)
        self.head_bias = np.asarray(weights["head.bias"], dtype=self.dtype)  # (classes,)
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.nonlinearity = nonlinearity

    @classmethod
    def from_config(cls, weights: Mapping[str, np.ndarray], model_config: Mapping) -> NumpyClassifier:
        """Build from the checkpoint's model config (a dict with num_layers, bidirectional, nonlinearity)."""
        return cls(
            weights,
            num_layers=int(model_config["num_layers"]),
            bidirectional=bool(model_config["bidirectional"]),
            nonlinearity=model_config.get("nonlinearity", "tanh"),
        )

    def logits(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """ids: (batch, time) integers, right-padded; lengths: (batch,). Returns (batch, classes)."""
        ids = np.asarray(ids)
        if ids.ndim != 2 or not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"ids must be a 2-d integer array, got {ids.ndim}-d {ids.dtype}")
        if ids.size and ids.min() < 0:
            raise ValueError("ids must be >= 0")  # NumPy would silently read rows from the end
        embedded = self.embedding[ids]  # (batch, time, embedding_dim)
        lengths = np.asarray(lengths)
        _, h_n, _ = rnn_forward(
            embedded, lengths, self.rnn_params, self.num_layers, self.bidirectional, self.nonlinearity
        )
        # h_n: (layers * directions, batch, hidden); the last layer's final states are the feature
        feature = np.concatenate([h_n[-2], h_n[-1]], axis=1) if self.bidirectional else h_n[-1]
        return feature @ self.head_weight.T + self.head_bias

    def predict_proba(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Class probabilities, (batch, classes); each row sums to 1."""
        return softmax(self.logits(ids, lengths))
