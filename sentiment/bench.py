"""Measurements behind scripts/benchmark.py and scripts/compare_tokenizers.py, and their reports.

Each function measures one thing and says how in the dict it returns; ratios are computed from
figures taken in the same run, because these machines are noisy.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np

from sentiment.files import write_text_atomically

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY_DATA_DIR = REPO_ROOT / "tests" / "data" / "nsmc_tiny"  # the hand-written test sample: --quick runs on it


def machine_info() -> dict:
    import sklearn
    import torch

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "versions": {"torch": torch.__version__, "numpy": np.__version__, "scikit-learn": sklearn.__version__},
    }


def timed(function, *args, **kwargs) -> tuple[object, float]:
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def tokenizer_speed(spec: dict, texts: Sequence[str], workers: int, model_dir=None) -> dict:
    """Documents per second of `tokenize_many`, the tagger already warm (a first call is not timed).

    `model_dir` supplies a fitted backend's files (sentencepiece); `spec` is {"name", "options"}.
    """
    from sentiment.preprocess import make_tokenizer

    tokenizer = make_tokenizer(spec["name"], spec.get("options"), model_dir)
    tokenizer.tokenize_many(texts[:10], workers=1, progress=False)
    _, seconds = timed(tokenizer.tokenize_many, texts, workers=workers, progress=False)
    return {"docs": len(texts), "workers": workers, "seconds": seconds, "docs_per_second": len(texts) / seconds,
            "how": "tokenize_many on the listed docs, warm tagger; worker processes started inside the timing"}


def tokenizer_cold_start(spec: dict, model_dir=None, repeats: int = 3) -> dict:
    """Seconds for a new process to import the backend, build it and tokenize one sentence (median)."""
    code = (
        "import time; t = time.perf_counter()\n"
        "from sentiment.preprocess import make_tokenizer\n"
        f"make_tokenizer({spec['name']!r}, {spec.get('options')!r}, {None if model_dir is None else str(model_dir)!r})"
        ".tokenize('영화 정말 최고였어요')\n"
        "print(time.perf_counter() - t)"
    )
    runs = [float(_python(code).strip()) for _ in range(repeats)]
    return {"median_seconds": statistics.median(runs), "runs": runs,
            "how": "new python process: import + construct + first sentence, timed inside the process"}


def cli_cold_starts(model_dir: str, engines: Sequence[str], runs: int) -> dict:
    """Wall time of `python scripts/predict.py "영화 최고"` per engine, runs alternating between engines."""
    times: dict[str, list[float]] = {engine: [] for engine in engines}
    for _ in range(runs):
        for engine in engines:
            command = [sys.executable, "scripts/predict.py", "영화 최고", "--model", str(model_dir), "--engine", engine]
            start = time.perf_counter()
            subprocess.run(command, cwd=REPO_ROOT, check=True, capture_output=True)
            times[engine].append(time.perf_counter() - start)
    return {engine: {"median_seconds": statistics.median(t), "runs": t} for engine, t in times.items()}


def batch_throughput(predictor, texts: Sequence[str], workers: int) -> dict:
    """Reviews per second for a whole batch: with tokenization (as predict.py does) and without."""
    tokens, tokenize_seconds = timed(predictor.tokenizer.tokenize_many, texts, workers=workers, progress=False)
    _, model_seconds = timed(predictor.predict_tokens, tokens)
    return {
        "reviews": len(texts), "tokenizer_workers": workers,
        "with_tokenization_per_second": len(texts) / (tokenize_seconds + model_seconds),
        "model_only_per_second": len(texts) / model_seconds,
        "tokenize_seconds": tokenize_seconds, "model_seconds": model_seconds,
    }


def engine_agreement(numpy_predictor, torch_predictor, texts: Sequence[str]) -> dict:
    """How far apart the NumPy and torch engines are on the same reviews (float32 weights)."""
    a = np.array([p.prob_positive for p in numpy_predictor.predict(texts)])
    b = np.array([p.prob_positive for p in torch_predictor.predict(texts)])
    return {"reviews": len(texts), "max_abs_difference": float(np.abs(a - b).max()),
            "label_disagreements": int(((a >= 0.5) != (b >= 0.5)).sum())}


def warm_latency(predictor, text: str, calls: int) -> dict:
    predictor.predict([text])
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        predictor.predict([text])
        times.append(time.perf_counter() - start)
    return {"calls": calls, "median_ms": 1000 * statistics.median(times),
            "p99_ms": 1000 * float(np.percentile(times, 99)), "how": "Predictor.predict([one review]), warm"}


def _python(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, check=True,
                          capture_output=True, text=True).stdout


# --- scripts/benchmark.py: the whole report for one saved model -----------------------------------


def _say(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


def train_tiny_model(tmp: Path) -> Path:
    """A small model trained for one epoch on the tiny sample, for `benchmark.py --quick`."""
    from sentiment.config import ModelConfig, TrainConfig
    from sentiment.trainer import MODEL_SUBDIR, train

    cfg = TrainConfig(data_dir=str(TINY_DATA_DIR), output_dir=str(tmp / "run"), cache_dir=str(tmp / "cache"),
                      epochs=1, batch_size=8, min_freq=1, workers=1, val_fraction=0.2)
    train(cfg, ModelConfig(embedding_dim=8, hidden_size=8), log=lambda *a: None)
    return tmp / "run" / MODEL_SUBDIR


def run_benchmark(model_dir, data_dir, cache_dir: Path, quick: bool, repeats: dict, say=_say) -> dict:
    """Every figure of the benchmark report; `repeats` gives the "cold" start and warm "latency" counts."""
    from sentiment import data
    from sentiment.predict import Predictor

    report = {"machine": machine_info(), "quick": quick, "model": str(model_dir)}
    numpy_predictor = Predictor(model_dir, engine="numpy")
    torch_predictor = Predictor(model_dir, engine="torch")
    saved = numpy_predictor.saved
    train_cfg = saved.config["train"]
    full = data.load_split(data.TRAIN_FILE, data_dir).without_empty()
    train_split, _ = data.train_val_split(full, train_cfg["val_fraction"], train_cfg["seed"])
    test = data.load_split(data.TEST_FILE, data_dir)

    say("training speed (one epoch of the saved model's configuration)...")
    report["training"] = measure_training(saved, data_dir, cache_dir)
    say("accuracy: RNN and TF-IDF + linear SVM...")
    report["accuracy"] = measure_accuracy(numpy_predictor, train_split, test, report["training"])
    say("tokenization...")
    report["tokenization"] = measure_tokenization(saved.tokenizer_spec, saved.path, test.texts, with_okt=not quick)
    say("inference...")
    report["inference"] = measure_inference(numpy_predictor, torch_predictor, test.texts, model_dir, repeats)
    report["ratios"] = ratios(report)
    return report


def measure_training(saved, data_dir, cache_dir: Path) -> dict:
    """One epoch of the saved model's configuration on its training split (tokens from the cache)."""
    import torch

    from sentiment.batching import shuffled_batches
    from sentiment.config import ModelConfig, TrainConfig
    from sentiment.engine import train_epoch
    from sentiment.model import RNNClassifier
    from sentiment.trainer import prepare_corpus, set_seed

    cfg = TrainConfig.from_dict({**saved.config["train"], "data_dir": str(data_dir) if data_dir else None,
                                 "cache_dir": str(cache_dir)})
    _, vocab, corpus = prepare_corpus(cfg, log=lambda *a: None)
    set_seed(cfg.seed)
    model_cfg = ModelConfig.from_dict({**saved.config["model"], "vocab_size": len(vocab)})
    model = RNNClassifier(model_cfg)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    batches = shuffled_batches(np.array([len(s) for s in corpus.train_ids]), cfg.batch_size, cfg.seed, 1)
    _, seconds = timed(train_epoch, model, corpus.train_ids, corpus.train_labels, batches, optimizer,
                       cfg.clip_grad_norm, torch.device("cpu"))
    recorded = saved.config["metrics"]
    return {
        "samples": len(corpus.train_ids), "seconds_per_epoch": seconds,
        "samples_per_second": len(corpus.train_ids) / seconds, "batch_size": cfg.batch_size,
        "peak_rss_mib": peak_rss_mib(), "epochs_run_by_saved_model": len(recorded["history"]),
        "recorded_training_seconds": recorded.get("training_seconds"),
        "how": "one epoch timed in this run; peak RSS of the benchmark process after it (corpus, tokens, model); "
               "recorded_training_seconds: the sum of epoch times the training run wrote into the model",
    }


