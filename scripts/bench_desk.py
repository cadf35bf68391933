"""Handoff latency: an agent's message to an open widget, a customer's message to the desk.

Starts the real stack (action server, Rasa, demo storefront, agent desk) on a fresh
demo shop, opens the widget in one Chromium context and the desk in another
(Playwright, Debian's Chromium), hands the conversation to the agent, then measures

* **agent -> widget**: from the agent's ``POST /desk/api/handoffs/<id>/reply`` to the
  message drawn in the customer's open widget;
* **customer -> desk**: from the customer's Enter key in the widget to the message
  drawn in the agent's open desk page (live, over server-sent events).

Both ends run on this machine, so the page's ``Date.now()`` and the script's clock
agree. Prints a table and writes ``reports/bench_desk.json`` and ``.png``.

Usage: ``python -m scripts.bench_desk [--messages 40]``
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import requests
from tqdm import tqdm

from scripts.bench_chat import percentile
from scripts.stack import ROOT, Stack

CHROMIUM = "/usr/bin/chromium"
HOST = "[data-shop-chat]"
PASSWORD = "benchmark password"
TARGET_MS = 300
# watchers that note when a text is drawn (Date.now(), the same clock as time.time())
SEEN = """t => {
    window.__seen = null;
    const root = document.querySelector('[data-shop-chat]').shadowRoot;
    const has = () => [...root.querySelectorAll('.msg.agent')].some(m => m.innerText.includes(t));
    new MutationObserver((_, o) => { if (has()) { o.disconnect(); window.__seen = Date.now(); } })
        .observe(root, {childList: true, subtree: true, characterData: true});
}"""
SEEN_DESK = """t => {
    window.__seen = null;
    const list = document.getElementById('transcript');
    const has = () => list.innerText.includes(t);
    new MutationObserver((_, o) => { if (has()) { o.disconnect(); window.__seen = Date.now(); } })
        .observe(list, {childList: true, subtree: true, characterData: true});
}"""


def drawn(page: Any) -> float:
    """When the watched text was drawn (ms since the epoch)."""
    page.wait_for_function("() => window.__seen !== null", timeout=30_000)
    return float(page.evaluate("window.__seen"))


def login(stack: Stack, page: Any, user: str) -> None:
    """Sign in to the desk in ``page``."""
    page.goto(f"{stack.desk_url}/desk/")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#connection:text('live')", timeout=30_000)


def api_session(stack: Stack, user: str) -> tuple[requests.Session, str]:
    """A signed-in HTTP session for the agent's replies, and its CSRF token."""
    import re

    http = requests.Session()
    form = http.get(f"{stack.desk_url}/desk/login", timeout=30).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    http.post(f"{stack.desk_url}/desk/login", data={"csrf": csrf, "username": user,
                                                     "password": PASSWORD}, timeout=30)
    page = http.get(f"{stack.desk_url}/desk/", timeout=30).text
    token = re.search(r'name="csrf" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    return http, token


def run(messages: int) -> dict[str, Any]:
    """Measure both directions ``messages`` times each."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as work:
        stack = Stack(data_dir=Path(work), storefront=True, desk=True,
                      extra_env={"LIMIT_MESSAGES_PER_SENDER": "100000",
                                 "LIMIT_MESSAGES_PER_IP": "100000"})
        stack.start()
        try:
            stack.desk_user("bench", password=PASSWORD, name="Bench", capacity=5)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True,
                    args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
                desk = browser.new_context().new_page()
                login(stack, desk, "bench")
                customer = browser.new_context().new_page()
                customer.goto(f"{stack.storefront_url}/?lang=en")
                customer.wait_for_selector(f"{HOST} .launcher", state="attached")
                customer.locator(f"{HOST} .launcher").click()
                box = customer.locator(f"{HOST} textarea")
                box.fill("I want to talk to a person")
                box.press("Enter")
                customer.wait_for_function(
                    "() => Number(document.querySelector('[data-shop-chat]')"
                    ".getAttribute('data-turns') || 0) > 0", timeout=60_000)
                http, csrf = api_session(stack, "bench")
                handoff = http.get(f"{stack.desk_url}/desk/api/queue",
                                   timeout=30).json()["handoffs"][0]
                base = f"{stack.desk_url}/desk/api/handoffs/{handoff['id']}"
                http.post(f"{base}/claim", headers={"X-CSRF-Token": csrf}, timeout=30)
                desk.reload()
                desk.wait_for_selector("#connection:text('live')", timeout=30_000)
                desk.locator("#queue li").first.click()
                desk.wait_for_selector("#transcript li", timeout=30_000)
                to_widget, to_desk = [], []
                for i in tqdm(range(messages), desc="agent -> widget", unit="msg"):
                    text = f"agent message {i} {uuid.uuid4().hex[:6]}"
                    customer.evaluate(SEEN, text)
                    start = time.time() * 1000
                    http.post(f"{base}/reply", json={"text": text},
                              headers={"X-CSRF-Token": csrf}, timeout=30)
                    to_widget.append(drawn(customer) - start)
                for i in tqdm(range(messages), desc="customer -> desk", unit="msg"):
                    text = f"customer message {i} {uuid.uuid4().hex[:6]}"
                    desk.evaluate(SEEN_DESK, text)
                    box.fill(text)
                    start = time.time() * 1000
                    box.press("Enter")
                    to_desk.append(drawn(desk) - start)
                browser.close()
        finally:
            stack.stop()
    return {"machine": f"{platform.processor() or platform.machine()}, "
                       f"{platform.python_version()}",
            "messages": messages,
            "agent_to_widget_ms": {"p50": percentile(to_widget, 50),
                                   "p95": percentile(to_widget, 95), "all": to_widget},
            "customer_to_desk_ms": {"p50": percentile(to_desk, 50),
                                    "p95": percentile(to_desk, 95), "all": to_desk}}


def main() -> None:
    """Run, print the table, write the report and plot."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=40)
    args = parser.parse_args()
    report = run(args.messages)
    reports = ROOT / "reports"
    reports.mkdir(exist_ok=True)
    (reports / "bench_desk.json").write_text(json.dumps(report, indent=2))
    rows = ["| direction | p50 (ms) | p95 (ms) | target p95 |", "|---|---|---|---|"]
    for key, name in (("agent_to_widget_ms", "agent -> open widget"),
                      ("customer_to_desk_ms", "customer -> open desk")):
        rows.append(f"| {name} | {report[key]['p50']:.0f} | {report[key]['p95']:.0f} | "
                    f"<= {TARGET_MS} |")
    print("\n".join(rows))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.boxplot([report["agent_to_widget_ms"]["all"], report["customer_to_desk_ms"]["all"]],
               tick_labels=["agent -> widget", "customer -> desk"], orientation="horizontal")
    ax.axvline(TARGET_MS, color="red", linestyle="--", label=f"p95 target {TARGET_MS} ms")
    ax.set_xlabel("ms (Chromium, real servers)")
    ax.legend(fontsize=7)
    ax.set_title(f"Human handoff latency ({args.messages} messages each way)")
    fig.tight_layout()
    fig.savefig(reports / "bench_desk.png", dpi=120)


if __name__ == "__main__":
    main()
