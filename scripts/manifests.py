"""``make manifests``: scaled mode as a docker-compose file and Kubernetes manifests,
generated from what ``make run-scaled`` runs (docs/deployment.md).

Both are written from :class:`~scripts.scaled.ScaledStack` itself: the same servers
(:func:`~scripts.scaled.server`: commands, ports, health checks), as many of each,
the same settings (every value of ``ScaledStack.settings``, with container addresses
in place of this machine's) and, for docker-compose, the same HAProxy configuration
(``deploy/haproxy.cfg.template``). ``tests/scripts/test_manifests.py`` fails when
the committed files differ from what this writes, and checks them with
``docker-compose config`` and ``kubernetes-validate``.

Usage::

    python -m scripts.manifests                # rewrite deploy/compose/ and deploy/kubernetes/
    python -m scripts.manifests --check        # exit 1 if the committed files are stale
    python -m scripts.manifests --secrets DIR  # fresh secrets: DIR/.env (compose), DIR/secret.yaml
"""

from __future__ import annotations

import argparse
import secrets as random
import shlex
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from scripts.scaled import LIVE, ScaledStack, Server, haproxy_config, server
from scripts.stack import ROOT, oxigraph_load

DEPLOY = ROOT / "deploy"
COMPOSE_DIR = DEPLOY / "compose"
KUBERNETES_DIR = DEPLOY / "kubernetes"
APP, DATA = "/app", "/data"
RASA_SERVERS, ACTION_SERVERS = 2, 2  # make run-scaled's defaults
IMAGES = {"bot": "shop-assistant-bot:1.0", "actions": "shop-assistant-actions:1.0"}
# the port each kind listens on in its container (Rasa's and rasa-sdk's own defaults)
PORTS = {"rasa": 5005, "actions": 5055, "desk": 8003, "storefront": 8002, "graph": 7878,
         "stream": 8005}
PUBLIC_PORT = 8000
NAME = "shop-assistant"
# each graph server loads the graph file into a store of its own (RocksDB takes one
# process per store), so graph servers can be added like any other
GRAPH_DB = "/tmp/oxigraph/db"

# What carries a credential goes to the secrets, never into a committed file.
SHOP_SECRETS = ("CUSTOMER_ID_SECRET", "ACTION_SERVER_TOKEN", "CHANNEL_SECRET",
                "CHANNEL_PUSH_TOKEN", "DESK_TOKEN", "METRICS_TOKEN", "LOG_KEY")
#: The kinds of server Prometheus scrapes (the graph server has no /metrics of ours).
SCRAPED = ("rasa", "actions", "desk", "storefront", "stream")
# Settings of ScaledStack a container deployment does not take from it, and why.
NOT_CARRIED = {
    "PYTHONPATH": "the images' working directory is the repository",
    "DATASETS": "the public datasets feed catalog imports and benchmarks, run before deploying",
    "REDIS_URL": "a secret (it carries Redis's password)",
    "RABBITMQ_URL": "a secret (it carries RabbitMQ's password)",
    "TRACKER_DB_PASSWORD": "a secret",
}


def stack() -> ScaledStack:
    """The stack ``make run-scaled`` starts by default, on the containers' ports."""
    return ScaledStack(
        data_dir=Path(DATA), rasa=RASA_SERVERS, actions=ACTION_SERVERS, database="shop",
        keep_database=True, public_port=PUBLIC_PORT, actions_port=PORTS["actions"],
        storefront_port=PORTS["storefront"], desk_port=PORTS["desk"],
        graph_port=PORTS["graph"], stream_port=PORTS["stream"],
        rasa_ports=[PORTS["rasa"]] * RASA_SERVERS,
        action_ports=[PORTS["actions"]] * ACTION_SERVERS)


def servers() -> dict[str, Server]:
    """Each kind of server as its container runs it."""
    return {kind: server(kind, port, interface="0.0.0.0", python="python", rasa="rasa",
                         model=f"{APP}/models/shop-assistant.tar.gz", oxigraph="oxigraph",
                         graph_location=GRAPH_DB)
            for kind, port in PORTS.items()}


