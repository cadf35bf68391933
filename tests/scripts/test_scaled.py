"""Scaled mode's load balancer configuration (``deploy/haproxy.cfg.template``,
``scripts/scaled.py``): what HAProxy itself accepts, and what routes where."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scripts.scaled import HAPROXY, MAX_BODY, haproxy_config

PORTS = {"public_port": 8000, "actions_front_port": 8001,
         "rasa": ["127.0.0.1:8010", "127.0.0.1:8011", "127.0.0.1:8012"],
         "actions": ["127.0.0.1:8030", "127.0.0.1:8031"], "desk": "127.0.0.1:8003",
         "storefront": "127.0.0.1:8002"}


def test_haproxy_accepts_the_configuration(tmp_path: Path) -> None:
    if not Path(HAPROXY).exists():
        pytest.fail("HAProxy is missing: `make scaled-tools` installs Debian's package")
    config = tmp_path / "haproxy.cfg"
    config.write_text(haproxy_config(**PORTS))  # type: ignore[arg-type]
    checked = subprocess.run([HAPROXY, "-c", "-f", str(config)], capture_output=True,
                             text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_server_is_health_checked_and_routes_go_where_they_belong() -> None:
    config = haproxy_config(**PORTS)  # type: ignore[arg-type]
    servers = [line.split() for line in config.splitlines() if line.strip().startswith("server ")]
    assert sorted(s[2] for s in servers) == sorted(
        f"127.0.0.1:{p}" for p in [8010, 8011, 8012, 8030, 8031, 8003, 8002])
    assert all(s[-1] == "check" for s in servers)
    assert "use_backend desk if to_desk" in config and "path_beg /desk" in config
    assert "use_backend rasa if to_rasa" in config and "path_beg /webhooks/" in config
    assert "bind 127.0.0.1:8001" in config  # the action servers are not public
    assert f"gt {MAX_BODY}" in config
    # an action call that reached a server is never sent to a second one
    actions = config[config.index("\nbackend actions"):config.index("\nbackend desk")]
    assert "retry-on conn-failure\n" in actions and "empty-response" not in actions


def test_servers_as_hosts_reach_the_shared_services_only_through_the_gateway(
        tmp_path: Path) -> None:
    """``SCALED_HOSTS=1``: a server in its own network namespace is reached at its own
    address; inside it, 127.0.0.1 is its own (Redis is not there), and the shared
    services are at the gateway; its environment is rewritten to match, except what
    customers' browsers use. Everything is removed afterwards."""
    import sys
    import time

    import requests

    from scripts.scaled import Hosts, namespaces_work

    if not namespaces_work():
        pytest.skip("network namespaces need Linux, root and iproute2's `ip`")
    hosts = Hosts()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        hosts.make(["rasa0", "actions0"])
        env = {"REDIS_URL": "redis://127.0.0.1:6379/0", "TRACKER_DB_HOST": "127.0.0.1",
               "TRACKER_DB_PORT": "5432", "WIDGET_ORIGINS": "http://127.0.0.1:8000"}
        moved = hosts.env(env)
        assert moved["REDIS_URL"] == f"redis://{hosts.gateway}:6379/0"
        assert moved["TRACKER_DB_HOST"] == hosts.gateway
        assert moved["WIDGET_ORIGINS"] == env["WIDGET_ORIGINS"]
        assert Hosts.ports(env) == {6379, 5432}
        config = tmp_path / "gateway.cfg"
        from scripts.stack import free_port

        away = free_port()  # a shared service that is down: nothing listens there
        config.write_text(hosts.gateway_config({6379, away}))
        processes.append(subprocess.Popen([HAPROXY, "-db", "-f", str(config)]))
        processes.append(subprocess.Popen(hosts.command("rasa0", [
            sys.executable, "-m", "http.server", "--bind", hosts.address("rasa0"), "18555"]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for _ in range(50):
            try:
                answer = requests.get(f"http://{hosts.address('rasa0')}:18555/", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.1)
        assert answer.status_code == 200
        ping = [sys.executable, "-c", "import socket, sys; s = socket.create_connection("
                "(sys.argv[1], 6379), timeout=2); s.sendall(b'PING\\r\\n'); "
                "print(s.recv(10).decode().strip())"]
        inside = subprocess.run(hosts.command("actions0", [*ping, hosts.gateway]),
                                capture_output=True, text=True, timeout=20)
        assert inside.stdout.strip() == "+PONG", inside.stderr
        own = subprocess.run(hosts.command("actions0", [*ping, "127.0.0.1"]),
                             capture_output=True, text=True, timeout=20)
        assert own.returncode != 0 and "refused" in own.stderr.lower()
        # a service that is down is refused through the gateway at once, not retried
        closed = subprocess.run(hosts.command("actions0", [
            sys.executable, "-c", "import socket, sys, time; s = socket.create_connection("
            "(sys.argv[1], int(sys.argv[2])), timeout=10); t = time.monotonic(); "
            "s.recv(10); print(round(time.monotonic() - t, 2))", hosts.gateway, str(away)]),
            capture_output=True, text=True, timeout=20)
        assert float(closed.stdout) < 0.5, closed.stdout + closed.stderr
    finally:
        for process in processes:
            process.kill()
        hosts.remove()
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert hosts.namespace("rasa0") not in listed
    assert hosts.bridge not in subprocess.run(["ip", "link"], capture_output=True,
                                              text=True).stdout


def test_two_stacks_as_hosts_on_one_machine_take_different_subnets() -> None:
    """A second ``SCALED_HOSTS`` stack that drew the subnet the first one uses takes
    another (their routes would clash), and both are removed afterwards."""
    from scripts.scaled import Hosts, namespaces_work

    if not namespaces_work():
        pytest.skip("network namespaces need Linux, root and iproute2's `ip`")
    first = Hosts()
    second = Hosts(subnet=first.subnet)
    try:
        first.make(["rasa0"])
        second.make(["rasa0"])
        assert second.subnet != first.subnet and second.gateway != first.gateway
        routes = subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True,
                                text=True).stdout
        assert f"{first.gateway}/24" in routes and f"{second.gateway}/24" in routes
    finally:
        first.remove()
        second.remove()
    assert first.bridge not in subprocess.run(["ip", "link"], capture_output=True,
                                              text=True).stdout


STALLED_CLIENT = """
import sys, time
import sqlalchemy as sa
if sys.argv[2] == "desk":  # the agent desk's database
    from desk.app import database
    engine = database(sys.argv[1])
else:  # the shop's, as an action server opens it
    from shop.db import make_engine
    engine = make_engine(sys.argv[1], query_timeout=3)
with engine.connect() as db:
    db.execute(sa.text("SELECT 1"))
    print("connected", flush=True)
    sys.stdin.readline()  # the test stalls the network path meanwhile
    started = time.monotonic()
    try:
        db.execute(sa.text("SELECT 1"))
        print("answered", flush=True)
    except Exception as exc:
        print(f"gave up {time.monotonic() - started:.1f} {type(exc).__name__}", flush=True)
"""


@pytest.mark.parametrize("opener", ["shop", "desk"])
def test_a_database_whose_network_path_stalls_is_given_up_on_within_seconds(
        opener: str) -> None:
    """A server on its own host reaches PostgreSQL over the bridge; the path then drops
    every packet without closing anything (the host's link leaves the bridge), while a
    query is sent. The query is given up on within seconds (``tcp_user_timeout``),
    not after TCP's own quarter of an hour of retries, which keepalives don't shorten
    while data waits to be acknowledged."""
    import select
    import sys

    from scripts.scaled import IP, Hosts, namespaces_work
    from tests.databases import PG
    from tests.relay import ThreadedRelay

    if not namespaces_work():
        pytest.skip("network namespaces need Linux, root and iproute2's `ip`")
    hosts = Hosts()
    relay = None
    client = None
    try:
        hosts.make(["actions0"])
        relay = ThreadedRelay(("127.0.0.1", 5432), host=hosts.gateway)
        url = PG.replace("127.0.0.1:5432", f"{hosts.gateway}:{relay.port}") + "/postgres"
        client = subprocess.Popen(
            hosts.command("actions0", [sys.executable, "-c", STALLED_CLIENT, url, opener]),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd=Path(__file__).resolve().parents[2])
        assert client.stdout is not None and client.stdin is not None
        assert client.stdout.readline().strip() == "connected", client.stderr.read()
        subprocess.run([IP, "link", "set", f"sh{hosts.tag}o0", "nomaster"], check=True)
        client.stdin.write("\n")
        client.stdin.flush()
        ready, _, _ = select.select([client.stdout], [], [], 30)
        said = client.stdout.readline().split() if ready else ["still", "waiting"]
    finally:
        if client is not None:
            client.kill()
        if relay is not None:
            relay.close()
        hosts.remove()
    assert said[:2] == ["gave", "up"] and float(said[2]) < 10, said
