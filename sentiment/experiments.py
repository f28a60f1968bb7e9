"""Train one variant of the model and summarise it: shared by scripts/sweep.py and compare_tokenizers.py.

Variants are chosen on validation accuracy only; the test accuracy is recorded for the report.
"""

from __future__ import annotations

import json
import time
from dataclasses import fields
from pathlib import Path

from sentiment.config import ModelConfig, TrainConfig
from sentiment.files import write_text_atomically


def build_configs(settings: dict) -> tuple[TrainConfig, ModelConfig]:
    """Split KEY=VALUE settings between the two configs; unknown keys are an error."""
    train_names = {f.name for f in fields(TrainConfig)}
    model_names = {f.name for f in fields(ModelConfig)}
    unknown = set(settings) - train_names - model_names
    if unknown:
        raise ValueError(f"unknown settings: {sorted(unknown)}")
    train = TrainConfig(**{k: v for k, v in settings.items() if k in train_names})
    model = ModelConfig(**{k: v for k, v in settings.items() if k in model_names})
    return train, model


def train_variant(name: str, settings: dict, log=print) -> dict:
    """Train with `settings` (over the defaults) and return what the comparison tables need."""
    from sentiment.trainer import MODEL_SUBDIR, train

    train_cfg, model_cfg = build_configs(settings)
    start = time.perf_counter()
    test = train(train_cfg, model_cfg, log=log)
    run_dir = Path(train_cfg.output_dir)
    config = json.loads((run_dir / MODEL_SUBDIR / "config.json").read_text(encoding="utf-8"))
    history = config["metrics"]["history"]  # every epoch that ran, not only up to the best
    return {
        "name": name,
        "settings": settings,
        "best_epoch": config["metrics"]["epoch"],
        "epochs_run": len(history),
        "validation_accuracy": config["metrics"]["validation_accuracy"],
        "test_accuracy": test["accuracy"],
        "test_macro_f1": test["macro_f1"],
        "seconds_per_epoch": sum(h["seconds"] for h in history) / len(history),
        "wall_seconds": time.perf_counter() - start,
        "vocab_size": config["model"]["vocab_size"],
    }


def record_result(path: Path, result: dict) -> None:
    """Add one result to a JSON list on disk, so an interrupted comparison keeps what it finished.

    A result whose name is already there replaces that row, in its place: a variant measured again
    (after a fix, say) is not listed twice.
    """
    results = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    names = [r.get("name") for r in results]
    if result.get("name") in names:
        results[names.index(result["name"])] = result
    else:
        results.append(result)
    write_text_atomically(path, json.dumps(results, ensure_ascii=False, indent=2))
