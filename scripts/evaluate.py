"""Score a saved model on the NSMC test file (or any TSV of the same format) and save the metrics.

    python scripts/evaluate.py                              # models/default on ratings_test.txt
    python scripts/evaluate.py --model models/default --file my_reviews.tsv

The metrics are printed and written as JSON into the model directory (evaluation-<file name>.json).
A malformed file is rejected with one line naming the file and line (exit code 3); a missing or
invalid model exits with 2, an unwritable model directory with 5.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from sentiment.cli import run_main  # noqa: E402
from sentiment.predict import ENGINES  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--model", default="models/default", help="model or run directory (default: %(default)s)")
    parser.add_argument("--file", help="TSV with id, document, label (default: the NSMC test file)")
    parser.add_argument("--data-dir", help="NSMC folder when --file is not given (default: $NSMC_DIR, else data/nsmc)")
    parser.add_argument("--engine", choices=ENGINES, default="numpy", help="inference engine")
    parser.add_argument("--workers", type=int, default=2, help="tokenizer processes")
    parser.add_argument("--cache-dir", default="data/cache", help="token cache (default: %(default)s)")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    from sentiment import data
    from sentiment.errors import OutputError
    from sentiment.files import write_text_atomically
    from sentiment.metrics import classification_metrics, format_metrics
    from sentiment.predict import Predictor
    from sentiment.preprocess import tokenize_cached

    args = parse_args(argv)
    predictor = Predictor(args.model, engine=args.engine)
    reviews = data.read_reviews(args.file) if args.file else data.load_split(data.TEST_FILE, args.data_dir)
    start = time.perf_counter()
    tokens, _ = tokenize_cached(reviews.texts, predictor.tokenizer, Path(args.cache_dir), args.workers)
    probs = predictor.predict_tokens(tokens)
    metrics = classification_metrics(reviews.labels, probs)
    metrics.update(seconds=time.perf_counter() - start, file=reviews.source, engine=args.engine)
    print(format_metrics(metrics, f"{reviews.source} ({reviews.empty} empty documents scored as <unk>)"))
    out = predictor.saved.path / f"evaluation-{Path(reviews.source).stem}.json"
    try:
        write_text_atomically(out, json.dumps(metrics, ensure_ascii=False, indent=2))
    except OSError as e:
        raise OutputError(f"cannot write {out}: {e.strerror or e}") from None
    print(f"metrics written to {out}")


if __name__ == "__main__":
    run_main(main)