def settings(*, actions_url: str, bot_url: str, public_url: str) -> dict[str, str]:
    """``ScaledStack.settings`` with containers' addresses: the action servers at
    ``actions_url``, the Rasa servers (for the desk) at ``bot_url``, the shop's public
    address ``public_url``; credentials left out (they are secrets)."""
    scaled = stack()
    local = scaled.settings
    database = "postgresql+psycopg2://shop@postgres:5432/shop"
    container = {
        "SHOP_DATA_DIR": DATA,
        "ACTION_ENDPOINT_URL": f"{actions_url}/webhook",
        "CHAT_PUBLIC_URL": public_url,
        "DESK_URL": f"http://desk:{PORTS['desk']}",
        "DESK_BOT_URL": bot_url,
        "WIDGET_ORIGINS": public_url,
        "PRODUCT_IMAGE_URL": f"{public_url}/images/{{sku}}",
        "WIDGET_SCRIPT": f"{APP}/widget/dist/widget.js",
        "EMBEDDING_CACHE": f"{DATA}/cache/product_embeddings.npz",
        "DATABASE_URL": database, "HANDOFF_DB_URL": database, "CHANNEL_DB_URL": database,
        "EVENT_SPOOL_URL": database, "MEDIA_DB_URL": database,
        "TRACKER_DB_HOST": "postgres", "TRACKER_DB_USER": "shop",
        "GRAPH_ENDPOINT": f"http://graph:{PORTS['graph']}/query",
        "LOCK_KEY_PREFIX": "shop:lock:",
        "RASA_PORT": str(PORTS["rasa"]),
        "RASA_API_PORT": str(PORTS["rasa"] + 1),  # Rasa's own API, when enabled
        "RABBITMQ_QUEUE": "shop.events",
        # a pod sees the node's cores, not its share: one compute thread per pod
        # (RESOURCES requests about one core's worth; the autoscaler adds pods)
        "TF_INTRA_OP_PARALLELISM_THREADS": "1", "OMP_NUM_THREADS": "1",
    }
    values = {key: container.get(key, value) for key, value in local.items()
              if key not in NOT_CARRIED}
    # the action server, the desk and the demo shop listen on every interface of
    # their container (on this machine they keep to loopback)
    values.update({"ACTIONS_HOST": "0.0.0.0", "DESK_HOST": "0.0.0.0",
                   "STOREFRONT_HOST": "0.0.0.0", "STREAM_HOST": "0.0.0.0"})
    return dict(sorted(values.items()))


def _image(kind: str) -> str:
    return IMAGES["bot"] if kind == "rasa" else IMAGES["actions"]


def _http_check(port: int, path: str) -> list[str]:
    """A container health check without curl (the images are slim): Python's urllib."""
    return ["CMD", "python", "-c", "import urllib.request; urllib.request.urlopen("
            f"'http://127.0.0.1:{port}{path}', timeout=3)"]


SETUP = ("test -f /data/.built || (python -m scripts.build_data && "
         "touch /data/.built)")


