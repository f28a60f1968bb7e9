"""Classification metrics (scikit-learn) and their one-screen text form."""

from __future__ import annotations

import numpy as np


def classification_metrics(labels: np.ndarray, prob_positive: np.ndarray) -> dict:
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    predicted = (np.asarray(prob_positive) >= 0.5).astype(np.int64)
    precision, recall, f1, _ = precision_recall_fscore_support(
        labels, predicted, average="binary", pos_label=1, zero_division=0
    )
    return {
        "n": int(len(labels)),
        "accuracy": float(accuracy_score(labels, predicted)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "macro_f1": float(f1_score(labels, predicted, average="macro", zero_division=0)),
        # rows: true 부정, 긍정; columns: predicted 부정, 긍정
        "confusion_matrix": confusion_matrix(labels, predicted, labels=[0, 1]).tolist(),
    }


def format_metrics(metrics: dict, title: str) -> str:
    (tn, fp), (fn, tp) = metrics["confusion_matrix"]
    return "\n".join(
        [
            f"{title}: {metrics['n']:,} reviews",
            f"  accuracy  {metrics['accuracy']:.4f}",
            f"  precision {metrics['precision']:.4f}   recall {metrics['recall']:.4f}   "
            f"F1 {metrics['f1']:.4f}   macro-F1 {metrics['macro_f1']:.4f}",
            "  confusion matrix (rows true, columns predicted):",
            "               부정      긍정",
            f"  부정  {tn:>10,} {fp:>9,}",
            f"  긍정  {fn:>10,} {tp:>9,}",
        ]
    )
