"""Train the RNN sentiment classifier on NSMC and report test accuracy.

    NSMC_DIR=../shared/nsmc python scripts/train.py
    python scripts/train.py --resume models/default              # continue after Ctrl-C or SIGTERM
    python scripts/train.py --resume models/default --epochs 20  # ... or go on for more epochs

--resume continues with the run's own settings; only --epochs, --patience, --data-dir, --cache-dir,
--device and --workers may be given with it. Exit codes: see README, "Errors and exit codes".
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from sentiment.cli import run_main  # noqa: E402
from sentiment.config import ModelConfig, TrainConfig  # noqa: E402

HELP = {
    "data_dir": "folder with ratings_train.txt and ratings_test.txt (default: $NSMC_DIR, else data/nsmc; "
    "downloaded there when missing)",
    "output_dir": "run directory: the best model goes to OUTPUT_DIR/model, "
    "the resumable state to OUTPUT_DIR/resume",
    "cache_dir": "where tokenized corpora are cached",
    "tokenizer": "tokenizer backend: mecab, okt, kiwi, sentencepiece or char",
    "min_freq": "keep tokens seen at least this often in the training split",
    "max_len": "keep at most this many tokens of a review (the same at prediction time)",
    "epochs": "maximum number of epochs",
    "batch_size": "training batch size",
    "learning_rate": "Adam learning rate",
    "weight_decay": "Adam weight decay",
    "clip_grad_norm": "clip the gradient norm to this value",
    "patience": "stop after this many epochs without a better validation accuracy",
    "val_fraction": "fraction of the training file held out for validation (stratified, seeded)",
    "seed": "random seed for the split, initialisation, batch order and dropout",
    "device": "auto, cpu or cuda",
    "workers": "tokenizer processes (or threads, for backends that have their own)",
    "limit": "use only the first N training reviews (quick experiments)",
    "embedding_dim": "embedding size",
    "hidden_size": "RNN hidden size",
    "num_layers": "number of stacked RNN layers",
    "bidirectional": "read reviews in both directions",
    "dropout": "dropout before the linear head (and between RNN layers)",
    "embedding_dropout": "dropout on the embedded tokens (training only)",
    "nonlinearity": "tanh or relu",
}
SKIPPED = {"vocab_size", "num_classes", "pad_id", "tokenizer_options"}


def add_dataclass_flags(parser: argparse.ArgumentParser, cls, defaults: bool = True) -> None:
    for f in fields(cls):
        if f.name in SKIPPED:
            continue
        flag = "--" + f.name.replace("_", "-")
        default = f.default if defaults else argparse.SUPPRESS
        if isinstance(f.default, bool):
            action = argparse.BooleanOptionalAction
            parser.add_argument(flag, action=action, default=default, help=HELP[f.name])
        else:
            kind = {"limit": int, "data_dir": str}.get(f.name, type(f.default))
            parser.add_argument(flag, type=kind, default=default, help=f"{HELP[f.name]} (default: {f.default})")


def build_parser(defaults: bool = True) -> argparse.ArgumentParser:
    """The command line; with defaults=False, parsing yields only the flags actually given."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    add_dataclass_flags(parser, TrainConfig, defaults)
    add_dataclass_flags(parser, ModelConfig, defaults)
    default = False if defaults else argparse.SUPPRESS
    parser.add_argument("--okt-norm", action="store_true", default=default,
                        help="okt only: normalize spelling (norm=True)")
    parser.add_argument("--okt-stem", action="store_true", default=default,
                        help="okt only: reduce words to their stems")
    parser.add_argument("--resume", metavar="RUN_DIR",
                        help="continue an interrupted run from RUN_DIR/resume (with its own settings)")
    return parser


def parse_args(argv=None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def main(argv=None) -> None:
    from sentiment.trainer import train

    args = parse_args(argv)
    pick = lambda cls: cls(**{f.name: getattr(args, f.name) for f in fields(cls) if f.name not in SKIPPED})  # noqa: E731
    cfg, model_cfg = pick(TrainConfig), pick(ModelConfig)
    if cfg.tokenizer == "okt":
        cfg.tokenizer_options = {"norm": args.okt_norm, "stem": args.okt_stem}
    if args.resume:
        given = vars(build_parser(defaults=False).parse_args(argv))
        given.pop("resume")
        cfg.output_dir = args.resume
        train(cfg, model_cfg, resume=True, overrides=given)
    else:
        train(cfg, model_cfg)


if __name__ == "__main__":
    run_main(main)
