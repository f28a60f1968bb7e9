"""Train several variants of the model with the same seed and compare them on the validation split.

    NSMC_DIR=../shared/nsmc python scripts/sweep.py "base:" "emb256:embedding_dim=256" \
        "mecab-vs-okt:tokenizer=okt" --epochs 6

Each variant is NAME:KEY=VALUE,KEY=VALUE over TrainConfig and ModelConfig fields. Choices are made
on validation accuracy only; the test accuracy is recorded for the report, never used to choose.
Results go to benchmarks/sweep-<date>.json (appended run by run, so an interrupted sweep keeps
what it finished).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import fields
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from sentiment.cli import run_main  # noqa: E402
from sentiment.config import ModelConfig, TrainConfig  # noqa: E402


def parse_variant(text: str) -> tuple[str, dict]:
    name, _, assignments = text.partition(":")
    settings = {}
    for item in filter(None, assignments.split(",")):
        key, _, value = item.partition("=")
        settings[key.strip()] = json.loads(value) if value[:1] in "0123456789-[{tf" else value
    return name, settings


def build_configs(settings: dict, base: dict) -> tuple[TrainConfig, ModelConfig]:
    merged = {**base, **settings}
    train_names = {f.name for f in fields(TrainConfig)}
    model_names = {f.name for f in fields(ModelConfig)}
    unknown = set(merged) - train_names - model_names
    if unknown:
        raise SystemExit(f"unknown settings: {sorted(unknown)}")
    train = TrainConfig(**{k: v for k, v in merged.items() if k in train_names})
    model = ModelConfig(**{k: v for k, v in merged.items() if k in model_names})
    return train, model


def main(argv=None) -> None:
    from sentiment.trainer import train

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="+", help="NAME:KEY=VALUE,... (an empty list means the defaults)")
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs, help="maximum epochs per variant")
    parser.add_argument("--data-dir", help="NSMC folder (default: $NSMC_DIR, else data/nsmc)")
    parser.add_argument("--work-dir", default="runs/sweep", help="where each variant's run directory goes")
    parser.add_argument("--out", default=f"benchmarks/sweep-{date.today().isoformat()}.json", help="results file")
    args = parser.parse_args(argv)

    out = Path(args.out)
    results = json.loads(out.read_text(encoding="utf-8")) if out.exists() else []
    for variant in args.variants:
        name, settings = parse_variant(variant)
        base = {"data_dir": args.data_dir, "epochs": args.epochs, "output_dir": f"{args.work_dir}/{name}"}
        train_cfg, model_cfg = build_configs(settings, base)
        print(f"=== {name}: {settings}", flush=True)
        start = time.perf_counter()
        test = train(train_cfg, model_cfg, log=lambda *a: print(*a, flush=True))
        config = json.loads((Path(train_cfg.output_dir) / "model" / "config.json").read_text(encoding="utf-8"))
        history = config["metrics"]["history"]
        results.append({
            "name": name, "settings": settings, "epochs_max": args.epochs,
            "best_epoch": config["metrics"]["epoch"], "epochs_run": len(history),
            "validation_accuracy": config["metrics"]["validation_accuracy"],
            "test_accuracy": test["accuracy"], "test_macro_f1": test["macro_f1"],
            "seconds_per_epoch": sum(h["seconds"] for h in history) / len(history),
            "wall_seconds": time.perf_counter() - start, "vocab_size": config["model"]["vocab_size"],
        })
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
        r = results[-1]
        print(f"=== {name}: validation {r['validation_accuracy']:.4f} (epoch {r['best_epoch']}), "
              f"{r['seconds_per_epoch']:.0f}s/epoch", flush=True)


if __name__ == "__main__":
    run_main(main)
