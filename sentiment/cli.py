"""What every script shares: user errors as one line on stderr with a documented exit code."""

from __future__ import annotations

import signal
import sys

INTERRUPTED = 130


def run_main(main) -> None:
    from sentiment.errors import SentimentError

    previous = signal.signal(signal.SIGTERM, _raise_interrupt)  # `kill` stops a script like Ctrl-C
    try:
        main()
    except SentimentError as e:
        message = " ".join(str(e).split())  # one line, even when it quotes a library's longer message
        print(f"error: {message}", file=sys.stderr)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(INTERRUPTED)
    except BrokenPipeError:  # `predict.py ... | head`
        sys.exit(0)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt
