"""Compare tokenizer backends in one run: speed, cold start, and the accuracy they give the same RNN.

    NSMC_DIR=../shared/nsmc python scripts/compare_tokenizers.py
    python scripts/compare_tokenizers.py mecab char --epochs 3      # a subset, shorter training

For each backend: documents per second on the NSMC test file with 1 and 2 workers (warm tagger),
the cold start of a new process (import, construct, first sentence), and the validation and test
accuracy of the default model trained on its tokens with the same seed. Writes
benchmarks/tokenizers-<date>.json and .md.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from sentiment.cli import run_main  # noqa: E402

BACKENDS = {  # label -> (backend, options)
    "mecab": ("mecab", {}),
    "okt": ("okt", {"norm": False, "stem": False}),
    "okt-norm-stem": ("okt", {"norm": True, "stem": True}),
    "kiwi": ("kiwi", {}),
    "sentencepiece": ("sentencepiece", {"vocab_size": 8000}),
    "char": ("char", {}),
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # checked below, not with `choices`: argparse (3.11) rejects an empty `nargs="*"` list against choices
    parser.add_argument("backends", nargs="*", help=f"from: {', '.join(BACKENDS)} (default: all)")
    parser.add_argument("--epochs", type=int, help="maximum epochs per backend (default: the training default)")
    parser.add_argument("--data-dir", help="NSMC folder (default: $NSMC_DIR, else data/nsmc)")
    parser.add_argument("--work-dir", default="runs/tokenizers", help="where each backend's run directory goes")
    parser.add_argument("--out", default=f"benchmarks/tokenizers-{date.today().isoformat()}.json")
    args = parser.parse_args(argv)
    unknown = [name for name in args.backends if name not in BACKENDS]
    if unknown:
        parser.error(f"unknown backend {', '.join(unknown)} (choose from {', '.join(BACKENDS)})")
    args.backends = args.backends or list(BACKENDS)
    return args


def main(argv=None) -> None:
    from sentiment import bench, data
    from sentiment.experiments import record_result, train_variant

    args = parse_args(argv)
    test = data.load_split(data.TEST_FILE, args.data_dir)
    for label in args.backends:
        name, options = BACKENDS[label]
        print(f"=== {label}: training", flush=True)
        settings = {"data_dir": args.data_dir, "output_dir": f"{args.work_dir}/{label}", "tokenizer": name,
                    "tokenizer_options": options}
        if args.epochs:
            settings["epochs"] = args.epochs
        result = train_variant(label, settings, log=lambda *a: print(*a, flush=True))
        print(f"=== {label}: speed", flush=True)
        spec, model_dir = {"name": name, "options": options}, Path(settings["output_dir"]) / "model"
        result.update(
            speed={f"{w}_workers": bench.tokenizer_speed(spec, test.texts, w, model_dir) for w in (1, 2)},
            cold_start=bench.tokenizer_cold_start(spec, model_dir), tokenizer=name, options=options,
        )
        record_result(Path(args.out), result)
    print(bench.write_tokenizer_table(Path(args.out)))


if __name__ == "__main__":
    run_main(main)
