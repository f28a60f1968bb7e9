"""One training run, start to finish: data -> tokens -> vocabulary -> model -> epochs -> test report.

A run directory (`--output-dir`) holds:
    model/    the best model so far (a model directory, see checkpoint.py), replaced atomically
    resume/   the last finished epoch: a model directory plus train_state.pt (optimizer, scheduler,
              RNG states, epoch, early-stopping state), replaced atomically; `--resume` reads it
    train.lock  held while a run writes here, so two runs cannot interleave their files
"""

from __future__ import annotations

import fcntl
import os
import platform
import random
import shutil
import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sentiment import checkpoint, data
from sentiment.batching import shuffled_batches
from sentiment.config import ModelConfig, TrainConfig
from sentiment.engine import predict_proba, train_epoch
from sentiment.errors import ModelError, OutputError, SentimentError
from sentiment.metrics import classification_metrics, format_metrics
from sentiment.model import RNNClassifier
from sentiment.numpy_rnn import NONLINEARITIES
from sentiment.preprocess import make_tokenizer, tokenize_cached
from sentiment.vocab import Vocab

MODEL_SUBDIR, RESUME_SUBDIR, STATE_FILE = "model", "resume", "train_state.pt"
MIN_FREE_BYTES = 200 * 2**20


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise SentimentError("--device cuda: no CUDA device is available (use --device cpu or auto)")
    return torch.device(name)


@dataclass
class Corpus:
    """Encoded splits: id arrays and labels for train, validation and test."""

    train_ids: list[np.ndarray]
    train_labels: np.ndarray
    val_ids: list[np.ndarray]
    val_labels: np.ndarray
    test_ids: list[np.ndarray]
    test_labels: np.ndarray


# What `--resume` may change: where things are and how long to go on, never the model or the data.
RESUME_OVERRIDES = ("epochs", "patience", "data_dir", "cache_dir", "device", "workers")


def train(cfg: TrainConfig, model_cfg: ModelConfig, resume: bool = False, log=print,
          overrides: dict | None = None) -> dict:
    """Train, keep the best model by validation accuracy, report on the test file. Returns metrics.

    With `resume`, the run in `cfg.output_dir` continues with its own settings, except for
    `overrides` (keys from RESUME_OVERRIDES, e.g. a larger `epochs`); `cfg` and `model_cfg` are ignored.
    """
    run_dir = Path(cfg.output_dir)
    check_config(cfg, None if resume else model_cfg)  # a resumed run's model was checked when it started
    preflight_output(run_dir)
    with exclusive_lock(run_dir), sigterm_as_interrupt():
        state, resume_dir = None, None
        if resume:
            cfg, model_cfg, state = read_resume_state(run_dir, overrides or {}, log)
            resume_dir = run_dir / RESUME_SUBDIR
        set_seed(cfg.seed)
        device = pick_device(cfg.device)
        tokenizer, vocab, corpus = prepare_corpus(cfg, log, tokenizer_dir=resume_dir)
        if state is not None and vocab.itos != state["vocab"]:
            raise SentimentError(f"cannot resume {run_dir}: the training data is not the data the run started "
                                 "with (its vocabulary differs)")
        model_cfg.vocab_size = len(vocab)
        log(f"model: {model_cfg}")
        log(f"device: {device}")
        try:
            history = fit(cfg, model_cfg, tokenizer, vocab, corpus, device, state, log)
        except KeyboardInterrupt:
            if (run_dir / RESUME_SUBDIR).exists():
                log(f"\ninterrupted: the best model is in {run_dir / MODEL_SUBDIR}; "
                    f"continue with `python scripts/train.py --resume {run_dir}`")
            else:
                log("\ninterrupted before the first epoch ended: nothing was saved")
            raise
        return report_test(run_dir, tokenizer, corpus, device, history, log)


def check_config(cfg: TrainConfig, model_cfg: ModelConfig | None = None) -> None:
    """Reject settings that would only fail later, with a traceback, in the middle of training."""
    at_least_one = [(cfg, name) for name in ("epochs", "batch_size", "max_len", "min_freq", "patience", "workers")]
    if model_cfg is not None:
        at_least_one += [(model_cfg, name) for name in ("embedding_dim", "hidden_size", "num_layers")]
    problems = [f"--{name.replace('_', '-')} must be at least 1" for config, name in at_least_one
                if getattr(config, name) < 1]
    if not 0 < cfg.val_fraction < 1:
        problems.append("--val-fraction must be between 0 and 1")
    if model_cfg is not None:
        problems += [f"--{name.replace('_', '-')} must be at least 0 and below 1"
                     for name in ("dropout", "embedding_dropout") if not 0 <= getattr(model_cfg, name) < 1]
        if model_cfg.nonlinearity not in NONLINEARITIES:
            problems.append(f"--nonlinearity must be one of {', '.join(NONLINEARITIES)}")
    if problems:
        raise SentimentError("; ".join(problems))


