"""Mutation testing of the modules that guard customers and money (``make mutation``).

mutmut 3 changes one thing at a time in each module below (``<`` for ``<=``, ``and``
for ``or``, another constant, a dropped argument, ``None`` for a result, ...) and
runs that module's tests against each change. A change that no test notices
("survived") is a place where the code could be wrong while every test passes: it
gets a new test, or, when the change cannot alter behaviour (an equivalent mutant),
a ``# pragma: no mutate`` on its line with the reason beside it (when every change
on that line is equivalent), or an entry in ``scripts/mutation_equivalents.yml``
(the line, the change and why it cannot alter behaviour). The report lists both,
so that what was excluded is read, not hidden; explained mutants leave the score's
denominator, everything else that survives stays in it.

Each environment's modules run in that environment (the channels with Rasa on
CPython 3.10, the rest on 3.11), in a copy of the tracked files under
``build/mutation/<env>``: the working tree is never changed.

Writes ``reports/mutation.md`` (per module: mutants, killed, survived with each
survivor's diff, the score; the excluded lines with their reasons),
``reports/mutation.json`` and ``reports/mutation.png``. Exits 1 when fewer than
``--target`` (90 %) of all mutants are killed.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENTS = ROOT / "scripts" / "mutation_equivalents.yml"
VENVS = {"actions": ROOT / ".venv-actions", "bot": ROOT / ".venv-bot"}
# what pytest needs in each environment (the bot's tests have their own conftest)
PYTEST_ARGS = {"actions": ["-p", "no:cacheprovider", "-q", "-m", "not e2e"],
               "bot": ["-p", "no:cacheprovider", "-q", "--confcutdir=tests/bot"]}


@dataclass(frozen=True)
class Target:
    """One module that guards customers or money, and the tests that guard it."""

    name: str
    env: str
    module: str
    tests: tuple[str, ...]


TARGETS = (
    Target("signed identity", "actions", "shop/identity.py", ("tests/shop/test_identity.py",)),
    Target("price guardrails", "actions", "pricing/guardrails.py", ("tests/pricing",)),
    Target("coupon limits", "actions", "pricing/coupons.py", ("tests/pricing",)),
    Target("handoff transitions", "actions", "handoff/service.py", ("tests/handoff",)),
    Target("desk sessions and CSRF", "actions", "desk/accounts.py", ("tests/desk",)),
    Target("channel gate and limits", "bot", "bot/channels/gate.py", ("tests/bot",)),
    Target("input checks", "bot", "bot/channels/checks.py", ("tests/bot",)),
    Target("Meta webhook signatures", "bot", "bot/channels/meta.py", ("tests/bot",)),
    Target("WeChat signatures and safe mode", "bot", "bot/channels/wechat_envelope.py",
           ("tests/bot",)),
    Target("attachment fetcher (Graph API)", "bot", "bot/channels/graph_api.py",
           ("tests/bot",)),
)

KILLED = ("killed", "timeout", "caught by type check")
# every mutant's outcome, and the diff of those not killed, in one process (mutmut's own
# functions, as its `results` and `show` commands use them)
_COLLECT = f"""
import json
from mutmut.__main__ import (SourceFileMutationData, get_diff_for_mutant,
                             status_by_exit_code, walk_mutatable_files)
for path in walk_mutatable_files():
    data = SourceFileMutationData(path=path)
    data.load()
    for name, code in data.exit_code_by_key.items():
        status = status_by_exit_code[code]
        diff = "" if status in {KILLED!r} else get_diff_for_mutant(name, path=data.path)
        print(json.dumps({{"name": name, "status": status, "diff": diff}}))
"""
_PRAGMA = re.compile(r"#\s*pragma:\s*no mutate\b(?P<reason>.*)$")


@dataclass
class Figures:
    """One module's mutants by outcome."""

    target: Target
    statuses: Counter[str] = field(default_factory=Counter)
    survivors: list[tuple[str, str]] = field(default_factory=list)  # (name, diff)
    excluded: list[tuple[int, str]] = field(default_factory=list)   # (line, reason)
    explained: list[tuple[str, str, str]] = field(default_factory=list)  # (name, diff, why)

    @property
    def total(self) -> int:
        """Mutants that count: all but mutmut's skipped ones and the explained ones."""
        return sum(n for s, n in self.statuses.items() if s != "skipped") \
            - len(self.explained)

    @property
    def killed(self) -> int:
        return sum(self.statuses[s] for s in KILLED)

    @property
    def score(self) -> float:
        return self.killed / self.total if self.total else 1.0


