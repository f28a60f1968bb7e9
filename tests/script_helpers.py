"""Run a script's `main` in the test process, as `python scripts/NAME.py` would, without a new interpreter."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from sentiment.cli import run_main

REPO_ROOT = Path(__file__).resolve().parents[1]


def load_script(name: str) -> ModuleType:
    """scripts/NAME.py as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"script_{name}", REPO_ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(name: str, argv: list[str], capsys) -> tuple[int, str, str]:
    """Run scripts/NAME.py in this process, as its __main__ would: (exit code, stdout, stderr)."""
    module = load_script(name)
    code = 0
    try:
        run_main(lambda: module.main(argv))
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err
