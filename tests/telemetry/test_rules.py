"""The shipped alert rules and Grafana dashboard: valid for Prometheus (Debian's
``promtool``), each alert fires on the series that should raise it, and every metric
they use is one the servers serve (telemetry/metrics.py)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from telemetry import metrics

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "shop-assistant.json"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
#: Prometheus' own series, not ours
BUILTIN = {"up"}


def _promtool(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    if not Path(PROMTOOL).exists():
        pytest.fail("promtool is missing: `make scaled-tools` installs Debian's prometheus")
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def _names(expression: str) -> set[str]:
    """The metric names an expression reads (not its functions, labels or strings)."""
    expression = re.sub(r'"[^"]*"', '""', expression)          # label values
    expression = re.sub(r"\{[^}]*\}", "", expression)          # matchers
    expression = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expression)
    expression = re.sub(r"\[[^\]]*\]", "", expression)         # ranges
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*(?!\s*\()", expression))
    return {w for w in words if w.startswith("shop_") or w in BUILTIN}


def _rule_expressions() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def _dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"]
            for target in panel.get("targets", [])]


def test_the_rules_are_valid_for_prometheus() -> None:
    checked = _promtool("check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_each_alert_fires_when_it_should_and_only_then() -> None:
    tested = _promtool("test", "rules", "alerts.test.yml", cwd=RULES.parent)
    assert tested.returncode == 0, tested.stdout + tested.stderr


@pytest.mark.parametrize("where", ["rules", "dashboard"])
def test_every_metric_they_use_exists(where: str) -> None:
    expressions = _rule_expressions() if where == "rules" else _dashboard_expressions()
    assert expressions
    used = set().union(*map(_names, expressions))
    assert used, expressions
    unknown = used - metrics.names() - BUILTIN
    assert not unknown, f"{where} use metrics nobody serves: {sorted(unknown)}"


def test_the_check_finds_a_metric_nobody_serves() -> None:
    used = _names('sum by (channel) (rate(shop_turns_total{status="5xx"}[5m])) '
                  '/ histogram_quantile(0.9, rate(shop_no_such_seconds_bucket[1m]))')
    assert used == {"shop_turns_total", "shop_no_such_seconds_bucket"}
    assert used - metrics.names() == {"shop_no_such_seconds_bucket"}


def test_every_alert_is_exercised_or_deliberately_not() -> None:
    """Most alerts have a case in alerts.test.yml; the rest are simple comparisons."""
    alerts = {rule["alert"] for group in yaml.safe_load(RULES.read_text())["groups"]
              for rule in group["rules"]}
    cases = yaml.safe_load((RULES.parent / "alerts.test.yml").read_text())["tests"]
    tested = {case["alertname"] for test in cases for case in test["alert_rule_test"]}
    assert tested <= alerts
    assert len(tested) >= len(alerts) // 2, sorted(alerts - tested)


def test_a_scaled_stacks_prometheus_configuration_is_valid(tmp_path: Path) -> None:
    from scripts.scaled import ScaledStack

    stack = ScaledStack(data_dir=tmp_path, rasa=2, actions=2)
    token = tmp_path / "metrics-token"
    token.write_text("x" * 32)
    config = tmp_path / "prometheus.yml"
    config.write_text(stack.prometheus_config(token))
    checked = _promtool("check", "config", str(config))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    jobs = {job["job_name"]: job["static_configs"][0]["targets"]
            for job in yaml.safe_load(config.read_text())["scrape_configs"]}
    assert len(jobs["shop-rasa"]) == 2 and len(jobs["shop-actions"]) == 2


def test_the_docker_compose_prometheus_configuration_is_valid() -> None:
    """deploy/compose/prometheus.yml (make manifests): every kind of server scraped."""
    compose = ROOT / "deploy" / "compose" / "prometheus.yml"
    checked = _promtool("check", "config", "--syntax-only", str(compose))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    jobs = {job["job_name"] for job in yaml.safe_load(compose.read_text())["scrape_configs"]}
    assert jobs == {"shop-rasa", "shop-actions", "shop-desk", "shop-storefront",
                    "shop-stream"}
