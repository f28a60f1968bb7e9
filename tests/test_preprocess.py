"""normalize, the tokenizer backends, parallel tokenization and the token cache."""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata

import pytest

from sentiment.data import read_reviews
from sentiment.preprocess import (
    MAX_CHARS,
    CharTokenizer,
    MecabTokenizer,
    cache_key,
    make_tokenizer,
    normalize,
    tokenize_cached,
)

SENTENCE = "이 영화 정말 최고예요 ㅋㅋㅋㅋㅋ"
BLANKS = ["", " ", "\t\n  ", "\x00", "\u200b\u200b", "\ud800"]


@pytest.fixture(scope="module")
def mecab() -> MecabTokenizer:
    return make_tokenizer("mecab")


@pytest.fixture(scope="module")
def char() -> CharTokenizer:
    return make_tokenizer("char")


# --- normalize ----------------------------------------------------------------------------------


def test_normalize_composes_decomposed_hangul():
    decomposed = unicodedata.normalize("NFD", "영화 최고")
    assert len(decomposed) > len("영화 최고")  # conjoining jamo
    assert normalize(decomposed) == "영화 최고"


def test_normalize_drops_control_format_and_surrogate_characters():
    assert normalize("재밌\x00다\x07") == "재밌다"
    assert normalize("좋\ud800아\u200b요") == "좋아요"  # lone surrogate, zero-width space
    assert normalize("\x1b[31m별로") == "[31m별로"  # ESC goes, the printable rest stays


def test_normalize_squashes_runs_to_three():
    assert normalize("ㅋㅋㅋㅋㅋ") == "ㅋㅋㅋ"
    assert normalize("재밌다!!!!!!!! ㅠㅠㅠㅠ") == "재밌다!!! ㅠㅠㅠ"
    assert normalize("ㅋㅋㅋ ㅋㅋ") == "ㅋㅋㅋ ㅋㅋ"  # three or fewer are left alone


def test_normalize_collapses_whitespace_and_lowercases():
    assert normalize("  영화\t\t최고\n\r\n진짜   BEST  ") == "영화 최고 진짜 best"
    assert normalize("a\u3000b\u00a0c") == "a b c"  # ideographic and no-break spaces


def test_normalize_bounds_length():
    long = "가나다라 " * (2 * MAX_CHARS)
    assert len(normalize(long)) == MAX_CHARS
    assert normalize(long).startswith("가나다라 가나다라")
    assert len(normalize("x" * 10 * MAX_CHARS)) == 3  # squashed before the cut


# --- tokenizers ---------------------------------------------------------------------------------


def test_mecab_tokens(mecab):
    assert mecab.tokenize(SENTENCE) == ["이", "영화", "정말", "최고", "예요", "ㅋㅋㅋ"]
    assert mecab.tokenize('"명작"이라더니 별로') == ['"', "명작", '"', "이", "라더니", "별로"]


def test_mecab_tokens_are_exactly_morphs(mecab, tiny_data_dir):
    # The tokenizer reads surfaces off MeCab's lattice (faster); they must be what MeCab.morphs() gives.
    import mecab as mecab_ko

    tagger = mecab_ko.MeCab()
    texts = read_reviews(tiny_data_dir / "ratings_train.txt").texts + [
        SENTENCE, "최고에요😡😡", "hello world 123", "ㅋㅋㅋ ㅠㅠ 진짜...", "마블 영화 3편은 2시간 40분!!",
        "띄어쓰기없이쭉쓴리뷰인데재밌었음", "x" * 500, "영화" * 300,
    ]
    normalized = [t for t in (normalize(x) for x in texts) if t]
    assert [mecab.tokenize(t) for t in normalized] == [tagger.morphs(t) for t in normalized]


def test_char_tokens_mark_word_starts(char):
    assert char.tokenize("영화  최고!") == ["▁", "영", "화", "▁", "최", "고", "!"]


@pytest.mark.parametrize("text", BLANKS, ids=repr)
def test_blank_text_gives_no_tokens(mecab, char, text):
    assert mecab.tokenize(text) == []
    assert char.tokenize(text) == []


def test_kiwi_batch_of_blank_texts_with_progress_bar():
    # Bug: with nothing left to tag, the progress bar asked len() of kiwi's lazy results (TypeError),
    # e.g. `evaluate.py --file` on a file of empty reviews with a kiwi model.
    pytest.importorskip("kiwipiepy")
    kiwi = make_tokenizer("kiwi")
    assert kiwi.tokenize_many(["", " \t"], progress=True) == [[], []]