def measure_accuracy(predictor, train_split, test, training: dict) -> dict:
    from sentiment.baseline import baseline_predict, fit_baseline
    from sentiment.metrics import classification_metrics

    baseline, fit_seconds = timed(fit_baseline, train_split.texts, train_split.labels)
    predicted, score_seconds = timed(baseline_predict, baseline, test.texts)
    svm = classification_metrics(test.labels, predicted.astype(float))
    predictions, rnn_seconds = timed(predictor.predict, test.texts, workers=2)
    rnn = classification_metrics(test.labels, np.array([p.prob_positive for p in predictions]))
    return {
        "test_reviews": len(test),
        "rnn": {"accuracy": rnn["accuracy"], "macro_f1": rnn["macro_f1"], "score_seconds": rnn_seconds,
                "train_seconds_estimate": training["seconds_per_epoch"] * training["epochs_run_by_saved_model"],
                "how": "saved model, NumPy engine, 2 tokenizer workers; train time = this run's seconds per "
                       "epoch x epochs the training run ran, early-stopping epochs included (tokenization "
                       "excluded)"},
        "tfidf_svm": {"accuracy": svm["accuracy"], "macro_f1": svm["macro_f1"], "train_seconds": fit_seconds,
                      "score_seconds": score_seconds,
                      "how": "char_wb 1-4 + word 1-2 TF-IDF, sublinear tf, LinearSVC(C=0.5), same training split"},
    }


