"""Hostile input at every entry point: a defined answer or a one-line error with its exit code.

Prediction: any string gets a probability (and a flag when the model knows none of its words);
bytes that are not UTF-8 are a per-line error (exit 4) while the other lines are answered.
Data files: every malformed row is rejected naming the file and line (exit 3); odd but valid
reviews are read as written. Output: an unwritable directory or full disk is reported before training.
"""

from __future__ import annotations

import http.server
import json
import math
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from script_helpers import run_script

from sentiment import data
from sentiment.predict import Predictor
from sentiment.preprocess import MAX_CHARS, normalize, tokenize_cached

REPO_ROOT = Path(__file__).resolve().parents[1]
ROBUSTNESS_DIR = REPO_ROOT / "tests" / "data" / "robustness"
LONG_REVIEW = "정말 최고의 영화 " * 10_000  # 100,000 characters

HOSTILE = {
    "empty": "",
    "whitespace": " \t\n\r\u3000\u00a0 ",
    "exclamations": "!!!",
    "dots": "...",
    "emoji only": "😡😡",
    "text and emoji": "최고에요😡😡",
    "latin only": "hello world",
    "digits only": "0123456789",
    "control characters": "영화\x1b[31m 최고\x07\x08",
    "nul": "영화\x00최고",
    "control characters only": "\x00\x01\x1b\x7f",
    "lone surrogate": "\ud800최고\udcff",
    "zero width and bom": "\ufeff\u200b\u200d",
    "combining marks only": "\u0301\u0308",
    "long review": LONG_REVIEW,
}
# Texts that normalize to nothing: the model sees only <unk> and must say so.
NOTHING_LEFT = ["empty", "whitespace", "control characters only", "zero width and bom"]


def run_predict_process(args: list, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "predict.py"), *args], input=stdin,
                          capture_output=True, timeout=120, cwd=REPO_ROOT)


def assert_one_line_error(err: str, *parts: str) -> None:
    """stderr ends with exactly one `error: ...` line (progress bars may come before it)."""
    lines = err.replace("\r", "\n").strip().splitlines()
    assert "Traceback" not in err and lines and lines[-1].startswith("error: "), err
    assert sum(line.startswith("error") for line in lines) == 1, err
    for part in parts:
        assert part in lines[-1], err


@pytest.fixture(scope="module", params=["numpy", "torch"])
def predictor(request, tiny_model_dir) -> Predictor:
    return Predictor(tiny_model_dir, engine=request.param)


# --- prediction: every text gets a defined answer --------------------------------------------------


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_text_gets_a_probability(predictor, name):
    [p] = predictor.predict([HOSTILE[name]])
    assert 0.0 <= p.prob_positive <= 1.0 and math.isfinite(p.prob_positive)
    assert p.label in predictor.labels
    assert 0 <= p.known_tokens <= p.tokens <= predictor.max_len
    assert p.text == HOSTILE[name]  # answered for the text given, not its normalized form


@pytest.mark.parametrize("name", [n for n in NOTHING_LEFT if n in HOSTILE])
def test_text_with_nothing_known_is_flagged(predictor, name):
    [p] = predictor.predict([HOSTILE[name]])
    assert (p.tokens, p.known_tokens, p.nothing_known) == (0, 0, True)
    assert p.to_dict()["nothing_known"] is True


def test_unknown_words_are_flagged(predictor):
    [latin, korean] = predictor.predict(["hello world", "최고의 영화"])
    assert latin.nothing_known and latin.tokens > 0
    assert not korean.nothing_known


def test_control_characters_and_surrogates_are_dropped_like_spaces(predictor):
    clean, dirty = predictor.predict(["영화 최고", "영화\x00\u200b \ud800최고\x1b"])
    assert dirty.prob_positive == pytest.approx(clean.prob_positive, abs=1e-6)


def test_long_review_is_bounded_in_time_and_the_same_as_its_start(predictor):
    assert len(LONG_REVIEW) == 100_000
    assert len(normalize(LONG_REVIEW)) <= MAX_CHARS
    start = time.perf_counter()
    [long] = predictor.predict([LONG_REVIEW])
    assert time.perf_counter() - start < 5
    [head] = predictor.predict([LONG_REVIEW[: 4 * MAX_CHARS]])
    assert long.prob_positive == head.prob_positive
    assert long.tokens == predictor.max_len


def test_normalize_is_bounded_for_any_length():
    for text in ["가" * 10**6, "\x00" * 10**6, " " * 10**6, "ㅋ" * 10**6]:
        start = time.perf_counter()
        assert len(normalize(text)) <= MAX_CHARS
        assert time.perf_counter() - start < 1


