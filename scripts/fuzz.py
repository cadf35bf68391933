"""``make fuzz``: every public route of every server fuzzed from its OpenAPI description
(``docs/openapi/*.yaml``) with schemathesis, against a stack started for it: 0
responses 5xx, 0 undocumented statuses or content types, 0 schema violations, 0
hangs (each request bounded). A table in ``reports/fuzz.md``; non-zero on a failure.

``make test`` runs the same, bounded (``tests/e2e/test_fuzz_routes.py``).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "openapi"
SERVERS = ("rasa", "actions", "desk", "storefront")
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def run(name: str, url: str, *, examples: int, seed: int, timeout: float = 60.0,
        report: Path | None = None) -> tuple[int, str]:
    """schemathesis against one server; its exit status and output."""
    command = [str(SCHEMATHESIS), "run", str(DOCS / f"{name}.yaml"), "--url", url,
               "--checks", CHECKS, "--max-examples", str(examples), "--seed", str(seed),
               "--request-timeout", str(timeout), "--no-color",
               "--generation-database", "none"]
    if report is not None:
        command += ["--report", "junit", "--report-junit-path", str(report)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                          timeout=max(600.0, examples * 30.0))
    return done.returncode, done.stdout + done.stderr


def cases(output: str) -> tuple[int, int]:
    """(generated, failed) from schemathesis' summary."""
    generated = re.search(r"(\d+) generated", output)
    failed = re.search(r"(\d+) unique failures?", output)
    return (int(generated.group(1)) if generated else 0,
            int(failed.group(1)) if failed else 0)


def main(argv: list[str] | None = None) -> int:
    """Start a stack, fuzz each server, write the table."""
    from scripts.stack import Stack

    parser = argparse.ArgumentParser(prog="python -m scripts.fuzz")
    parser.add_argument("--examples", type=int, default=200, help="cases per route")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--out", type=Path, default=ROOT / "reports")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.out / "fuzz-stack"
    stack = Stack(data_dir=work, storefront=True, desk=True,
                  extra_env={"LIMIT_MESSAGES_PER_IP": "1000000",
                             "LIMIT_UPLOADS_PER_IP": "1000000"})
    rows, failed = [], False
    print(f"starting a stack in {work} ...", flush=True)
    stack.start()
    try:
        urls = {"rasa": stack.rasa_url, "actions": f"http://127.0.0.1:{stack.actions_port}",
                "desk": stack.desk_url, "storefront": stack.storefront_url}
        for name in SERVERS:
            started = time.monotonic()
            status, output = run(name, urls[name], examples=args.examples, seed=args.seed)
            generated, failures = cases(output)
            rows.append((name, generated, failures, time.monotonic() - started))
            print(f"{name}: {generated} cases, {failures} failures", flush=True)
            if status != 0:
                failed = True
                (args.out / f"fuzz-{name}.txt").write_text(output)
    finally:
        stack.stop()
    table = ["| server | routes described | cases | failures | seconds |",
             "|---|---|---|---|---|"]
    import yaml

    for name, generated, failures, seconds in rows:
        routes = len(yaml.safe_load((DOCS / f"{name}.yaml").read_text())["paths"])
        table.append(f"| {name} | {routes} | {generated} | {failures} | {seconds:.0f} |")
    (args.out / "fuzz.md").write_text(
        f"# make fuzz (seed {args.seed}, {args.examples} cases per route and phase)\n\n"
        + "\n".join(table) + "\n")
    print("\n".join(table))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
