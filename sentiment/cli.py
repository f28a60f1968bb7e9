"""What every script shares: user errors as one line on stderr with a documented exit code."""

from __future__ import annotations

import sys

INTERRUPTED = 130


def run_main(main) -> None:
    from sentiment.errors import SentimentError

    try:
        main()
    except SentimentError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(INTERRUPTED)
    except BrokenPipeError:  # `predict.py ... | head`
        sys.exit(0)
