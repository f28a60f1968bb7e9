"""Say whether Korean movie reviews are positive (긍정) or negative (부정).

    python scripts/predict.py "영화 최고"
    python scripts/predict.py "영화 최고" "시간 아깝다 최악의 영화" --json
    python scripts/predict.py --file reviews.txt        # one review a line
    cat reviews.txt | python scripts/predict.py

Exit codes: 0 all answered; 2 model missing or invalid; 4 some input line was not valid UTF-8
(the other lines are still answered); 6 the model's tokenizer package is not installed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from sentiment.cli import run_main  # noqa: E402
from sentiment.errors import InputError, ModelError, SentimentError  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("texts", nargs="*", help="reviews to classify (none: read --file or standard input)")
    parser.add_argument("--file", help="file with one review a line ('-' for standard input)")
    parser.add_argument("--model", default="models/default", help="model or run directory (default: %(default)s)")
    parser.add_argument("--engine", choices=["numpy", "torch"], default="numpy",
                        help="numpy starts fast and never imports torch; torch gives the same numbers")
    parser.add_argument("--json", action="store_true", help="one JSON object a line")
    parser.add_argument("--batch-size", type=int, default=256, help="reviews per model call")
    return parser.parse_args(argv)


def read_lines(source) -> list[str | InputError]:
    """Lines of a binary stream; a line that is not UTF-8 becomes an InputError in its place."""
    lines: list[str | InputError] = []
    for number, raw in enumerate(source.read().split(b"\n"), start=1):
        try:
            lines.append(raw.decode("utf-8").removesuffix("\r"))
        except UnicodeDecodeError as e:
            lines.append(InputError(f"line {number}: invalid UTF-8 at byte {e.start}"))
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    return lines


def gather_inputs(args) -> list[str | InputError]:
    if args.texts:
        return list(args.texts)
    if args.file and args.file != "-":
        try:
            with open(args.file, "rb") as f:
                return read_lines(f)
        except OSError as e:
            raise SentimentError(f"{args.file}: cannot read: {e.strerror}") from None
    if sys.stdin is None or (sys.stdin.isatty() and not args.file):
        raise SentimentError('nothing to classify: give texts, --file PATH, or pipe reviews in, '
                             'e.g. python scripts/predict.py "영화 최고"')
    return read_lines(sys.stdin.buffer)


def main(argv=None) -> None:
    args = parse_args(argv)
    inputs = gather_inputs(args)
    from sentiment.predict import Predictor

    try:
        predictor = Predictor(args.model, engine=args.engine, batch_size=args.batch_size)
    except ModelError as e:
        if not Path(args.model).exists():
            raise ModelError(f"no trained model at {args.model}: run `python scripts/train.py` first") from e
        raise
    texts = [x for x in inputs if isinstance(x, str)]
    results = iter(predictor.predict(texts))
    failed = 0
    for item in inputs:
        if isinstance(item, InputError):
            failed += 1
            print(f"error: {item}", file=sys.stderr)
            if args.json:
                print(json.dumps({"error": str(item)}, ensure_ascii=False))
            continue
        result = next(results)
        if args.json:
            print(json.dumps(result.to_dict(), ensure_ascii=False))
        else:
            note = "  (no known words)" if result.nothing_known else ""
            print(f"{result.label}\t{result.prob_positive:.4f}\t{_one_line(result.text)}{note}")
    if failed:
        sys.exit(InputError.exit_code)


def _one_line(text: str, width: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


if __name__ == "__main__":
    run_main(main)