def compose() -> tuple[dict[str, Any], str, dict[str, str]]:
    """The docker-compose file, its HAProxy configuration and its settings file."""
    scaled, kinds = stack(), servers()
    environment = {
        **{name: f"${{{name}:?run make manifests-secrets}}" for name in SHOP_SECRETS},
        "PGPASSWORD": "${POSTGRES_PASSWORD:?}", "TRACKER_DB_PASSWORD": "${POSTGRES_PASSWORD:?}",
        "REDIS_URL": "redis://:${REDIS_PASSWORD:?}@redis:6379/0",
        "RABBITMQ_URL": "amqp://shop:${RABBITMQ_PASSWORD:?}@rabbitmq:5672/",
    }
    env_file = settings(actions_url=f"http://haproxy:{PUBLIC_PORT + 1}",
                        bot_url=f"http://haproxy:{PUBLIC_PORT}",
                        public_url=f"http://localhost:{PUBLIC_PORT}")
    healthy = {"condition": "service_healthy"}

    def service(kind: str, **extra: Any) -> dict[str, Any]:
        what = kinds[kind]
        settled: dict[str, Any] = {"env_file": ["shop.env"], "environment": dict(environment)}
        command = what.command
        if kind == "graph":  # a store of its own, from the graph file, then serve it
            settled = {}
            folder = shlex.quote(str(Path(GRAPH_DB).parent))
            command = ["sh", "-c", f"rm -rf {folder} && mkdir -p {folder} && "
                                   f"{shlex.join(_graph_load())} && "
                                   f"exec {shlex.join(what.command)}"]
        return {"image": _image(kind), "command": command, **settled,
                "volumes": ["shop-data:/data"], "restart": "unless-stopped",
                "healthcheck": {"test": _http_check(what.port, what.health),
                                "interval": "5s", "timeout": "4s", "retries": 3,
                                "start_period": "300s" if kind == "rasa" else "60s"},
                **extra}

    stores = {"postgres": healthy, "redis": healthy, "rabbitmq": healthy}
    set_up = {"setup": {"condition": "service_completed_successfully"}}
    services: dict[str, Any] = {
        "postgres": {
            "image": "postgres:15", "restart": "unless-stopped",
            "environment": {"POSTGRES_USER": "shop", "POSTGRES_DB": "shop",
                            "POSTGRES_PASSWORD": "${POSTGRES_PASSWORD:?}"},
            "volumes": ["postgres-data:/var/lib/postgresql/data"],
            "healthcheck": {"test": ["CMD", "pg_isready", "-U", "shop"], "interval": "5s",
                            "timeout": "4s", "retries": 10}},
        "redis": {
            "image": "redis:7", "restart": "unless-stopped",
            "command": ["redis-server", "--requirepass", "${REDIS_PASSWORD:?}"],
            "healthcheck": {"test": ["CMD-SHELL", 'redis-cli -a "$$REDIS_PASSWORD" ping'],
                            "interval": "5s", "timeout": "4s", "retries": 10},
            "environment": {"REDIS_PASSWORD": "${REDIS_PASSWORD:?}"}},
        "rabbitmq": {
            "image": "rabbitmq:3", "restart": "unless-stopped",
            "environment": {"RABBITMQ_DEFAULT_USER": "shop",
                            "RABBITMQ_DEFAULT_PASS": "${RABBITMQ_PASSWORD:?}"},
            "healthcheck": {"test": ["CMD", "rabbitmq-diagnostics", "-q", "ping"],
                            "interval": "10s", "timeout": "8s", "retries": 10}},
        # the demo shop, once, into the shared volume and database (a shop's own
        # catalog: `make import-catalog` against the same database and volume)
        "setup": {"image": IMAGES["actions"], "command": ["sh", "-c", SETUP],
                  "env_file": ["shop.env"], "environment": dict(environment),
                  "volumes": ["shop-data:/data"], "depends_on": dict(stores)},
        "graph": service("graph", depends_on=dict(set_up)),
    }
    after_graph = {**stores, **set_up, "graph": healthy}
    for n in range(len(scaled.action_ports)):
        services[f"actions{n}"] = service("actions", depends_on=dict(after_graph))
    for n in range(len(scaled.rasa_ports)):
        services[f"rasa{n}"] = service("rasa", depends_on={**stores, **set_up})
    services["stream"] = service("stream", depends_on={**stores, **set_up})
    services["desk"] = service("desk", depends_on={**stores, **set_up})
    services["storefront"] = service("storefront", depends_on={**stores, **set_up})
    # Prometheus scrapes every server of every kind by its service's name (each replica's
    # address from Docker's DNS) with the metrics token of `make manifests-secrets`
    services["prometheus"] = {
        "image": "prom/prometheus:v2.53.0", "restart": "unless-stopped",
        "command": ["--config.file=/etc/prometheus/prometheus.yml",
                    "--storage.tsdb.path=/prometheus"],
        "ports": ["127.0.0.1:9090:9090"],
        "volumes": ["./prometheus.yml:/etc/prometheus/prometheus.yml:ro",
                    "../prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro",
                    "../secrets/metrics-token:/etc/prometheus/metrics-token:ro",
                    "prometheus-data:/prometheus"]}
    services["haproxy"] = {
        "image": "haproxy:2.6", "restart": "unless-stopped",
        "ports": [f"{PUBLIC_PORT}:{PUBLIC_PORT}"],
        "volumes": ["./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro"],
        "depends_on": {name: {"condition": "service_started"} for name in services
                       if name.startswith(("rasa", "actions", "desk", "storefront"))}}
    document = {"services": services,
                "volumes": {"shop-data": {}, "postgres-data": {}, "prometheus-data": {}}}
    haproxy = haproxy_config(
        public_port=PUBLIC_PORT, actions_front_port=PUBLIC_PORT + 1,
        rasa=[f"rasa{n}:{PORTS['rasa']}" for n in range(len(scaled.rasa_ports))],
        actions=[f"actions{n}:{PORTS['actions']}" for n in range(len(scaled.action_ports))],
        desk=f"desk:{PORTS['desk']}", storefront=f"storefront:{PORTS['storefront']}",
        bind="0.0.0.0", actions_bind="0.0.0.0")
    return document, haproxy, env_file


