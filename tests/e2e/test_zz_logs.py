"""Every log the end-to-end run wrote (issue 36), read last (this module's name sorts
after the others): the servers' lines are JSON with the service, and those a request
wrote carry its id; and no line of any log, JSON or not, holds a customer's e-mail
address, phone number, order number or signature."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

PYTHON_SERVERS = re.compile(r"^(rasa|actions|desk|storefront|stream)\d*\.log$")
PERSONAL = {
    "e-mail address": re.compile(r"[\w.+-]+@(?!forgotten\.invalid)[\w-]+\.(?:com|net|org|cn|"
                                 r"co\.uk|example)\b"),
    "order number": re.compile(r"\bSH-\d{6}\b"),
    "phone number": re.compile(r"(?<![\w.:/])\+?\d{2,3}[ -]?1\d{2}[ -]?\d{4}[ -]?\d{4}(?![\w.])"),
    "signature": re.compile(r"customer_sig\W+[0-9a-f]{16,}"),
}
# what other programs write into the servers' logs: TensorFlow's C++ logging, Python's
# own messages before a server has set up its logging, the Sanic banner
NOT_OURS = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] |[IWE]\d{4} |\s|"
                      r"To enable the following instructions|/.+\.py:\d+: \w*Warning|"
                      r"Implementing implicit namespace|Traceback|\[\d{4}-|$)")


def _logs(base: Path) -> list[Path]:
    return sorted(p for p in base.rglob("*.log") if "logs" in p.parts)


def test_no_log_holds_personal_data(tmp_path_factory: pytest.TempPathFactory) -> None:
    logs = _logs(tmp_path_factory.getbasetemp())
    if not logs:
        pytest.skip("no server ran in this session")
    found = []
    for log in logs:
        for number, line in enumerate(log.read_text(errors="replace").splitlines(), 1):
            for what, pattern in PERSONAL.items():
                match = pattern.search(line)
                if match:
                    found.append(f"{log.parent.parent.name}/{log.name}:{number}: {what} "
                                 f"{match.group(0)!r}")
    assert not found, "\n".join(found[:20])


def test_the_servers_write_json_lines_with_their_request(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    logs = [p for p in _logs(tmp_path_factory.getbasetemp()) if PYTHON_SERVERS.match(p.name)]
    if not logs:
        pytest.skip("no server ran in this session")
    strays, requests_without_id, lines = [], [], 0
    for log in logs:
        for line in log.read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                if not NOT_OURS.match(line):
                    strays.append(f"{log.name}: {line[:160]}")
                continue
            record = json.loads(line)
            lines += 1
            assert {"ts", "level", "service", "logger", "message"} <= set(record), record
            if record["logger"] == "telemetry.web" and "request" not in record:
                requests_without_id.append(record)
            # a conversation by its keyed tag, never its id (WhatsApp's is a phone number)
            assert re.fullmatch(r"c[0-9a-f]{16}", record.get("conversation", "c" + "0" * 16)), \
                record
    assert lines > 100, "the servers wrote (almost) nothing as JSON"
    assert not requests_without_id, requests_without_id[:5]
    assert not strays, "\n".join(strays[:20])