def test_training_and_prediction_tokenize_alike(predictor, tmp_path):
    """The trainer's path (tokenize_cached, through the JSON cache) gives the Predictor's tokens."""
    texts = list(HOSTILE.values())
    expected = [predictor.tokenizer.tokenize(t) for t in texts]
    fresh, cached = tokenize_cached(texts, predictor.tokenizer, tmp_path, progress=False)
    assert (fresh, cached) == (expected, False)
    again, cached = tokenize_cached(texts, predictor.tokenizer, tmp_path, progress=False)
    assert (again, cached) == (expected, True)
    assert predictor.tokenizer.tokenize_many(texts, progress=False) == expected


def test_unwritable_token_cache_is_only_a_cache(predictor, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    tokens, cached = tokenize_cached(["영화 최고"], predictor.tokenizer, blocker / "cache", progress=False)
    assert tokens == [predictor.tokenizer.tokenize("영화 최고")] and not cached


def test_probability_ignores_the_rest_of_the_batch_and_its_size(tiny_model_dir):
    texts = ["최고", "시간 아깝다 최악의 영화 정말 지루하고 별로", "", "감동 " * 60, "hello", "재밌어요 ㅋㅋㅋㅋㅋ"]
    for engine in ["numpy", "torch"]:
        alone = [Predictor(tiny_model_dir, engine=engine).predict([t])[0].prob_positive for t in texts]
        for batch_size in [1, 2, 3, 256]:
            batched = Predictor(tiny_model_dir, engine=engine, batch_size=batch_size).predict(texts * 2)
            np.testing.assert_allclose([p.prob_positive for p in batched], alone * 2, rtol=1e-5, atol=1e-6)


def test_empty_batch(predictor):
    assert predictor.predict([]) == []


ANY_CHARACTER = st.characters(exclude_categories=()) | st.characters(categories=["Cs"])


@settings(max_examples=100, deadline=None)
@given(text=st.text(ANY_CHARACTER, max_size=300))
def test_any_unicode_string_gets_a_stable_probability(tiny_model_dir, text):
    predictor = _cached_predictor(tiny_model_dir)
    [first] = predictor.predict([text])
    [second] = predictor.predict([text])
    assert 0.0 <= first.prob_positive <= 1.0
    assert first.prob_positive == second.prob_positive
    assert first.label == second.label


_PREDICTORS: dict[Path, Predictor] = {}


def _cached_predictor(model_dir: Path) -> Predictor:
    # hypothesis runs the test body many times with one fixture value; build the Predictor once
    if model_dir not in _PREDICTORS:
        _PREDICTORS[model_dir] = Predictor(model_dir)
    return _PREDICTORS[model_dir]


# --- predict.py ------------------------------------------------------------------------------------


def test_predict_script_answers_hostile_texts(tiny_model_dir, capsys):
    texts = [t for t in HOSTILE.values() if t != LONG_REVIEW]
    code, out, err = run_script("predict", ["--model", str(tiny_model_dir), "--json", *texts], capsys)
    assert (code, err) == (0, "")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["text"] for r in rows] == texts  # lone surrogates come back as JSON escapes
    assert all(0 <= r["prob_positive"] <= 1 for r in rows)
    assert rows[0]["nothing_known"] is True


def test_predict_script_plain_output_is_one_printable_line_per_text(tiny_model_dir, capsys):
    texts = ["영화\x00최고\x1b[2J", "줄\n바꿈", "\ud800"]
    code, out, _ = run_script("predict", ["--model", str(tiny_model_dir), *texts], capsys)
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3
    assert all(line.isprintable() for line in (line.replace("\t", " ") for line in lines))


def test_invalid_utf8_line_on_stdin_is_exit_4_and_others_are_answered(tiny_model_dir):
    stdin = "영화 최고\n".encode() + b"\xff\xfe broken \xc3\n" + "\n시간 아깝다\r\n".encode()
    result = run_predict_process(["--model", str(tiny_model_dir), "--json"], stdin)
    assert result.returncode == 4
    rows = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [r.get("text") for r in rows] == ["영화 최고", None, "", "시간 아깝다"]
    assert rows[1] == {"error": "line 2: invalid UTF-8 at byte 0"}
    assert result.stderr.decode() == "error: line 2: invalid UTF-8 at byte 0\n"