def _graph_load() -> list[str]:
    return oxigraph_load(Path(DATA) / "graph.ttl", Path(GRAPH_DB), program="oxigraph")


def _metadata(name: str, component: str) -> dict[str, Any]:
    return {"name": name, "labels": {"app.kubernetes.io/name": NAME,
                                     "app.kubernetes.io/component": component}}


def _probe(what: Server, *, period: int, failures: int, live: bool = False
           ) -> dict[str, Any]:
    """A probe of the server's readiness route, or (``live``) of its liveness route."""
    return {"httpGet": {"path": LIVE[what.kind] if live else what.health, "port": what.port},
            "periodSeconds": period, "timeoutSeconds": 3, "failureThreshold": failures}


RESOURCES = {  # requests drive the autoscaler; limits keep one pod from starving others
    "rasa": {"requests": {"cpu": "500m", "memory": "1536Mi"}, "limits": {"memory": "3Gi"}},
    "actions": {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"memory": "4Gi"}},
    "desk": {"requests": {"cpu": "100m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
    "storefront": {"requests": {"cpu": "100m", "memory": "256Mi"},
                   "limits": {"memory": "512Mi"}},
    "graph": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "2Gi"}},
    "stream": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
}


def _container(kind: str, what: Server, *, with_secrets: bool = True) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": kind, "image": _image(kind), "command": what.command,
        "ports": [{"name": "http", "containerPort": what.port}],
        "envFrom": [{"configMapRef": {"name": f"{NAME}-config"}}],
        "volumeMounts": [{"name": "shop-data", "mountPath": DATA}],
        "resources": RESOURCES[kind],
        "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True,
                            "runAsUser": 10001, "capabilities": {"drop": ["ALL"]}},
        # ready: taken into the Service's rotation; live: restarted when it hangs
        "readinessProbe": _probe(what, period=5, failures=2),
        "livenessProbe": _probe(what, period=10, failures=6, live=True),
        # Rasa loads its model, the action server its indexes: up to 5 minutes
        "startupProbe": _probe(what, period=5, failures=60),
    }
    if with_secrets:
        container["envFrom"].append({"secretRef": {"name": f"{NAME}-secrets"}})
    return container


def _setup_container(actions: Server) -> dict[str, Any]:
    """The one-off container that builds the shop (the action server's image and
    settings; nothing listens, so no port and no probe)."""
    container = {**_container("actions", actions), "name": "setup",
                 "command": ["sh", "-c", SETUP]}
    for key in ("ports", "readinessProbe", "livenessProbe", "startupProbe"):
        del container[key]
    return container


