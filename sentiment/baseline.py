"""The bar an RNN has to clear: TF-IDF features and a linear SVM (scikit-learn).

Character n-grams within word boundaries (1-4) plus word 1-2-grams, sublinear tf. Trained on the
same training split as the RNN and scored on the same test reviews, it tells whether the RNN earns
its keep.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def make_baseline():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.svm import LinearSVC

    features = make_union(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, min_df=2),
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, min_df=2,
                        token_pattern=r"(?u)\S+"),
    )
    return make_pipeline(features, LinearSVC(C=0.5))


def fit_baseline(texts: Sequence[str], labels: np.ndarray):
    from sentiment.preprocess import normalize

    model = make_baseline()
    model.fit([normalize(t) for t in texts], labels)
    return model


def baseline_predict(model, texts: Sequence[str]) -> np.ndarray:
    """Predicted labels (0/1); the SVM has no probabilities, only a margin."""
    from sentiment.preprocess import normalize

    return model.predict([normalize(t) for t in texts]).astype(np.int64)
