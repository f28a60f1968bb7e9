"""Measure accuracy and speed against the TF-IDF + linear SVM baseline, side by side in one run.

    NSMC_DIR=../shared/nsmc python scripts/benchmark.py --model models/default
    python scripts/benchmark.py --quick          # the whole path on the tiny test sample, in seconds

Writes benchmarks/benchmark-<date>.json and .md (the table pasted into the README) and prints the
table. Every figure says how it was measured; ratios come from figures of this same run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from sentiment.cli import run_main  # noqa: E402

TINY_DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "nsmc_tiny"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/default", help="trained model or run directory")
    parser.add_argument("--data-dir", help="NSMC folder (default: $NSMC_DIR, else data/nsmc)")
    parser.add_argument("--cache-dir", default="data/cache", help="token cache (default: %(default)s)")
    parser.add_argument("--out-dir", default="benchmarks", help="where the JSON and markdown go")
    parser.add_argument("--quick", action="store_true", help="tiny sample, tiny model, few repeats (a smoke test)")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.quick:
        with tempfile.TemporaryDirectory() as tmp:
            model_dir = train_tiny_model(Path(tmp))
            run(args, model_dir, TINY_DATA, repeats={"cold": 1, "latency": 20})
    else:
        run(args, args.model, args.data_dir, repeats={"cold": 5, "latency": 1000})


def train_tiny_model(tmp: Path) -> Path:
    from sentiment.config import ModelConfig, TrainConfig
    from sentiment.trainer import train

    cfg = TrainConfig(data_dir=str(TINY_DATA), output_dir=str(tmp / "run"), cache_dir=str(tmp / "cache"),
                      epochs=1, batch_size=8, min_freq=1, workers=1, val_fraction=0.2)
    train(cfg, ModelConfig(embedding_dim=8, hidden_size=8), log=lambda *a: None)
    return tmp / "run" / "model"


def run(args, model_dir, data_dir, repeats: dict) -> None:
    from sentiment import bench, data
    from sentiment.predict import Predictor

    report = {"machine": bench.machine_info(), "quick": args.quick, "model": str(model_dir)}
    numpy_predictor = Predictor(model_dir, engine="numpy")
    torch_predictor = Predictor(model_dir, engine="torch")
    saved = numpy_predictor.saved
    train_cfg = saved.config["train"]
    full = data.load_split(data.TRAIN_FILE, data_dir).without_empty()
    train_split, _ = data.train_val_split(full, train_cfg["val_fraction"], train_cfg["seed"])
    test = data.load_split(data.TEST_FILE, data_dir)
    say = lambda *a: print(*a, file=sys.stderr, flush=True)  # noqa: E731

    say("training speed (one epoch of the saved model's configuration)...")
    report["training"] = measure_training(saved, data_dir, Path(args.cache_dir), args.quick)
    say("accuracy: RNN and TF-IDF + linear SVM...")
    report["accuracy"] = measure_accuracy(numpy_predictor, train_split, test, report["training"])
    say("tokenization...")
    name = saved.tokenizer_spec["name"]
    report["tokenization"] = {
        "tokenizer": name,
        "1_worker": bench.tokenizer_speed(name, test.texts, 1, saved.tokenizer_spec.get("options")),
        "2_workers": bench.tokenizer_speed(name, test.texts, 2, saved.tokenizer_spec.get("options")),
        "cold_start": bench.tokenizer_cold_start(name),
    }
    if not args.quick:  # the JVM start alone takes seconds: only in the full run
        report["tokenization"]["okt_cold_start_for_reference"] = bench.tokenizer_cold_start("okt", repeats=1)
    say("inference...")
    report["inference"] = {
        "batch_numpy": bench.batch_throughput(numpy_predictor, test.texts, workers=2),
        "batch_torch": bench.batch_throughput(torch_predictor, test.texts, workers=2),
        "warm_latency_numpy": bench.warm_latency(numpy_predictor, "영화 최고", repeats["latency"]),
        "warm_latency_torch": bench.warm_latency(torch_predictor, "영화 최고", repeats["latency"]),
        "cli_cold_start": bench.cli_cold_starts(str(model_dir), ["numpy", "torch"], repeats["cold"]),
        "engine_agreement": bench.engine_agreement(numpy_predictor, torch_predictor, test.texts[:1000]),
    }
    report["ratios"] = ratios(report)
    write(report, Path(args.out_dir), args.quick)


def measure_training(saved, data_dir, cache_dir: Path, quick: bool) -> dict:
    """One epoch of the saved model's configuration on its training split (tokens from the cache)."""
    import torch

    from sentiment import bench
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
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    batches = shuffled_batches(np.array([len(s) for s in corpus.train_ids]), cfg.batch_size, cfg.seed, 1)
    _, seconds = bench.timed(train_epoch, model, corpus.train_ids, corpus.train_labels, batches, optimizer,
                             cfg.clip_grad_norm, torch.device("cpu"))
    epochs_run = len(saved.config["metrics"]["history"])
    return {
        "samples": len(corpus.train_ids), "seconds_per_epoch": seconds,
        "samples_per_second": len(corpus.train_ids) / seconds, "batch_size": cfg.batch_size,
        "peak_rss_mib": bench.peak_rss_mib(), "epochs_of_saved_model": epochs_run,
        "how": "one epoch timed in this run; peak RSS of the benchmark process after it (corpus, tokens, model)",
    }