def kubernetes() -> list[dict[str, Any]]:
    """Every Kubernetes object of scaled mode but the Secret (``--secrets`` writes it)."""
    scaled, kinds = stack(), servers()
    replicas = {"rasa": len(scaled.rasa_ports), "actions": len(scaled.action_ports),
                "desk": 1, "storefront": 1, "graph": 1, "stream": 1}
    documents: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _metadata(f"{NAME}-config", "config"),
         "data": settings(actions_url=f"http://actions:{PORTS['actions']}",
                          bot_url=f"http://rasa:{PORTS['rasa']}",
                          public_url="https://shop.example.com")},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
         "metadata": _metadata("shop-data", "data"),
         # every pod reads it (graph, indexes, models); customers' photos are in PostgreSQL
         "spec": {"accessModes": ["ReadWriteMany"],
                  "resources": {"requests": {"storage": "20Gi"}}}},
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": _metadata(f"{NAME}-setup", "setup"),
         "spec": {"backoffLimit": 2, "template": {
             "metadata": {"labels": _metadata("", "setup")["labels"]},
             "spec": {"restartPolicy": "OnFailure",
                      "containers": [_setup_container(kinds["actions"])],
                      "volumes": [{"name": "shop-data",
                                   "persistentVolumeClaim": {"claimName": "shop-data"}}]}}}},
    ]
    for kind, what in kinds.items():
        labels = _metadata("", kind)["labels"]
        pod: dict[str, Any] = {
            "containers": [_container(kind, what, with_secrets=kind != "graph")],
            "volumes": [{"name": "shop-data",
                         "persistentVolumeClaim": {"claimName": "shop-data"}}]}
        if kind == "graph":  # the pod's own store, loaded from the graph file
            store = {"name": "graph-db", "mountPath": str(Path(GRAPH_DB).parent)}
            pod["volumes"].append({"name": "graph-db", "emptyDir": {}})
            pod["containers"][0]["volumeMounts"].append(store)
            pod["initContainers"] = [{
                "name": "load", "image": IMAGES["actions"], "command": _graph_load(),
                "volumeMounts": [{"name": "shop-data", "mountPath": DATA}, store],
                "securityContext": _container(kind, what)["securityContext"]}]
        documents.append({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": _metadata(kind, kind),
            "spec": {"replicas": replicas[kind], "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels, **scraped(kind, what)},
                                  "spec": pod}}})
        documents.append({
            "apiVersion": "v1", "kind": "Service", "metadata": _metadata(kind, kind),
            "spec": {"selector": labels,
                     "ports": [{"name": "http", "port": what.port, "targetPort": "http"}]}})
    for kind in ("rasa", "actions"):
        documents.append({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": _metadata(kind, kind),
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": kind},
                     "minReplicas": replicas[kind], "maxReplicas": 4 * replicas[kind],
                     "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {"type": "Utilization",
                                                   "averageUtilization": 70}}}]}})
        documents.append({
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": _metadata(kind, kind),
            "spec": {"minAvailable": 1,
                     "selector": {"matchLabels": _metadata("", kind)["labels"]}}})

    def route(path: str, kind: str) -> dict[str, Any]:
        return {"path": path, "pathType": "Prefix", "backend": {"service": {
            "name": kind, "port": {"number": PORTS[kind]}}}}

    documents.append({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {**_metadata(NAME, "ingress"), "annotations": {
            # ingress-nginx: the photo upload's limit, the widget's socket kept open
            "nginx.ingress.kubernetes.io/proxy-body-size": "12m",
            "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
            "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600"}},
        "spec": {"rules": [{"host": "shop.example.com", "http": {"paths": [
            route("/webhooks/", "rasa"), route("/desk", "desk"),
            route("/", "storefront")]}}]}})
    return documents


def prometheus_compose(scaled: Any) -> str:
    """Prometheus' configuration in docker-compose: every server by its service name."""
    names = {"rasa": [f"rasa{n}" for n in range(len(scaled.rasa_ports))],
             "actions": [f"actions{n}" for n in range(len(scaled.action_ports))],
             "desk": ["desk"], "storefront": ["storefront"], "stream": ["stream"]}
    config = {
        "global": {"scrape_interval": "15s", "evaluation_interval": "15s"},
        "rule_files": ["/etc/prometheus/alerts.yml"],
        "scrape_configs": [
            {"job_name": f"shop-{kind}",
             "authorization": {"type": "Bearer",
                               "credentials_file": "/etc/prometheus/metrics-token"},
             "static_configs": [{"targets": [f"{name}:{PORTS[kind]}"
                                             for name in names[kind]]}]}
            for kind in SCRAPED]}
    return yaml.safe_dump(config, sort_keys=False)


