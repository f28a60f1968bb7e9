"""Reading the NSMC format, finding the data folder, and downloading with a checksum (local server only)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from sentiment import data
from sentiment.errors import DataError


def rows_of(path: Path) -> dict[int, tuple[str, int]]:
    """id -> (text, label), parsed independently of the code under test."""
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return {int(i): (text, int(label)) for i, text, label in (line.split("\t") for line in lines)}


@pytest.fixture(scope="module")
def train(tiny_data_dir):
    return data.read_reviews(tiny_data_dir / data.TRAIN_FILE)


@pytest.fixture(scope="module")
def test(tiny_data_dir):
    return data.read_reviews(tiny_data_dir / data.TEST_FILE)


# --- read_reviews -------------------------------------------------------------------------------


def test_row_and_empty_counts(train, test):
    assert (len(train), train.empty) == (40, 2)
    assert (len(test), test.empty) == (20, 1)
    assert train.labels.dtype == np.int64
    assert np.bincount(train.labels).tolist() == [20, 20]
    assert np.bincount(test.labels).tolist() == [10, 10]


def test_texts_ids_and_labels_match_the_file(train, tiny_data_dir):
    expected = rows_of(tiny_data_dir / data.TRAIN_FILE)
    assert train.ids == list(expected)
    assert [(t, int(y)) for t, y in zip(train.texts, train.labels, strict=True)] == list(expected.values())


def test_quotes_are_kept_verbatim(train, test):
    assert '"명작"이라더니 별로' in train.texts
    assert '말이 필요 없는 "명작" 최고' in train.texts
    assert '"' in train.texts  # a lone quote is a whole review, not the start of a quoted field
    # An unclosed quote must not swallow the rows after it.
    i = test.texts.index('"그냥 지루한 영화')
    assert test.texts[i + 1] == "별로 추천 안 함 지루"
    assert test.ids[i + 1] == test.ids[i] + 1


def test_empty_documents_stay_empty_strings(train, test):
    empty = [t for t in train.texts + test.texts if not t.strip()]
    assert empty == ["", "", ""]
    assert "nan" not in train.texts + test.texts


def test_without_empty_keeps_labels_with_texts(train, tiny_data_dir):
    expected = rows_of(tiny_data_dir / data.TRAIN_FILE)
    kept = train.without_empty()
    assert (len(kept), kept.empty) == (38, 0)
    for review_id, text, label in zip(kept.ids, kept.texts, kept.labels, strict=True):
        assert expected[review_id] == (text, label)


def test_train_val_split_is_stratified_seeded_and_paired(train, tiny_data_dir):
    expected = rows_of(tiny_data_dir / data.TRAIN_FILE)
    full = train.without_empty()
    tr, val = data.train_val_split(full, 0.2, seed=7)
    assert len(tr) + len(val) == len(full)
    assert not set(tr.ids) & set(val.ids)
    assert len(val) == 8 and np.bincount(val.labels).tolist() == [4, 4]  # 19/19 labels, stratified
    for split in (tr, val):
        for review_id, text, label in zip(split.ids, split.texts, split.labels, strict=True):
            assert expected[review_id] == (text, label)
    again_tr, again_val = data.train_val_split(full, 0.2, seed=7)
    assert (again_tr.ids, again_val.ids) == (tr.ids, val.ids)
    _, other_val = data.train_val_split(full, 0.2, seed=8)
    assert other_val.ids != val.ids


# --- resolve_data_dir ---------------------------------------------------------------------------


def test_resolve_data_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("NSMC_DIR", raising=False)
    assert data.resolve_data_dir(None) == Path("data/nsmc")
    monkeypatch.setenv("NSMC_DIR", str(tmp_path / "env"))
    assert data.resolve_data_dir(None) == tmp_path / "env"
    assert data.resolve_data_dir(tmp_path / "flag") == tmp_path / "flag"
    assert data.resolve_data_dir(str(tmp_path / "flag")) == tmp_path / "flag"
    monkeypatch.setenv("NSMC_DIR", "")
    assert data.resolve_data_dir(None) == Path("data/nsmc")


def test_load_split_reads_from_nsmc_dir(monkeypatch, tiny_data_dir):
    monkeypatch.setenv("NSMC_DIR", str(tiny_data_dir))
    assert len(data.load_split(data.TEST_FILE)) == 20


# --- download from a local server ---------------------------------------------------------------


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path, tiny_data_dir):
    """http://127.0.0.1:PORT/ serving a copy of the tiny train file (and nothing else)."""
    root = tmp_path / "served"
    root.mkdir()
    (root / data.TRAIN_FILE).write_bytes((tiny_data_dir / data.TRAIN_FILE).read_bytes())
    handler = functools.partial(QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def sha256_hex(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_keeps_a_verified_file(server, monkeypatch, tmp_path, tiny_data_dir):
    original = tiny_data_dir / data.TRAIN_FILE
    monkeypatch.setitem(data.SHA256, data.TRAIN_FILE, sha256_hex(original))
    target = tmp_path / "nsmc"
    path = data.ensure_file(data.TRAIN_FILE, target, base_url=server)
    assert path == target / data.TRAIN_FILE
    assert path.read_bytes() == original.read_bytes()
    assert sorted(p.name for p in target.iterdir()) == [data.TRAIN_FILE]  # no .part left over


def test_download_url_from_environment(server, monkeypatch, tmp_path, tiny_data_dir):
    monkeypatch.setitem(data.SHA256, data.TRAIN_FILE, sha256_hex(tiny_data_dir / data.TRAIN_FILE))
    monkeypatch.setenv("NSMC_URL", server)
    monkeypatch.setenv("NSMC_DIR", str(tmp_path / "from-env"))
    reviews = data.load_split(data.TRAIN_FILE)
    assert len(reviews) == 40
    assert (tmp_path / "from-env" / data.TRAIN_FILE).exists()


def test_checksum_mismatch_keeps_nothing(server, monkeypatch, tmp_path):
    monkeypatch.setitem(data.SHA256, data.TRAIN_FILE, "0" * 64)
    target = tmp_path / "nsmc"
    with pytest.raises(DataError, match="checksum mismatch"):
        data.ensure_file(data.TRAIN_FILE, target, base_url=server)
    assert list(target.iterdir()) == []  # neither the file nor a .part file


def test_missing_file_on_server_is_a_data_error(server, tmp_path):
    target = tmp_path / "nsmc"
    with pytest.raises(DataError, match="cannot download"):
        data.ensure_file(data.TEST_FILE, target, base_url=server)  # the server only has the train file
    assert list(target.iterdir()) == []


def test_unwritable_data_directory_is_a_data_error(server, monkeypatch, tmp_path):
    # Bug: the folder existed but the temporary file could not be created there (read-only mount,
    # another user's folder): a raw PermissionError and a traceback instead of one line, exit 3.
    target = tmp_path / "nsmc"
    target.mkdir()

    def permission_denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(data.tempfile, "mkstemp", permission_denied)
    with pytest.raises(DataError, match="cannot write to data directory .*Permission denied"):
        data.ensure_file(data.TRAIN_FILE, target, base_url=server)
    assert list(target.iterdir()) == []