def _module_of(mutant: str) -> str:
    """``pricing.guardrails.xǁGuardrailsǁapply__mutmut_3`` -> ``pricing/guardrails.py``."""
    dotted = re.split(r"\.x[_ǁ]", mutant, maxsplit=1)[0]
    return dotted.replace(".", "/") + ".py"


def _changed_lines(diff: str) -> tuple[str, str]:
    """The original and the mutated code of a diff, each stripped and joined."""
    def side(mark: str) -> str:
        return " ".join(line[1:].strip() for line in diff.splitlines()
                        if line.startswith(mark) and not line.startswith(mark * 3))
    return side("-"), side("+")


def _equivalents() -> list[dict[str, str]]:
    """The entries of :data:`EQUIVALENTS` (read once per run)."""
    import yaml

    if not EQUIVALENTS.exists():
        return []
    return yaml.safe_load(EQUIVALENTS.read_text(encoding="utf-8")) or []


def _explained(entries: list[dict[str, str]], module: str, diff: str) -> str | None:
    """Why this surviving change is equivalent, from ``entries``; else None."""
    before, after = _changed_lines(diff)
    for entry in entries:
        if entry["module"] == module and entry["from"].strip() == before and \
                entry["to"].strip() == after:
            return str(entry["why"])
    return None


def _tracked() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode()
    return [p for p in listed.split("\0") if p and (ROOT / p).is_file()]


def _workdir(env: str, targets: list[Target]) -> Path:
    """A copy of the tracked files with mutmut's settings for ``targets``."""
    work = ROOT / "build" / "mutation" / env
    if work.exists():
        shutil.rmtree(work)
    files = _tracked()
    for path in files:
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, work / path)
    sources = sorted({t.module.split("/")[0] for t in targets})
    tops = sorted({p.split("/")[0] for p in files} - set(sources) - {"tests"})
    tests = sorted({test for t in targets for test in t.tests})

    def listed(values: list[str]) -> str:
        return "".join(f"\n    {v}" for v in values)

    (work / "setup.cfg").write_text(
        "[mutmut]\n"
        f"source_paths ={listed(sources)}\n"
        f"only_mutate ={listed([t.module for t in targets])}\n"
        f"also_copy ={listed(tops)}\n"
        f"pytest_add_cli_args_test_selection ={listed(tests)}\n"
        f"pytest_add_cli_args ={listed(PYTEST_ARGS[env])}\n", encoding="utf-8")
    return work


def run_env(env: str, targets: list[Target]) -> list[Figures]:
    """mutmut over ``targets`` in ``env``; their figures."""
    work = _workdir(env, targets)
    print(f">> {env}: {', '.join(t.module for t in targets)}", flush=True)
    # mutmut's own progress line: mutants done, killed, survived
    subprocess.run([str(VENVS[env] / "bin" / "mutmut"), "run"], cwd=work, check=True)
    figures = {t.module: Figures(t) for t in targets}
    equivalents = _equivalents()
    collected = subprocess.run([str(VENVS[env] / "bin" / "python"), "-c", _COLLECT], cwd=work,
                               check=True, capture_output=True, text=True).stdout
    for line in collected.splitlines():
        mutant = json.loads(line)
        module = _module_of(mutant["name"])
        if module not in figures:
            continue
        figures[module].statuses[mutant["status"]] += 1
        if mutant["status"] not in KILLED:
            diff = mutant["diff"].strip()
            why = _explained(equivalents, module, diff)
            if why:
                figures[module].explained.append((mutant["name"], diff, why))
            else:
                figures[module].survivors.append((mutant["name"], diff))
    for module, figure in figures.items():
        lines = (ROOT / module).read_text(encoding="utf-8").splitlines()
        figure.excluded = [(n, m["reason"].strip(" -:") or "(no reason given)")
                           for n, text in enumerate(lines, start=1)
                           if (m := _PRAGMA.search(text))]
    return list(figures.values())


