"""Components that read messages as shoppers write them: the text normaliser
(Traditional Chinese, typos), the reference extractor ("the 2nd one", "第二款")
and the product rescue of unsure intents."""

from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.normalizer import Normalizer, TextNormalizer, to_simplified
from bot.components.product_rescue import ProductIntentRescue
from bot.components.references import ReferenceExtractor, find_references

CATALOG = ["手机", "耳机", "笔记本电脑", "夹克", "华为", "苹果", "phones", "headphones",
           "samsung", "lenovo", "jackets", "Apple MacBook Air 13", "sneakers"]


@pytest.fixture(scope="module")
def normalizer() -> Normalizer:
    return Normalizer(CATALOG, known=["show", "me", "the", "under", "dollars"])


@pytest.mark.parametrize(("text", "expected"), [
    ("請問有華為的手機嗎", "请问有华为的手机吗"),
    ("蘋果筆記型電腦有哪些", "苹果笔记本电脑有哪些"),  # Taiwan phrasing too
    ("我想買藍牙耳機，兩千元以內", "我想买蓝牙耳机，两千元以内"),
    ("有没有华为手机", "有没有华为手机"),  # Simplified stays as it is
])
def test_traditional_chinese_becomes_simplified(text: str, expected: str) -> None:
    assert to_simplified(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("有没有三千以内的手几", "有没有三千以内的手机"),
    ("想买个蓝牙耳鸡", "想买个蓝牙耳机"),
    ("华为的笔记本电恼", "华为的笔记本电脑"),
    ("华为的手急有哪些", "华为的手机有哪些"),  # 手急 is only a prefix of a word (手急眼快)
    ("do you have hedphones under 100 dollars", "do you have headphones under 100 dollars"),
    ("show me samsng phones", "show me samsung phones"),
    ("how much is the macbok air 13", "how much is the macbook air 13"),
    ("looking for lenvo laptops", "looking for lenovo laptops"),
])
def test_catalog_typos_are_corrected(normalizer: Normalizer, text: str, expected: str) -> None:
    assert normalizer(text) == expected


@pytest.mark.parametrize("text", [
    "事实上我要买",  # real words that sound like catalog words are left alone
    "shows me the shoes", "what's the time", "order SH-100234 for bob@exmple.com",
    "", "😀", "x" * 10_000, "SELECT * FROM products; --", "<script>alert(1)</script>",
])
def test_everything_else_is_left_as_written(normalizer: Normalizer, text: str) -> None:
    assert normalizer(text) == text


def test_the_normaliser_learns_its_catalog_with_the_model(tmp_path) -> None:
    storage, resource = LocalModelStorage(tmp_path), Resource("normalizer")
    context = ExecutionContext(graph_schema=None, node_name="normalizer")  # type: ignore[arg-type]
    config = TextNormalizer.get_default_config()
    untrained = TextNormalizer.create(config, storage, resource, context)
    untrained.train(TrainingData(lookup_tables=[{"name": "category", "elements": ["耳机"]},
                                                {"name": "other", "elements": ["耳鸡"]}]))
    loaded = TextNormalizer.load(config, storage, resource, context)
    messages = [Message({TEXT: "想買個藍牙耳鸡"}), Message({TEXT: "hello"})]
    loaded.process(messages)
    assert [m.get(TEXT) for m in messages] == ["想买个蓝牙耳机", "hello"]