def test_invalid_utf8_line_in_file_is_exit_4_and_others_are_answered(tiny_model_dir, tmp_path, capsys):
    file = tmp_path / "reviews.txt"
    file.write_bytes("최고\n".encode() + b"caf\xe9\n" + "최악".encode())  # latin-1 é; no final newline
    code, out, err = run_script("predict", ["--model", str(tiny_model_dir), "--file", str(file)], capsys)
    assert code == 4
    assert [line.split("\t")[2] for line in out.splitlines()] == ["최고", "최악"]
    assert_one_line_error(err, "line 2", "invalid UTF-8")


def test_invalid_utf8_argument_is_exit_4(tiny_model_dir):
    result = run_predict_process(["--model", str(tiny_model_dir), b"\xff\xfe", "최고"])
    assert result.returncode == 4
    assert len(result.stdout.decode().splitlines()) == 1
    assert result.stderr.decode() == "error: argument 1: invalid UTF-8 at byte 0\n"


def test_predict_file_that_cannot_be_read_is_exit_3(tiny_model_dir, tmp_path, capsys):
    code, out, err = run_script("predict", ["--model", str(tiny_model_dir), "--file", str(tmp_path)], capsys)
    assert code == 3 and out == ""
    assert_one_line_error(err, str(tmp_path))


def test_predict_usage_errors_are_exit_2(tiny_model_dir, capsys):
    code, _, err = run_script("predict", ["--model", str(tiny_model_dir), "--batch-size", "0", "x"], capsys)
    assert code == 2 and "--batch-size" in err


# --- data files: train.py and evaluate.py ----------------------------------------------------------

HEADER = b"id\tdocument\tlabel\n"
MALFORMED = {
    # name: (file bytes, line named in the error, words in the error)
    "empty file": (b"", None, "empty file"),
    "header only": (HEADER, None, "no reviews"),
    "wrong header": (b"id,document,label\n1,a,1\n", 1, "wrong header"),
    "two fields": (HEADER + b"1\t1\n", 2, "found 2"),
    "four fields": (HEADER + "1\t좋아\t1\n2\t좋아\t요\t1\n".encode(), 3, "found 4"),
    "label not 0 or 1": (HEADER + "1\t좋아\t1\n2\t별로\t2\n".encode(), 3, "label"),
    "label missing": (HEADER + "1\t좋아\t\n".encode(), 2, "label"),
    "id not a number": (HEADER + "x1\t좋아\t1\n".encode(), 2, "id"),
    "id negative": (HEADER + "-1\t좋아\t1\n".encode(), 2, "id"),
    "invalid utf-8": (HEADER + "1\t좋아\t1\n".encode() + b"2\t\xed\xa0\x80\t0\n", 3, "invalid UTF-8"),
}


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_data_file_is_exit_3_naming_file_and_line(name, tiny_model_dir, tmp_path, capsys):
    content, line, words = MALFORMED[name]
    file = tmp_path / "ratings_test.txt"
    file.write_bytes(content)
    argv = ["--model", str(tiny_model_dir), "--file", str(file), "--cache-dir", str(tmp_path / "cache")]
    code, out, err = run_script("evaluate", argv, capsys)
    assert code == 3 and out == ""
    assert_one_line_error(err, f"{file}:{line}:" if line else str(file), words)


@pytest.mark.parametrize("name", ["empty file", "wrong header", "four fields", "invalid utf-8"])
def test_train_rejects_malformed_data_before_training(name, tiny_data_dir, tmp_path, capsys):
    content, line, words = MALFORMED[name]
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / data.TRAIN_FILE).write_bytes(content)
    (data_dir / data.TEST_FILE).write_bytes((tiny_data_dir / data.TEST_FILE).read_bytes())
    argv = ["--data-dir", str(data_dir), "--output-dir", str(tmp_path / "run"), "--tokenizer", "char"]
    code, _, err = run_script("train", argv, capsys)
    assert code == 3
    file = data_dir / data.TRAIN_FILE
    assert_one_line_error(err, f"{file}:{line}:" if line else str(file), words)
    assert not (tmp_path / "run" / "model").exists()


def test_missing_data_file_is_exit_3(tiny_model_dir, tmp_path, capsys):
    argv = ["--model", str(tiny_model_dir), "--file", str(tmp_path / "nope.tsv")]
    code, _, err = run_script("evaluate", argv, capsys)
    assert code == 3
    assert_one_line_error(err, "nope.tsv", "no such file")


