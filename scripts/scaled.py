"""Scaled mode on one machine: several Rasa and action servers behind HAProxy, sharing
PostgreSQL, Redis and RabbitMQ (docs/deployment.md).

:class:`ScaledStack` is what ``make run-scaled`` runs and what the end-to-end
integrity check starts: ``rasa`` Rasa servers and ``actions`` action servers on one
data directory (the graph, indexes and models as files every server reads; uploaded
media in one folder), with

- the shop database, the handoff state, the channels' log and delivery pipeline, and
  Rasa's tracker store in one PostgreSQL database;
- the product graph on an Oxigraph server (``oxigraph serve-read-only``, loaded from
  the data directory's graph at start) every action server queries over SPARQL;
- Rasa's conversation lock, the shared rate limits and the WeChat token in Redis;
- every conversation event published to a RabbitMQ queue, which the stream's
  consumer (``python -m stream``) reads into the shop database;
- HAProxy in front: one public port (chat channels, widget socket, desk, demo shop)
  and one internal port for the action servers, each backend health-checked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

import sqlalchemy as sa
import yaml

from scripts.stack import (
    BOT_BIN,
    GRAPH_HEALTH,
    MODEL,
    OXIGRAPH,
    ROOT,
    Stack,
    free_port,
    oxigraph_serve,
    oxigraph_store,
    wait_until_up,
)

TEMPLATE = ROOT / "deploy" / "haproxy.cfg.template"
POSTGRES = "postgresql+psycopg2://postgres@127.0.0.1:5432"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
#: Debian's ``prometheus`` (``make scaled-tools``): scrapes a scaled stack on request
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
IP = shutil.which("ip") or "/usr/sbin/ip"  # iproute2, for SCALED_HOSTS
SUBNET_LOCK = "/tmp/shop-assistant-hosts.lock"  # SCALED_HOSTS stacks pick subnets in turn
MAX_BODY = 12 * 1024 * 1024  # the largest photo upload (10 MiB) and its form around it


class ScaledError(RuntimeError):
    """A shared component of scaled mode is missing or does not answer."""


@dataclass(frozen=True)
class Server:
    """One server of scaled mode: how it starts, where it listens, how it says it is up.

    ``make run-scaled`` starts these on this machine; ``make manifests`` writes the
    same commands into the docker-compose file and the Kubernetes manifests.
    """

    kind: str  # rasa, actions, desk, storefront, graph or stream
    command: list[str]
    port: int
    health: str  # the path that answers once the server is up


#: Where each kind of server says it is ready (telemetry/web.py): the balancer's health
#: checks, the start-up waits and the Kubernetes readiness probes.
HEALTH = {"rasa": "/health/ready", "actions": "/health/ready", "desk": "/health/ready",
          "storefront": "/health/ready", "graph": GRAPH_HEALTH, "stream": "/health/ready"}
#: Where each answers while it is alive at all (Kubernetes' liveness probes).
LIVE = {"rasa": "/health/live", "actions": "/health/live", "desk": "/health/live",
        "storefront": "/health/live", "graph": GRAPH_HEALTH, "stream": "/health/live"}


def server(kind: str, port: int, *, interface: str = "127.0.0.1",
           python: str = sys.executable, rasa: str = str(BOT_BIN / "rasa"),
           model: str = str(MODEL), oxigraph: str = OXIGRAPH,
           graph_location: str = "oxigraph-db",
           endpoints: str = "bot/endpoints-scaled.yml") -> Server:
    """The ``kind`` server of scaled mode on ``port``.

    The action server, the desk and the demo shop listen where their settings say
    (``ACTIONS_HOST``, ``DESK_HOST``, ``STOREFRONT_HOST``); Rasa and the graph server
    on ``interface``.
    """
    commands = {
        "rasa": [rasa, "run", "--model", model, "--interface", interface, "--port",
                 str(port), "--credentials", "bot/credentials.yml", "--endpoints", endpoints],
        "actions": [python, "-m", "actions.server", "--port", str(port)],
        "desk": [python, "-m", "desk", "--port", str(port)],
        "storefront": [python, "-m", "storefront", "--port", str(port)],
        "graph": oxigraph_serve(Path(graph_location), port, interface=interface,
                                program=oxigraph)[0],
        # the conversation stream's consumer (stream/): desk reports, recommender views
        "stream": [python, "-m", "stream", "--port", str(port)],
    }
    return Server(kind, commands[kind], port, HEALTH[kind])


def haproxy_config(*, public_port: int, actions_front_port: int,
                   rasa: list[str], actions: list[str], desk: str, storefront: str,
                   bind: str = "127.0.0.1", actions_bind: str = "127.0.0.1") -> str:
    """HAProxy's configuration for servers at these addresses (``host:port``), from
    ``deploy/haproxy.cfg.template``."""
    def servers(name: str, addresses: list[str]) -> str:
        return "\n".join(f"    server {name}{n} {address} check"
                         for n, address in enumerate(addresses, 1))

    return string.Template(TEMPLATE.read_text()).substitute(
        bind=bind, public_port=public_port, actions_bind=actions_bind,
        actions_front_port=actions_front_port, max_body=MAX_BODY,
        rasa_servers=servers("rasa", rasa), action_servers=servers("actions", actions),
        desk_servers=servers("desk", [desk]),
        storefront_servers=servers("storefront", [storefront]))


def new_database(name: str) -> str:
    """Create an empty PostgreSQL database on 127.0.0.1:5432; its SQLAlchemy URL."""
    admin = sa.create_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        raise ScaledError(f"no PostgreSQL at 127.0.0.1:5432: {exc.orig}") from exc
    finally:
        admin.dispose()
    return f"{POSTGRES}/{name}"


def delete_queue(name: str) -> None:
    """Delete a RabbitMQ queue this stack made (through Rasa's environment, which has an
    AMQP client); nothing if RabbitMQ is away."""
    url = os.environ.get("RABBITMQ_URL") or "amqp://guest:guest@127.0.0.1:5672/"
    subprocess.run([str(BOT_BIN / "python"), "-c", (
        "import asyncio, sys, aio_pika\n"
        "async def main():\n"
        "    conn = await aio_pika.connect(sys.argv[1], timeout=5)\n"
        "    async with conn:\n"
        "        channel = await conn.channel()\n"
        "        await channel.queue_delete(sys.argv[2])\n"
        "asyncio.run(main())\n"), url, name], capture_output=True, timeout=60, check=False)


def database_exists(name: str) -> bool:
    """Whether PostgreSQL on 127.0.0.1:5432 holds a database called ``name``."""
    admin = sa.create_engine(f"{POSTGRES}/postgres")
    try:
        with admin.connect() as conn:
            return conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                {"n": name}).first() is not None
    finally:
        admin.dispose()


def drop_database(name: str) -> None:
    """Drop a database :func:`new_database` made."""
    admin = sa.create_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


#: Settings that are addresses a customer's browser uses, not the servers.
PUBLIC = frozenset({"CHAT_PUBLIC_URL", "PRODUCT_IMAGE_URL", "WIDGET_ORIGINS", "PATH"})
LOOPBACK = re.compile(r"\b(?:127\.0\.0\.1|localhost)(?=:(\d+)\b|$)")


def namespaces_work() -> bool:
    """Whether this machine lets us make network namespaces (Linux, root, ``ip``)."""
    if not Path(IP).exists() or os.geteuid() != 0:
        return False
    probe = f"shop-probe-{uuid.uuid4().hex[:6]}"
    made = subprocess.run([IP, "netns", "add", probe], capture_output=True, check=False)
    subprocess.run([IP, "netns", "del", probe], capture_output=True, check=False)
    return made.returncode == 0


@dataclass
class Hosts:
    """Servers as separate hosts on one machine: each in its own network namespace with
    its own address on a bridge, as machines on a LAN (``make run-scaled`` with
    ``SCALED_HOSTS=1``; Linux, root). Inside a namespace, 127.0.0.1 is that host's own:
    the shared services (PostgreSQL, Redis, RabbitMQ, the graph server, the desk)
    are reached at the bridge's address, the gateway (:meth:`gateway_config`)."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    subnet: int = field(default_factory=lambda: 100 + secrets.randbelow(150))
    names: list[str] = field(default_factory=list)
    made: bool = False

    @property
    def bridge(self) -> str:
        return f"shopbr{self.tag}"

    @property
    def gateway(self) -> str:
        """The bridge's address: the shared services, as every host sees them."""
        return f"10.231.{self.subnet}.1"

    def address(self, name: str) -> str:
        """The address of host ``name`` (``rasa0``, ``actions1``…)."""
        return f"10.231.{self.subnet}.{10 + self.names.index(name)}"

    def namespace(self, name: str) -> str:
        return f"shop-{self.tag}-{name}"

    def make(self, names: list[str]) -> None:
        """The bridge, and a namespace with an address on it for each of ``names``."""
        self.names = list(names)
        self.made = True

        def run(*args: str) -> None:
            subprocess.run([IP, *args], check=True, capture_output=True)

        run("link", "add", self.bridge, "type", "bridge", "forward_delay", "0", "stp_state", "0")
        # two stacks started at once on one machine take two different subnets
        with open(SUBNET_LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            used = subprocess.run([IP, "-o", "-4", "addr"], capture_output=True,
                                  text=True, check=False).stdout
            if f"10.231.{self.subnet}." in used:
                free = [n for n in range(100, 250) if f"10.231.{n}." not in used]
                if not free:
                    raise ScaledError("no free 10.231.N.0/24 subnet for the hosts")
                self.subnet = free[secrets.randbelow(len(free))]
            run("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        run("link", "set", self.bridge, "up")
        for n, name in enumerate(self.names):
            ns, outside, inside = self.namespace(name), f"sh{self.tag}o{n}", f"sh{self.tag}i{n}"
            run("netns", "add", ns)
            # no name server on this LAN: look-ups fail at once instead of timing out
            # (``ip netns exec`` mounts these over /etc/resolv.conf and /etc/hosts)
            etc = Path("/etc/netns") / ns
            etc.mkdir(parents=True, exist_ok=True)
            (etc / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:1 "
                                             "attempts:1\n")
            (etc / "hosts").write_text(f"127.0.0.1 localhost\n{self.address(name)} {name}\n")
            run("link", "add", outside, "type", "veth", "peer", "name", inside)
            run("link", "set", inside, "netns", ns)
            run("link", "set", outside, "master", self.bridge)
            run("link", "set", outside, "up")
            run("-n", ns, "addr", "add", f"{self.address(name)}/24", "dev", inside)
            run("-n", ns, "link", "set", inside, "up")
            run("-n", ns, "link", "set", "lo", "up")
            run("-n", ns, "route", "add", "default", "via", self.gateway)

    def remove(self) -> None:
        """Delete the namespaces (their ends of the links go with them) and the bridge."""
        if not self.made:
            return
        for name in self.names:
            subprocess.run([IP, "netns", "del", self.namespace(name)], capture_output=True,
                           check=False)
            shutil.rmtree(Path("/etc/netns") / self.namespace(name), ignore_errors=True)
        subprocess.run([IP, "link", "del", self.bridge], capture_output=True, check=False)
        self.made = False

    def command(self, name: str, command: list[str]) -> list[str]:
        """``command`` run on host ``name`` (``ip netns exec`` execs it: same process)."""
        return [IP, "netns", "exec", self.namespace(name), *command]

    def env(self, env: dict[str, str]) -> dict[str, str]:
        """A server's environment on a host: the loopback addresses of what it connects
        to become the gateway's (the addresses browsers see stay as they are)."""
        return {key: value if key in PUBLIC else LOOPBACK.sub(self.gateway, value)
                for key, value in env.items()}

    @staticmethod
    def ports(env: dict[str, str]) -> set[int]:
        """The loopback ports an environment connects to (what the gateway forwards)."""
        found = {int(m.group(1)) for key, value in env.items() if key not in PUBLIC
                 for m in LOOPBACK.finditer(value) if m.group(1)}
        if env.get("TRACKER_DB_HOST") in ("127.0.0.1", "localhost"):
            found.add(int(env.get("TRACKER_DB_PORT") or 5432))
        return found

    def gateway_config(self, ports: set[int]) -> str:
        """HAProxy (TCP) on the gateway's address, forwarding each port to this
        machine's loopback, where the shared services listen. It adds nothing of its
        own: a service that refuses is refused at once (no retries, which would hold
        every connection to a service that is away for seconds)."""
        lines = ["global", "    maxconn 4096", "defaults", "    mode tcp", "    retries 0",
                 "    timeout connect 5s", "    timeout client 1h", "    timeout server 1h"]
        for port in sorted(ports):
            lines += [f"listen loopback{port}", f"    bind {self.gateway}:{port}",
                      f"    server local 127.0.0.1:{port}"]
        return "\n".join(lines) + "\n"


@dataclass
class ScaledStack(Stack):
    """``rasa`` Rasa servers and ``actions`` action servers behind HAProxy.

    ``rasa_url`` is the load balancer's public front, so every helper of
    :class:`~scripts.stack.Stack` (``say``, ``post``, ``push``) goes through it;
    ``server_url(n)`` reaches one Rasa server directly.
    """

    rasa: int = 2
    actions: int = 2
    database: str = field(default_factory=lambda: f"shop_scaled_{uuid.uuid4().hex[:10]}")
    keep_database: bool = False
    public_port: int = field(default_factory=free_port)
    graph_server: bool = True
    graph_port: int = field(default_factory=free_port)
    stream_port: int = field(default_factory=free_port)
    rasa_ports: list[int] = field(default_factory=list)
    action_ports: list[int] = field(default_factory=list)
    #: each Rasa and action server on its own host (network namespace), or all on
    #: this machine's loopback (None)
    hosts: Hosts | None = None
    #: the Rasa servers' endpoints file (``make bench-load``'s control run: another)
    endpoints: str = "bot/endpoints-scaled.yml"

    def __post_init__(self) -> None:
        self.rasa_ports = self.rasa_ports or [free_port() for _ in range(self.rasa)]
        self.action_ports = self.action_ports or [free_port() for _ in range(self.actions)]

    @property
    def threads(self) -> int:
        """Compute threads per server: this machine's cores over its Rasa and action
        servers (at least one)."""
        return max(1, (os.cpu_count() or 1) // (len(self.rasa_ports) + len(self.action_ports)))

    @property
    def rasa_url(self) -> str:
        """The load balancer's public front."""
        return f"http://127.0.0.1:{self.public_port}"

    @property
    def desk_url(self) -> str:
        """The desk, through the load balancer."""
        return self.rasa_url

    @property
    def storefront_url(self) -> str:
        """The demo shop page, through the load balancer (its pages, photos and widget)."""
        return self.rasa_url

    @property
    def graph_endpoint(self) -> str:
        """The graph server's SPARQL query URL (when ``graph_server``)."""
        return oxigraph_serve(self.data_dir / "oxigraph-db", self.graph_port)[1]

    def server_url(self, n: int) -> str:
        """One Rasa server, not through the load balancer."""
        return f"http://{self.address(f'rasa{n}')}:{self.rasa_ports[n]}"

    def address(self, name: str) -> str:
        """Where server ``name`` (``rasa0``, ``actions1``…) listens: its host's address,
        or the loopback."""
        return self.hosts.address(name) if self.hosts and name in self.hosts.names \
            else "127.0.0.1"

    def _make_hosts(self) -> None:
        """The hosts of the Rasa and action servers, and the gateway that forwards what
        they connect to (every shared service but the balancer's own front)."""
        assert self.hosts is not None
        self.hosts.make([f"rasa{n}" for n in range(len(self.rasa_ports))]
                        + [f"actions{n}" for n in range(len(self.action_ports))])
        ports = self.hosts.ports(self.env) - {self.actions_port}
        config = self.data_dir / "gateway.cfg"
        config.write_text(self.hosts.gateway_config(ports))
        subprocess.run([HAPROXY, "-c", "-q", "-f", str(config)], check=True)
        log = self.log_dir / "gateway.log"
        self.processes["gateway"] = subprocess.Popen(
            [HAPROXY, "-db", "-f", str(config)], cwd=ROOT, env=self.env,
            stdout=log.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:  # the gateway listens once HAProxy has read its configuration
            with contextlib.suppress(OSError), socket.create_connection(
                    (self.hosts.gateway, min(ports)), timeout=1):
                return
            if time.monotonic() > deadline or self.processes["gateway"].poll() is not None:
                raise ScaledError(f"the hosts' gateway did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)

    @property
    def database_url(self) -> str:
        """The one PostgreSQL database of every store."""
        return f"{POSTGRES}/{self.database}"

    @property
    def settings(self) -> dict[str, str]:
        """What every server's environment is set to: shared stores by configuration."""
        env = super().settings
        url = self.database_url
        env.update({
            "DATABASE_URL": url, "HANDOFF_DB_URL": url, "CHANNEL_DB_URL": url,
            "TRACKER_DIALECT": "postgresql",
            "TRACKER_DB_HOST": "127.0.0.1", "TRACKER_DB_PORT": "5432",
            "TRACKER_DB": self.database, "TRACKER_DB_USER": "postgres",
            "TRACKER_DB_PASSWORD": "",
            "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
            "LOCK_KEY_PREFIX": f"{self.database}:lock:",
            "RABBITMQ_URL": os.environ.get("RABBITMQ_URL")
            or "amqp://guest:guest@127.0.0.1:5672/",
            "RABBITMQ_QUEUE": f"{self.database}.events",
            "EVENT_SPOOL_URL": url,
            "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{self.actions_port}/webhook",
            "DESK_URL": f"http://127.0.0.1:{self.desk_port}",
            # the desk reaches the Rasa servers' internal routes through the balancer
            "DESK_BOT_URL": self.rasa_url,
            "RASA_PORT": str(self.public_port),
            "MEDIA_DIR": str(self.data_dir / "media"),
            # customers' photos in PostgreSQL: every server on every host sees them
            "MEDIA_DB_URL": url,
            # the machine's cores shared out: TensorFlow (Rasa) and torch (the action
            # servers) otherwise each start a thread per core, and several servers on
            # one machine fight over them (make bench-load: half the throughput)
            "TF_INTRA_OP_PARALLELISM_THREADS": str(self.threads),
            "TF_INTER_OP_PARALLELISM_THREADS": "1",
            "OMP_NUM_THREADS": str(self.threads),
        })
        if self.graph_server:
            env.update({"GRAPH_BACKEND": "remote", "GRAPH_ENDPOINT": self.graph_endpoint})
        return env

    def build_data(self) -> None:
        """A new PostgreSQL database, then the demo shop into it and the data directory.

        A kept database (``keep_database``, as ``make run-scaled`` keeps its own) that
        already holds a shop is used as it is, conversations and all.
        """
        if not Path(HAPROXY).exists():
            raise ScaledError("HAProxy is missing: `make scaled-tools` installs Debian's")
        built = self.data_dir / ".built-scaled"
        if self.keep_database and built.exists() and database_exists(self.database):
            return
        drop_database(self.database)
        new_database(self.database)
        super().build_data()
        built.touch()

    def start_graph(self) -> None:
        """Load the data directory's graph into a new Oxigraph store and serve it
        read-only (a new import needs a restart of the stack, or of this server)."""
        location = self.data_dir / "oxigraph-db"
        oxigraph_store(Path(super().env.get("GRAPH_PATH") or self.data_dir / "graph.ttl"),
                       location)
        self._start("graph", server("graph", self.graph_port, graph_location=str(location)), 60)

    def start_actions(self) -> None:
        """Start the graph server (``graph_server``), then every action server;
        ``actions_port`` is the balancer's internal front."""
        if self.hosts is not None and not self.hosts.made:
            self._make_hosts()
        if self.graph_server and "graph" not in self.processes:
            self.start_graph()
        for n in range(len(self.action_ports)):
            self._start(f"actions{n}", self._server(f"actions{n}"), 120)

    def start_rasa(self) -> None:
        """Start every Rasa server (one at a time: each loads the model), then HAProxy."""
        if not MODEL.exists():
            raise RuntimeError(f"{MODEL} is missing: run `make train` first")
        for n in range(len(self.rasa_ports)):
            self._start(f"rasa{n}", self._server(f"rasa{n}"), 300)

    def start_front(self) -> None:
        """Start the stream's consumer, the desk and the demo shop page, then the load
        balancer in front (the
        last step of :meth:`~scripts.stack.Stack.start`)."""
        self._start("stream", server("stream", self.stream_port), 60)
        self._start("desk", server("desk", self.desk_port), 60)
        self._start("storefront", server("storefront", self.storefront_port), 60)
        config = self.data_dir / "haproxy.cfg"
        config.write_text(haproxy_config(
            public_port=self.public_port, actions_front_port=self.actions_port,
            rasa=[f"{self.address(f'rasa{n}')}:{port}" for n, port in
                  enumerate(self.rasa_ports)],
            actions=[f"{self.address(f'actions{n}')}:{port}" for n, port in
                     enumerate(self.action_ports)],
            desk=f"127.0.0.1:{self.desk_port}", storefront=f"127.0.0.1:{self.storefront_port}",
            # the action servers' callers (Rasa) are on the hosts: the gateway's address
            actions_bind=self.hosts.gateway if self.hosts else "127.0.0.1"))
        subprocess.run([HAPROXY, "-c", "-q", "-f", str(config)], check=True)
        haproxy = Server("haproxy", [HAPROXY, "-db", "-f", str(config)], self.public_port,
                         HEALTH["rasa"])
        self._start("haproxy", haproxy, 30)

    def _start(self, name: str, what: Server, timeout: float) -> None:
        log = self.log_dir / f"{name}.log"
        command, env = what.command, self.env
        if self.hosts is not None and name in self.hosts.names:  # on its own host
            command = self.hosts.command(name, command)
            env = {**self.hosts.env(env), "ACTIONS_HOST": self.address(name)}
        self.processes[name] = subprocess.Popen(command, cwd=ROOT, env=env,
                                                stdout=log.open("ab"), stderr=subprocess.STDOUT)
        wait_until_up(f"http://{self.address(name)}:{what.port}{what.health}",
                      self.processes[name], log, timeout)

    def scrape_targets(self) -> dict[str, list[str]]:
        """Every server Prometheus scrapes, by job (``shop-rasa``…): ``host:port``."""
        return {
            "shop-rasa": [f"{self.address(f'rasa{n}')}:{port}"
                          for n, port in enumerate(self.rasa_ports)],
            "shop-actions": [f"{self.address(f'actions{n}')}:{port}"
                             for n, port in enumerate(self.action_ports)],
            "shop-desk": [f"127.0.0.1:{self.desk_port}"],
            "shop-storefront": [f"127.0.0.1:{self.storefront_port}"],
            "shop-stream": [f"127.0.0.1:{self.stream_port}"]}

    def prometheus_config(self, token_file: Path, *, interval: str = "15s") -> str:
        """Prometheus' configuration for this stack: every server of every kind with
        the metrics token, and the alert rules of ``deploy/prometheus/alerts.yml``."""
        config = {
            "global": {"scrape_interval": interval, "evaluation_interval": interval},
            "rule_files": [str(ROOT / "deploy" / "prometheus" / "alerts.yml")],
            "scrape_configs": [
                {"job_name": job, "metrics_path": "/metrics",
                 "authorization": {"type": "Bearer", "credentials_file": str(token_file)},
                 "static_configs": [{"targets": targets}]}
                for job, targets in self.scrape_targets().items()]}
        return yaml.safe_dump(config, sort_keys=False)

    def start_prometheus(self, port: int, *, interval: str = "15s") -> str:
        """Debian's Prometheus scraping this stack on ``port`` (its data in the data
        directory); its URL."""
        token = self.data_dir / "metrics-token"
        token.write_text(self.secrets["METRICS_TOKEN"])
        token.chmod(0o600)
        config = self.data_dir / "prometheus.yml"
        config.write_text(self.prometheus_config(token, interval=interval))
        self._start("prometheus", Server("prometheus", [
            PROMETHEUS, f"--config.file={config}",
            f"--storage.tsdb.path={self.data_dir / 'prometheus'}",
            f"--web.listen-address=127.0.0.1:{port}"], port, "/-/ready"), 60)
        return f"http://127.0.0.1:{port}"

    def _server(self, name: str) -> Server:
        """How the Rasa or action server ``name`` (``rasa1``…) is started."""
        kind = name.rstrip("0123456789")
        if kind == "rasa":
            return server("rasa", self.rasa_ports[int(name[len(kind):])],
                          interface=self.address(name), endpoints=self.endpoints)
        if kind == "actions":
            return server("actions", self.action_ports[int(name[len(kind):])])
        raise ValueError(f"only Rasa and action servers restart: {name}")

    def restart(self, name: str, *, ready: bool = True) -> None:
        """Start a Rasa or action server again (``rasa1``…), killed first if it runs;
        wait until it is ready, or, with ``ready=False``, only alive (a dependency it
        needs to be ready may be away)."""
        what = self._server(name)
        if name in self.processes:
            self.kill(name)
        self._start(name, what if ready else replace(what, health=LIVE[what.kind]), 300)

    def kill(self, name: str) -> None:
        """``kill -9`` one server (``rasa0``, ``actions1``…): no goodbye, no clean-up."""
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def stop(self) -> None:
        """Stop every server; drop the database unless ``keep_database``; remove the
        hosts."""
        super().stop()
        if self.hosts is not None:
            self.hosts.remove()
        if not self.keep_database:
            with contextlib.suppress(sa.exc.OperationalError):  # no PostgreSQL: none made
                drop_database(self.database)
            delete_queue(f"{self.database}.events")
