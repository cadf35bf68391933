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
