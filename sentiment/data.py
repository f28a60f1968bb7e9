"""Find, download, verify and read the Naver Sentiment Movie Corpus (NSMC v1.0).

The files are TSV with a header `id<TAB>document<TAB>label`. They are read line by line with quoting
off (a review may contain any number of `"`), so every malformed row can be reported with its line
number instead of being silently merged with the next one.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sentiment.errors import DataError

DEFAULT_DATA_DIR = Path("data/nsmc")
BASE_URL = "https://raw.githubusercontent.com/e9t/nsmc/master/"
SHA256 = {
    "ratings_train.txt": "e03b7d14e9e41be8d464a28057cd25d7396c53e67aa7fd5f7e552c59b0ee2940",
    "ratings_test.txt": "8ac9f64052f11dbf6ae0acb5e038f03d90a76f0eda7820cfb3a92d02edfcebda",
}
TRAIN_FILE, TEST_FILE = "ratings_train.txt", "ratings_test.txt"
HEADER = ["id", "document", "label"]


@dataclass
class Reviews:
    """Reviews of one file, kept as parallel lists so text and label can never drift apart."""

    ids: list[int]
    texts: list[str]
    labels: np.ndarray  # (n,) int64, 0 = negative, 1 = positive
    source: str = ""
    empty: int = field(default=0)  # how many documents are empty

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, index) -> Reviews:
        index = np.asarray(index, dtype=np.int64)
        return Reviews(
            ids=[self.ids[i] for i in index],
            texts=[self.texts[i] for i in index],
            labels=self.labels[index],
            source=self.source,
            empty=sum(1 for i in index if not self.texts[i]),
        )

    def without_empty(self) -> Reviews:
        return self.subset([i for i, t in enumerate(self.texts) if t])


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """`--data-dir`, else the environment variable NSMC_DIR, else data/nsmc/."""
    if data_dir:
        return Path(data_dir)
    if os.environ.get("NSMC_DIR"):
        return Path(os.environ["NSMC_DIR"])
    return DEFAULT_DATA_DIR


def ensure_file(name: str, data_dir: Path, base_url: str | None = None) -> Path:
    """Path to an NSMC file in `data_dir`, downloading and verifying it first if it is missing."""
    path = data_dir / name
    if path.exists():
        return path
    url = (base_url or os.environ.get("NSMC_URL") or BASE_URL).rstrip("/") + "/" + name
    download(url, path, SHA256[name])
    return path


def download(url: str, path: Path, expected_sha256: str) -> None:
    """Download to a temporary file, check its sha256, then rename into place (nothing bad is kept)."""
    from tqdm import tqdm

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot create data directory {path.parent}: {e.strerror}") from None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as e:  # the folder exists but is not ours to write in
        raise DataError(f"cannot write to data directory {path.parent}: {e.strerror}") from None
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=f"download {path.name}") as bar:
                for block in iter(lambda: response.read(1 << 16), b""):
                    out.write(block)
                    digest.update(block)
                    bar.update(len(block))
        if digest.hexdigest() != expected_sha256:
            raise DataError(
                f"checksum mismatch for {url}: got {digest.hexdigest()}, expected {expected_sha256}; "
                "the file was not kept"
            )
        os.replace(tmp, path)
    except OSError as e:  # URLError is an OSError
        raise DataError(f"cannot download {url}: {getattr(e, 'reason', None) or e}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_reviews(path: str | os.PathLike) -> Reviews:
    """Read an NSMC-format TSV, strictly: any malformed row is an error naming file and line."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read: {e.strerror}") from None
    lines = raw.removeprefix(b"\xef\xbb\xbf").split(b"\n")  # a UTF-8 byte order mark is harmless
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        raise DataError(f"{path}: empty file (expected the header 'id<TAB>document<TAB>label')")
    if len(lines) == 1:
        raise DataError(f"{path}: no reviews after the header")
    header = _decode(lines[0], path, 1).split("\t")
    if header != HEADER:
        raise DataError(f"{path}:1: wrong header {header!r}, expected {HEADER!r}")
    ids, texts, labels = [], [], []
    for number, line in enumerate(lines[1:], start=2):
        review_id, text, label = _parse_row(_decode(line, path, number), path, number)
        ids.append(review_id)
        texts.append(text)
        labels.append(label)
    return Reviews(
        ids=ids,
        texts=texts,
        labels=np.asarray(labels, dtype=np.int64),
        source=str(path),
        empty=sum(1 for t in texts if not t),
    )


def _decode(line: bytes, path: Path, number: int) -> str:
    try:
        return line.decode("utf-8").removesuffix("\r")
    except UnicodeDecodeError as e:
        raise DataError(f"{path}:{number}: invalid UTF-8 at byte {e.start}") from None


def _parse_row(line: str, path: Path, number: int) -> tuple[int, str, int]:
    fields = line.split("\t")
    if len(fields) != 3:
        raise DataError(f"{path}:{number}: expected 3 tab-separated fields, found {len(fields)}")
    review_id, text, label = fields
    if not review_id.isascii() or not review_id.isdigit():
        raise DataError(f"{path}:{number}: id {review_id!r} is not a number")
    if label not in ("0", "1"):
        raise DataError(f"{path}:{number}: label {label!r} is not 0 or 1")
    return int(review_id), text, int(label)


def load_split(name: str, data_dir: str | os.PathLike | None = None) -> Reviews:
    """Read `ratings_train.txt` or `ratings_test.txt`, downloading them where they are missing."""
    return read_reviews(ensure_file(name, resolve_data_dir(data_dir)))


def train_val_split(reviews: Reviews, val_fraction: float, seed: int) -> tuple[Reviews, Reviews]:
    """Seeded, stratified split of the training file; the test file is never used for choices."""
    from sklearn.model_selection import train_test_split

    index = np.arange(len(reviews))
    try:
        train_idx, val_idx = train_test_split(
            index, test_size=val_fraction, random_state=seed, stratify=reviews.labels
        )
    except ValueError as e:  # too few reviews, or of one label only, to hold some of each out
        raise DataError(f"{reviews.source}: cannot hold out {val_fraction} of {len(reviews)} reviews "
                        f"for validation: {e}") from None
    return reviews.subset(np.sort(train_idx)), reviews.subset(np.sort(val_idx))