@pytest.mark.parametrize(("text", "values"), [
    ("what would the 2nd one cost?", ["2"]),
    ("anything that goes with the 3rd one?", ["3"]),
    ("tell me more about number 2", ["2"]),
    ("how much is #3", ["3"]),
    ("what is item 4 made of", ["4"]),
    ("how much is no. 1", ["1"]),
    ("and option three, how much?", ["3"]),
    ("more about the top one please", ["1"]),
    ("the one at the top, is it in stock?", ["1"]),
    ("the last one?", ["-1"]),
    ("put the first two side by side", ["1", "2"]),
    ("compare 1 and 3", ["1", "3"]),
    ("the cheapest one please", ["cheapest"]),
    ("第二款现在什么价？", ["2"]),
    ("第2个", ["2"]),
    ("2号多少钱", ["2"]),
    ("一号有货吗", ["1"]),
    ("那三号呢", ["3"]),
    ("第十二个", ["12"]),
    ("头一个还有库存吗", ["1"]),
    ("最后那款呢", ["-1"]),
    ("前两款对比一下", ["1", "2"]),
    ("比较一下1和2", ["1", "2"]),
    ("最便宜的那款多少钱", ["cheapest"]),
    ("最贵的是哪个", ["dearest"]),
    ("便宜些的那套有货吗", ["cheapest"]),
    ("贵一些的那台怎么样", ["dearest"]),
])
def test_references_to_listed_products(text: str, values: list[str]) -> None:
    assert [e["value"] for e in find_references(text)] == values


@pytest.mark.parametrize("text", [
    "12月2号发货了吗", "phones under 500 bucks", "show me the iPhone 15", "AirPods Pro 2",
    "the WH-1000XM5 please", "last time I ordered shoes", "买2号电池", "",
    "which is your number one seller", "the number one brand for headphones",
    "12月一号发货了吗", "一号之前能到吗", "买五号电池", "十二月三号到",
])
def test_numbers_that_are_not_references(text: str) -> None:
    assert find_references(text) == []


def test_reference_entities_replace_learnt_mentions() -> None:
    message = Message({TEXT: "what would the 2nd one cost?", ENTITIES: [
        {"entity": "mention", "value": "2nd one", "start": 15, "end": 22},
        {"entity": "price", "value": "x", "start": 0, "end": 4}]})
    ReferenceExtractor({}).process([message])
    assert [(e["entity"], e["value"]) for e in message.get(ENTITIES)] == [
        ("price", "x"), ("mention", "2")]


VALUES = {"order_number": "SH-100074", "email": "ann@example.com"}


def _unsure(entities: list[str], ranking: list[tuple[str, float]]) -> Message:
    return Message({TEXT: "x", INTENT: {"name": "nlu_fallback", "confidence": 0.3},
                    INTENT_RANKING_KEY: [{"name": "nlu_fallback", "confidence": 0.3}]
                    + [{"name": n, "confidence": c} for n, c in ranking],
                    ENTITIES: [{"entity": e, "value": VALUES.get(e, "v"), "start": 0, "end": 1}
                               for e in entities]})


def test_a_named_product_turns_an_unsure_intent_into_a_question_about_it() -> None:
    rescue = ProductIntentRescue(ProductIntentRescue.get_default_config())
    about = _unsure(["product"], [("greet", 0.25), ("ask_discount", 0.2), ("ask_price", 0.1)])
    unranked = _unsure(["mention"], [("greet", 0.25)])
    search = _unsure(["color", "category"], [("ask_price", 0.2), ("ask_recommendation", 0.1)])
    nothing = _unsure([], [("search_products", 0.28)])
    rescue.process([about, unranked, search, nothing])
    assert about.get(INTENT)["name"] == "ask_discount"
    assert unranked.get(INTENT)["name"] == "ask_details"
    assert search.get(INTENT)["name"] == "ask_recommendation"
    assert nothing.get(INTENT)["name"] == "nlu_fallback"  # nothing of the shop: ask again


