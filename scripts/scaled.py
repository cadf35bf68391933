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
import os
import shutil
import signal
import string
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

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


HEALTH = {"rasa": "/webhooks/rest/", "actions": "/health", "desk": "/desk/health",
          "storefront": "/health", "graph": GRAPH_HEALTH, "stream": "/health"}


def server(kind: str, port: int, *, interface: str = "127.0.0.1",
           python: str = sys.executable, rasa: str = str(BOT_BIN / "rasa"),
           model: str = str(MODEL), oxigraph: str = OXIGRAPH,
           graph_location: str = "oxigraph-db") -> Server:
    """The ``kind`` server of scaled mode on ``port``.

    The action server, the desk and the demo shop listen where their settings say
    (``ACTIONS_HOST``, ``DESK_HOST``, ``STOREFRONT_HOST``); Rasa and the graph server
    on ``interface``.
    """
    commands = {
        "rasa": [rasa, "run", "--model", model, "--interface", interface, "--port",
                 str(port), "--credentials", "bot/credentials.yml", "--endpoints",
                 "bot/endpoints-scaled.yml"],
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
        return f"http://127.0.0.1:{self.rasa_ports[n]}"

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
        if self.graph_server and "graph" not in self.processes:
            self.start_graph()
        for n, port in enumerate(self.action_ports):
            self._start(f"actions{n}", server("actions", port), 120)

    def start_rasa(self) -> None:
        """Start every Rasa server (one at a time: each loads the model), then HAProxy."""
        if not MODEL.exists():
            raise RuntimeError(f"{MODEL} is missing: run `make train` first")
        for n, port in enumerate(self.rasa_ports):
            self._start(f"rasa{n}", server("rasa", port), 300)

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
            rasa=[f"127.0.0.1:{port}" for port in self.rasa_ports],
            actions=[f"127.0.0.1:{port}" for port in self.action_ports],
            desk=f"127.0.0.1:{self.desk_port}", storefront=f"127.0.0.1:{self.storefront_port}"))
        subprocess.run([HAPROXY, "-c", "-q", "-f", str(config)], check=True)
        haproxy = Server("haproxy", [HAPROXY, "-db", "-f", str(config)], self.public_port,
                         HEALTH["rasa"])
        self._start("haproxy", haproxy, 30)

    def _start(self, name: str, what: Server, timeout: float) -> None:
        log = self.log_dir / f"{name}.log"
        self.processes[name] = subprocess.Popen(what.command, cwd=ROOT, env=self.env,
                                                stdout=log.open("ab"), stderr=subprocess.STDOUT)
        wait_until_up(f"http://127.0.0.1:{what.port}{what.health}", self.processes[name], log,
                      timeout)

    def kill(self, name: str) -> None:
        """``kill -9`` one server (``rasa0``, ``actions1``…): no goodbye, no clean-up."""
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def stop(self) -> None:
        """Stop every server; drop the database unless ``keep_database``."""
        super().stop()
        if not self.keep_database:
            with contextlib.suppress(sa.exc.OperationalError):  # no PostgreSQL: none made
                drop_database(self.database)
            delete_queue(f"{self.database}.events")
