"""Train several variants of the model with the same seed and compare them on the validation split.

    NSMC_DIR=../shared/nsmc python scripts/sweep.py "base:" "emb256:embedding_dim=256" --epochs 6

Each variant is NAME:KEY=VALUE,KEY=VALUE over TrainConfig and ModelConfig fields. Choices are made
on validation accuracy only; the test accuracy is recorded for the report, never used to choose.
Results are written to benchmarks/sweep-<date>.json run by run, so an interrupted sweep keeps
what it finished; a variant run again replaces its earlier row.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from sentiment.cli import run_main  # noqa: E402


def parse_variant(text: str) -> tuple[str, dict]:
    """"name:batch_size=128,tokenizer=okt" -> ("name", {"batch_size": 128, "tokenizer": "okt"})."""
    name, _, assignments = text.partition(":")
    settings = {}
    for item in filter(None, assignments.split(",")):
        key, _, value = item.partition("=")
        try:
            settings[key.strip()] = json.loads(value)
        except ValueError:
            settings[key.strip()] = value  # a bare string such as okt
    return name, settings


def main(argv=None) -> None:
    from sentiment.experiments import record_result, train_variant

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="+", help="NAME:KEY=VALUE,... (nothing after the colon: the defaults)")
    parser.add_argument("--epochs", type=int, help="maximum epochs per variant (default: the training default)")
    parser.add_argument("--data-dir", help="NSMC folder (default: $NSMC_DIR, else data/nsmc)")
    parser.add_argument("--work-dir", default="runs/sweep", help="where each variant's run directory goes")
    parser.add_argument("--out", default=f"benchmarks/sweep-{date.today().isoformat()}.json", help="results file")
    args = parser.parse_args(argv)

    for variant in args.variants:
        name, settings = parse_variant(variant)
        base = {"data_dir": args.data_dir, "output_dir": f"{args.work_dir}/{name}"}
        if args.epochs:
            base["epochs"] = args.epochs
        print(f"=== {name}: {settings}", flush=True)
        result = train_variant(name, {**base, **settings}, log=lambda *a: print(*a, flush=True))
        result["settings"] = settings
        record_result(Path(args.out), result)
        print(f"=== {name}: validation {result['validation_accuracy']:.4f} (epoch {result['best_epoch']}), "
              f"{result['seconds_per_epoch']:.0f}s/epoch", flush=True)


if __name__ == "__main__":
    run_main(main)