def test_too_few_reviews_to_split_is_exit_3(tiny_data_dir, tmp_path, capsys):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / data.TRAIN_FILE).write_bytes(HEADER + "1\t좋아\t1\n2\t별로\t0\n".encode())
    (data_dir / data.TEST_FILE).write_bytes((tiny_data_dir / data.TEST_FILE).read_bytes())
    argv = ["--data-dir", str(data_dir), "--output-dir", str(tmp_path / "run"), "--tokenizer", "char"]
    code, _, err = run_script("train", argv, capsys)
    assert code == 3
    assert_one_line_error(err, "validation")


def test_odd_but_valid_reviews_are_read_as_written():
    """Quotes, tab-like and line-separator-like characters, a BOM and CRLF endings: all one review each."""
    reviews = data.read_reviews(ROBUSTNESS_DIR / "odd_but_valid.tsv")
    assert reviews.ids == [1, 2, 3, 4, 5, 6, 7, 8]
    assert reviews.labels.tolist() == [1, 0, 1, 0, 1, 0, 1, 0]
    assert reviews.texts[0] == '"명작"이라더니 정말 "최고"'
    assert reviews.texts[1] == '"'
    assert reviews.texts[2] == '따옴표를 열고 " 닫지 않음'
    assert reviews.texts[3] == "세로탭\x0b폼피드\x0c전각공백\u3000끝"
    assert reviews.texts[4] == "줄\x1c구분\x1d문자\x1e들\x85과\u2028유니코드\u2029구분"
    assert reviews.texts[5] == ""
    assert reviews.texts[6] == "윈도우 줄 끝"
    assert reviews.texts[7] == "\x00널 문자"
    assert normalize(reviews.texts[3]) == "세로탭 폼피드 전각공백 끝"


def test_evaluate_reads_odd_but_valid_file(tiny_model_dir, tmp_path, capsys):
    argv = ["--model", str(tiny_model_dir), "--file", str(ROBUSTNESS_DIR / "odd_but_valid.tsv"),
            "--cache-dir", str(tmp_path / "cache")]
    import shutil

    model = shutil.copytree(tiny_model_dir, tmp_path / "model")  # evaluate writes its metrics there
    argv[1] = str(model)
    code, out, err = run_script("evaluate", argv, capsys)
    assert code == 0, err
    metrics = json.loads((model / "evaluation-odd_but_valid.json").read_text(encoding="utf-8"))
    assert metrics["n"] == 8


class _Handler(http.server.BaseHTTPRequestHandler):
    body = b"not the corpus\n"

    def do_GET(self):  # noqa: N802 (the http.server API)
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def test_checksum_mismatch_of_download_is_exit_3_and_keeps_no_file(tmp_path, monkeypatch, capsys):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("NSMC_URL", f"http://127.0.0.1:{server.server_port}/")
        data_dir = tmp_path / "data"
        argv = ["--data-dir", str(data_dir), "--output-dir", str(tmp_path / "run"), "--tokenizer", "char"]
        code, _, err = run_script("train", argv, capsys)
    finally:
        server.shutdown()
        server.server_close()
    assert code == 3
    assert_one_line_error(err, "checksum mismatch", "not kept")
    assert list(data_dir.iterdir()) == []


# --- output directory: reported before any data is read --------------------------------------------


def test_unwritable_output_dir_is_exit_5_before_reading_data(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a directory should be", encoding="utf-8")
    # the data directory does not exist: reading it first would be exit 3, not 5
    argv = ["--data-dir", str(tmp_path / "no-data"), "--output-dir", str(blocker / "run")]
    code, _, err = run_script("train", argv, capsys)
    assert code == 5
    assert_one_line_error(err, "cannot write", str(blocker / "run"))


def test_full_disk_is_exit_5_before_reading_data(tmp_path, monkeypatch, capsys):
    import shutil

    from sentiment import trainer

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(trainer.shutil, "disk_usage", lambda path: usage._replace(free=10 * 2**20))
    argv = ["--data-dir", str(tmp_path / "no-data"), "--output-dir", str(tmp_path / "run")]
    code, _, err = run_script("train", argv, capsys)
    assert code == 5
    assert_one_line_error(err, "10 MiB free")


@pytest.mark.parametrize("flag, value", [
    ("--batch-size", "0"), ("--dropout", "1.5"), ("--embedding-dropout", "-0.1"), ("--hidden-size", "0"),
    ("--embedding-dim", "0"), ("--num-layers", "0"), ("--nonlinearity", "sigmoid"),
])
def test_train_rejects_impossible_settings_before_reading_data(tmp_path, capsys, flag, value):
    argv = ["--data-dir", str(tmp_path / "no-data"), "--output-dir", str(tmp_path / "run"), flag, value]
    code, _, err = run_script("train", argv, capsys)
    assert code == 1
    assert_one_line_error(err, flag)
