"""Scaled mode's docker-compose file and Kubernetes manifests (``scripts/manifests.py``,
``deploy/compose/``, ``deploy/kubernetes/``): generated from what ``make run-scaled``
runs, accepted by docker-compose, HAProxy and the Kubernetes API's schemas, and free
of secrets."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import requests
import yaml

from scripts import manifests
from scripts.scaled import HAPROXY, HEALTH, LIVE, ScaledStack, server
from scripts.stack import OXIGRAPH, ROOT, free_port

COMPOSE = manifests.COMPOSE_DIR / "docker-compose.yml"
KUBERNETES = manifests.KUBERNETES_DIR / "shop-assistant.yaml"
VERSION = "1.31.0"  # the oldest Kubernetes still maintained when this was written


def _objects() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(KUBERNETES.read_text()) if doc]


def _kind(kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in _objects() if o["kind"] == kind}


def _shape(command: list[str]) -> list[str]:
    """A command with its program's path, addresses, paths and ports left out."""
    def token(arg: str) -> str:
        if arg.startswith("/") or ":" in arg or arg.count(".") == 3:
            return "<where>"
        return "<port>" if arg.isdigit() else arg
    return [Path(command[0]).name.replace("python3", "python"), *map(token, command[1:])]


def _docker_compose() -> str:
    program = shutil.which("docker-compose")
    if program is None:
        pytest.fail("docker-compose is missing: `make scaled-tools` installs Debian's")
    return program


def test_the_committed_files_are_what_make_run_scaled_runs() -> None:
    stale = [str(path.relative_to(ROOT)) for path, text in manifests.files().items()
             if not path.exists() or path.read_text() != text]
    assert not stale, f"stale (run `make manifests`): {stale}"
    assert manifests.main(["--check"]) == 0


def test_every_setting_of_the_scaled_stack_reaches_the_containers_or_the_secret() -> None:
    local = ScaledStack(data_dir=Path("/srv/shop")).settings
    config = _kind("ConfigMap")["shop-assistant-config"]["data"]
    secret = manifests.secret_manifest(manifests.fresh_secrets())["stringData"]
    compose_env = dict(line.split("=", 1) for line in
                       (manifests.COMPOSE_DIR / "shop.env").read_text().splitlines()
                       if line and not line.startswith("#"))
    for name in local:
        if name in ("PYTHONPATH", "DATASETS"):
            continue  # the images' own; benchmarks' and imports' input
        assert name in config or name in secret, name
        assert name in compose_env or name in manifests.compose()[0]["services"]["rasa0"][
            "environment"], name
    for values in (config, compose_env):
        for name, value in values.items():
            assert "127.0.0.1" not in value and str(ROOT) not in value, (name, value)
            assert "password" not in name.lower() and "@" not in value.split("//")[-1].split(
                "/")[0].replace("shop@", ""), name
    assert config["GRAPH_ENDPOINT"] == "http://graph:7878/query"
    assert config["ACTION_ENDPOINT_URL"] == "http://actions:5055/webhook"


def test_each_deployment_runs_what_the_stack_runs_with_its_health_checks() -> None:
    stack = ScaledStack(data_dir=Path("/srv/shop"))
    deployments = _kind("Deployment")
    assert deployments["rasa"]["spec"]["replicas"] == len(stack.rasa_ports) == 2
    assert deployments["actions"]["spec"]["replicas"] == len(stack.action_ports) == 2
    for kind, deployment in deployments.items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == manifests.servers()[kind].command, kind
        # the same program and flags as on this machine; only where things are differs
        here = server(kind, 1, graph_location="/srv/db").command
        assert _shape(container["command"]) == _shape(here), kind
        for probe in ("readinessProbe", "startupProbe"):
            assert container[probe]["httpGet"]["path"] == HEALTH[kind], (kind, probe)
        # alive is not ready: a server whose database blinked is not restarted
        assert container["livenessProbe"]["httpGet"]["path"] == LIVE[kind], kind
        if kind != "graph":  # Prometheus finds every server of ours by its annotations
            annotations = deployment["spec"]["template"]["metadata"]["annotations"]
            assert annotations["prometheus.io/scrape"] == "true", kind
        assert container["securityContext"]["runAsNonRoot"] is True
        service = _kind("Service")[kind]
        assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    autoscaled = {h["spec"]["scaleTargetRef"]["name"] for h in
                  _kind("HorizontalPodAutoscaler").values()}
    assert autoscaled == {"rasa", "actions"}
    job = _kind("Job")["shop-assistant-setup"]["spec"]["template"]["spec"]["containers"][0]
    assert "livenessProbe" not in job  # nothing listens in the set-up job


