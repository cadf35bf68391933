"""``python -m fuzz.run ENV [--seconds N] [--only TARGET]`` (``make fuzz-parsers``): each
target of ``fuzz.<ENV>`` fuzzed by atheris (libFuzzer) for ``N`` seconds, growing
``fuzz/corpus/<target>/``. A crash stops the target and leaves its input in
``reports/fuzz-crashes/``; the exit status is non-zero when any target crashed."""

from __future__ import annotations

import argparse
import importlib
import re
import subprocess
import sys
from pathlib import Path

from fuzz import CORPUS

ROOT = Path(__file__).resolve().parents[1]
CRASHES = ROOT / "reports" / "fuzz-crashes"


def one(env: str, target: str) -> None:
    """Fuzz one target in this process (atheris takes over ``sys.argv``)."""
    import atheris

    module = importlib.import_module(f"fuzz.{env}")
    # the parsers' own modules, instrumented for coverage (not Rasa or the libraries)
    with atheris.instrument_imports(include=list(module.INSTRUMENT)):
        for name in module.INSTRUMENT:
            importlib.import_module(name)
    fn = module.TARGETS[target]
    atheris.Setup(sys.argv, fn)
    atheris.Fuzz()


def main(argv: list[str] | None = None) -> int:
    """Run every target for its budget, one process each; a table of what happened."""
    parser = argparse.ArgumentParser(prog="python -m fuzz.run")
    parser.add_argument("env", choices=("actions", "bot"))
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--only")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args(argv)
    if args.one:
        sys.argv = [sys.argv[0], *rest]
        one(args.env, args.one)
        return 0
    targets = importlib.import_module(f"fuzz.{args.env}").TARGETS
    CRASHES.mkdir(parents=True, exist_ok=True)
    crashed = []
    for target in targets:
        if args.only and target != args.only:
            continue
        corpus = CORPUS / target
        corpus.mkdir(parents=True, exist_ok=True)
        before = len(list(corpus.iterdir()))
        done = subprocess.run(
            [sys.executable, "-m", "fuzz.run", args.env, "--one", target,
             f"-max_total_time={args.seconds}", "-max_len=8192", "-rss_limit_mb=4096",
             f"-artifact_prefix={CRASHES}/{target}-", "-print_final_stats=1", str(corpus)],
            cwd=ROOT, capture_output=True, text=True)
        found = re.search(r"stat::number_of_executed_units:\s*(\d+)", done.stderr)
        runs = found.group(1) if found else "?"
        after = len(list(corpus.iterdir()))
        status = "ok" if done.returncode == 0 else "CRASH"
        if done.returncode != 0:
            crashed.append(target)
            (CRASHES / f"{target}.log").write_text(done.stderr[-20000:])
        print(f"{args.env:8} {target:16} {status:6} {runs:>9} runs  corpus {before} -> "
              f"{after}", flush=True)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
