"""Say whether Korean movie reviews are positive (긍정) or negative (부정).

    python scripts/predict.py "영화 최고"
    python scripts/predict.py "영화 최고" "시간 아깝다 최악의 영화" --json
    python scripts/predict.py --file reviews.txt        # one review a line
    cat reviews.txt | python scripts/predict.py

Every text gets an answer, even an empty one or one the model knows no word of (flagged
"nothing_known" in --json output, "(no known words)" otherwise).

Exit codes: 0 all answered; 1 nothing to classify; 2 model missing or invalid (or a usage error);
3 --file cannot be read; 4 some input was not valid UTF-8 (the others are still answered);
6 the model's tokenizer package is not installed; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from sentiment.cli import run_main  # noqa: E402
from sentiment.errors import DataError, InputError, ModelError, SentimentError  # noqa: E402
from sentiment.predict import ENGINES  # noqa: E402


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def parse_args(argv=None) -> argparse.Namespace:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("texts", nargs="*", help="reviews to classify (none: read --file or standard input)")
    parser.add_argument("--file", help="file with one review a line ('-' for standard input)")
    parser.add_argument("--model", default="models/default", help="model or run directory (default: %(default)s)")
    parser.add_argument("--engine", choices=ENGINES, default="numpy",
                        help="numpy starts fast and never imports torch; torch gives the same numbers")
    parser.add_argument("--json", action="store_true", help="one JSON object a line")
    parser.add_argument("--batch-size", type=positive_int, default=256, help="reviews per model call")
    parser.add_argument("--workers", type=positive_int, default=2,
                        help="tokenizer processes for 2,000 reviews or more (fewer never start any)")
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
        return [_argument(text, number) for number, text in enumerate(args.texts, start=1)]
    if args.file and args.file != "-":
        try:
            with open(args.file, "rb") as f:
                return read_lines(f)
        except OSError as e:
            raise DataError(f"{args.file}: cannot read: {e.strerror}") from None
    if sys.stdin is None or (sys.stdin.isatty() and not args.file):
        raise SentimentError('nothing to classify: give texts, --file PATH, or pipe reviews in, '
                             'e.g. python scripts/predict.py "영화 최고"')
    return read_lines(sys.stdin.buffer)


def _argument(text: str, number: int) -> str | InputError:
    """A command-line text; bytes that were not UTF-8 arrive as lone surrogates (surrogateescape)."""
    try:
        os.fsencode(text).decode("utf-8")
    except UnicodeDecodeError as e:
        return InputError(f"argument {number}: invalid UTF-8 at byte {e.start}")
    except UnicodeEncodeError:
        pass  # a lone surrogate that did not come from bytes (main called from Python): any str is fine
    return text


def main(argv=None) -> None:
    args = parse_args(argv)
    # A text may hold lone surrogates; write them as \udcxx escapes (still valid JSON), never crash.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")
    inputs = gather_inputs(args)
    from sentiment.predict import Predictor

    try:
        predictor = Predictor(args.model, engine=args.engine, batch_size=args.batch_size)
    except ModelError as e:
        if not Path(args.model).exists():
            raise ModelError(f"no trained model at {args.model}: run `python scripts/train.py` first") from e
        raise
    texts = [x for x in inputs if isinstance(x, str)]
    results = iter(predictor.predict(texts, workers=args.workers))
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
    """The text as one printable line: control characters would move the cursor or ring the bell."""
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in text[: 4 * width]).split())
    return text if len(text) <= width else text[: width - 1] + "…"


if __name__ == "__main__":
    run_main(main)