def measure_accuracy(predictor, train_split, test, training: dict) -> dict:
    from sentiment import bench
    from sentiment.baseline import baseline_predict, fit_baseline
    from sentiment.metrics import classification_metrics

    baseline, fit_seconds = bench.timed(fit_baseline, train_split.texts, train_split.labels)
    predicted, score_seconds = bench.timed(baseline_predict, baseline, test.texts)
    svm = classification_metrics(test.labels, predicted.astype(float))
    predictions, rnn_seconds = bench.timed(predictor.predict, test.texts, workers=2)
    rnn = classification_metrics(test.labels, np.array([p.prob_positive for p in predictions]))
    return {
        "test_reviews": len(test),
        "rnn": {"accuracy": rnn["accuracy"], "macro_f1": rnn["macro_f1"], "score_seconds": rnn_seconds,
                "train_seconds_estimate": training["seconds_per_epoch"] * training["epochs_of_saved_model"],
                "how": "saved model, NumPy engine, 2 tokenizer workers; train time = this run's seconds per "
                       "epoch x epochs the saved model ran (tokenization excluded)"},
        "tfidf_svm": {"accuracy": svm["accuracy"], "macro_f1": svm["macro_f1"], "train_seconds": fit_seconds,
                      "score_seconds": score_seconds,
                      "how": "char_wb 1-4 + word 1-2 TF-IDF, sublinear tf, LinearSVC(C=0.5), same training split"},
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
    m, acc, tr = report["machine"], report["accuracy"], report["training"]
    tok, inf, r = report["tokenization"], report["inference"], report["ratios"]
    rows = [
        ("Test accuracy, RNN (NumPy engine)", f"{100 * acc['rnn']['accuracy']:.2f}% "
         f"(macro-F1 {acc['rnn']['macro_f1']:.4f}), {acc['test_reviews']:,} reviews"),
        ("Test accuracy, TF-IDF + linear SVM", f"{100 * acc['tfidf_svm']['accuracy']:.2f}% "
         f"(macro-F1 {acc['tfidf_svm']['macro_f1']:.4f})"),
        ("RNN minus SVM", f"{r['rnn_minus_svm_accuracy_points']:+.2f} points"),
        ("Train time, SVM / RNN", f"{acc['tfidf_svm']['train_seconds']:.0f} s / "
         f"~{acc['rnn']['train_seconds_estimate']:.0f} s ({tr['epochs_of_saved_model']} epochs)"),
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


def write(report: dict, out_dir: Path, quick: bool) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"benchmark-{date.today().isoformat()}" + ("-quick" if quick else "")
    (out_dir / f"{stem}.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    table = markdown(report)
    (out_dir / f"{stem}.md").write_text(table, encoding="utf-8")
    print(table)
    print(f"written {out_dir / stem}.json and .md", file=sys.stderr)


import numpy as np  # noqa: E402  (used by the measuring functions; after the path setup above)

if __name__ == "__main__":
    run_main(main)