def test_an_out_of_scope_request_with_a_guessed_catalog_word_is_not_rescued() -> None:
    rescue = ProductIntentRescue(ProductIntentRescue.get_default_config())
    trainer = _unsure(["category"], [("out_of_scope", 0.33), ("search_products", 0.15)])
    trainer.get(ENTITIES)[0]["extractor"] = "DIETClassifier"
    catalog = _unsure(["category"], [("out_of_scope", 0.33), ("search_products", 0.15)])
    catalog.get(ENTITIES)[0]["extractor"] = "GazetteerEntityExtractor"
    order = _unsure(["order_number"], [("out_of_scope", 0.3), ("check_order_status", 0.2)])
    order.get(ENTITIES)[0]["extractor"] = "DIETClassifier"
    price_range = _unsure(["category", "order_number"], [("search_products", 0.38)])
    price_range.get(ENTITIES)[0]["extractor"] = "GazetteerEntityExtractor"
    price_range.get(ENTITIES)[1]["value"] = "600-900"  # "休闲鞋，600-900元"
    rescue.process([trainer, catalog, order, price_range])
    assert trainer.get(INTENT)["name"] == "nlu_fallback"  # says what the assistant can do
    assert catalog.get(INTENT)["name"] == "search_products"
    assert order.get(INTENT)["name"] == "check_order_status"
    assert price_range.get(INTENT)["name"] == "search_products"  # no order number in it


def test_a_listed_product_pointed_at_is_never_out_of_scope() -> None:
    """"give me a rundown of the 2nd": "rundown" is new to the classifier, which finds
    it out of scope (sure of it); the reference patterns found "the 2nd"."""
    rescue = ProductIntentRescue(ProductIntentRescue.get_default_config())

    def out_of_scope(text: str, extractor: str, ranking: list[tuple[str, float]]) -> Message:
        return Message({TEXT: text, INTENT: {"name": "out_of_scope", "confidence": 0.8},
                        INTENT_RANKING_KEY: [{"name": "out_of_scope", "confidence": 0.8}]
                        + [{"name": n, "confidence": c} for n, c in ranking],
                        ENTITIES: [{"entity": "mention", "value": 2, "start": 0, "end": 1,
                                    "extractor": extractor}]})

    rundown = out_of_scope("give me a rundown of the 2nd", "ReferenceExtractor",
                           [("goodbye", 0.1), ("ask_material", 0.05)])
    unranked = out_of_scope("第二个给我讲讲", "ReferenceExtractor", [("greet", 0.1)])
    guessed = out_of_scope("who came 2nd in the race", "DIETClassifier", [("ask_price", 0.1)])
    rescue.process([rundown, unranked, guessed])
    assert rundown.get(INTENT)["name"] == "ask_material"  # the best-ranked product question
    assert unranked.get(INTENT)["name"] == "ask_details"
    assert guessed.get(INTENT)["name"] == "out_of_scope"  # the entity model's guess alone


def test_a_product_question_naming_an_order_number_is_about_the_order() -> None:
    rescue = ProductIntentRescue(ProductIntentRescue.get_default_config())

    def asked(text: str, intent: str, ranking: list[tuple[str, float]]) -> Message:
        return Message({TEXT: text, INTENT: {"name": intent, "confidence": 0.7},
                        INTENT_RANKING_KEY: [{"name": n, "confidence": c} for n, c in ranking],
                        ENTITIES: [{"entity": "product", "value": "warehouse"}]})

    warehouse = asked("has SH-106582 left the warehouse yet?", "ask_stock",
                      [("ask_stock", 0.7), ("check_order_status", 0.2)])
    cancel = asked("sh 106582 - the headphones, can I return them", "ask_details",
                   [("ask_details", 0.5), ("return_order", 0.3), ("check_order_status", 0.1)])
    product = asked("is the SH-1065 in stock?", "ask_stock", [("ask_stock", 0.7)])
    rescue.process([warehouse, cancel, product])
    assert warehouse.get(INTENT)["name"] == "check_order_status"
    assert cancel.get(INTENT)["name"] == "return_order"  # the order intent ranked highest
    assert product.get(INTENT)["name"] == "ask_stock"  # no order number


def test_a_sure_intent_is_left_alone() -> None:
    message = Message({TEXT: "x", INTENT: {"name": "greet", "confidence": 0.9},
                       ENTITIES: [{"entity": "product", "value": "v"}]})
    ProductIntentRescue(ProductIntentRescue.get_default_config()).process([message])
    assert message.get(INTENT)["name"] == "greet"


