"""Widget benchmark: bundle size, time to a usable widget, turn round trips, pushes.

Starts the real stack with the demo storefront (as ``make run`` does, on a fresh
demo shop) and drives the widget in Debian's Chromium (Playwright), measuring

* the bytes a page loads for the widget (the script, styles inside), gzip -9;
* the time from navigation to a usable widget (its socket ready), median of 10 loads;
* the round trip of a turn in the browser (from the Enter key to the turn's last
  answer drawn, timed inside the page) against the same turn over REST (request to
  response), p50/p95. The two are paired: each message goes over REST, then
  through the browser, turn after turn, so both see the machine in the same
  state; one warm-up visit of each kind comes first and is not counted, and a
  new visitor's page has finished loading (network idle) before the first turn;
* the time from ``POST /webhooks/internal/push`` to the message drawn in an open
  widget, p50/p95.

Writes ``reports/bench_widget.json`` and ``reports/bench_widget.png`` and prints a
Markdown table.

Usage: ``python -m scripts.bench_widget [--turns 48] [--pushes 30]``
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import requests
from tqdm import tqdm

from scripts.bench_chat import percentile
from scripts.stack import ROOT, Stack

SCRIPT = ROOT / "widget" / "dist" / "widget.js"
CHROMIUM = "/usr/bin/chromium"
HOST = "[data-shop-chat]"
MESSAGES = ["hello", "show me huawei phones", "how much is the first one?",
            "red running shoes under 80 dollars", "有没有2000元以下的华为手机", "第一个多少钱",
            "what accessories fit the Galaxy S24?", "thanks"]
BUDGET_GZIP = 40 * 1024
TIMER = """() => {
    const host = document.querySelector('[data-shop-chat]');
    window.__t0 = null; window.__t1 = null;
    host.shadowRoot.querySelector('textarea').addEventListener('keydown', e => {
        if (e.key === 'Enter') window.__t0 = performance.now(); }, {once: true, capture: true});
    new MutationObserver((_, observer) => {
        if (window.__t0 !== null) { window.__t1 = performance.now(); observer.disconnect(); }
    }).observe(host, {attributes: true, attributeFilter: ['data-turns']});
}"""


def bundle_size() -> dict[str, int]:
    data = SCRIPT.read_bytes()
    return {"bytes": len(data), "gzip": len(gzip.compress(data, compresslevel=9))}


class RestVisitor:
    """A REST client that starts a new conversation every len(MESSAGES) turns."""

    def __init__(self, stack: Stack) -> None:
        self.stack, self.http, self.sender = stack, requests.Session(), ""

    def turn(self, i: int) -> float:
        if i % len(MESSAGES) == 0:
            self.sender = f"bench-rest-{uuid.uuid4().hex[:8]}"
        start = time.perf_counter()
        self.http.post(f"{self.stack.rasa_url}/webhooks/rest/webhook", timeout=60,
                       json={"sender": self.sender, "message": MESSAGES[i % len(MESSAGES)]}
                       ).raise_for_status()
        return (time.perf_counter() - start) * 1000


def browser_figures(stack: Stack, turns: int, pushes: int, loads: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    figures: dict[str, list[float]] = {"ready": [], "turn": [], "rest": [], "push": []}
    rest = RestVisitor(stack)
    warm_up = len(MESSAGES)  # one visit of each kind, not counted
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--no-sandbox", "--disable-gpu"])
        for _ in tqdm(range(loads), desc="page loads", file=sys.stderr):
            context = browser.new_context()
            page = context.new_page()
            page.goto(stack.storefront_url)
            page.wait_for_selector(f"{HOST}[data-ready]", state="attached", timeout=30_000)
            figures["ready"].append(float(page.locator(HOST).get_attribute("data-ready") or "nan"))
            context.close()
        context = browser.new_context()
        page = context.new_page()
        box = f"{HOST} textarea"
        for i in tqdm(range(warm_up + turns), desc="turns (REST, then browser)",
                      file=sys.stderr):
            rest_ms = rest.turn(i)
            if i % len(MESSAGES) == 0:  # a new visitor, as on REST
                context.close()
                context = browser.new_context()
                page = context.new_page()
                page.goto(stack.storefront_url)
                page.wait_for_selector(f"{HOST}[data-ready]", state="attached")
                # a person reads the page before typing: the first turn must not race
                # the shop page's own images for the two cores (that is page load,
                # measured above, not a turn)
                page.wait_for_load_state("networkidle")
                page.locator(f"{HOST} .launcher").click()
            before = int(page.locator(HOST).get_attribute("data-turns") or 0)
            page.locator(box).fill(MESSAGES[i % len(MESSAGES)])
            # timed inside the page, as the customer sees it: from the Enter key to
            # the turn's last answer drawn (no automation round trips counted)
            page.evaluate(TIMER)
            page.locator(box).press("Enter")
            page.wait_for_function(
                "n => Number(document.querySelector('[data-shop-chat]')"
                ".getAttribute('data-turns') || 0) > n && window.__t1", arg=before,
                timeout=60_000)
            if i >= warm_up:
                figures["turn"].append(page.evaluate("window.__t1 - window.__t0"))
                figures["rest"].append(rest_ms)
        token = page.evaluate("localStorage.getItem(Object.keys(localStorage)"
                              ".find(k => k.endsWith(':token')))")
        import base64

        body = token.split(".")[0]
        conversation = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))["c"]
        page.evaluate("() => { window.__drawn = {}; ShopChat.on('message', m => "
                      "{ if (m.role === 'agent') window.__drawn[m.text] = Date.now(); }); }")
        for i in tqdm(range(pushes), desc="pushes", file=sys.stderr):
            text = f"push {i} {uuid.uuid4().hex[:6]}"
            sent = time.time() * 1000
            stack.push(conversation, {"text": text, "author": "bench"}).raise_for_status()
            page.wait_for_function("t => window.__drawn[t] !== undefined", arg=text,
                                   timeout=10_000)
            figures["push"].append(page.evaluate("t => window.__drawn[t]", text) - sent)
            time.sleep(0.2)
        context.close()
        browser.close()
    rest.http.close()
    return figures


def plot(report: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    names = ["REST turn", "browser turn", "push to screen", "page to ready"]
    keys = ["rest_turn", "browser_turn", "push", "ready"]
    p50 = [report[k]["p50"] for k in keys]
    p95 = [report[k]["p95"] for k in keys]
    xs = range(len(names))
    left.bar([x - 0.2 for x in xs], p50, width=0.4, label="p50")
    left.bar([x + 0.2 for x in xs], p95, width=0.4, label="p95")
    left.set_xticks(list(xs), names, rotation=15)
    left.set_ylabel("ms")
    left.set_title("Widget latencies")
    left.legend()
    size = report["bundle"]["gzip"] / 1024
    right.barh(["shop-chat widget (this)", "budget"], [size, BUDGET_GZIP / 1024],
               color=["tab:green", "tab:gray"])
    right.set_xlabel("KB gzip loaded by the page")
    right.set_title("Bundle size (Bot Framework Web Chat: ~980 KB)")
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": round(percentile(values, 50), 1), "p95": round(percentile(values, 95), 1),
            "n": len(values)}


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=48)
    parser.add_argument("--pushes", type=int, default=30)
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--out", type=Path, default=ROOT / "reports")
    args = parser.parse_args(argv)
    if not SCRIPT.is_file():
        sys.exit(f"{SCRIPT} is missing: run `make widget`")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        stack = Stack(data_dir=Path(work), storefront=True,
                      extra_env={"LIMIT_MESSAGES_PER_IP": "100000"})
        stack.start()
        try:
            browser = browser_figures(stack, args.turns, args.pushes, args.loads)
        finally:
            stack.stop()
    report: dict[str, Any] = {"machine": f"{platform.processor() or platform.machine()}, "
                         f"{__import__('os').cpu_count()} cores",
              "bundle": bundle_size(), "rest_turn": summary(browser["rest"]),
              "browser_turn": summary(browser["turn"]), "push": summary(browser["push"]),
              "ready": summary(browser["ready"])}
    report["turn_ratio_p50"] = round(report["browser_turn"]["p50"] / report["rest_turn"]["p50"], 2)
    report["turn_ratio_p95"] = round(report["browser_turn"]["p95"] / report["rest_turn"]["p95"], 2)
    report["samples_ms"] = {k: [round(v, 1) for v in values] for k, values in browser.items()}
    (args.out / "bench_widget.json").write_text(json.dumps(report, indent=2))
    plot(report, args.out / "bench_widget.png")
    b = report["bundle"]
    print("| measure | p50 | p95 | target |\n|---|---|---|---|")
    print(f"| bundle (gzip) | {b['gzip'] / 1024:.1f} KB | – | ≤ 40 KB |")
    print(f"| page load to usable widget | {report['ready']['p50']:.0f} ms | "
          f"{report['ready']['p95']:.0f} ms | – |")
    print(f"| turn over REST | {report['rest_turn']['p50']:.0f} ms | "
          f"{report['rest_turn']['p95']:.0f} ms | – |")
    print(f"| turn in the browser | {report['browser_turn']['p50']:.0f} ms | "
          f"{report['browser_turn']['p95']:.0f} ms | ≤ 1.2× REST |")
    print(f"| ratio browser / REST | {report['turn_ratio_p50']} | {report['turn_ratio_p95']} | "
          "≤ 1.2 |")
    print(f"| push to screen | {report['push']['p50']:.0f} ms | {report['push']['p95']:.0f} ms "
          "| p95 ≤ 200 ms |")


if __name__ == "__main__":
    main()