def measure_tokenization(spec: dict, model_dir, texts: Sequence[str], with_okt: bool) -> dict:
    """The saved model's tokenizer with 1 and 2 workers, its cold start, and okt's for reference."""
    result = {
        "tokenizer": spec["name"],
        "1_worker": tokenizer_speed(spec, texts, 1, model_dir),
        "2_workers": tokenizer_speed(spec, texts, 2, model_dir),
        "cold_start": tokenizer_cold_start(spec, model_dir),
    }
    if with_okt:  # the JVM start alone takes seconds: only in the full run
        result["okt_cold_start_for_reference"] = tokenizer_cold_start({"name": "okt"}, repeats=1)
    return result


def measure_inference(numpy_predictor, torch_predictor, texts: Sequence[str], model_dir, repeats: dict) -> dict:
    return {
        "batch_numpy": batch_throughput(numpy_predictor, texts, workers=2),
        "batch_torch": batch_throughput(torch_predictor, texts, workers=2),
        "warm_latency_numpy": warm_latency(numpy_predictor, "영화 최고", repeats["latency"]),
        "warm_latency_torch": warm_latency(torch_predictor, "영화 최고", repeats["latency"]),
        "cli_cold_start": cli_cold_starts(str(model_dir), ["numpy", "torch"], repeats["cold"]),
        "engine_agreement": engine_agreement(numpy_predictor, torch_predictor, texts[:1000]),
    }


def ratios(report: dict) -> dict:
    acc, inf, tok = report["accuracy"], report["inference"], report["tokenization"]
    cold = inf["cli_cold_start"]
    return {
        "rnn_minus_svm_accuracy_points": 100 * (acc["rnn"]["accuracy"] - acc["tfidf_svm"]["accuracy"]),
        "torch_over_numpy_cold_start": cold["torch"]["median_seconds"] / cold["numpy"]["median_seconds"],
        "numpy_over_torch_batch_model_only": inf["batch_numpy"]["model_only_per_second"]
        / inf["batch_torch"]["model_only_per_second"],
        "tokenizer_2_workers_over_1": tok["2_workers"]["docs_per_second"] / tok["1_worker"]["docs_per_second"],
    }


