"""The bot's side of human handoff: the offer policy, sentiment, the desk's transcript."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.handover import history
from bot.components.sentiment import ChineseModel, SentimentScorer, english_negative
from bot.policies.handoff import HandoffPolicy

DOMAIN = Domain.from_yaml("""
version: "3.1"
intents: [deny, ask_price, nlu_fallback, human_handoff, cancel_order]
slots:
  handoff_state: {type: any, influence_conversation: false, mappings: [{type: custom}]}
  handoff_reason: {type: text, influence_conversation: false, mappings: [{type: custom}]}
  shown_products: {type: list, influence_conversation: false, mappings: [{type: custom}]}
  handoff_note: {type: any, influence_conversation: false, mappings: [{type: custom}]}
  product: {type: text, influence_conversation: false, mappings: [{type: custom}]}
actions: [action_handoff_offer, action_handoff_cancel, action_handoff_request,
          action_handoff_return, action_handoff_rate, action_cancel_order]
responses:
  utter_default: [{text: "rephrase?"}]
  utter_cancel_refused_shipped: [{text: "shipped"}]
""")


def policy(**config: Any) -> HandoffPolicy:
    return HandoffPolicy({**HandoffPolicy.get_default_config(), **config}, MagicMock(),
                         MagicMock(), MagicMock())


def predicted(tracker: DialogueStateTracker, p: HandoffPolicy | None = None) -> str | None:
    prediction = (p or policy()).predict_action_probabilities(tracker, DOMAIN)
    best = max(range(len(prediction.probabilities)), key=prediction.probabilities.__getitem__)
    return DOMAIN.action_names_or_texts[best] if prediction.probabilities[best] > 0 else None


def user(text: str, intent: str, **parse: Any) -> UserUttered:
    return UserUttered(text, {"name": intent, "confidence": 0.9},
                       parse_data={"intent": {"name": intent}, **parse}, input_channel="rest")


def fallback_turn(text: str) -> list[Any]:
    return [ActionExecuted("action_listen"), user(text, "nlu_fallback"),
            ActionExecuted("utter_default"),
            BotUttered("rephrase?", metadata={"utter_action": "utter_default"})]


def test_the_second_fallback_in_a_row_brings_an_offer_with_its_reason() -> None:
    one = DialogueStateTracker.from_events("c", fallback_turn("asdf"))
    assert predicted(one) is None
    two = DialogueStateTracker.from_events("c", fallback_turn("asdf") + fallback_turn("qwer"))
    prediction = policy().predict_action_probabilities(two, DOMAIN)
    assert predicted(two) == "action_handoff_offer"
    assert SlotSet("handoff_reason", "fallbacks") in prediction.events
    # after the offer: listen, and no new offer right away
    offered = DialogueStateTracker.from_events("c", fallback_turn("asdf") + fallback_turn(
        "qwer") + [ActionExecuted("action_handoff_offer")])
    assert predicted(offered) == "action_listen"


def test_upset_and_shop_configured_cases_and_never_during_a_handoff() -> None:
    upset = DialogueStateTracker.from_events("c", [
        ActionExecuted("action_listen"),
        user("this is useless", "ask_price", sentiment={"negative": 0.97, "upset": True}),
        ActionExecuted("utter_default"), BotUttered("rephrase?")])
    assert predicted(upset) == "action_handoff_offer"
    # between a form and the action it leads to, the assistant has not answered yet
    mid_chain = DialogueStateTracker.from_events("c", [
        ActionExecuted("action_listen"),
        user("cancel it!!", "cancel_order", sentiment={"negative": 0.97, "upset": True}),
        ActionExecuted("order_form")])
    assert predicted(mid_chain) is None
    shipped = DialogueStateTracker.from_events("c", [
        ActionExecuted("action_listen"), user("cancel it", "cancel_order"),
        ActionExecuted("action_cancel_order"),
        BotUttered("shipped", metadata={"utter_action": "utter_cancel_refused_shipped"})])
    assert predicted(shipped, policy(offer_after=["utter_cancel_refused_shipped"])) == \
        "action_handoff_offer"
    assert predicted(shipped) is None  # not configured
    waiting = DialogueStateTracker.from_events("c", [SlotSet("handoff_state", "waiting"),
                                                     *upset.events])
    assert predicted(waiting) is None


@pytest.mark.parametrize("intent", ["nlu_fallback", "out_of_scope"])
def test_an_upset_message_with_nothing_to_act_on_gets_the_offer_instead_of_a_fallback(
        intent: str) -> None:
    """"that's annoying" / "好麻烦啊": sorry and a person, not "I didn't follow that"."""
    upset = {"negative": 0.9, "upset": True}
    now = DialogueStateTracker.from_events("c", [ActionExecuted("action_listen"),
                                                 user("好麻烦啊", intent, sentiment=upset)])
    prediction = policy().predict_action_probabilities(now, DOMAIN)
    assert predicted(now) == "action_handoff_offer"
    assert SlotSet("handoff_reason", "upset") in prediction.events
    calm = DialogueStateTracker.from_events("c", [ActionExecuted("action_listen"),
                                                  user("asdf", intent)])
    assert predicted(calm) is None  # the rules' fallback
    displeased = DialogueStateTracker.from_events("c", [
        ActionExecuted("action_listen"),
        user("这也太离谱了", intent, sentiment={"negative": 0.63, "upset": False})])
    assert predicted(displeased) is None  # off by default: only the upset mark
    assert predicted(displeased, policy(unclear_negative=0.6)) == "action_handoff_offer"
    neutral = DialogueStateTracker.from_events("c", [
        ActionExecuted("action_listen"),
        user("meh", intent, sentiment={"negative": 0.5, "upset": False})])
    assert predicted(neutral, policy(unclear_negative=0.6)) is None
    a_question = DialogueStateTracker.from_events(
        "c", [ActionExecuted("action_listen"), user("why so dear??", "ask_price", sentiment=upset)])
    assert predicted(a_question) is None  # answered first, offered after
    just_offered = DialogueStateTracker.from_events("c", [
        ActionExecuted("action_listen"), user("ugh", intent, sentiment=upset),
        ActionExecuted("action_handoff_offer"), ActionExecuted("action_listen"),
        user("so annoying", intent, sentiment=upset)])
    assert predicted(just_offered) is None  # once per cooldown
    in_form = DialogueStateTracker.from_events("c", [
        ActiveLoop("order_form"), ActionExecuted("action_listen"),
        user("好麻烦啊", intent, sentiment=upset)])
    assert predicted(in_form) is None


def test_never_mind_while_waiting_cancels_only_then() -> None:
    waiting = DialogueStateTracker.from_events("c", [
        SlotSet("handoff_state", "waiting"), ActionExecuted("action_listen"),
        user("never mind", "deny")])
    assert predicted(waiting) == "action_handoff_cancel"
    idle = DialogueStateTracker.from_events("c", [ActionExecuted("action_listen"),
                                                  user("never mind", "deny")])
    assert predicted(idle) is None
    replayed = DialogueStateTracker.from_events("c", [
        SlotSet("handoff_state", "waiting"), ActionExecuted("action_listen"),
        UserUttered("never mind", {"name": "deny"})])  # a story: no input channel
    assert predicted(replayed) is None


def test_english_sentiment_from_the_lexicon() -> None:
    assert english_negative("this is ridiculous, your service is terrible") > 0.7
    assert english_negative("how much is the red one") == pytest.approx(0.5)
    assert english_negative("great, thank you so much!") < 0.2


def test_chinese_sentiment_from_a_saved_model(tmp_path: Path) -> None:
    model = {"vocabulary": {"差": 0, "好": 1}, "idf": [1.0, 1.0], "coef": [4.0, -4.0],
             "intercept": 0.0, "ngram": [1, 1]}
    chinese = ChineseModel(json.loads(json.dumps(model)))
    assert chinese.negative("太差了") > 0.9 and chinese.negative("很好") < 0.1
    scorer = SentimentScorer({"thresholds": {"en": 0.6, "zh": 0.9}}, MagicMock(), MagicMock(),
                             chinese)
    assert scorer.score("太差了")["upset"] is True  # type: ignore[index]
    assert scorer.score("很好")["upset"] is False  # type: ignore[index]
    assert scorer.score("/human_handoff") is None  # a button, not words
    no_model = SentimentScorer({}, MagicMock(), MagicMock(), None)
    assert no_model.score("太差了") is None


def test_the_desk_transcript_keeps_who_said_what() -> None:
    tracker = DialogueStateTracker.from_events("c", [
        ActionExecuted("action_listen"),
        UserUttered("show me shoes", {"name": "search_products", "confidence": 0.93},
                    metadata={"verified": {"customer_id": "C1"}}, input_channel="widget"),
        BotUttered("1. Anta C202", metadata={"utter_action": "utter_search_results"}),
        SlotSet("shown_products", ["S1", "S2"]), SlotSet("product", "S2"),
        UserUttered("<b>hi</b>", {"name": None}, parse_data={"handoff": {"id": 1}},
                    input_channel="widget"),
        BotUttered("Hello", metadata={"role": "agent", "author": "Ann"}),
        SlotSet("handoff_note", {"author": "Ann", "text": "VIP"}),
        UserUttered("/share_image", {"name": "share_image"},
                    metadata={"image": "abc123", "caption": "this one"}),
        UserUttered.create_external("handoff_returned", [], "widget"),
    ])
    data = history(tracker)
    roles = [(m["role"], m["text"]) for m in data["messages"]]
    assert roles == [("customer", "show me shoes"), ("assistant", "1. Anta C202"),
                     ("customer", "<b>hi</b>"), ("agent", "Hello"), ("customer", "this one")]
    assert data["messages"][0]["intent"] == "search_products"
    assert data["messages"][2]["to_person"] and data["messages"][3]["author"] == "Ann"
    assert data["shown"] == ["S1", "S2"] and data["slots"]["product"] == "S2"
    assert data["notes"] == [{"author": "Ann", "text": "VIP"}]
    assert data["photos"] == ["abc123"] and data["customer_id"] == "C1"


def test_the_desk_sees_what_was_tapped_never_a_payload() -> None:
    buttons = [{"title": "Talk to a person", "payload": "/human_handoff"},
               {"title": "No, thanks", "payload": "/deny"}]
    tracker = DialogueStateTracker.from_events("c", [
        BotUttered("Shall I get a person?", data={"buttons": buttons}),
        UserUttered("/human_handoff", {"name": "human_handoff"}),
        UserUttered('/rate_handoff{"csat": "5"}', {"name": "rate_handoff"},
                    entities=[{"entity": "csat", "value": "5"}]),
        UserUttered('/rate_handoff{"csat": "2"}', {"name": "rate_handoff"},
                    entities=[{"entity": "csat", "value": "2"}]),
        UserUttered("/restart", {"name": "restart"}),
    ])
    texts = [m["text"] for m in history(tracker)["messages"] if m["role"] == "customer"]
    assert texts == ["Talk to a person", "★★★★★", "★★☆☆☆", "(tapped a button)"]


WAITING_DOMAIN = Domain.from_yaml("""
version: "3.1"
intents: [deny, ask_price, greet, human_handoff, return_order, check_order_status]
slots:
  handoff_state: {type: any, influence_conversation: false, mappings: [{type: custom}]}
  handoff_reason: {type: text, influence_conversation: false, mappings: [{type: custom}]}
  order_number: {type: any, influence_conversation: false, mappings: [{type: custom}]}
