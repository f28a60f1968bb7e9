"""Text -> normalized text -> tokens, with swappable tokenizer backends and an on-disk token cache.

The same `Tokenizer.tokenize` runs at training and at prediction time, and its name and options are
stored in the model directory, so a saved model always rebuilds the tokenizer it was trained with.

Backends: `mecab` (python-mecab-ko, no JVM), `okt` (konlpy, JVM), `kiwi` (kiwipiepy),
`sentencepiece` (a unigram model trained on the training split, stored with the model) and `char`.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import multiprocessing
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

from sentiment.errors import MissingBackendError, SentimentError
from sentiment.files import write_text_atomically

# Bounds the time and memory of one input: NSMC reviews are at most 152 characters, so nothing real
# is cut. Applied in `normalize`, hence identically at training and prediction time.
MAX_CHARS = 1000
NORMALIZER_VERSION = 1  # bump when `normalize` changes: it invalidates the token cache

_WHITESPACE = re.compile(r"\s+")
_REPEATS = re.compile(r"(.)\1{3,}")  # ㅋㅋㅋㅋㅋㅋ and !!!!!! become three of a kind
_DROPPED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}  # control, format, lone surrogate, private, unassigned


def normalize(text: str) -> str:
    """Canonical form of a review: NFC, no control characters, lower case, short runs, bounded length."""
    text = text[: 4 * MAX_CHARS]  # cheap early cut so a huge input costs no more than a long one
    text = "".join(
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or unicodedata.category(ch) not in _DROPPED_CATEGORIES
    )
    text = unicodedata.normalize("NFC", text).lower()
    text = _REPEATS.sub(r"\1\1\1", text)
    return _WHITESPACE.sub(" ", text).strip()[:MAX_CHARS]


class Tokenizer:
    """A backend that turns normalized text into tokens. Subclasses implement `_tokens`."""

    name = ""
    installed_by = ""  # pip command naming the package, for the missing-backend error

    def __init__(self, **options):
        self.options = options

    def spec(self) -> dict:
        return {"name": self.name, "options": self.options}

    def tokenize(self, text: str) -> list[str]:
        text = normalize(text)
        # Guard blank text before any tagger: some JVM taggers hang or crash on it.
        return self._tokens(text) if text else []

    def tokenize_many(self, texts: Sequence[str], workers: int = 1, progress: bool = True) -> list[list[str]]:
        """Tokenize a corpus; with workers > 1 in spawned processes (one tagger each)."""
        if workers <= 1 or len(texts) < 2000:
            return [self.tokenize(t) for t in _progress(texts, progress, self.name)]
        return _tokenize_in_processes(self.spec(), texts, workers, progress)

    def _tokens(self, text: str) -> list[str]:
        raise NotImplementedError

    # Backends that learn from data (sentencepiece) override these three.
    needs_fit = False

    def fit(self, texts: Sequence[str]) -> None:
        """Learn the backend from the training texts (in memory; `save` writes what it learnt)."""

    def save(self, directory: Path) -> None:
        pass

    distributions: tuple[str, ...] = ()  # installed packages whose version can change the tokens

    def fingerprint(self) -> str:
        """What, beyond the spec, changes the tokens (library and dictionary versions): part of the cache key."""
        from importlib.metadata import PackageNotFoundError, version

        def installed(name: str) -> str:
            try:
                return version(name)
            except PackageNotFoundError:
                return "?"

        return " ".join(f"{name}=={installed(name)}" for name in self.distributions)


class MecabTokenizer(Tokenizer):
    name = "mecab"
    installed_by = "pip install python-mecab-ko"
    distributions = ("python-mecab-ko", "python-mecab-ko-dic")

    def __init__(self, **options):
        super().__init__(**options)
        mecab = _import("mecab", self)
        self._mecab = mecab.MeCab()
        # MeCab.morphs() builds a Morpheme, parsing its feature CSV, for every token only to keep its
        # surface; reading the surfaces off the lattice gives the same tokens twice as fast. Where a
        # version of python-mecab-ko lacks these internals, morphs() it is.
        self._create_lattice = getattr(importlib.import_module("mecab.utils"), "create_lattice", None)
        self._tagger = getattr(self._mecab, "_tagger", None)
        if self._create_lattice is None or self._tagger is None:
            self._tokens = self._mecab.morphs

    def _tokens(self, text: str) -> list[str]:
        lattice = self._create_lattice(text)
        if not self._tagger.parse(lattice):
            return self._mecab.morphs(text)  # raises MeCabError with MeCab's own message
        return [node.surface for _, node in lattice]


class OktTokenizer(Tokenizer):
    name = "okt"
    installed_by = "pip install konlpy (and a Java runtime)"
    distributions = ("konlpy",)

    def __init__(self, norm: bool = False, stem: bool = False):
        super().__init__(norm=norm, stem=stem)
        konlpy_tag = _import("konlpy.tag", self)
        self._tagger = konlpy_tag.Okt()

    def _tokens(self, text: str) -> list[str]:
        return self._tagger.morphs(text, norm=self.options["norm"], stem=self.options["stem"])


class KiwiTokenizer(Tokenizer):
    name = "kiwi"
    installed_by = "pip install 'nsmc-sentiment[kiwi]'"
    distributions = ("kiwipiepy", "kiwipiepy_model")

    def __init__(self, **options):
        super().__init__(**options)
        self._kiwi_module = _import("kiwipiepy", self)
        self._kiwi = None  # built on first use: the model load takes seconds

    def _tagger(self, workers: int = 1):
        if self._kiwi is None or self._kiwi.num_workers != workers:
            self._kiwi = self._kiwi_module.Kiwi(num_workers=workers)
        return self._kiwi

    def _tokens(self, text: str) -> list[str]:
        return [t.form for t in self._tagger().tokenize(text)]

    def tokenize_many(self, texts, workers=1, progress=True):
        normalized = [normalize(t) for t in texts]
        kiwi = self._tagger(max(1, workers))  # batch tokenize needs num_workers >= 1
        tokens = [[] for _ in texts]
        index = [i for i, t in enumerate(normalized) if t]
        results = kiwi.tokenize([normalized[i] for i in index])
        for i, result in zip(index, _progress(results, progress, self.name, total=len(index)), strict=True):
            tokens[i] = [t.form for t in result]
        return tokens


class CharTokenizer(Tokenizer):
    """Characters, with `▁` marking the start of each word so spacing is not lost."""

    name = "char"

    def _tokens(self, text: str) -> list[str]:
        return [ch for word in text.split(" ") for ch in "▁" + word]


class SentencePieceTokenizer(Tokenizer):
    """A unigram model trained on the training split only; its file lives in the model directory."""

    name = "sentencepiece"
    installed_by = "pip install 'nsmc-sentiment[sentencepiece]'"
    needs_fit = True
    MODEL_FILE = "sentencepiece.model"

    def __init__(self, vocab_size: int = 8000, model_dir: str | None = None):
        super().__init__(vocab_size=vocab_size)
        self._spm = _import("sentencepiece", self)
        self._processor = None
        self._model_bytes = b""
        if model_dir is not None:
            self._load((Path(model_dir) / self.MODEL_FILE).read_bytes())

    def _load(self, model_bytes: bytes) -> None:
        self._model_bytes = model_bytes
        self._processor = self._spm.SentencePieceProcessor(model_proto=model_bytes)

    def fit(self, texts):
        import io

        model = io.BytesIO()
        try:
            self._spm.SentencePieceTrainer.train(
                sentence_iterator=iter([t for t in (normalize(x) for x in texts) if t]),
                model_writer=model,
                vocab_size=self.options["vocab_size"],
                model_type="unigram",
                # We normalize ourselves; the default nmt_nfkc would turn ㅋ (U+314B) into ᄏ (U+110F).
                normalization_rule_name="identity",
                character_coverage=0.9995,
                num_threads=os.cpu_count() or 1,
                hard_vocab_limit=False,  # a small corpus may not fill vocab_size: take what it has
                minloglevel=2,
            )
        except RuntimeError as e:  # e.g. vocab_size smaller than the character set
            message = str(e).splitlines()[0]
            raise SentimentError(f"sentencepiece training failed: {message}") from None
        self._load(model.getvalue())

    def save(self, directory):
        (Path(directory) / self.MODEL_FILE).write_bytes(self._model_bytes)

    def fingerprint(self):
        return hashlib.sha256(self._model_bytes).hexdigest()

    def _tokens(self, text):
        return self._processor.encode(text, out_type=str)

    def tokenize_many(self, texts, workers=1, progress=True):
        normalized = [normalize(t) for t in texts]
        return self._processor.encode(normalized, out_type=str, num_threads=max(1, workers))


BACKENDS: dict[str, type[Tokenizer]] = {
    cls.name: cls
    for cls in (MecabTokenizer, OktTokenizer, KiwiTokenizer, SentencePieceTokenizer, CharTokenizer)
}


def make_tokenizer(name: str, options: dict | None = None, model_dir: str | os.PathLike | None = None):
    """Build a backend by name; `model_dir` supplies files a fitted backend saved there."""
    if name not in BACKENDS:
        raise ValueError(f"unknown tokenizer {name!r}; choose one of {', '.join(BACKENDS)}")
    options = dict(options or {})
    if model_dir is not None and BACKENDS[name].needs_fit:
        options["model_dir"] = str(model_dir)
    return BACKENDS[name](**options)


def _import(module: str, backend: Tokenizer):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingBackendError(
            f"tokenizer {backend.name!r} needs the package {module!r}: {backend.installed_by}"
        ) from None


def _progress(items: Iterable, enabled: bool, name: str, total: int | None = None):
    if not enabled:
        return items
    from tqdm import tqdm

    total = len(items) if total is None else total  # `items` may be lazy: then the caller gives `total`
    return tqdm(items, total=total, desc=f"tokenize ({name})", unit="doc", mininterval=0.5)


# --- parallel tokenization ----------------------------------------------------------------------
# Spawned, not forked: a process that has started a JVM (konlpy) and then forks hangs silently.

_worker_tokenizer: Tokenizer | None = None


def _init_worker(spec: dict) -> None:
    global _worker_tokenizer
    _worker_tokenizer = make_tokenizer(spec["name"], spec["options"])


def _tokenize_chunk(texts: list[str]) -> list[list[str]]:
    return [_worker_tokenizer.tokenize(t) for t in texts]


def _tokenize_in_processes(spec: dict, texts: Sequence[str], workers: int, progress: bool):
    from tqdm import tqdm

    chunk = 500
    chunks = [list(texts[i : i + chunk]) for i in range(0, len(texts), chunk)]
    tokens: list[list[str]] = []
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_init_worker, initargs=(spec,)) as pool:
        bar = tqdm(total=len(texts), desc=f"tokenize ({spec['name']}, {workers} procs)", unit="doc",
                   disable=not progress, mininterval=0.5)
        for part in pool.imap(_tokenize_chunk, chunks):
            tokens.extend(part)
            bar.update(len(part))
        bar.close()
    return tokens


# --- token cache ----------------------------------------------------------------------------------


def cache_key(texts: Sequence[str], tokenizer: Tokenizer) -> str:
    """Key for a tokenized corpus: its texts, the tokenizer and its options, the normalizer."""
    digest = hashlib.sha256()
    for text in texts:
        # Length-prefixed, not newline-separated: ["a\nb", "c"] and ["a", "b\nc"] must differ.
        encoded = text.encode("utf-8", "surrogatepass")
        digest.update(len(encoded).to_bytes(8, "little") + encoded)
    spec = json.dumps([tokenizer.spec(), tokenizer.fingerprint(), NORMALIZER_VERSION], sort_keys=True)
    digest.update(spec.encode("utf-8"))
    return digest.hexdigest()[:24]


def tokenize_cached(
    texts: Sequence[str],
    tokenizer: Tokenizer,
    cache_dir: Path | None,
    workers: int = 1,
    progress: bool = True,
) -> tuple[list[list[str]], bool]:
    """Tokens for `texts`, from the cache when present. Returns (tokens, came_from_cache)."""
    if cache_dir is None:
        return tokenizer.tokenize_many(texts, workers, progress), False
    path = Path(cache_dir) / f"tokens-{tokenizer.name}-{cache_key(texts, tokenizer)}.json"
    if path.exists():
        try:
            tokens = json.loads(path.read_text(encoding="utf-8"))
            if len(tokens) == len(texts):
                return tokens, True
        except (OSError, ValueError):
            pass  # a damaged cache is only a cache: tokenize again and overwrite it
    tokens = tokenizer.tokenize_many(texts, workers, progress)
    try:
        write_text_atomically(path, json.dumps(tokens, ensure_ascii=False))
    except OSError:
        pass  # an unwritable cache (read-only, disk full) only costs the tokenizing time next run
    return tokens, False
