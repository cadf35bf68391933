"""The test stack starts its servers on ports nobody else takes, and a health check
only passes on the started server's own answer.

A CI run's demo shop was answered by another program: its port, chosen minutes before
the shop started, had been taken meanwhile, the shop failed to bind, and its health
check passed on the other program's ``/health``; every page then came back 404.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.stack import PortTaken, _ephemeral_range, free_port, listener_pid, wait_until_up


def test_ports_are_chosen_outside_the_range_the_kernel_hands_to_anyone() -> None:
    low, high = _ephemeral_range()
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports), "a port was handed out twice"
    assert not any(low <= port <= high for port in ports)


@pytest.fixture
def stranger() -> Iterator[int]:
    """Another program's server on a port, answering every GET with 200."""
    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_a_health_check_answered_by_another_program_names_it(stranger: int,
                                                              tmp_path: Path) -> None:
    assert listener_pid(stranger) == os.getpid()
    late = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with pytest.raises(PortTaken) as taken:
            wait_until_up(f"http://127.0.0.1:{stranger}/health", late, tmp_path / "log", 10)
    finally:
        late.kill()
        late.wait()
    assert f"process {os.getpid()}" in str(taken.value)


def test_a_health_check_answered_by_the_started_server_passes(tmp_path: Path) -> None:
    port = free_port()
    own = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                            str(port)], cwd=tmp_path, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/", own, tmp_path / "log", 30)
        assert listener_pid(port) == own.pid
    finally:
        own.kill()
        own.wait()


def test_a_listener_on_another_address_is_not_the_one_answering(stranger: int) -> None:
    """Scaled mode's gateway forwards a port on its own address (``SCALED_HOSTS=1``):
    it does not hold that port on 127.0.0.1."""
    assert listener_pid(stranger, "127.0.0.1") == os.getpid()
    assert listener_pid(stranger, "127.0.0.2") is None  # bound to 127.0.0.1 only