forms:
  order_form: {required_slots: [order_number]}
actions: [action_handoff_offer, action_handoff_cancel, action_handoff_request,
          action_handoff_return, action_handoff_rate, action_handoff_hold]
""")


def waiting_says(*events: Any, intent: str, state: str | None = "waiting",
                 text: str = "…") -> str | None:
    tracker = DialogueStateTracker.from_events("c", [
        SlotSet("handoff_state", state), *events, ActionExecuted("action_listen"),
        user(text, intent)])
    prediction = policy().predict_action_probabilities(tracker, WAITING_DOMAIN)
    best = max(range(len(prediction.probabilities)), key=prediction.probabilities.__getitem__)
    return (WAITING_DOMAIN.action_names_or_texts[best]
            if prediction.probabilities[best] > 0 else None)


def test_while_waiting_never_mind_leaves_the_queue_and_the_rest_is_kept_for_the_person(
        ) -> None:
    assert waiting_says(intent="deny") == "action_handoff_cancel"
    # written for the person: kept and acknowledged, never a form or a search
    for intent in ("greet", "return_order", "check_order_status"):
        assert waiting_says(intent=intent) == "action_handoff_hold"
    assert waiting_says(intent="ask_price") is None  # the assistant answers that
    assert waiting_says(intent="human_handoff") == "action_handoff_request"
    # not waiting: the policy has no opinion
    assert waiting_says(intent="greet", state=None) is None
    assert waiting_says(intent="deny", state=None) is None


@pytest.mark.parametrize("text", ["actually forget it, how much is the first one?",
                                  "ok never mind, what's the price of the Pegasus",
                                  "算了不用了，第一个多少钱", "哦不用了，那个多少钱"])
def test_a_question_that_takes_the_request_back_leaves_the_queue_first(text: str) -> None:
    """"Actually forget it, …" while waiting: out of the queue (the action then answers
    the question), not left waiting for a person the customer no longer wants."""
    assert waiting_says(intent="ask_price", text=text) == "action_handoff_cancel"


@pytest.mark.parametrize("text", ["how much is it? I can't forget it",
                                  "what does the no-need-to-iron shirt cost",
                                  "这件衣服不用了熨吗，多少钱"])
def test_a_question_that_only_mentions_giving_up_is_just_answered(text: str) -> None:
    assert waiting_says(intent="ask_price", text=text) is None


def test_a_person_asked_for_inside_a_form_pauses_it_and_never_mind_resumes_it() -> None:
    form = [ActionExecuted("order_form"), ActiveLoop("order_form"),
            SlotSet("requested_slot", "order_number")]
    assert waiting_says(*form, intent="human_handoff", state=None) == "action_handoff_request"
    tracker = DialogueStateTracker.from_events("c", [
        *form, ActionExecuted("action_listen"), user("算了", "deny"),
        SlotSet("handoff_state", None), ActionExecuted("action_handoff_cancel")])
    prediction = policy().predict_action_probabilities(tracker, WAITING_DOMAIN)
    form = WAITING_DOMAIN.index_for_action("order_form")
    assert prediction.probabilities[form] == 1.0  # the paused form asks its question again
    tracker.update(ActiveLoop(None))
    prediction = policy().predict_action_probabilities(tracker, WAITING_DOMAIN)
    listen = WAITING_DOMAIN.index_for_action("action_listen")
    assert prediction.probabilities[listen] == 1.0


def test_the_rasa_servers_queue_on_a_database_server_is_given_up_on_within_seconds(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Rasa asks the handoff queue who holds every message's conversation: on
    PostgreSQL its connection carries the time limits (a stalled network path is given
    up on within seconds, and the assistant answers) instead of libpq's defaults."""
    import sqlalchemy as sa

    from bot.channels import handover
    from bot.settings import settings

    opened: list[tuple[str, dict[str, Any]]] = []
    real = sa.create_engine

    def recording(url: str, **options: Any) -> Any:
        opened.append((url, options))
        return real(f"sqlite:///{tmp_path / 'handoff.db'}", future=True)

    monkeypatch.setenv("HANDOFF_DB_URL", "postgresql://127.0.0.1:5432/shop_handoff")
    monkeypatch.setattr(handover.sa, "create_engine", recording)
    settings.cache_clear()
    handover.service.cache_clear()
    try:
        handover.service()
    finally:
        settings.cache_clear()
        handover.service.cache_clear()
    (url, options), = opened
    assert url.startswith("postgresql")
    assert options["connect_args"]["tcp_user_timeout"] <= 5000
    assert options["connect_args"]["connect_timeout"] <= 5 and options["pool_pre_ping"]
