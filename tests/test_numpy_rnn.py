"""The NumPy RNN against torch: same weights, float64, values and gradients (micrograd style)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from sentiment.numpy_rnn import NumpyClassifier, rnn_backward, rnn_forward, simple_rnn, softmax

REPO_ROOT = Path(__file__).resolve().parents[1]


def numpy_params(module: nn.Module) -> dict[str, np.ndarray]:
    return {name: p.detach().numpy().copy() for name, p in module.named_parameters()}


def torch_packed_run(
    rnn: nn.RNN, x: torch.Tensor, lengths: list[int], h0: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """torch's answer for a right-padded batch: pack, run, unpack back to the full padded length."""
    packed = pack_padded_sequence(x, torch.as_tensor(lengths), batch_first=True, enforce_sorted=False)
    packed_output, h_n = rnn(packed, h0)
    output, _ = pad_packed_sequence(packed_output, batch_first=True, total_length=x.shape[1])
    return output, h_n


# ---------------------------------------------------------------------------------------------------
# The classic example: one sequence, 10 steps, input 4, hidden 8


def test_classic_example_matches_torch():
    rng = np.random.default_rng(0)
    time, input_size, hidden = 10, 4, 8
    inputs = rng.normal(size=(time, input_size))
    W_x = rng.normal(scale=0.5, size=(hidden, input_size))
    W_h = rng.normal(scale=0.5, size=(hidden, hidden))
    b_ih, b_hh = rng.normal(size=hidden), rng.normal(size=hidden)

    states = simple_rnn(inputs, W_x, W_h, b_ih + b_hh)  # zero initial state
    assert states.shape == (time, hidden)

    rnn = nn.RNN(input_size, hidden, batch_first=True).double()
    with torch.no_grad():
        for p, value in zip(rnn.parameters(), (W_x, W_h, b_ih, b_hh), strict=True):
            p.copy_(torch.from_numpy(value))
        output, h_n = rnn(torch.from_numpy(inputs)[None])  # a batch of one: (1, 10, 4)
    assert output.shape == (1, time, hidden)  # (batch, time, hidden)
    assert h_n.shape == (1, 1, hidden)  # (layers * directions, batch, hidden)
    np.testing.assert_allclose(states, output[0].numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(states[-1], h_n[0, 0].numpy(), rtol=1e-10, atol=1e-10)

    # the batched version agrees with the textbook loop on a batch of one
    np_output, np_h_n, _ = rnn_forward(inputs[None], np.array([time]), numpy_params(rnn))
    np.testing.assert_allclose(np_output[0], states, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(np_h_n[0, 0], states[-1], rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------------------------------------------
# Parity with torch on a padded batch: values and gradients


@pytest.mark.parametrize("lengths", [[1, 4, 9], [9, 9, 9]], ids=["padded", "full"])
@pytest.mark.parametrize("with_h0", [False, True], ids=["zero-h0", "h0"])
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_forward_and_backward_match_torch(num_layers, bidirectional, nonlinearity, with_h0, lengths):
    torch.manual_seed(0)
    rng = np.random.default_rng(1)
    batch, time, input_size, hidden = len(lengths), 9, 5, 6
    num_directions = 2 if bidirectional else 1
    rnn = nn.RNN(
        input_size,
        hidden,
        num_layers=num_layers,
        nonlinearity=nonlinearity,
        bidirectional=bidirectional,
        batch_first=True,
    ).double()
    x = rng.normal(size=(batch, time, input_size))
    h0 = rng.normal(size=(num_layers * num_directions, batch, hidden)) if with_h0 else None
    R1 = rng.normal(size=(batch, time, num_directions * hidden))
    R2 = rng.normal(size=(num_layers * num_directions, batch, hidden))

    # torch: autograd through pack -> RNN -> unpack
    x_t = torch.tensor(x, requires_grad=True)
    h0_t = torch.tensor(h0, requires_grad=True) if with_h0 else None
    output_t, h_n_t = torch_packed_run(rnn, x_t, lengths, h0_t)
    loss = (output_t * torch.from_numpy(R1)).sum() + (h_n_t * torch.from_numpy(R2)).sum()
    loss.backward()

    # NumPy: the same loss has d loss / d output = R1 and d loss / d h_n = R2
    params = numpy_params(rnn)
    output, h_n, cache = rnn_forward(
        x, np.array(lengths), params, num_layers, bidirectional, nonlinearity, h0
    )
    grads, d_x, d_h0 = rnn_backward(cache, R1, R2)

    assert output.shape == (batch, time, num_directions * hidden)
    assert h_n.shape == (num_layers * num_directions, batch, hidden)
    value_tol = dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(output, output_t.detach().numpy(), **value_tol)
    np.testing.assert_allclose(h_n, h_n_t.detach().numpy(), **value_tol)
    for b, length in enumerate(lengths):
        assert (output[b, length:] == 0).all()  # padding is exactly 0, like pad_packed_sequence

    grad_tol = dict(rtol=1e-8, atol=1e-8)
    assert list(grads) == list(params)  # same names, same order as named_parameters()
    for name, p in rnn.named_parameters():
        np.testing.assert_allclose(grads[name], p.grad.numpy(), err_msg=name, **grad_tol)
    np.testing.assert_allclose(d_x, x_t.grad.numpy(), **grad_tol)
    if with_h0:
        np.testing.assert_allclose(d_h0, h0_t.grad.numpy(), **grad_tol)


def test_gradient_optional_upstream_is_zero():
    rng = np.random.default_rng(2)
    rnn = nn.RNN(3, 4, num_layers=2, bidirectional=True, batch_first=True).double()
    x = rng.normal(size=(2, 5, 3))
    output, h_n, cache = rnn_forward(x, np.array([5, 2]), numpy_params(rnn), 2, True)
    R2 = rng.normal(size=h_n.shape)
    only_h_n = rnn_backward(cache, None, R2)
    explicit = rnn_backward(cache, np.zeros_like(output), R2)
    for a, b in zip(only_h_n[1:], explicit[1:], strict=True):
        np.testing.assert_array_equal(a, b)
    grads, d_x, d_h0 = rnn_backward(cache)
    assert all((g == 0).all() for g in grads.values()) and (d_x == 0).all() and (d_h0 == 0).all()


# ---------------------------------------------------------------------------------------------------
# Finite differences: the backward pass checked without torch


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_backward_matches_finite_differences(nonlinearity):
    rng = np.random.default_rng(3)
    batch, time, input_size, hidden, num_layers = 2, 3, 2, 3, 2
    lengths = np.array([3, 2])
    params = {
        name: rng.normal(scale=0.6, size=p.shape)
        for name, p in nn.RNN(input_size, hidden, num_layers, bidirectional=True).named_parameters()
    }
    x = rng.normal(size=(batch, time, input_size))
    h0 = rng.normal(size=(num_layers * 2, batch, hidden))
    R1 = rng.normal(size=(batch, time, 2 * hidden))
    R2 = rng.normal(size=h0.shape)

    def loss() -> float:
        output, h_n, _ = rnn_forward(x, lengths, params, num_layers, True, nonlinearity, h0)
        return float((output * R1).sum() + (h_n * R2).sum())

    _, _, cache = rnn_forward(x, lengths, params, num_layers, True, nonlinearity, h0)
    grads, d_x, d_h0 = rnn_backward(cache, R1, R2)

    eps = 1e-6
    for name, array, analytic in [
        *((n, params[n], grads[n]) for n in params),
        ("x", x, d_x),
        ("h0", h0, d_h0),
    ]:
        numeric = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + eps
            plus = loss()
            array[index] = saved - eps
            minus = loss()
            array[index] = saved
            numeric[index] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-7, err_msg=name)
    assert (d_x[1, 2] == 0).all()  # the padded step of sequence 1 has no influence


# ---------------------------------------------------------------------------------------------------
# Padding and batch companions change nothing


def test_result_does_not_depend_on_padding_or_batch():
    rng = np.random.default_rng(4)
    rnn = nn.RNN(3, 4, num_layers=2, bidirectional=True, nonlinearity="relu", batch_first=True).double()
    params = numpy_params(rnn)
    x = rng.normal(size=(3, 7, 3))
    lengths = np.array([2, 7, 5])
    x[0, 2:] = 1e3  # garbage in the padding must not leak into anything
    output, h_n, _ = rnn_forward(x, lengths, params, 2, True, "relu")
    for b, length in enumerate(lengths):
        alone_output, alone_h_n, _ = rnn_forward(
            x[b : b + 1, :length], lengths[b : b + 1], params, 2, True, "relu"
        )
        np.testing.assert_allclose(output[b : b + 1, :length], alone_output, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(h_n[:, b : b + 1], alone_h_n, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bad", [[0, 3], [4, 3], [3]])
def test_rejects_lengths_that_packing_rejects(bad):
    params = numpy_params(nn.RNN(2, 3).double())
    with pytest.raises(ValueError, match="length"):
        rnn_forward(np.zeros((2, 3, 2)), np.array(bad), params)


def test_float32_stays_float32():
    params = {k: v.astype(np.float32) for k, v in numpy_params(nn.RNN(2, 3, bidirectional=True)).items()}
    x = np.ones((2, 4, 2), dtype=np.float32)
    output, h_n, cache = rnn_forward(x, np.array([4, 1]), params, bidirectional=True)
    grads, d_x, d_h0 = rnn_backward(cache, np.ones_like(output), None)
    assert {a.dtype for a in (output, h_n, d_x, d_h0, *grads.values())} == {np.dtype(np.float32)}


# ---------------------------------------------------------------------------------------------------
# The serving classifier against a torch reference with the same state_dict names


class TorchReference(nn.Module):
    """Embedding -> packed RNN -> last layer's final state(s) -> linear, like the project's model."""

    def __init__(
        self, vocab: int, dim: int, hidden: int, num_layers: int, bidirectional: bool, nonlinearity: str
    ):
        super().__init__()
        self.bidirectional = bidirectional
        self.embedding = nn.Embedding(vocab, dim, padding_idx=0)
        self.rnn = nn.RNN(
            dim, hidden, num_layers, nonlinearity=nonlinearity, bidirectional=bidirectional, batch_first=True
        )
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), 2)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        embedded = self.embedding(ids)  # (batch, time, dim)
        packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
        _, h_n = self.rnn(packed)  # (layers * directions, batch, hidden)
        feature = torch.cat([h_n[-2], h_n[-1]], dim=1) if self.bidirectional else h_n[-1]
        return self.head(feature)  # (batch, 2)


@pytest.mark.parametrize(
    "dtype, tol", [(torch.float64, 1e-10), (torch.float32, 1e-5)], ids=["float64", "float32"]
)
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (1, True), (2, True)])
def test_classifier_matches_torch(num_layers, bidirectional, nonlinearity, dtype, tol):
    torch.manual_seed(5)
    vocab, time = 30, 8
    model = TorchReference(vocab, 6, 5, num_layers, bidirectional, nonlinearity).to(dtype).eval()
    lengths = torch.tensor([8, 1, 5, 3])
    ids = torch.randint(1, vocab, (len(lengths), time))
    ids[torch.arange(time)[None, :] >= lengths[:, None]] = 0  # right padding with pad id 0
    with torch.no_grad():
        expected = torch.softmax(model(ids, lengths), dim=1).numpy()

    weights = {name: tensor.numpy() for name, tensor in model.state_dict().items()}
    config = {"num_layers": num_layers, "bidirectional": bidirectional, "nonlinearity": nonlinearity}
    classifier = NumpyClassifier.from_config(weights, config)
    proba = classifier.predict_proba(ids.numpy(), lengths.numpy())
    assert proba.shape == (len(lengths), 2)
    assert proba.dtype == weights["embedding.weight"].dtype
    np.testing.assert_allclose(proba, expected, rtol=tol, atol=tol)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=tol)
    np.testing.assert_allclose(softmax(classifier.logits(ids.numpy(), lengths.numpy())), proba)


def test_classifier_rejects_weights_of_another_shape():
    model = TorchReference(10, 4, 3, num_layers=1, bidirectional=True, nonlinearity="tanh")
    weights = {name: tensor.numpy() for name, tensor in model.state_dict().items()}
    with pytest.raises(ValueError, match="unexpected"):
        NumpyClassifier(weights, num_layers=1, bidirectional=False)
    with pytest.raises(ValueError, match="missing"):
        NumpyClassifier(weights, num_layers=2, bidirectional=True)
    classifier = NumpyClassifier(weights, num_layers=1, bidirectional=True)
    with pytest.raises(ValueError, match=">= 0"):
        classifier.predict_proba(np.array([[3, -1]]), np.array([2]))


def test_softmax_is_stable():
    proba = softmax(np.array([[1000.0, 0.0], [-1000.0, -1000.0]]))
    np.testing.assert_allclose(proba, [[1.0, 0.0], [0.5, 0.5]])


# ---------------------------------------------------------------------------------------------------
# The serving path must not pull in torch


def test_import_does_not_load_torch():
    code = "import sys, sentiment.numpy_rnn; assert 'torch' not in sys.modules, 'torch was imported'"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