def test_kubernetes_schemas_accept_every_object_and_refuse_a_broken_one(tmp_path: Path) -> None:
    manifests.main(["--secrets", str(tmp_path)])
    secret = yaml.safe_load((tmp_path / "secret.yaml").read_text())
    for document in [*_objects(), secret]:
        kubernetes_validate.validate(document, VERSION, strict=True)
    broken = _kind("Deployment")["rasa"]
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"][
        "pth"] = "/"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSION, strict=True)


def test_secrets_are_made_fresh_and_never_committed(tmp_path: Path) -> None:
    manifests.main(["--secrets", str(tmp_path / "a")])
    manifests.main(["--secrets", str(tmp_path / "b")])
    first, second = ((tmp_path / d / ".env").read_text() for d in "ab")
    assert first != second
    assert all(((tmp_path / "a" / name).stat().st_mode & 0o777) == 0o600
               for name in (".env", "secret.yaml"))
    assert not _kind("Secret")
    committed = "".join(path.read_text() for path in manifests.files())
    for line in first.splitlines():
        assert line.split("=", 1)[1] not in committed
    for name in manifests.SHOP_SECRETS:
        assert f"${{{name}:?" in COMPOSE.read_text()  # compose refuses to start without


def test_docker_compose_accepts_the_file_and_refuses_a_broken_one(tmp_path: Path) -> None:
    program = _docker_compose()
    manifests.main(["--secrets", str(tmp_path)])
    env = {**os.environ, **dict(line.split("=", 1) for line in
                                (tmp_path / ".env").read_text().splitlines())}
    checked = subprocess.run([program, "-f", str(COMPOSE), "config", "-q"], env=env,
                             capture_output=True, text=True, cwd=COMPOSE.parent)
    assert checked.returncode == 0, checked.stderr
    unset = subprocess.run([program, "-f", str(COMPOSE), "config", "-q"],
                           env={k: v for k, v in env.items() if k != "CUSTOMER_ID_SECRET"},
                           capture_output=True, text=True, cwd=COMPOSE.parent)
    assert unset.returncode != 0 and "CUSTOMER_ID_SECRET" in unset.stderr
    broken = yaml.safe_load(COMPOSE.read_text())
    broken["services"]["rasa0"]["healthchek"] = broken["services"]["rasa0"].pop("healthcheck")
    (tmp_path / "docker-compose.yml").write_text(yaml.safe_dump(broken))
    (tmp_path / "shop.env").write_text("")
    refused = subprocess.run([program, "-f", str(tmp_path / "docker-compose.yml"), "config",
                              "-q"], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert refused.returncode != 0 and "healthchek" in refused.stderr


def test_the_compose_load_balancer_routes_to_every_server(tmp_path: Path) -> None:
    if not Path(HAPROXY).exists():
        pytest.fail("HAProxy is missing: `make scaled-tools` installs Debian's package")
    config = (manifests.COMPOSE_DIR / "haproxy.cfg").read_text()
    servers = {line.split()[2] for line in config.splitlines()
               if line.strip().startswith("server ")}
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert servers == {f"{name}:{manifests.PORTS[name.rstrip('0123456789')]}"
                       for name in services
                       if name.rstrip("0123456789") in ("rasa", "actions", "desk",
                                                        "storefront")}
    (tmp_path / "haproxy.cfg").write_text(config)  # names that do not resolve here
    checked = subprocess.run([HAPROXY, "-c", "-f", str(tmp_path / "haproxy.cfg")],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_graph_containers_command_loads_and_serves_the_graph(tmp_path: Path) -> None:
    """The compose file's graph server, run here: paths and port moved into tmp_path."""
    (tmp_path / "graph.ttl").write_text(
        '<http://shop.example/p/1> <http://schema.org/name> "Trail runner" .\n')
    port = free_port()
    command = yaml.safe_load(COMPOSE.read_text())["services"]["graph"]["command"]
    script = (command[2].replace("/data/", f"{tmp_path}/")
              .replace("/tmp/oxigraph", str(tmp_path / "oxigraph"))
              .replace("0.0.0.0:7878", f"127.0.0.1:{port}")
              .replace("oxigraph load", f"{OXIGRAPH} load")
              .replace("exec oxigraph", f"exec {OXIGRAPH}"))
    server = subprocess.Popen(["sh", "-c", script], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline, answer = time.monotonic() + 60, None
        while time.monotonic() < deadline and answer is None:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/query", params={
                    "query": "SELECT ?n WHERE { ?p <http://schema.org/name> ?n }"},
                    headers={"Accept": "application/sparql-results+json"}, timeout=2)
            except requests.ConnectionError:
                assert server.poll() is None, "the graph server's command failed"
                time.sleep(0.2)
        assert answer is not None and answer.ok
        names = [b["n"]["value"] for b in answer.json()["results"]["bindings"]]
        assert names == ["Trail runner"]
    finally:
        server.terminate()
        server.wait(timeout=10)
