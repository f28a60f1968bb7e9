"""Measure accuracy and speed against the TF-IDF + linear SVM baseline, side by side in one run.

    NSMC_DIR=../shared/nsmc python scripts/benchmark.py --model models/default
    python scripts/benchmark.py --quick          # the whole path on the tiny test sample, in seconds

Writes benchmarks/benchmark-<date>.json and .md (the table pasted into the README) and prints the
table. Every figure says how it was measured; ratios come from figures of this same run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from sentiment.cli import run_main  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/default", help="trained model or run directory")
    parser.add_argument("--data-dir", help="NSMC folder (default: $NSMC_DIR, else data/nsmc)")
    parser.add_argument("--cache-dir", default="data/cache", help="token cache (default: %(default)s)")
    parser.add_argument("--out-dir", default="benchmarks", help="where the JSON and markdown go")
    parser.add_argument("--quick", action="store_true", help="tiny sample, tiny model, few repeats (a smoke test)")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    from sentiment import bench

    args = parse_args(argv)
    if args.quick:
        with tempfile.TemporaryDirectory() as tmp:
            model_dir = bench.train_tiny_model(Path(tmp))
            report = bench.run_benchmark(model_dir, bench.TINY_DATA_DIR, Path(args.cache_dir), quick=True,
                                         repeats={"cold": 1, "latency": 20})
    else:
        report = bench.run_benchmark(args.model, args.data_dir, Path(args.cache_dir), quick=False,
                                     repeats={"cold": 5, "latency": 1000})
    stem = bench.write_report(report, Path(args.out_dir))
    print(bench.markdown(report))
    print(f"written {stem}.json and .md", file=sys.stderr)


if __name__ == "__main__":
    run_main(main)
