"""The results file of a sweep or tokenizer comparison: results are recorded by name, and a failed write loses none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sentiment.experiments import build_configs, record_result


def test_record_result_keeps_earlier_results(tmp_path):
    path = tmp_path / "out" / "results.json"
    record_result(path, {"name": "a"})
    record_result(path, {"name": "b", "note": "한국어"})
    assert json.loads(path.read_text(encoding="utf-8")) == [{"name": "a"}, {"name": "b", "note": "한국어"}]


def test_record_result_measured_again_replaces_its_row_in_place(tmp_path):
    path = tmp_path / "results.json"
    for result in ({"name": "a", "x": 1}, {"name": "b"}, {"name": "a", "x": 2}):
        record_result(path, result)
    assert json.loads(path.read_text(encoding="utf-8")) == [{"name": "a", "x": 2}, {"name": "b"}]


def test_record_result_that_fails_half_way_keeps_earlier_results(tmp_path, monkeypatch):
    # Bug: the results file was rewritten in place, so a full disk (or a kill) mid-write lost every result.
    path = tmp_path / "results.json"
    record_result(path, {"name": "a"})
    write_text = Path.write_text

    def disk_full(self, text, *args, **kwargs):
        write_text(self, text[: len(text) // 2], *args, **kwargs)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", disk_full)
    with pytest.raises(OSError):
        record_result(path, {"name": "b"})
    monkeypatch.undo()
    assert json.loads(path.read_text(encoding="utf-8")) == [{"name": "a"}]
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary file left behind


def test_build_configs_splits_settings_and_rejects_unknown_keys():
    train, model = build_configs({"epochs": 3, "hidden_size": 32})
    assert (train.epochs, model.hidden_size) == (3, 32)
    with pytest.raises(ValueError, match="unknown settings"):
        build_configs({"hiden_size": 32})


def test_compare_tokenizers_with_no_backend_named_compares_all():
    # Bug: a list default with `choices` made argparse reject the documented plain invocation.
    from script_helpers import load_script

    module = load_script("compare_tokenizers")
    assert module.parse_args([]).backends == list(module.BACKENDS)
    assert module.parse_args(["char", "mecab"]).backends == ["char", "mecab"]
    with pytest.raises(SystemExit):
        module.parse_args(["nosuch"])
