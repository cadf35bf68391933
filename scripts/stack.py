"""Start and stop the real Rasa server and action server (used by the
end-to-end tests and the chat benchmark)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "shop-assistant.tar.gz"
BOT_BIN = ROOT / ".venv-bot" / "bin"


_HANDED_OUT: set[int] = set()


def _ephemeral_range() -> tuple[int, int]:
    """The ports the kernel gives to ``bind(0)`` and to outgoing connections."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now, chosen below the kernel's
    ephemeral range, and never one this process has handed out before.

    A server is started on the port seconds or minutes after it is chosen. A port from
    the ephemeral range could meanwhile be given to any other program's listener that
    asked for "any port", and a server started later would then fail to bind while
    its health check reached the other program (one CI run's demo shop was answered by
    another server that way). Below that range only a program choosing ports this way
    could take it, and this process never hands out one port twice.
    """
    low, _ = _ephemeral_range()
    start = 20000 if low > 21000 else 1024
    for _attempt in range(200):
        port = secrets.randbelow(max(low - start, 1)) + start
        if port in _HANDED_OUT:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    with socket.socket() as s:  # a crowded machine: any port the kernel has
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    _HANDED_OUT.add(port)
    return port


def listener_pid(port: int, host: str = "127.0.0.1") -> int | None:
    """The process listening on TCP ``port`` on this machine that a connection to
    ``host`` reaches (Linux ``/proc``; one bound to another address does not count), or
    None when nobody does or it cannot be told."""
    try:  # /proc/net/tcp writes an IPv4 address as its 32 bits, little-endian, in hex
        wanted = {socket.inet_aton(host)[::-1].hex().upper(), "00000000"}
    except OSError:
        wanted = None  # a name: any address
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) <= 9 or fields[3] != "0A":
                continue
            address, _, listening = fields[1].rpartition(":")
            if int(listening, 16) == port and (
                    wanted is None or table.endswith("6") or address in wanted):
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fds = list((proc / "fd").iterdir())
        except OSError:
            continue  # gone, or not ours to read
        for fd in fds:
            try:
                if os.readlink(fd) in inodes:
                    return int(proc.name)
            except OSError:
                continue  # a file it closed meanwhile: the process is still looked at
    return None


def _descends_from(pid: int, ancestor: int) -> bool:
    """Whether process ``pid`` is ``ancestor`` or one of its children's children…"""
    for _depth in range(16):
        if pid == ancestor:
            return True
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            pid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
        if pid <= 1:
            return False
    return False


class PortTaken(RuntimeError):
    """Another program listens on the port a server was started on."""

    def __init__(self, port: int, holder: int) -> None:
        try:
            command = Path(f"/proc/{holder}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            command = b"?"
        super().__init__(f"port {port} is held by process {holder} "
                         f"({command.decode(errors='replace').strip()[:200]})")
        self.port = port


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    """Poll ``url`` until it answers; fail with the log's tail if the process dies.

    The answer must come from ``process`` (or a process it started): when another
    program holds the port, :class:`PortTaken` says which, instead of the check
    passing on the other program's answer.
    """
    port, host = urlparse(url).port, urlparse(url).hostname or "127.0.0.1"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            answered = requests.get(url, timeout=2).ok
        except requests.RequestException:
            answered = False
        if answered:
            holder = listener_pid(port, host) if port else None
            if port is None or holder is None or _descends_from(holder, process.pid):
                return
            raise PortTaken(port, holder)
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not come up in {timeout}s:\n"
                       f"{log.read_text(errors='replace')[-3000:]}")


OXIGRAPH = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))


def oxigraph_store(graph_file: Path, location: Path) -> None:
    """Load ``graph_file`` into a new Oxigraph database at ``location`` (one there is
    replaced).

    Raises:
        RuntimeError: If the ``oxigraph`` server (PyPI package ``oxigraph``) is missing.
    """
    if not Path(OXIGRAPH).exists():
        raise RuntimeError("the oxigraph server (PyPI package 'oxigraph') is not installed")
    shutil.rmtree(location, ignore_errors=True)
    subprocess.run(oxigraph_load(graph_file, location), check=True, capture_output=True)


def oxigraph_load(graph_file: Path, location: Path, *, program: str = OXIGRAPH) -> list[str]:
    """The command that loads ``graph_file`` into the Oxigraph database at ``location``."""
    return [program, "load", "--location", str(location), "--file", str(graph_file)]


