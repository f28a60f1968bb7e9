"""Writing a file so that no reader ever sees half of it: a temporary file beside it, then a rename.

A crash, a kill or a full disk leaves either the old file or the new one, never a truncated mix.
(A model directory has its own, directory-level version of this: checkpoint.save.)
"""

from __future__ import annotations

import os
from pathlib import Path


def write_text_atomically(path: str | os.PathLike, text: str) -> None:
    """Write `text` (UTF-8) to `path`, creating its folder; raises OSError, leaving no temporary file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")  # same folder: the rename cannot cross disks
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