def _with_entities(text: str, tagged: list[tuple[str, str]]) -> Message:
    entities = [{"entity": "mention", **e} for e in find_references(text)]
    for kind, word in tagged:
        start = text.index(word)
        entities.append({"entity": kind, "value": word, "start": start,
                         "end": start + len(word)})
    return Message({TEXT: text, INTENT: {"name": "ask_stock", "confidence": 0.4},
                    ENTITIES: entities})


@pytest.mark.parametrize(("text", "tagged", "follow_up"), [
    ("and the last one?", [], True),
    ("第二个呢", [], True),
    ("最后那款呢", [], True),
    ("ok what about black?", [("color", "black")], True),
    ("那小米的呢", [("brand", "小米")], True),
    ("only the white ones please", [("color", "white")], True),
    ("有白色的吗", [("color", "白色")], True),
    ("6000以下的", [("price", "6000")], True),
    ("银色的有货吗", [("color", "银色")], False),  # a question of its own: stock
    ("how much is the second one", [], False),
    ("tell me more about number 2", [], False),
    ("blue then, how much?", [("color", "blue")], False),
    ("hello there", [], False),
])
def test_follow_ups_are_messages_that_only_point_at_something(
        text: str, tagged: list[tuple[str, str]], follow_up: bool) -> None:
    from bot.components.references import FollowUpDetector

    message = _with_entities(text, tagged)
    FollowUpDetector({}).process([message])
    assert (message.get(INTENT)["name"] == "follow_up") is follow_up


def test_a_search_for_catalog_terms_stays_a_search() -> None:
    from bot.components.references import FollowUpDetector

    message = _with_entities("看看小米的耳机", [("brand", "小米"), ("category", "耳机")])
    message.set(INTENT, {"name": "search_products", "confidence": 0.9})
    pointed = _with_entities("第二个呢", [])
    pointed.set(INTENT, {"name": "search_products", "confidence": 0.9})
    FollowUpDetector({}).process([message, pointed])
    assert message.get(INTENT)["name"] == "search_products"
    assert pointed.get(INTENT)["name"] == "follow_up"


@pytest.mark.parametrize(("text", "tagged", "intent", "confidence", "expected"), [
    # a confident colour or stock question is that question about the product it points at
    ("第一个还有吗", [], "ask_stock", 0.78, "ask_stock"),
    ("小米 14有绿色吗", [("product", "小米 14"), ("color", "绿色")], "ask_color", 0.98,
     "ask_color"),
    ("is it in white too", [("color", "white")], "ask_color", 0.9, "ask_color"),
    # an unsure one still continues the previous question
    ("有金色吗", [("color", "金色")], "ask_color", 0.49, "follow_up"),
    ("and the last one?", [], "ask_stock", 0.42, "follow_up"),
    # only colour and stock questions: a sure guess at anything else is no question of its own
    ("那第三个呢", [], "ask_details", 0.9, "follow_up"),
])
def test_a_sure_colour_or_stock_question_is_not_a_follow_up(
        text: str, tagged: list[tuple[str, str]], intent: str, confidence: float,
        expected: str) -> None:
    from bot.components.references import FollowUpDetector

    message = _with_entities(text, tagged)
    message.set(INTENT, {"name": intent, "confidence": confidence})
    FollowUpDetector({}).process([message])
    assert message.get(INTENT)["name"] == expected


def test_an_unsure_message_with_an_order_number_is_about_that_order() -> None:
    rescue = ProductIntentRescue(ProductIntentRescue.get_default_config())
    status = _unsure(["order_number"], [("ask_details", 0.3), ("check_order_status", 0.2)])
    cancel = _unsure(["order_number"], [("cancel_order", 0.35), ("check_order_status", 0.2)])
    unranked = _unsure(["email"], [("greet", 0.3)])
    rescue.process([status, cancel, unranked])
    assert status.get(INTENT)["name"] == "check_order_status"
    assert cancel.get(INTENT)["name"] == "cancel_order"
    assert unranked.get(INTENT)["name"] == "check_order_status"