def prepare_corpus(cfg: TrainConfig, log, tokenizer_dir: Path | None = None) -> tuple:
    """Read, split, tokenize (cached) and encode; the vocabulary comes from the training split only.

    `tokenizer_dir`: a model directory whose fitted tokenizer (sentencepiece) to reuse, not refit.
    """
    full = data.load_split(data.TRAIN_FILE, cfg.data_dir)
    test = data.load_split(data.TEST_FILE, cfg.data_dir)
    log(f"read {len(full):,} training reviews ({full.source}) and {len(test):,} test reviews ({test.source})")
    log(f"dropped {full.empty} empty training documents; the {test.empty} empty test documents are kept "
        "and scored as <unk>")
    full = full.without_empty()
    if cfg.limit:
        full = full.subset(np.arange(min(cfg.limit, len(full))))
    train_split, val_split = data.train_val_split(full, cfg.val_fraction, cfg.seed)
    log(f"split: {len(train_split):,} train / {len(val_split):,} validation (seed {cfg.seed}, stratified)")

    cache = Path(cfg.cache_dir) if cfg.cache_dir else None
    tokenizer = make_tokenizer(cfg.tokenizer, cfg.tokenizer_options, model_dir=tokenizer_dir)
    if tokenizer.needs_fit and tokenizer_dir is None:
        tokenizer.fit(train_split.texts)
    tokens = {}
    for name, split in [("train", train_split), ("validation", val_split), ("test", test)]:
        start = time.perf_counter()
        tokens[name], cached = tokenize_cached(split.texts, tokenizer, cache, cfg.workers)
        seconds = time.perf_counter() - start
        rate = len(split) / max(seconds, 1e-9)
        how = "from cache" if cached else f"{rate:,.0f} docs/s, {cfg.workers} workers"
        log(f"tokenized {name}: {len(split):,} docs in {seconds:.1f}s ({how})")

    vocab = Vocab.build(tokens["train"], cfg.min_freq)
    log(f"vocabulary: {len(vocab):,} tokens (min freq {cfg.min_freq}, from the training split only)")

    def encode(token_lists):
        return [vocab.encode(t, cfg.max_len) for t in token_lists]

    corpus = Corpus(encode(tokens["train"]), train_split.labels, encode(tokens["validation"]),
                    val_split.labels, encode(tokens["test"]), test.labels)
    return tokenizer, vocab, corpus


def fit(cfg, model_cfg, tokenizer, vocab, corpus, device, state, log) -> list[dict]:
    """The epoch loop; returns the history of every epoch run (including those before a resume)."""
    run_dir = Path(cfg.output_dir)
    model = RNNClassifier(model_cfg).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.5, patience=0)
    progress = {"epoch": 0, "best_val": -1.0, "bad_epochs": 0, "history": []}
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        progress = state["progress"]
        restore_rng(state["rng"])
    lengths = np.array([len(s) for s in corpus.train_ids])
    base_config = {"model": model_cfg.to_dict(), "tokenizer": tokenizer.spec(), "max_len": cfg.max_len,
                   "train": cfg.to_dict(), "seed": cfg.seed, "versions": library_versions()}

    while progress["epoch"] < cfg.epochs and progress["bad_epochs"] < cfg.patience:
        epoch = progress["epoch"] + 1
        start = time.perf_counter()
        batches = shuffled_batches(lengths, cfg.batch_size, cfg.seed, epoch)
        loss, acc = train_epoch(model, corpus.train_ids, corpus.train_labels, batches, optimizer,
                                cfg.clip_grad_norm, device, desc=f"epoch {epoch}/{cfg.epochs}")
        val_probs = predict_proba(model, corpus.val_ids, device=device)
        val_acc = float(((val_probs >= 0.5) == corpus.val_labels).mean())
        seconds = time.perf_counter() - start
        scheduler.step(val_acc)
        improved = val_acc > progress["best_val"]
        progress["epoch"] = epoch
        progress["bad_epochs"] = 0 if improved else progress["bad_epochs"] + 1
        progress["best_val"] = max(progress["best_val"], val_acc)
        progress["history"].append({"epoch": epoch, "train_loss": loss, "train_accuracy": acc,
                                    "val_accuracy": val_acc, "seconds": seconds,
                                    "samples_per_second": len(lengths) / seconds})
        log(f"epoch {epoch}: train loss {loss:.4f} acc {acc:.4f} | validation acc {val_acc:.4f}"
            f"{' (best)' if improved else ''} | {seconds:.0f}s, {len(lengths) / seconds:,.0f} samples/s")
        weights = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
        config = {**base_config, "metrics": {"validation_accuracy": val_acc, "epoch": epoch,
                                             "history": progress["history"]}}
        if improved:
            checkpoint.save(run_dir / MODEL_SUBDIR, weights, config, vocab, tokenizer)
        train_state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                       "scheduler": scheduler.state_dict(), "progress": progress, "rng": capture_rng()}
        checkpoint.save(run_dir / RESUME_SUBDIR, weights, config, vocab, tokenizer,
                        extra={STATE_FILE: lambda path, state=train_state: torch.save(state, path)})
    if progress["bad_epochs"] >= cfg.patience:
        log(f"early stop: no validation improvement for {cfg.patience} epochs")
    return progress["history"]