def markdown(report: dict) -> str:
    """The report as the table pasted into the README."""
    m, acc, tr = report["machine"], report["accuracy"], report["training"]
    tok, inf, r = report["tokenization"], report["inference"], report["ratios"]
    rows = [
        ("Test accuracy, RNN (NumPy engine)", f"{100 * acc['rnn']['accuracy']:.2f}% "
         f"(macro-F1 {acc['rnn']['macro_f1']:.4f}), {acc['test_reviews']:,} reviews"),
        ("Test accuracy, TF-IDF + linear SVM", f"{100 * acc['tfidf_svm']['accuracy']:.2f}% "
         f"(macro-F1 {acc['tfidf_svm']['macro_f1']:.4f})"),
        ("RNN minus SVM", f"{r['rnn_minus_svm_accuracy_points']:+.2f} points"),
        ("Train time, SVM / RNN", f"{acc['tfidf_svm']['train_seconds']:.0f} s / "
         f"~{acc['rnn']['train_seconds_estimate']:.0f} s ({tr['epochs_run_by_saved_model']} epochs)"),
        ("Score the test set, SVM / RNN", f"{acc['tfidf_svm']['score_seconds']:.1f} s / "
         f"{acc['rnn']['score_seconds']:.1f} s (RNN incl. tokenization)"),
        (f"Tokenization ({tok['tokenizer']}), 1 / 2 workers", f"{tok['1_worker']['docs_per_second']:,.0f} / "
         f"{tok['2_workers']['docs_per_second']:,.0f} docs/s (x{r['tokenizer_2_workers_over_1']:.2f})"),
        (f"Time to a warm tagger, {tok['tokenizer']} / okt (JVM)", f"{tok['cold_start']['median_seconds']:.2f} s / "
         f"{tok.get('okt_cold_start_for_reference', {}).get('median_seconds', float('nan')):.2f} s"),
        ("Training", f"{tr['samples_per_second']:,.0f} samples/s, {tr['seconds_per_epoch']:.0f} s/epoch "
         f"(batch {tr['batch_size']}), peak RSS {tr['peak_rss_mib']:,.0f} MiB"),
        ("Batch prediction, NumPy: with / without tokenization",
         f"{inf['batch_numpy']['with_tokenization_per_second']:,.0f} / "
         f"{inf['batch_numpy']['model_only_per_second']:,.0f} reviews/s"),
        ("Batch prediction, torch: with / without tokenization",
         f"{inf['batch_torch']['with_tokenization_per_second']:,.0f} / "
         f"{inf['batch_torch']['model_only_per_second']:,.0f} reviews/s"),
        ("One review, warm Predictor, NumPy (median / p99)",
         f"{inf['warm_latency_numpy']['median_ms']:.2f} / {inf['warm_latency_numpy']['p99_ms']:.2f} ms"),
        ("One review, warm Predictor, torch (median / p99)",
         f"{inf['warm_latency_torch']['median_ms']:.2f} / {inf['warm_latency_torch']['p99_ms']:.2f} ms"),
        ('Cold start `predict.py "영화 최고"`, NumPy / torch',
         f"{inf['cli_cold_start']['numpy']['median_seconds']:.2f} s / "
         f"{inf['cli_cold_start']['torch']['median_seconds']:.2f} s (x{r['torch_over_numpy_cold_start']:.1f}, "
         f"median of {len(inf['cli_cold_start']['numpy']['runs'])})"),
        (f"NumPy vs torch engine on {inf['engine_agreement']['reviews']:,} test reviews",
         f"max |Δp| {inf['engine_agreement']['max_abs_difference']:.1e}, "
         f"{inf['engine_agreement']['label_disagreements']} labels differ"),
    ]
    head = f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores, torch {m['versions']['torch']}"
    lines = [head, "", "| What | Result |", "|---|---|", *[f"| {a} | {b} |" for a, b in rows]]
    return "\n".join(lines) + "\n"


def write_report(report: dict, out_dir: Path) -> Path:
    """benchmark-<date>[-quick].json and .md in `out_dir`; returns the path without its suffix."""
    stem = out_dir / (f"benchmark-{date.today().isoformat()}" + ("-quick" if report["quick"] else ""))
    write_text_atomically(stem.with_suffix(".json"), json.dumps(report, ensure_ascii=False, indent=2))
    write_text_atomically(stem.with_suffix(".md"), markdown(report))
    return stem


# --- scripts/compare_tokenizers.py ----------------------------------------------------------------


def write_tokenizer_table(results_file: Path) -> str:
    """The comparison's results (a JSON list) as a markdown table, written beside them as .md."""
    rows = json.loads(results_file.read_text(encoding="utf-8"))
    lines = [
        "| tokenizer | docs/s, 1 worker | docs/s, 2 workers | cold start | vocabulary | validation acc. | "
        "test acc. | s/epoch |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['speed']['1_workers']['docs_per_second']:,.0f} | "
            f"{r['speed']['2_workers']['docs_per_second']:,.0f} | {r['cold_start']['median_seconds']:.2f} s | "
            f"{r['vocab_size']:,} | {100 * r['validation_accuracy']:.2f}% | {100 * r['test_accuracy']:.2f}% | "
            f"{r['seconds_per_epoch']:.0f} |"
        )
    table = "\n".join(lines) + "\n"
    write_text_atomically(results_file.with_suffix(".md"), table)
    return table