def test_tokenize_many_in_two_processes_equals_one(mecab, tiny_data_dir):
    from sentiment.data import read_reviews

    texts = read_reviews(tiny_data_dir / "ratings_train.txt").texts  # 40, two of them empty
    corpus = [f"{texts[i % len(texts)]} {i}" if i % 7 else texts[i % len(texts)] for i in range(2000)]
    serial = mecab.tokenize_many(corpus, workers=1, progress=False)
    parallel = mecab.tokenize_many(corpus, workers=2, progress=False)  # >= 2000 texts: spawned processes
    assert parallel == serial
    assert len(parallel) == 2000 and [] in parallel


def test_unknown_tokenizer_name():
    with pytest.raises(ValueError, match="unknown tokenizer"):
        make_tokenizer("whitespace")


# --- token cache --------------------------------------------------------------------------------


def test_tokenize_cached_second_call_comes_from_cache(mecab, tmp_path):
    texts = ["영화 최고", "", "시간 아깝다 ㅋㅋㅋㅋ"]
    first, cached = tokenize_cached(texts, mecab, tmp_path, progress=False)
    assert not cached
    assert len(list(tmp_path.glob("tokens-mecab-*.json"))) == 1
    second, cached = tokenize_cached(texts, mecab, tmp_path, progress=False)
    assert cached
    assert second == first == mecab.tokenize_many(texts, progress=False)


def test_tokenize_cached_without_cache_dir(char):
    tokens, cached = tokenize_cached(["영화"], char, None, progress=False)
    assert (tokens, cached) == ([["▁", "영", "화"]], False)


def test_cache_key_changes_with_tokenizer_texts_and_options(mecab, char):
    texts = ["영화 최고", "별로"]
    assert cache_key(texts, char) == cache_key(list(texts), make_tokenizer("char"))
    assert cache_key(texts, char) != cache_key(texts, mecab)
    assert cache_key(texts, char) != cache_key(texts[:1], char)
    assert cache_key(texts, char) != cache_key(["영화 최고\n별로"], char)  # not just the joined text
    # Okt's norm/stem are the real options; the key must see any option without starting a JVM here.
    assert cache_key(texts, CharTokenizer(stem=True)) != cache_key(texts, CharTokenizer(stem=False))
    assert cache_key(texts, CharTokenizer(stem=False)) != cache_key(texts, char)


def test_cache_does_not_confuse_texts_that_contain_newlines(char, tmp_path):
    # Same count, same characters, different split: once got each other's cached tokens.
    first, _ = tokenize_cached(["영\n화", "최"], char, tmp_path, progress=False)
    second, cached = tokenize_cached(["영", "화\n최"], char, tmp_path, progress=False)
    assert not cached
    assert second == [["▁", "영"], ["▁", "화", "▁", "최"]] != first


def test_different_tokenizers_do_not_share_cache_entries(mecab, char, tmp_path):
    texts = ["영화 최고"]
    tokenize_cached(texts, mecab, tmp_path, progress=False)
    tokens, cached = tokenize_cached(texts, char, tmp_path, progress=False)
    assert not cached and tokens == [["▁", "영", "화", "▁", "최", "고"]]


# --- okt (JVM) ----------------------------------------------------------------------------------

# Okt runs in a child process: a JVM started inside the pytest process would stay for the whole
# session, install its own signal handlers and make any later fork unsafe (see GUIDE.md).
OKT_SCRIPT = """
import json, sys
from sentiment.preprocess import make_tokenizer
try:
    plain = make_tokenizer("okt")
except Exception as e:  # no Java runtime, JPype or konlpy: report, do not fail
    print(json.dumps({"skip": f"{type(e).__name__}: {e}"}))
    sys.exit(0)
stemmed = make_tokenizer("okt", {"norm": True, "stem": True})
text = sys.argv[1]
print(json.dumps({"plain": plain.tokenize(text), "stemmed": stemmed.tokenize(text),
                  "blank": plain.tokenize("   "), "spec": stemmed.spec()}, ensure_ascii=False))
"""


@pytest.fixture(scope="module")
def okt_results(repo_root) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", OKT_SCRIPT, "이 영화 정말 재밌어요 ㅋㅋㅋㅋㅋ"],
        cwd=repo_root, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if "skip" in result:
        pytest.skip(f"okt unavailable: {result['skip']}")
    return result


def test_okt_tokens_and_options(okt_results):
    assert okt_results["plain"] == ["이", "영화", "정말", "재밌어요", "ㅋㅋㅋ"]
    assert okt_results["stemmed"] == ["이", "영화", "정말", "재밌다", "ㅋㅋㅋ"]
    assert okt_results["blank"] == []
    assert okt_results["spec"] == {"name": "okt", "options": {"norm": True, "stem": True}}