def report(figures: list[Figures], out: Path, seconds: float) -> float:
    """Write the report; the share of all mutants killed."""
    out.mkdir(parents=True, exist_ok=True)
    total = sum(f.total for f in figures)
    killed = sum(f.killed for f in figures)
    overall = killed / total if total else 1.0
    rows = ["| module | guards | mutants | explained | killed | not killed | score |",
            "|---|---|---:|---:|---:|---:|---:|"]
    for f in figures:
        rows.append(f"| `{f.target.module}` | {f.target.name} | {f.total} | "
                    f"{len(f.explained)} | {f.killed} | {len(f.survivors)} | {f.score:.1%} |")
    rows.append(f"| **all** | | **{total}** | **{sum(len(f.explained) for f in figures)}** | "
                f"**{killed}** | **{sum(len(f.survivors) for f in figures)}** | "
                f"**{overall:.1%}** |")
    text = ["# Mutation testing (`make mutation`)", "",
            f"mutmut 3.8.1, {time.strftime('%Y-%m-%d')}, {seconds / 60:.1f} min. A mutant is "
            "killed when a test fails (or times out) with the change in place; 'not killed' "
            "counts survivors and mutants no test reaches; 'explained' ones are equivalent "
            "(`scripts/mutation_equivalents.yml`) and leave the score.", "",
            *rows, ""]
    for f in figures:
        if f.excluded:
            text += [f"## `{f.target.module}`: lines excluded as equivalent", ""]
            text += [f"- line {n}: {reason}" for n, reason in f.excluded] + [""]
    for f in figures:
        if f.explained:
            text += [f"## `{f.target.module}`: changes explained as equivalent", ""]
            for name, diff, why in f.explained:
                text += [f"- `{name}`: {why}", "", "```diff", diff, "```", ""]
    for f in figures:
        if f.survivors:
            text += [f"## `{f.target.module}`: mutants no test noticed", ""]
            for name, diff in f.survivors:
                text += [f"### {name}", "", "```diff", diff, "```", ""]
    (out / "mutation.md").write_text("\n".join(text), encoding="utf-8")
    (out / "mutation.json").write_text(json.dumps({
        "overall": overall, "killed": killed, "mutants": total, "seconds": seconds,
        "modules": [{**asdict(f.target), "statuses": dict(f.statuses), "score": f.score,
                     "excluded": f.excluded, "explained": [n for n, _, _ in f.explained],
                     "survivors": [n for n, _ in f.survivors]}
                    for f in figures]}, indent=2, ensure_ascii=False), encoding="utf-8")
    _plot(figures, out / "mutation.png")
    print("\n".join(rows))
    return overall


def _plot(figures: list[Figures], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [f.target.module.split("/")[-1] for f in figures]
    killed = [f.killed for f in figures]
    other = [f.total - f.killed for f in figures]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.barh(names, killed, color="#3a7d44", label="killed")
    ax.barh(names, other, left=killed, color="#c44536", label="survived / no test")
    for y, f in enumerate(figures):
        ax.text(f.total + 2, y, f"{f.score:.0%}", va="center", fontsize=9)
    ax.set_xlabel("mutants")
    ax.set_title("Mutation testing: mutants killed by the tests, per module")
    ax.invert_yaxis()
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="modules whose path contains this text")
    parser.add_argument("--out", type=Path, default=ROOT / "reports")
    parser.add_argument("--target", type=float, default=0.90)
    args = parser.parse_args(argv)
    chosen = [t for t in TARGETS if not args.only or args.only in t.module]
    started = time.monotonic()
    figures: list[Figures] = []
    for env in VENVS:
        targets = [t for t in chosen if t.env == env]
        if targets:
            figures += run_env(env, targets)
    overall = report(figures, args.out, time.monotonic() - started)
    print(f"{overall:.1%} of mutants killed (target {args.target:.0%}); "
          f"report: {args.out / 'mutation.md'}")
    return 0 if overall >= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
