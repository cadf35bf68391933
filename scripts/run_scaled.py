"""``make run-scaled``: the assistant as several Rasa and action servers behind HAProxy on
PostgreSQL, Redis and RabbitMQ, on this machine (docs/deployment.md). Ctrl-C stops it.

Settings (environment): ``PUBLIC_PORT`` (8000), ``RASA_SERVERS`` (2), ``ACTION_SERVERS``
(2), ``SCALED_DATA_DIR`` (``data-scaled``), ``SCALED_DATABASE`` (``shop_scaled``, kept
between runs), ``REDIS_URL``, ``RABBITMQ_URL``, ``SCALED_HOSTS`` (``1``: each Rasa and
action server on its own host, a network namespace with its own address; Linux, root),
``PROMETHEUS`` (``1``, the default where Debian's ``prometheus`` is installed: it
scrapes every server on ``PUBLIC_PORT + 6`` with the alert rules of
``deploy/prometheus/alerts.yml``; ``0``: not started).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from scripts.scaled import PROMETHEUS, Hosts, ScaledStack, namespaces_work
from scripts.stack import ROOT


def main() -> int:
    """Start the scaled stack, print where to go, wait for Ctrl-C."""
    env = os.environ
    base = int(env.get("PUBLIC_PORT", "8000"))
    rasa, actions = int(env.get("RASA_SERVERS", "2")), int(env.get("ACTION_SERVERS", "2"))
    stack = ScaledStack(
        data_dir=Path(env.get("SCALED_DATA_DIR") or ROOT / "data-scaled").resolve(),
        rasa=rasa, actions=actions, database=env.get("SCALED_DATABASE", "shop_scaled"),
        keep_database=True, public_port=base, actions_port=base + 1,
        storefront_port=base + 2, desk_port=base + 3, graph_port=base + 4,
        stream_port=base + 5,
        rasa_ports=[base + 10 + n for n in range(rasa)],
        action_ports=[base + 30 + n for n in range(actions)],
        hosts=Hosts() if env.get("SCALED_HOSTS") == "1" else None)
    if stack.hosts is not None and not namespaces_work():
        print("SCALED_HOSTS=1 needs Linux network namespaces: run as root with `ip` "
              "(iproute2)")
        return 2
    secrets_file = stack.data_dir / "secrets.env"
    stack.data_dir.mkdir(parents=True, exist_ok=True)
    if secrets_file.exists():  # the same secrets on every start: signed ids stay valid
        for line in secrets_file.read_text().splitlines():
            name, _, value = line.partition("=")
            if value:
                stack.secrets[name] = value
    else:
        secrets_file.write_text("".join(f"{k}={v}\n" for k, v in stack.secrets.items()))
        secrets_file.chmod(0o600)
    print(f"starting {rasa} Rasa servers, {actions} action servers, the desk and the demo "
          "shop behind HAProxy (first start builds the demo shop into PostgreSQL)...",
          flush=True)
    stack.start()
    url = stack.rasa_url
    watch = "not started (PROMETHEUS=0, or Debian's prometheus is not installed)"
    if env.get("PROMETHEUS", "1") == "1" and Path(PROMETHEUS).exists():
        watch = (f"{stack.start_prometheus(base + 6)}/alerts  (Grafana: import "
                 "deploy/grafana/shop-assistant.json)")
    print(f"""
The shop assistant is running in scaled mode.
  Open:      {url}/   (the demo shop; chat bottom right, English or 中文)
  Agents:    {url}/desk/
  REST API:  {url}/webhooks/rest/webhook
  Servers:   Rasa {', '.join(f"{stack.address(f'rasa{n}')}:{p}" for n, p in
                        enumerate(stack.rasa_ports))}; actions \
{', '.join(f"{stack.address(f'actions{n}')}:{p}" for n, p in enumerate(stack.action_ports))} \
(behind the balancer's internal front, port {stack.actions_port}); \
graph {stack.graph_endpoint}; stream consumer \
http://127.0.0.1:{stack.stream_port}/health
  Stores:    PostgreSQL database {stack.database}, Redis {stack.env['REDIS_URL']}, \
RabbitMQ queue {stack.env['RABBITMQ_QUEUE']}
  Logs:      {stack.log_dir}/   (JSON lines; make explain CONVERSATION=id)
  Metrics:   {watch}
Press Ctrl-C to stop.""", flush=True)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            if not stack.alive():
                print(f"a server exited; see {stack.log_dir}")
                return 1
            time.sleep(1)
    finally:
        print("\nstopping...")
        stack.stop()
        print("stopped.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