def scraped(kind: str, what: Server) -> dict[str, Any]:
    """The annotations a Prometheus with Kubernetes service discovery scrapes a pod by
    (its ``METRICS_TOKEN`` goes in the scrape job's authorization)."""
    if kind not in SCRAPED:
        return {}
    return {"annotations": {"prometheus.io/scrape": "true",
                            "prometheus.io/port": str(what.port),
                            "prometheus.io/path": "/metrics"}}


def fresh_secrets() -> dict[str, str]:
    """New random values for every secret of a container deployment."""
    return {name: random.token_hex(32) for name in
            (*SHOP_SECRETS, "POSTGRES_PASSWORD", "REDIS_PASSWORD", "RABBITMQ_PASSWORD")}


def secret_manifest(values: dict[str, str]) -> dict[str, Any]:
    """The Kubernetes Secret every pod reads (``values`` from :func:`fresh_secrets`)."""
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": _metadata(f"{NAME}-secrets", "config"),
            "type": "Opaque", "stringData": {
                **{name: values[name] for name in SHOP_SECRETS},
                "PGPASSWORD": values["POSTGRES_PASSWORD"],
                "TRACKER_DB_PASSWORD": values["POSTGRES_PASSWORD"],
                "REDIS_URL": f"redis://:{values['REDIS_PASSWORD']}@redis:6379/0",
                "RABBITMQ_URL": f"amqp://shop:{values['RABBITMQ_PASSWORD']}@rabbitmq:5672/"}}


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # each service spelled out in full
        return True


def dump(documents: Iterable[dict[str, Any]]) -> str:
    """YAML documents, keys in the order written."""
    return yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                         width=100)


HEADER = ("# Generated by `make manifests` (scripts/manifests.py) from what `make run-scaled`\n"
          "# runs; do not edit: tests/scripts/test_manifests.py fails when it is stale.\n")


def files() -> dict[Path, str]:
    """Every generated file and its text."""
    document, haproxy, env = compose()
    return {
        COMPOSE_DIR / "docker-compose.yml": HEADER + dump([document]),
        COMPOSE_DIR / "haproxy.cfg": HEADER + haproxy,
        COMPOSE_DIR / "shop.env": HEADER + "".join(f"{k}={v}\n" for k, v in env.items()),
        COMPOSE_DIR / "prometheus.yml": HEADER + prometheus_compose(stack()),
        KUBERNETES_DIR / "shop-assistant.yaml": HEADER + dump(kubernetes()),
    }


def main(argv: list[str] | None = None) -> int:
    """Write the files, check them (``--check``) or write fresh secrets (``--secrets``)."""
    parser = argparse.ArgumentParser(prog="python -m scripts.manifests", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if a file is stale")
    parser.add_argument("--secrets", type=Path, metavar="DIR",
                        help="write fresh secrets: DIR/.env and DIR/secret.yaml")
    args = parser.parse_args(argv)
    if args.secrets:
        values = fresh_secrets()
        args.secrets.mkdir(parents=True, exist_ok=True)
        env = "".join(f"{k}={v}\n" for k, v in values.items())
        for path, text in ((args.secrets / ".env", env),
                           (args.secrets / "secret.yaml", dump([secret_manifest(values)])),
                           (args.secrets / "metrics-token", values["METRICS_TOKEN"])):
            path.write_text(text)
            path.chmod(0o600)
            print(f"wrote {path}")
        return 0
    stale = [path for path, text in files().items()
             if not path.exists() or path.read_text() != text]
    if args.check:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is stale: run `make manifests`", file=sys.stderr)
        return 1 if stale else 0
    for path, text in files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"{'wrote' if path in stale else 'unchanged'} {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