def report_test(run_dir: Path, tokenizer, corpus: Corpus, device, history: list[dict], log) -> dict:
    """Score the best model on every test review; the result is recorded, never used for choices.

    The model's config also gets the `history` of every epoch run, not only those up to the best one,
    so the time the whole run took is on record with the model.
    """
    saved = checkpoint.load(run_dir / MODEL_SUBDIR)
    model = RNNClassifier.from_weights(saved.model_config, saved.weights).to(device)
    start = time.perf_counter()
    probs = predict_proba(model, corpus.test_ids, device=device, progress=True)
    metrics = classification_metrics(corpus.test_labels, probs)
    metrics["seconds"] = time.perf_counter() - start
    log(format_metrics(metrics, "test (best model by validation accuracy)"))
    config = {**saved.config, "metrics": {**saved.config["metrics"], "history": history,
                                          "epochs_run": len(history),
                                          "training_seconds": sum(h["seconds"] for h in history),
                                          "test": metrics}}
    checkpoint.save(saved.path, saved.weights, config, saved.vocab, tokenizer)
    return metrics


def read_resume_state(run_dir: Path, overrides: dict, log) -> tuple[TrainConfig, ModelConfig, dict]:
    """The run's own settings (with `overrides` applied) and the state after its last finished epoch."""
    if not (run_dir / RESUME_SUBDIR).is_dir():
        raise ModelError(f"nothing to resume in {run_dir}: no {RESUME_SUBDIR}/ directory "
                         "(a run saves one at the end of each epoch)")
    unknown = sorted(set(overrides) - set(RESUME_OVERRIDES))
    if unknown:
        raise SentimentError(f"--resume continues a run with its own settings; it cannot change {unknown} "
                             f"(only {', '.join(RESUME_OVERRIDES)})")
    saved = checkpoint.load(run_dir / RESUME_SUBDIR)
    try:
        # weights_only: a restricted unpickler that builds tensors and containers, never runs code
        state = torch.load(saved.path / STATE_FILE, map_location="cpu", weights_only=True)
        cfg = TrainConfig.from_dict(saved.config["train"])
        epoch = state["progress"]["epoch"]
    except Exception as e:  # missing, truncated or foreign file: torch raises many kinds of errors
        raise ModelError(f"{saved.path / STATE_FILE}: unreadable resume state ({e})") from None
    state["vocab"] = saved.vocab.itos  # to check that the data has not changed
    cfg.output_dir = str(run_dir)  # the run directory may have moved since
    for name, value in overrides.items():
        setattr(cfg, name, value)
    check_config(cfg)
    log(f"resuming {run_dir} after epoch {epoch}" + (f" with {overrides}" if overrides else ""))
    return cfg, saved.model_config, state


def capture_rng() -> dict:
    return {"python": list(random.getstate()[1]), "numpy": np.random.get_state()[1].tolist(),
            "torch": torch.get_rng_state()}


def restore_rng(rng: dict) -> None:
    random.setstate((3, tuple(rng["python"]), None))
    state = np.random.get_state()
    np.random.set_state((state[0], np.asarray(rng["numpy"], dtype=np.uint32), *state[2:]))
    torch.set_rng_state(rng["torch"])


def library_versions() -> dict:
    import konlpy
    import sklearn

    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "konlpy": konlpy.__version__, "scikit-learn": sklearn.__version__}


def preflight_output(run_dir: Path) -> None:
    """Fail now, not after an hour, if the output directory cannot be written or the disk is full."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / f".write-test-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as e:
        raise OutputError(f"cannot write to output directory {run_dir}: {e.strerror or e}") from None
    free = shutil.disk_usage(run_dir).free
    if free < MIN_FREE_BYTES:
        need = MIN_FREE_BYTES / 2**20
        raise OutputError(f"only {free / 2**20:.0f} MiB free under {run_dir}; need {need:.0f} MiB")


@contextmanager
def exclusive_lock(run_dir: Path):
    """Refuse to start while another run writes to the same directory (released even on a crash)."""
    with open(run_dir / "train.lock", "w", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            message = f"another training run is writing to {run_dir}; choose another --output-dir"
            raise OutputError(message) from None
        yield


@contextmanager
def sigterm_as_interrupt():
    """Treat SIGTERM like Ctrl-C, so both stop between atomic writes and leave a resumable run."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
