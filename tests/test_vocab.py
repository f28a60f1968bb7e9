"""The vocabulary: building it, encoding with it, and reading it back in another process."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from sentiment.vocab import PAD, PAD_ID, UNK, UNK_ID, Vocab

TOKEN_LISTS = [["영화", "최고", "ㅋㅋㅋ"], ["영화", "별로"], ["영화", "최고"], ["지루"]]


def test_special_tokens_come_first():
    vocab = Vocab.build(TOKEN_LISTS)
    assert (PAD_ID, UNK_ID) == (0, 1)
    assert vocab.itos[:2] == [PAD, UNK]
    assert vocab.stoi[PAD] == 0 and vocab.stoi[UNK] == 1


def test_build_orders_by_frequency_and_respects_min_freq():
    assert Vocab.build(TOKEN_LISTS, min_freq=1).itos == [PAD, UNK, "영화", "최고", "ㅋㅋㅋ", "별로", "지루"]
    assert Vocab.build(TOKEN_LISTS, min_freq=2).itos == [PAD, UNK, "영화", "최고"]
    assert Vocab.build(TOKEN_LISTS, min_freq=4).itos == [PAD, UNK]


def test_special_tokens_in_the_data_are_not_duplicated():
    vocab = Vocab.build([[PAD, UNK, "영화"], [UNK]])
    assert vocab.itos == [PAD, UNK, "영화"]


def test_encode_unknown_empty_and_truncation():
    vocab = Vocab.build(TOKEN_LISTS)
    assert vocab.encode(["영화", "처음", "최고"], max_len=10).tolist() == [2, UNK_ID, 3]
    empty = vocab.encode([], max_len=10)
    assert empty.tolist() == [UNK_ID] and empty.dtype == np.int64  # never length 0: packing refuses it
    assert vocab.encode(["영화"] * 50, max_len=7).tolist() == [2] * 7
    assert vocab.known_count(["영화", "처음", "최고"]) == 2


def test_invalid_vocabularies_are_refused():
    with pytest.raises(ValueError):
        Vocab(["영화", PAD, UNK])
    with pytest.raises(ValueError):
        Vocab([PAD, UNK, "영화", "영화"])


# Tabs, spaces, quotes, backslash, emoji (one with a skin-tone modifier), compatibility vs conjoining
# jamo, a zero-width space, precomposed vs decomposed é, a newline: each its own token, kept exactly.
ODD_TOKENS = ["탭\t안", "공 백", " ", '"', '"명작"', "\\", "'", "😀", "👍🏻", "ㅋ", "\u110f", "\u200b",
              "\u00e9", "e\u0301", "\n"]


def test_round_trip_in_a_new_process(tmp_path, repo_root):
    vocab = Vocab.build([ODD_TOKENS, ["영화", "최고"]])
    assert len(vocab) == 2 + len(ODD_TOKENS) + 2
    path = tmp_path / "vocab.json"
    vocab.save(path)
    queries = [*ODD_TOKENS, "영화", "없는말", PAD, UNK]
    expected = vocab.encode(queries, max_len=100).tolist()
    code = (
        "import json, sys\n"
        "from sentiment.vocab import Vocab\n"
        "vocab = Vocab.load(sys.argv[1])\n"
        "tokens = json.loads(sys.argv[2])\n"
        "print(json.dumps({'ids': vocab.encode(tokens, 100).tolist(), 'itos': vocab.itos}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path), json.dumps(queries)],
        cwd=repo_root, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["ids"] == expected
    assert result["itos"] == vocab.itos
    assert expected[queries.index("없는말")] == UNK_ID
