"""The names in actions/constants.py and the Rasa domain agree."""

from __future__ import annotations

from pathlib import Path

import yaml

from actions import constants

DOMAIN = yaml.safe_load((Path(__file__).parents[2] / "bot" / "domain.yml").read_text("utf-8"))


def _values(cls: type) -> set[str]:
    return {v for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, str)}


def _names(section: str) -> set[str]:
    return {next(iter(i)) if isinstance(i, dict) else i for i in DOMAIN[section]}


def test_intents_match_domain() -> None:
    assert _values(constants.Intent) == _names("intents")


def test_entities_match_domain() -> None:
    assert _values(constants.Entity) == _names("entities")


def test_slots_match_domain() -> None:
    assert _values(constants.Slot) - {"requested_slot"} == set(DOMAIN["slots"])


def test_actions_match_domain() -> None:
    assert _values(constants.ActionName) == set(DOMAIN["actions"])
    assert _values(constants.Form) == set(DOMAIN["forms"])


def test_every_response_the_actions_send_exists_in_both_languages() -> None:
    responses = DOMAIN["responses"]
    names = _values(constants.Response) - {constants.Response.ORDER_STATUS_PREFIX}
    names |= {constants.Response.ORDER_STATUS_PREFIX + s for s in
              ("processing", "shipped", "delivered", "cancelled", "returned", "return_requested")}
    for name in names:
        assert name in responses, name
        languages = {c["value"] for v in responses[name] for c in v.get("condition", [])}
        assert languages == set(constants.LANGUAGES), name


def test_every_response_has_a_chinese_variation() -> None:
    for name, variations in DOMAIN["responses"].items():
        zh = [v["text"] for v in variations
              if any(c.get("value") == "zh" for c in v.get("condition", []))]
        assert zh and any("\u4e00" <= ch <= "\u9fff" for ch in zh[0]), name


def test_the_action_server_registers_every_custom_action() -> None:
    # rasa-sdk registers every Action subclass it finds: a shared base class
    # without a name stops the server at start-up
    from rasa_sdk.executor import ActionExecutor

    from actions.constants import ActionName

    executor = ActionExecutor()
    executor.register_package("actions")
    names = {v for k, v in vars(ActionName).items() if not k.startswith("_")}
    assert names <= set(executor.actions)