def _asked(intent: str, entities: list[str], extractor: str = "GazetteerEntityExtractor"
           ) -> Message:
    return Message({TEXT: "x", INTENT: {"name": intent, "confidence": 0.5},
                    ENTITIES: [{"entity": e, "value": "v", "start": 0, "end": 1,
                                "extractor": extractor} for e in entities]})


def test_a_colour_or_stock_question_about_a_category_is_a_search() -> None:
    rescue = ProductIntentRescue(ProductIntentRescue.get_default_config())
    grey_sneakers = _asked("ask_color", ["color", "category"])  # 有没有灰色的休闲鞋
    in_stock = _asked("ask_stock", ["category"])                 # any jackets in stock?
    about_one = _asked("ask_color", ["product", "color", "category"])
    the_grey_one = _asked("ask_stock", ["color"])               # is the grey one in stock
    # a word only the entity model took for a category is no catalog term
    warehouse = _asked("ask_stock", ["category"], extractor="DIETClassifier")
    rescue.process([grey_sneakers, in_stock, about_one, the_grey_one, warehouse])
    assert warehouse.get(INTENT)["name"] == "ask_stock"
    assert grey_sneakers.get(INTENT)["name"] == "search_products"
    assert in_stock.get(INTENT)["name"] == "search_products"
    assert about_one.get(INTENT)["name"] == "ask_color"
    assert the_grey_one.get(INTENT)["name"] == "ask_stock"


@pytest.mark.parametrize("intent,text", [
    ("cancel_order", "等等，先不取消了"),
    ("cancel_order", "别取消了，我还要"),
    ("cancel_order", "我不想取消了"),
    ("cancel_order", "actually, don't cancel it"),
    ("cancel_order", "I don't want to cancel my order anymore"),
    ("cancel_order", "no need to cancel"),
    ("return_order", "算了不退了"),
    ("return_order", "还是不退货了"),
    ("return_order", "never mind the refund"),
    ("check_order_status", "先不查了"),
])
def test_a_request_the_customer_takes_back_is_a_refusal(intent: str, text: str) -> None:
    from bot.components.negation import NegatedRequest

    message = Message(data={TEXT: text, INTENT: {"name": intent, "confidence": 0.9}})
    NegatedRequest(NegatedRequest.get_default_config()).process([message])
    assert message.get(INTENT)["name"] == "deny"
    assert message.get(INTENT_RANKING_KEY)[0]["name"] == "deny"


@pytest.mark.parametrize("intent,text", [
    ("cancel_order", "取消不了怎么办"),
    ("cancel_order", "为什么不能取消订单"),
    ("cancel_order", "I can't cancel it online, please help"),
    ("cancel_order", "please cancel SH-100020"),
    ("cancel_order", "I don't know how to cancel my order"),
    ("return_order", "不合适，我要退货"),
    ("return_order", "不退款，换货可以吗"),
    ("return_order", "the shoes don't fit, I want to return them"),
    ("ask_price", "不要取消"),  # only order requests are taken back
])
def test_a_request_that_is_not_taken_back_stays(intent: str, text: str) -> None:
    from bot.components.negation import NegatedRequest

    message = Message(data={TEXT: text, INTENT: {"name": intent, "confidence": 0.9}})
    NegatedRequest(NegatedRequest.get_default_config()).process([message])
    assert message.get(INTENT)["name"] == intent


def test_thanks_and_goodbye_split_between_them_close_the_chat() -> None:
    from bot.components.closers import AgreeingIntents

    agree = AgreeingIntents(AgreeingIntents.get_default_config())
    closing = _unsure([], [("thank", 0.38), ("goodbye", 0.32), ("affirm", 0.1)])
    mixed = _unsure([], [("thank", 0.38), ("cancel_order", 0.32)])
    faint = _unsure([], [("goodbye", 0.2), ("thank", 0.15)])
    agree.process([closing, mixed, faint])
    assert closing.get(INTENT) == {"name": "thank", "confidence": 0.38}
    assert mixed.get(INTENT)["name"] == "nlu_fallback"  # they want different answers
    assert faint.get(INTENT)["name"] == "nlu_fallback"  # together still unsure
