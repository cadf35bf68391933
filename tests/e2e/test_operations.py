"""What an operator sees of the real servers (issue 36): each one live and ready, its
metrics for Prometheus' token only, a turn counted by channel, language, intent and
action in both languages, and one request id on the lines of every process a
customer's message went through."""

from __future__ import annotations

import json
import re
import uuid

import pytest
import requests

from scripts.stack import Stack
from telemetry import metrics
from telemetry.logs import conversation_tag

pytestmark = pytest.mark.e2e


def _servers(stack: Stack) -> dict[str, str]:
    return {"rasa": stack.rasa_url, "actions": f"http://127.0.0.1:{stack.actions_port}",
            "storefront": stack.storefront_url, "desk": stack.desk_url}


def _scrape(stack: Stack, url: str) -> dict[tuple[str, frozenset], float]:
    answer = requests.get(f"{url}/metrics", timeout=10, headers={
        "Authorization": f"Bearer {stack.secrets['METRICS_TOKEN']}"})
    assert answer.status_code == 200, answer.text
    samples = {}
    for line in answer.text.splitlines():
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if match and not line.startswith("#"):
            labels = frozenset(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
            samples[(match.group(1), labels)] = float(match.group(3))
    return samples


def _value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_every_server_is_live_and_ready(stack: Stack) -> None:
    for kind, url in _servers(stack).items():
        assert requests.get(f"{url}/health/live", timeout=10).json()["live"] is True, kind
        ready = requests.get(f"{url}/health/ready", params={"checks": "1"}, timeout=10)
        body = ready.json()
        assert ready.status_code == 200 and body["ready"] is True, (kind, body)
        assert body["checks"] and all(body["checks"].values()), (kind, body)


def test_metrics_answer_prometheus_token_only(stack: Stack) -> None:
    for kind, url in _servers(stack).items():
        assert requests.get(f"{url}/metrics", timeout=10).status_code == 401, kind
        wrong = requests.get(f"{url}/metrics", timeout=10,
                             headers={"Authorization": "Bearer " + "x" * 64})
        assert wrong.status_code == 401, kind
        served = {name for name, _ in _scrape(stack, url) if name.startswith("shop_")}
        assert served and served <= metrics.names(), (kind, served - metrics.names())


@pytest.mark.parametrize(("lang", "text"), [("en", "show me headphones"),
                                            ("zh", "有没有耳机")])
def test_a_turn_is_counted_and_its_request_id_is_on_every_process_line(
        stack: Stack, lang: str, text: str) -> None:
    actions_url = _servers(stack)["actions"]
    rasa_before, actions_before = _scrape(stack, stack.rasa_url), _scrape(stack, actions_url)
    sender, rid = f"ops-{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    answer = requests.post(f"{stack.rasa_url}/webhooks/rest/webhook", timeout=60,
                           json={"sender": sender, "message": text},
                           headers={"X-Request-ID": rid})
    assert answer.status_code == 200 and answer.json(), answer.text
    assert answer.headers["X-Request-ID"] == rid
    rasa_after, actions_after = _scrape(stack, stack.rasa_url), _scrape(stack, actions_url)
    assert _value(rasa_after, "shop_turns_total", channel="rest", language=lang) == \
        _value(rasa_before, "shop_turns_total", channel="rest", language=lang) + 1
    assert _value(rasa_after, "shop_turn_seconds_count", channel="rest",
                  intent="search_products") == _value(
        rasa_before, "shop_turn_seconds_count", channel="rest", intent="search_products") + 1
    assert _value(actions_after, "shop_action_seconds_count", action="action_search_products") \
        > _value(actions_before, "shop_action_seconds_count", action="action_search_products")
    assert _value(rasa_after, "shop_http_requests_total", service="rasa",
                  route="/webhooks/rest/webhook", method="POST", status="2xx") > 0
    # the message's one id, on the lines of both processes it went through
    for log in ("rasa.log", "actions.log"):
        lines = [json.loads(line) for line in
                 (stack.log_dir / log).read_text(errors="replace").splitlines()
                 if line.startswith("{") and rid in line]
        assert lines, f"no line of {log} carries the request id"
        assert all(line["request"] == rid for line in lines)
    action_lines = [json.loads(line) for line in
                    (stack.log_dir / "actions.log").read_text(errors="replace").splitlines()
                    if line.startswith("{") and rid in line]
    # the conversation by its keyed tag, the same in every process, never the id itself
    tag = conversation_tag(sender, stack.secrets["LOG_KEY"])
    assert all(line.get("conversation") == tag for line in action_lines), action_lines
    rasa_lines = (stack.log_dir / "rasa.log").read_text(errors="replace")
    assert tag in rasa_lines and sender not in rasa_lines


def test_a_request_without_an_id_gets_one_and_a_strangers_id_is_replaced(
        stack: Stack) -> None:
    made = requests.get(f"{stack.storefront_url}/", timeout=10)
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
    forged = requests.get(f"{stack.storefront_url}/", timeout=10,
                          headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert forged.headers["X-Request-ID"] != "<script>alert(1)</script>"
