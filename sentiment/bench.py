"""Measurements behind scripts/benchmark.py and scripts/compare_tokenizers.py.

Each function measures one thing and says how in the dict it returns; ratios are computed from
figures taken in the same run, because these machines are noisy.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]


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


def tokenizer_speed(name: str, texts: Sequence[str], workers: int, options: dict | None = None,
                    fit_texts: Sequence[str] | None = None) -> dict:
    """Documents per second of `tokenize_many`, the tagger already warm (a first call is not timed)."""
    from sentiment.preprocess import make_tokenizer

    tokenizer = make_tokenizer(name, options)
    if tokenizer.needs_fit:
        tokenizer.fit(fit_texts or texts)
    tokenizer.tokenize_many(texts[:10], workers=1, progress=False)
    _, seconds = timed(tokenizer.tokenize_many, texts, workers=workers, progress=False)
    return {"docs": len(texts), "workers": workers, "seconds": seconds, "docs_per_second": len(texts) / seconds,
            "how": "tokenize_many on the listed docs, warm tagger; worker processes started inside the timing"}


def tokenizer_cold_start(name: str, repeats: int = 3) -> dict:
    """Seconds for a new process to import the backend, build it and tokenize one sentence (median)."""
    code = (
        "import time; t = time.perf_counter()\n"
        "from sentiment.preprocess import make_tokenizer\n"
        f"make_tokenizer({name!r}).tokenize('영화 정말 최고였어요')\n"
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