GRAPH_HEALTH = "/query?query=ASK%7B%7D"


def oxigraph_serve(location: Path, port: int, *, interface: str = "127.0.0.1",
                   program: str = OXIGRAPH) -> tuple[list[str], str, str]:
    """How to serve the database at ``location`` read-only on ``port``: the command,
    its SPARQL query URL and the URL that answers once it is up."""
    url = f"http://127.0.0.1:{port}/query"
    return ([program, "serve-read-only", "--location", str(location),
             "--bind", f"{interface}:{port}"], url, f"http://127.0.0.1:{port}{GRAPH_HEALTH}")


@contextmanager
def oxigraph_server(graph_file: Path, work: Path) -> Iterator[str]:
    """Load ``graph_file`` into a new Oxigraph database under ``work`` and serve it
    read-only on a free local port; yields the SPARQL query URL.

    Raises:
        RuntimeError: If the ``oxigraph`` server (PyPI package ``oxigraph``) is missing
            or does not come up.
    """
    location = work / "oxigraph-db"
    oxigraph_store(graph_file, location)
    command, url, health = oxigraph_serve(location, free_port())
    log = work / "oxigraph.log"
    server = subprocess.Popen(command, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    try:
        wait_until_up(health, server, log, 60)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@dataclass
class Stack:
    """A running action server and Rasa server on a data directory of their own."""

    data_dir: Path
    actions_port: int = field(default_factory=free_port)
    rasa_port: int = field(default_factory=free_port)
    api_port: int = field(default_factory=free_port)
    storefront_port: int = field(default_factory=free_port)
    storefront: bool = False
    desk_port: int = field(default_factory=free_port)
    desk: bool = False
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=lambda: {
        name: secrets.token_hex(32)
        for name in ("CUSTOMER_ID_SECRET", "ACTION_SERVER_TOKEN", "CHANNEL_SECRET",
                     "CHANNEL_PUSH_TOKEN", "DESK_TOKEN", "METRICS_TOKEN", "LOG_KEY")})
    api_token: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def rasa_url(self) -> str:
        """Base URL of the Rasa server."""
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def storefront_url(self) -> str:
        """Base URL of the demo shop page (when started)."""
        return f"http://127.0.0.1:{self.storefront_port}"

    @property
    def desk_url(self) -> str:
        """Base URL of the agent desk (when started)."""
        return f"http://127.0.0.1:{self.desk_port}"

    @property
    def log_dir(self) -> Path:
        """Where both servers log."""
        path = self.data_dir / "logs"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def settings(self) -> dict[str, str]:
        """What this stack sets in its servers' environment, beside what the caller's
        own environment holds (``make manifests`` writes these into the deployment
        files)."""
        return {
            "PYTHONPATH": str(ROOT),
            "SHOP_DATA_DIR": str(self.data_dir),
            "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{self.actions_port}/webhook",
            "TRACKER_DIALECT": "sqlite",
            "TRACKER_DB": str(self.data_dir / "rasa_tracker.db"),
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "RASA_API_PORT": str(self.api_port),
            "RASA_PORT": str(self.rasa_port),
            "CHAT_PUBLIC_URL": self.rasa_url,
            "STOREFRONT_PORT": str(self.storefront_port),
            "DESK_PORT": str(self.desk_port),
            "DESK_URL": self.desk_url,
            "WIDGET_ORIGINS": f"{self.storefront_url},http://localhost:{self.storefront_port}",
            "WIDGET_SCRIPT": str(ROOT / "widget" / "dist" / "widget.js"),
            "PRODUCT_IMAGE_URL": f"{self.storefront_url}/images/{{sku}}",
            "DATASETS": os.environ.get("DATASETS", str(ROOT.parent / "shared" / "datasets")),
            # product embeddings are keyed by their text: reuse the ones `make data` computed
            "EMBEDDING_CACHE": os.environ.get("EMBEDDING_CACHE") or str(
                Path(os.environ.get("SHOP_DATA_DIR", ROOT / "data")) / "cache"
                / "product_embeddings.npz"),
        }

    @property
    def env(self) -> dict[str, str]:
        """Environment the servers run with: the caller's, this stack's settings, its
        secrets and ``extra_env`` (a test's own addresses win)."""
        env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
        return {**env, **self.settings, **self.secrets, **self.extra_env}

    def build_data(self) -> None:
        """Generate the demo shop into the data directory (orders dated from today)."""
        env = self.env
        env.pop("DEMO_AS_OF", None)
        subprocess.run([sys.executable, "-m", "scripts.build_data", "--nlu-out",
                        str(self.data_dir / "nlu" / "catalog.yml")], cwd=ROOT, env=env,
                       check=True, capture_output=True)

    def start_actions(self) -> None:
        """Start the action server and wait until it is ready."""
        log = self.log_dir / "actions.log"
        self.processes["actions"] = subprocess.Popen(
            [sys.executable, "-m", "actions.server", "--port", str(self.actions_port)],
            cwd=ROOT, env=self.env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
        wait_until_up(f"http://127.0.0.1:{self.actions_port}/health/ready",
                      self.processes["actions"], log, 60)

    def stop_actions(self) -> None:
        """Stop the action server (Rasa keeps running)."""
        process = self.processes.pop("actions", None)
        if process:
            process.terminate()
            process.wait(timeout=30)

    def start_rasa(self) -> None:
        """Start the Rasa server and wait until its model is loaded."""
        if not MODEL.exists():
            raise RuntimeError(f"{MODEL} is missing: run `make train` first")
        log = self.log_dir / "rasa.log"
        api = ["--enable-api", "--auth-token", self.api_token] if self.api_token else []
        self.processes["rasa"] = subprocess.Popen(
            [str(BOT_BIN / "rasa"), "run", "--model", str(MODEL), *api,
             "--interface", "127.0.0.1", "--port", str(self.rasa_port),
             "--credentials", "bot/credentials.yml", "--endpoints", "bot/endpoints.yml"],
            cwd=ROOT, env=self.env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
        wait_until_up(f"{self.rasa_url}/health/ready", self.processes["rasa"], log, 300)

    def start_storefront(self) -> None:
        """Start the demo shop page and wait until it is ready."""
        log = self.log_dir / "storefront.log"
        self.processes["storefront"] = subprocess.Popen(
            [sys.executable, "-m", "storefront", "--port", str(self.storefront_port)],
            cwd=ROOT, env=self.env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
        wait_until_up(f"{self.storefront_url}/health/ready", self.processes["storefront"], log,
                      60)

    def start_desk(self) -> None:
        """Start the agent desk and wait until it is ready."""
        log = self.log_dir / "desk.log"
        self.processes["desk"] = subprocess.Popen(
            [sys.executable, "-m", "desk", "--port", str(self.desk_port)],
            cwd=ROOT, env=self.env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
        wait_until_up(f"{self.desk_url}/health/ready", self.processes["desk"], log, 60)

    def desk_user(self, user_id: str, *, password: str, role: str = "agent",
                  name: str | None = None, capacity: int = 3) -> None:
        """Create a desk account as ``make desk-user`` does."""
        subprocess.run([sys.executable, "-m", "desk", "user", "add", user_id, "--name",
                        name or user_id, "--role", role, "--capacity", str(capacity)],
                       cwd=ROOT, env={**self.env, "DESK_PASSWORD": password}, check=True,
                       capture_output=True)

    def push(self, conversation: str, message: dict[str, Any], *, channel: str = "widget",
             role: str = "agent") -> requests.Response:
        """Send a message into a conversation outside any reply (the internal push route)."""
        return requests.post(f"{self.rasa_url}/webhooks/internal/push", json={
            "channel": channel, "conversation": conversation, "role": role, "message": message},
            headers={"Authorization": f"Bearer {self.secrets['CHANNEL_PUSH_TOKEN']}"}, timeout=30)

    def alive(self) -> bool:
        """Whether both servers are still running."""
        return bool(self.processes) and all(p.poll() is None for p in self.processes.values())

    def signed(self, customer_id: str, sender: str, *, ttl: int = 3600) -> dict[str, Any]:
        """Metadata proving ``customer_id`` in conversation ``sender``, as a shop signs it."""
        from shop.identity import signed_metadata

        return signed_metadata(self.secrets["CUSTOMER_ID_SECRET"], customer_id, sender, ttl=ttl)

    def start(self, prepare: Callable[[Stack], None] | None = None) -> Stack:
        """Build the data, run ``prepare`` (e.g. import a catalog), start both servers.

        If a step fails, whatever was already started is stopped before the error
        propagates, so no server outlives a failed start.
        """
        try:
            self.build_data()
            if prepare is not None:
                prepare(self)
            self.start_actions()
            self.start_rasa()
            self.start_front()
        except BaseException:
            self.stop()
            raise
        return self

    def start_front(self) -> None:
        """Start what serves people beside the chat: the demo shop page and the desk,
        where asked for."""
        if self.storefront:
            self.start_storefront()
        if self.desk:
            self.start_desk()

    def stop(self) -> None:
        """Stop both servers."""
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    def post(self, body: Any, *, raw: bytes | None = None,
             session: requests.Session | None = None) -> requests.Response:
        """POST to the REST channel: a JSON body, or raw bytes."""
        http = session or requests
        return http.post(f"{self.rasa_url}/webhooks/rest/webhook",
                         data=raw, json=None if raw is not None else body,
                         headers={"Content-Type": "application/json"}, timeout=60)

    def say(self, sender: str, text: str, **metadata: Any) -> list[str]:
        """Send one message; return the texts the bot answered with.

        A ``customer_id`` in ``metadata`` is signed for ``sender``, as the shop's
        server would sign it for its logged-in customer.
        """
        if metadata.get("customer_id") and "customer_sig" not in metadata:
            metadata = {**metadata, **self.signed(str(metadata["customer_id"]), sender)}
        response = self.post({"sender": sender, "message": text, "metadata": metadata})
        if response.status_code != 200:
            raise AssertionError(f"{response.status_code}: {response.text}")
        return [m.get("text", "") for m in response.json()]


def tracker_events(url: str, *, like: str | None = None,
                   senders: Collection[str] = ()) -> dict[str, list[dict[str, Any]]]:
    """The events Rasa's SQL tracker store at ``url`` holds, per conversation, in order:
    of the conversations whose id matches ``like`` (SQL ``LIKE``), or of ``senders``."""
    import sqlalchemy as sa

    query = "SELECT sender_id, data FROM events WHERE "
    params: dict[str, Any]
    if like is not None:
        statement, params = sa.text(query + "sender_id LIKE :p ORDER BY id"), {"p": like}
    else:
        statement = sa.text(query + "sender_id IN :s ORDER BY id").bindparams(
            sa.bindparam("s", expanding=True))
        params = {"s": sorted(senders)}
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(statement, params).all()
    finally:
        engine.dispose()
    events: dict[str, list[dict[str, Any]]] = {}
    for sender, data in rows:
        events.setdefault(sender, []).append(json.loads(data))
    return events


def _shop_env(stack: Stack) -> dict[str, str]:
    """Where ``stack``'s shop lives: its data directory, and its database when that is
    not the directory's SQLite file (scaled mode's PostgreSQL)."""
    env = {"SHOP_DATA_DIR": str(stack.data_dir)}
    database = stack.env.get("DATABASE_URL")
    if database:
        env["DATABASE_URL"] = database
    return env


def import_catalog(stack: Stack, work: Path, write_csv: Callable[[Path], None],
                   mapping_name: str) -> Any:
    """Import a derived catalog into ``stack``'s fresh shop (before it starts):
    the import report."""
    from actions.settings import load_settings
    from knowledge_graph.importing import Mapping
    from shopctl.catalog import run_import

    catalog = work / "catalog.csv"
    write_csv(catalog)
    settings = load_settings(_shop_env(stack))
    mapping = Mapping.load(ROOT / "knowledge_graph" / "mappings" / mapping_name)
    return run_import(settings, catalog, mapping, nlu_out=work / "nlu" / "catalog.yml")


def index_shelf_photos(stack: Stack, grocery: Path,
                       keep: tuple[str, ...] = ("_003.jpg", "_013.jpg", "_023.jpg")) -> int:
    """Attach Grocery Store shelf photos (those ending in ``keep``) to the imported
    catalog's products, beside its catalog images; the number refused."""
    from actions.settings import load_settings
    from knowledge_graph.sources.grocery_store import write_shelf_photos
    from scripts.index_images import add as add_photos

    settings = load_settings(_shop_env(stack))
    photos = stack.data_dir / "shelf.csv"
    write_shelf_photos(grocery, photos)
    rows = photos.read_text().splitlines()
    kept = [rows[0]] + [r for r in rows[1:] if r.endswith(keep)]
    photos.write_text("\n".join(kept) + "\n")
    return int(add_photos(settings, [(sku, Path(path)) for sku, path in
                                     (r.split(",", 1) for r in kept[1:])], quiet=True))
