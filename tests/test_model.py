"""The torch classifier's shapes, and that a review's score never depends on its batch (model and Predictor)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sentiment.batching import pad_batch
from sentiment.config import ModelConfig
from sentiment.data import read_reviews
from sentiment.model import RNNClassifier
from sentiment.predict import Predictor

SHORT = "영화 최고"
LONG = "처음에는 지루하고 별로였는데 중간부터 재밌어지더니 마지막에는 감동까지 받았다 " * 8


def make_model(bidirectional: bool = True, num_layers: int = 1, seed: int = 0) -> RNNClassifier:
    torch.manual_seed(seed)
    config = ModelConfig(vocab_size=30, embedding_dim=8, hidden_size=6, num_layers=num_layers,
                         bidirectional=bidirectional, dropout=0.5)
    return RNNClassifier(config).eval()


def probabilities(model: RNNClassifier, sequences: list[np.ndarray]) -> np.ndarray:
    ids, lengths = pad_batch(sequences)
    with torch.no_grad():
        logits = model(torch.from_numpy(ids), torch.from_numpy(lengths))
    return torch.softmax(logits, dim=1)[:, 1].numpy()


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("lengths", [[5], [3, 7, 1]], ids=["batch1", "batch3"])
def test_logits_shape(bidirectional, num_layers, lengths):
    model = make_model(bidirectional, num_layers)
    rng = np.random.default_rng(0)
    ids, lengths = pad_batch([rng.integers(2, 30, size=n) for n in lengths])
    logits = model(torch.from_numpy(ids), torch.from_numpy(lengths))
    assert logits.shape == (len(lengths), 2)
    assert logits.dtype == torch.float32
    assert model.head.in_features == 6 * (2 if bidirectional else 1)


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
def test_model_score_does_not_depend_on_batch(bidirectional, num_layers):
    model = make_model(bidirectional, num_layers)
    rng = np.random.default_rng(1)
    short, long = rng.integers(2, 30, size=3), rng.integers(2, 30, size=80)
    alone = probabilities(model, [short])
    together = probabilities(model, [long, short, long[:40]])
    np.testing.assert_allclose(together[1], alone[0], rtol=0, atol=1e-6)


def test_embedding_dropout_acts_in_training_only():
    torch.manual_seed(0)
    model = RNNClassifier(ModelConfig(vocab_size=30, embedding_dim=8, hidden_size=6, dropout=0.0,
                                      embedding_dropout=0.5))
    ids, lengths = pad_batch([np.arange(2, 12), np.arange(3, 8)])
    ids, lengths = torch.from_numpy(ids), torch.from_numpy(lengths)
    model.train()
    assert not torch.equal(model(ids, lengths), model(ids, lengths))
    model.eval()
    assert torch.equal(model(ids, lengths), model(ids, lengths))
    off = RNNClassifier(ModelConfig(vocab_size=30, embedding_dim=8, hidden_size=6, embedding_dropout=0.0))
    assert isinstance(off.embedding_dropout, torch.nn.Identity)  # off: no random numbers drawn for it


def test_config_saved_before_embedding_dropout_existed_means_none():
    saved = ModelConfig(embedding_dropout=0.0).to_dict()
    del saved["embedding_dropout"]
    assert ModelConfig.from_dict(saved).embedding_dropout == 0.0
    assert ModelConfig.from_dict(ModelConfig().to_dict()).embedding_dropout == ModelConfig().embedding_dropout == 0.3


def test_model_never_reads_past_the_length():
    model = make_model()
    ids = torch.tensor([[5, 6, 7, 0, 0, 0], [5, 6, 7, 9, 9, 9]])  # same review, different junk after it
    with torch.no_grad():
        logits = model(ids, torch.tensor([3, 3]))
    torch.testing.assert_close(logits[0], logits[1], rtol=0, atol=1e-6)


# --- Predictor on the tiny trained model --------------------------------------------------------


@pytest.fixture(scope="module")
def predictors(tiny_model_dir) -> dict[str, Predictor]:
    return {engine: Predictor(tiny_model_dir, engine=engine) for engine in ("numpy", "torch")}


@pytest.fixture(scope="module")
def test_texts(tiny_data_dir) -> list[str]:
    return read_reviews(tiny_data_dir / "ratings_test.txt").texts


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_predictor_score_does_not_depend_on_batch(predictors, engine):
    predictor = predictors[engine]
    alone = predictor.predict([SHORT])[0]
    together = predictor.predict([LONG, SHORT, LONG[:30]])
    assert together[0].tokens > 10 * alone.tokens  # the long review really is much longer
    assert together[1].text == SHORT
    np.testing.assert_allclose(together[1].prob_positive, alone.prob_positive, rtol=0, atol=1e-6)


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_batch_size_does_not_change_scores(tiny_model_dir, predictors, test_texts, engine):
    one_at_a_time = Predictor(tiny_model_dir, engine=engine, batch_size=1).predict(test_texts)
    batched = predictors[engine].predict(test_texts)  # batch_size 256: all 20 at once
    small_batches = Predictor(tiny_model_dir, engine=engine, batch_size=64).predict(test_texts * 5)
    expected = [p.prob_positive for p in one_at_a_time]
    np.testing.assert_allclose([p.prob_positive for p in batched], expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose([p.prob_positive for p in small_batches], expected * 5, rtol=0, atol=1e-6)


def test_engines_agree(predictors, test_texts):
    texts = [*test_texts, LONG, "", "완전히 처음 보는 단어들"]
    by_numpy = predictors["numpy"].predict(texts)
    by_torch = predictors["torch"].predict(texts)
    np.testing.assert_allclose(
        [p.prob_positive for p in by_numpy], [p.prob_positive for p in by_torch], rtol=0, atol=1e-5
    )
    assert [p.label for p in by_numpy] == [p.label for p in by_torch]


def test_predictions_are_well_formed(predictors):
    results = predictors["numpy"].predict([SHORT, "", "\x00"])
    assert [r.text for r in results] == [SHORT, "", "\x00"]
    for r in results:
        assert r.label in ("긍정", "부정")
        assert 0.0 <= r.prob_positive <= 1.0
        assert r.label == ("긍정" if r.prob_positive >= 0.5 else "부정")
    assert results[0].known_tokens == 2 and not results[0].nothing_known
    assert results[1].tokens == 0 and results[1].nothing_known  # scored as <unk>: the model's prior
