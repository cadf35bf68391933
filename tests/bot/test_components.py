"""Rasa-side components (bot environment): tokenizer, language detection,
word-less fallback and the failure policy (channels: test_channels.py)."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.components.language import LanguageDetector, detect_language
from bot.components.no_words import NoWordsFallback, has_words
from bot.components.tokenizer import split_text
from bot.policies.action_failure import failed_action


@pytest.mark.parametrize(("text", "tokens"), [
    ("有没有2000元以下的华为手机", ["有没有", "2000", "元", "以下", "的", "华为", "手机"]),
    ("red running shoes under $80", ["red", "running", "shoes", "under", "$", "80"]),
    ("华为Mate 60 Pro多少钱", ["华为", "Mate", "60", "Pro", "多少", "钱"]),
    ("where is SH-100234?", ["where", "is", "SH-100234"]),
])
def test_tokenizer_splits_both_languages(text: str, tokens: list[str]) -> None:
    pieces = split_text(text)
    assert [t for t, _ in pieces] == tokens
    for token, start in pieces:  # offsets point into the original text
        assert text[start:start + len(token)] == token


@pytest.mark.parametrize(("text", "language"), [
    ("hello", "en"), ("你好", "zh"), ("有没有 iPhone 15", "zh"), ("iPhone 15 有货吗", "zh"),
    ("any 小米 phones under $400?", "en"), ("show me 华为手机", "zh"),
    ("有没有Nike的running shoes", "zh"), ("how much is the 小米14 in black", "en"),
    ("SH-100234", None), ("😀😀", None), ("", None), ("123", None), ("مرحبا", None),
])
def test_language_detection(text: str, language: str | None) -> None:
    assert detect_language(text) == language


def test_language_detector_adds_an_entity() -> None:
    message = Message({TEXT: "它有黑色的吗"})
    LanguageDetector({}).process([message])
    assert {"entity": "language", "value": "zh"}.items() <= message.get(ENTITIES)[0].items()
    silent = Message({TEXT: "👍"})
    LanguageDetector({}).process([silent])
    assert not silent.get(ENTITIES)


def test_a_message_without_words_takes_the_chat_windows_language() -> None:
    photo = Message({TEXT: "", "metadata": {"locale": "zh", "image": "m1"}})
    spoof = Message({TEXT: "👍", "metadata": {"locale": "<script>"}})
    words = Message({TEXT: "how much is it?", "metadata": {"locale": "zh"}})
    LanguageDetector({}).process([photo, spoof, words])
    assert [e["value"] for e in photo.get(ENTITIES)] == ["zh"]
    assert not spoof.get(ENTITIES)  # only en or zh
    assert [e["value"] for e in words.get(ENTITIES)] == ["en"]  # what is written wins


def test_wordless_messages_fall_back() -> None:
    assert not has_words("😀😀😀 ?!") and has_words("ok") and has_words("好")
    message = Message({TEXT: "😀😀😀", INTENT: {"name": "affirm", "confidence": 0.9}})
    NoWordsFallback().process([message])
    assert message.get(INTENT)["name"] == "nlu_fallback"


def _tracker(*events) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("t", list(events))


DOMAIN = Domain.from_yaml("""
version: "3.1"
actions: [action_search_products]
responses:
  utter_cannot_lookup: [{text: "sorry"}]
""")


def test_failure_is_noticed_only_when_a_live_custom_action_said_nothing() -> None:
    user = UserUttered("show me phones", {"name": "search_products"}, input_channel="rest")
    failed = _tracker(ActionExecuted("action_listen"), user,
                      ActionExecuted("action_search_products"))
    assert failed_action(failed, DOMAIN) == "action_search_products"
    answered = _tracker(ActionExecuted("action_listen"), user,
                        ActionExecuted("action_search_products"), BotUttered("here"),
                        SlotSet("product", None))
    assert failed_action(answered, DOMAIN) is None
    replayed = _tracker(ActionExecuted("action_listen"),
                        UserUttered("show me phones", {"name": "search_products"}),
                        ActionExecuted("action_search_products"))
    assert failed_action(replayed, DOMAIN) is None
    builtin = _tracker(ActionExecuted("action_listen"), user, ActionExecuted("utter_greet"))
    assert failed_action(builtin, DOMAIN) is None


# --- dense sentence features (USE multilingual) --------------------------------------

def test_sentence_encoder_puts_paraphrases_near_each_other_across_languages() -> None:
    from bot.components.sentence_encoder import encode

    texts = ["where is my order?", "我的订单在哪里？", "do you sell red running shoes?", ""]
    vectors = encode(texts)
    assert vectors.shape == (4, 512)
    assert abs(float(vectors[0] @ vectors[0]) - 1.0) < 1e-3  # L2-normalised
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2]) + 0.2
    assert not vectors[3].any()  # empty text: a zero vector, no exception


def test_e5_encoder_puts_paraphrases_near_each_other_and_cuts_long_texts() -> None:
    from bot.components.sentence_encoder import encode_e5

    texts = ["where is my order?", "我的订单在哪里？", "do you sell red running shoes?", "",
             "订" * 10_000]
    vectors = encode_e5(texts)
    assert vectors.shape == (5, 384)
    assert abs(float(vectors[0] @ vectors[0]) - 1.0) < 1e-3
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2])
    assert not vectors[3].any()
    assert abs(float(vectors[4] @ vectors[4]) - 1.0) < 1e-3  # cut to the model's 512 tokens


def _train_featurizers(tmp_path, texts: list[str]):
    """Train both sentence featurizers on ``texts`` and load them as the server does."""
    from rasa.engine.graph import ExecutionContext
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.components.sentence_encoder import (
        E5SentenceFeaturizer,
        UniversalSentenceEncoderFeaturizer,
    )

    (tmp_path / "dense").mkdir()
    storage = LocalModelStorage(tmp_path / "dense")
    loaded = []
    for featurizer_class in (UniversalSentenceEncoderFeaturizer, E5SentenceFeaturizer):
        config = featurizer_class.get_default_config()
        resource = Resource(featurizer_class.__name__)
        context = ExecutionContext(graph_schema=None, node_name="train")  # type: ignore[arg-type]
        data = TrainingData([Message({TEXT: t, INTENT: "x"}) for t in texts])
        featurizer_class.create(config, storage, resource, context).train(data)
        context = ExecutionContext(graph_schema=None, node_name="run")  # type: ignore[arg-type]
        loaded.append(featurizer_class.load(config, storage, resource, context))
    return loaded


def test_sentence_featurizers_add_centred_sentence_features(tmp_path) -> None:
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.components.sentence_encoder import encode

    texts = ["hello there", "你好", "where is my order", "我的订单呢", "show me red shoes"]
    featurizers = _train_featurizers(tmp_path, texts)
    data = TrainingData([Message({TEXT: t, INTENT: "x"}) for t in texts])
    message = Message({TEXT: "x" * 10_000 + " 😀\u200b"})
    for featurizer in featurizers:
        featurizer.process_training_data(data)
        featurizer.process([message])
    for example in [*data.training_examples, message]:
        sequence, sentence = example.get_dense_features(TEXT)
        assert sequence is None and sentence is not None
        assert sentence.features.shape == (1, 512 + 384)  # both encoders, concatenated
    use = np.stack([m.get_dense_features(TEXT)[1].features[0, :512]
                    for m in data.training_examples])
    # centred on the training mean (learned at training, restored by load): the features
    # are no longer the raw embeddings, still unit length, and average to about zero
    raw = encode(texts)
    assert np.allclose(np.linalg.norm(use, axis=1), 1.0, atol=1e-3)
    assert np.abs(use.mean(axis=0)).max() < np.abs(raw.mean(axis=0)).max() / 3
    assert float((use[0] * raw[0]).sum()) < 0.95


def test_sentence_featurizer_rejects_bad_options() -> None:
    from rasa.shared.exceptions import InvalidConfigException

    from bot.components.sentence_encoder import (
        E5SentenceFeaturizer,
        UniversalSentenceEncoderFeaturizer,
    )

    with pytest.raises(InvalidConfigException, match="threads"):
        UniversalSentenceEncoderFeaturizer(
            {**UniversalSentenceEncoderFeaturizer.get_default_config(), "threads": 0}, "use")
    with pytest.raises(InvalidConfigException, match="batch_size"):
        E5SentenceFeaturizer({**E5SentenceFeaturizer.get_default_config(), "batch_size": "8"},
                             "e5")


# --- gazetteer -----------------------------------------------------------------------

def _gazetteer(tmp_path, tables: dict[str, list[str]]):
    from rasa.engine.graph import ExecutionContext
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.components.gazetteer import GazetteerEntityExtractor as Gazetteer

    storage, resource = LocalModelStorage(tmp_path), Resource("gazetteer")
    context = ExecutionContext(graph_schema=None, node_name="gazetteer")  # type: ignore[arg-type]
    config = Gazetteer.get_default_config()
    trained = Gazetteer.create(config, storage, resource, context)
    lookups = [{"name": k, "elements": v} for k, v in tables.items()]
    trained.train(TrainingData(lookup_tables=lookups))
    return Gazetteer.load(config, storage, resource, context)  # as the server loads it


def test_gazetteer_finds_catalog_names_in_both_languages(tmp_path) -> None:
    gazetteer = _gazetteer(tmp_path, {
        "product": ["Apple iPhone 15", "Apple iPhone 15 Pro", "华为 Mate 60", "x"],
        "brand": ["apple", "华为"], "color": ["red", "红色"], "ignored": ["iphone"],
    })
    english = Message({TEXT: "how much is the APPLE iphone 15 pro in red?",
                       ENTITIES: [{"entity": "product", "value": "iphone", "start": 22, "end": 28},
                                  {"entity": "price", "value": "x", "start": 0, "end": 3}]})
    chinese = Message({TEXT: "有没有红色的华为Mate 60？"})
    gazetteer.process([english, chinese])
    found = [(e["entity"], e["value"]) for e in english.get(ENTITIES)]
    # the longest name wins, DIET's overlapping guess is replaced, other kinds are kept
    assert found == [("price", "x"), ("product", "APPLE iphone 15 pro"), ("color", "red")]
    assert [(e["entity"], e["value"]) for e in chinese.get(ENTITIES)] == [
        ("color", "红色"), ("product", "华为Mate 60")]


def test_colours_the_entity_model_guessed_must_name_a_colour(tmp_path) -> None:
    gazetteer = _gazetteer(tmp_path, {"brand": ["adidas", "阿迪达斯"], "color": ["red"]})
    casual = Message({TEXT: "看看阿迪达斯的休闲孩",
                      ENTITIES: [{"entity": "color", "value": "休闲", "start": 7, "end": 9,
                                  "extractor": "DIETClassifier"}]})
    mauve = Message({TEXT: "any mauve ones?",
                     ENTITIES: [{"entity": "color", "value": "mauve", "start": 4, "end": 9,
                                 "extractor": "DIETClassifier"}]})
    navy = Message({TEXT: "有藏青色的吗",
                    ENTITIES: [{"entity": "color", "value": "藏青色", "start": 1, "end": 4,
                                "extractor": "DIETClassifier"}]})
    gazetteer.process([casual, mauve, navy])
    assert [(e["entity"], e["value"]) for e in casual.get(ENTITIES)] == [("brand", "阿迪达斯")]
    # colours the catalog lacks are still colours: "no mauve" is the answer, not a search
    assert [e["value"] for e in mauve.get(ENTITIES)] == ["mauve"]
    assert [e["value"] for e in navy.get(ENTITIES)] == ["藏青色"]


@pytest.mark.parametrize(("text", "colours"), [
    ("白的呢", ["白色"]), ("有没有黑的", ["黑色"]), ("要藏青的还是白的", ["藏青色", "白色"]),
    ("我明白的", []), ("蛋白的含量", []), ("白色的呢", ["白色"]),
])
def test_a_chinese_colour_without_its_last_character(tmp_path, text: str,
                                                     colours: list[str]) -> None:
    gazetteer = _gazetteer(tmp_path, {"color": ["白色", "黑色", "藏青色", "white"]})
    message = Message({TEXT: text})
    gazetteer.process([message])
    assert [e["value"] for e in message.get(ENTITIES) or [] if e["entity"] == "color"] == colours


def test_a_product_that_only_points_is_no_product_name(tmp_path) -> None:
    gazetteer = _gazetteer(tmp_path, {"product": ["Anta C202"]})
    pointing = Message({TEXT: "这双鞋是什么材质的",
                        ENTITIES: [{"entity": "product", "value": "这双鞋", "start": 0, "end": 3,
                                    "extractor": "DIETClassifier"}]})
    named = Message({TEXT: "this Anta C202, what is it made of?"})
    gazetteer.process([pointing, named])
    assert not pointing.get(ENTITIES)  # the product under discussion is meant
    assert [e["value"] for e in named.get(ENTITIES)] == ["Anta C202"]


@pytest.mark.parametrize("text", ["", "😀😀", "x" * 10_000, "\u200b\u200f", "SELECT * FROM x; --"])
def test_gazetteer_ignores_text_without_names(tmp_path, text: str) -> None:
    gazetteer = _gazetteer(tmp_path, {"product": ["Apple iPhone 15"], "brand": ["x"]})
    message = Message({TEXT: text})
    gazetteer.process([message])
    assert not message.get(ENTITIES)


# --- intent classifier over sentence features ----------------------------------------

def _featurized(texts_by_intent: dict[str, list[str]], tmp_path):
    """Messages run through the pipeline's sparse and dense featurizers."""
    from rasa.engine.graph import ExecutionContext
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
        CountVectorsFeaturizer,
    )
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.components.sentence_encoder import UniversalSentenceEncoderFeaturizer
    from bot.components.tokenizer import BilingualTokenizer

    (tmp_path / "featurizers").mkdir()
    storage = LocalModelStorage(tmp_path / "featurizers")
    context = ExecutionContext(graph_schema=None, node_name="f")  # type: ignore[arg-type]
    tokenizer = BilingualTokenizer.create(
        {**BilingualTokenizer.get_default_config(), "dictionary_path": None},
        storage, Resource("tok"), context)
    counts = CountVectorsFeaturizer.create(
        {**CountVectorsFeaturizer.get_default_config(), "analyzer": "char_wb", "min_ngram": 1,
         "max_ngram": 4}, storage, Resource("cv"), context)
    dense = UniversalSentenceEncoderFeaturizer.create(
        UniversalSentenceEncoderFeaturizer.get_default_config(), storage, Resource("use"), context)
    examples = [Message({TEXT: t, INTENT: i}) for i, ts in texts_by_intent.items() for t in ts]
    data = TrainingData(examples)
    tokenizer.process_training_data(data)
    counts.train(data)
    counts.process_training_data(data)
    dense.process_training_data(data)

    def featurize(texts: list[str]) -> list[Message]:
        messages = [Message({TEXT: t}) for t in texts]
        tokenizer.process(messages)
        counts.process(messages)
        dense.process(messages)
        return messages

    return data, featurize


TRAINING = {
    "check_order_status": ["where is my order", "track my order SH-100234", "has my parcel shipped",
                           "我的订单到哪了", "帮我查一下订单", "when will my package arrive"],
    "ask_price": ["how much is the iphone", "what does it cost", "price of the red shoes",
                  "多少钱", "这个多少钱", "what's the price"],
    "greet": ["hi", "hello there", "good morning", "你好", "嗨", "hey"],
}


@pytest.mark.parametrize(("hidden_units", "ensemble", "knn_weight"),
                         [(64, 1, 0.5), (0, 1, 0.0), (32, 3, 0.5), (64, 1, 1.0)])
def test_intent_classifier_learns_saves_and_loads(
    tmp_path, hidden_units: int, ensemble: int, knn_weight: float
) -> None:
    from rasa.engine.graph import ExecutionContext
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    from bot.components.intent_classifier import SentenceIntentClassifier as Classifier

    data, featurize = _featurized(TRAINING, tmp_path)
    (tmp_path / "clf").mkdir()
    storage, resource = LocalModelStorage(tmp_path / "clf"), Resource("clf")
    context = ExecutionContext(graph_schema=None, node_name="clf")  # type: ignore[arg-type]
    config = {**Classifier.get_default_config(), "hidden_units": hidden_units, "epochs": 200,
              "ensemble": ensemble, "knn_weight": knn_weight, "knn_neighbours": 3}
    Classifier.create(config, storage, resource, context).train(data)
    classifier = Classifier.load(config, storage, resource, context)
    messages = featurize(["where's my order?", "订单什么时候到", "how much does it cost", "hello!",
                          "", "x" * 10_000])
    classifier.process(messages)
    predicted = [m.get(INTENT)["name"] for m in messages[:4]]
    assert predicted == ["check_order_status", "check_order_status", "ask_price", "greet"]
    ranking = messages[0].get("intent_ranking")
    assert abs(sum(r["confidence"] for r in ranking) - 1.0) < 1e-4
    assert all(m.get(INTENT) for m in messages)  # empty and huge texts still get an intent


@pytest.mark.parametrize("hidden_units", [16, 0])
def test_intent_classifier_with_two_intents_gives_sigmoid_probabilities(
    tmp_path, hidden_units: int
) -> None:
    from rasa.engine.graph import ExecutionContext
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    from bot.components.intent_classifier import SentenceIntentClassifier as Classifier

    two = {k: TRAINING[k] for k in ("greet", "ask_price")}
    data, featurize = _featurized(two, tmp_path)
    (tmp_path / "clf").mkdir()
    context = ExecutionContext(graph_schema=None, node_name="clf")  # type: ignore[arg-type]
    classifier = Classifier.create({"hidden_units": hidden_units, "epochs": 300},
                                   LocalModelStorage(tmp_path / "clf"), Resource("clf"), context)
    classifier.train(data)
    messages = featurize(["hello!", "how much is it"])
    classifier.process(messages)
    assert [m.get(INTENT)["name"] for m in messages] == ["greet", "ask_price"]
    assert all(m.get(INTENT)["confidence"] > 0.6 for m in messages)


def test_intent_classifier_saves_no_pickle(tmp_path) -> None:
    from rasa.engine.graph import ExecutionContext
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    from bot.components.intent_classifier import SentenceIntentClassifier as Classifier

    data, _ = _featurized(TRAINING, tmp_path)
    (tmp_path / "clf").mkdir()
    storage = LocalModelStorage(tmp_path / "clf")
    context = ExecutionContext(graph_schema=None, node_name="clf")  # type: ignore[arg-type]
    Classifier.create({"hidden_units": 16}, storage, Resource("clf"), context).train(data)
    saved = sorted(p.name for p in (tmp_path / "clf").rglob("*") if p.is_file())
    assert saved == ["memory.npz", "meta.json", "weights.npz"]
    with np.load(next((tmp_path / "clf").rglob("weights.npz")), allow_pickle=False) as arrays:
        assert [arrays[k].dtype.kind for k in arrays.files] == ["f"] * 4
    with np.load(next((tmp_path / "clf").rglob("memory.npz")), allow_pickle=False) as arrays:
        assert arrays["vectors"].shape == (18, 512) and arrays["labels"].dtype.kind == "i"


def test_neighbour_votes_follow_the_nearest_examples() -> None:
    from bot.components.intent_classifier import neighbour_votes, unit_rows

    memory = unit_rows(np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0, 0.9, 0.1]], np.float32))
    labels = np.array([0, 0, 1, 1])
    queries = unit_rows(np.array([[1, 0.05, 0], [0.05, 1, 0], [0, 0, 0], [0, 0, 1]], np.float32))
    votes = neighbour_votes(queries, memory, labels, 2, neighbours=3, temperature=0.05,
                            background=0.5)
    assert np.allclose(votes.sum(axis=1), 1.0)
    assert votes[0, 0] > 0.95 and votes[1, 1] > 0.95
    assert np.allclose(votes[2], [0.5, 0.5])  # an empty message: no opinion
    # far from everything (similarity 0.1 at most): about as flat as no opinion
    assert votes[3, 1] > votes[3, 0] and votes[3, 1] < 0.52
    without = neighbour_votes(queries, memory, labels, 2, neighbours=3, temperature=0.05,
                              background=-1.0)
    assert without[3, 1] > 0.75


def test_intent_classifier_rejects_bad_options(tmp_path) -> None:
    from rasa.engine.graph import ExecutionContext
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.exceptions import InvalidConfigException

    from bot.components.intent_classifier import SentenceIntentClassifier as Classifier

    context = ExecutionContext(graph_schema=None, node_name="clf")  # type: ignore[arg-type]
    for bad in ({"hidden_units": -1}, {"knn_weight": 1.5}, {"knn_temperature": 0},
                {"knn_neighbours": 0}, {"dense_weight": True}, {"knn_background": 2},
                {"ood_floor": 1.5}, {"ood_floor": -0.1}):
        with pytest.raises(InvalidConfigException, match=next(iter(bad))):
            Classifier.create(bad, LocalModelStorage(tmp_path), Resource("c"), context)


# --- unsupported languages -----------------------------------------------------------

@pytest.mark.parametrize(("text", "unsupported"), [
    ("hola, ¿dónde está mi pedido?", True), ("bonjour, où est ma commande ?", True),
    ("wie viel kostet das Handy", True), ("где мой заказ", True), ("أين طلبي", True),
    ("この靴はいくらですか", True), ("주문은 어디에 있나요", True),
    ("where is my order", False), ("有没有 iPhone 15", False), ("do you have zapatos?", False),
    ("SH-100234", False), ("😀", False), ("", False), ("\u202eredro ym si erehw", False),
    ("la la land blu-ray", False), ("Le Creuset pan price", False),
])
def test_unsupported_language_detection(text: str, unsupported: bool) -> None:
    from bot.components.unsupported_language import is_unsupported_language

    assert is_unsupported_language(text) is unsupported


def test_unsupported_language_overrides_the_intent() -> None:
    from bot.components.unsupported_language import UnsupportedLanguageClassifier

    guess = {"name": "ask_price", "confidence": 0.8}
    message = Message({TEXT: "¿cuánto cuesta el teléfono?", INTENT: dict(guess)})
    english = Message({TEXT: "how much is the phone?", INTENT: dict(guess)})
    UnsupportedLanguageClassifier().process([message, english])
    assert message.get(INTENT)["name"] == "unsupported_language"
    assert english.get(INTENT)["name"] == "ask_price"


def _annotated(text: str, intent: str, spans: list[tuple[str, str]]) -> Message:
    entities = []
    for kind, value in spans:
        start = text.index(value)
        entities.append({"entity": kind, "value": value, "start": start,
                         "end": start + len(value)})
    return Message({TEXT: text, INTENT: intent, "entities": entities})


FRAMES = [
    ("how much is the Xiaomi 14", "ask_price", [("product", "Xiaomi 14")]),
    ("what does the Dell XPS 13 cost", "ask_price", [("product", "Dell XPS 13")]),
    ("how much is the second one", "ask_price", [("mention", "second")]),
    ("小米 14多少钱", "ask_price", [("product", "小米 14")]),
    ("戴尔 XPS 13卖多少钱", "ask_price", [("product", "戴尔 XPS 13")]),
    ("tell me about the Dell XPS 13", "ask_details", [("product", "Dell XPS 13")]),
    ("tell me about the first one", "ask_details", [("mention", "first")]),
    ("details of the Xiaomi 14", "ask_details", [("product", "Xiaomi 14")]),
    ("说说戴尔 XPS 13", "ask_details", [("product", "戴尔 XPS 13")]),
    ("介绍一下小米 14", "ask_details", [("product", "小米 14")]),
    ("anything similar to the Xiaomi 14 Ultra", "ask_similar", [("product", "Xiaomi 14 Ultra")]),
    ("alternatives to the Xiaomi 14 Ultra", "ask_similar", [("product", "Xiaomi 14 Ultra")]),
    ("有类似小米 14 Ultra的吗", "ask_similar", [("product", "小米 14 Ultra")]),
    ("和小米 14 Ultra差不多的商品", "ask_similar", [("product", "小米 14 Ultra")]),
    ("hello", "greet", []),
    ("你好", "greet", []),
]


def test_the_frame_of_a_message_masks_products_and_references() -> None:
    from bot.components.frames import frame

    message = _annotated("is the Dell XPS 13 cheaper than the second one?", "ask_price",
                         [("product", "Dell XPS 13"), ("mention", "second")])
    masked = frame(message.get(TEXT), message.get("entities"), ["product", "mention"])
    assert masked == "is the ¤ cheaper than the ¤ one?"
    assert frame("说说小米 14", [{"entity": "product", "start": 2, "end": 7}],
                 ["product"]) == "说说 ¤"
    assert frame("no entities", [], ["product"]) == "no entities"


def test_the_frame_decides_what_is_asked_about_a_named_product(tmp_path) -> None:
    """Names the classifier learnt with one question don't pull a new one towards it."""
    from rasa.engine.graph import ExecutionContext
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.components.frames import ProductFrameClassifier as Frames

    data = TrainingData([_annotated(*example) for example in FRAMES])
    storage, resource = LocalModelStorage(tmp_path), Resource("frames")
    context = ExecutionContext(graph_schema=None, node_name="frames")  # type: ignore[arg-type]
    config = {**Frames.get_default_config(), "min_count": 1, "l2": 1e-4}
    Frames.create(config, storage, resource, context).train(data)
    saved = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert saved == ["frame_meta.json", "frame_weights.npz"]  # arrays and JSON, no pickle
    frames = Frames.load(config, storage, resource, context)

    # "Xiaomi 14 Ultra" was only ever seen in similar-product questions
    asked = _annotated("说说小米 14 Ultra", "", [("product", "小米 14 Ultra")])
    asked.set(INTENT, {"name": "ask_similar", "confidence": 0.55})
    asked.set(INTENT_RANKING_KEY, [{"name": "ask_similar", "confidence": 0.55},
                                   {"name": "ask_details", "confidence": 0.4},
                                   {"name": "ask_price", "confidence": 0.05}])
    for entity in asked.get("entities"):
        entity["extractor"] = "GazetteerEntityExtractor"
    plain = Message({TEXT: "hello there", "entities": []})
    plain.set(INTENT, {"name": "greet", "confidence": 0.7})
    # a "product" the entity model guessed and the catalog does not know stays a word
    guessed = _annotated("说说Real Madrid", "", [("product", "Real Madrid")])
    guessed.get("entities")[0]["extractor"] = "DIETClassifier"
    guessed.set(INTENT, {"name": "out_of_scope", "confidence": 0.4})
    frames.process([asked, plain, guessed])
    assert asked.get(INTENT)["name"] == "ask_details"
    ranking = asked.get(INTENT_RANKING_KEY)
    assert abs(sum(r["confidence"] for r in ranking) - 1.0) < 1e-4
    assert plain.get(INTENT) == {"name": "greet", "confidence": 0.7}  # no product: untouched
    assert guessed.get(INTENT) == {"name": "out_of_scope", "confidence": 0.4}


def test_frame_classifier_rejects_bad_options(tmp_path) -> None:
    from rasa.engine.graph import ExecutionContext
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.exceptions import InvalidConfigException

    from bot.components.frames import ProductFrameClassifier as Frames

    context = ExecutionContext(graph_schema=None, node_name="frames")  # type: ignore[arg-type]
    for bad in ({"weight": 1.5}, {"weight": True}, {"min_ngram": 3, "max_ngram": 2},
                {"entities": []}):
        with pytest.raises(InvalidConfigException):
            Frames.create(bad, LocalModelStorage(tmp_path), Resource("frames"), context)


def test_the_classifiers_parts_blend_back_into_its_probabilities(tmp_path) -> None:
    """make bench-nlu tunes the vote's options offline from explain(); that only means
    something if the parts, blended, are what the classifier itself gives."""
    from rasa.engine.graph import ExecutionContext
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    from bot.components.intent_classifier import SentenceIntentClassifier as Classifier
    from scripts.bench_nlu_oos import Captured, blend

    data, featurize = _featurized(TRAINING, tmp_path)
    (tmp_path / "clf").mkdir()
    storage, resource = LocalModelStorage(tmp_path / "clf"), Resource("clf")
    context = ExecutionContext(graph_schema=None, node_name="clf")  # type: ignore[arg-type]
    config = {**Classifier.get_default_config(), "hidden_units": 16, "epochs": 50,
              "knn_neighbours": 3, "ood_floor": 0.3}
    Classifier.create(config, storage, resource, context).train(data)
    classifier = Classifier.load(config, storage, resource, context)
    messages = featurize(["where's my order?", "订单什么时候到", "tell me a joke", ""])
    network, similarity, neighbour, typical = classifier.explain(messages, 3)
    assert similarity.shape == neighbour.shape == (4, 3)
    assert np.all(np.diff(similarity[:3], axis=1) <= 1e-6)  # nearest first
    assert typical[3] == 1.0 and typical[:3].min() < 0.3  # the floor scales something down
    parts = Captured(classifier.labels, network, similarity, neighbour,
                     config["knn_temperature"], typical)
    offline = blend(parts, config["knn_weight"], config["knn_background"], config["ood_floor"])
    assert np.allclose(offline, classifier.predict_proba(messages), atol=1e-5)
    # trained without the floor, the classifier still explains its typicality (fitted on
    # the same training vectors), so the benchmark can choose a floor offline
    (tmp_path / "plain").mkdir()
    plain_config = {**config, "ood_floor": 0.0}
    storage = LocalModelStorage(tmp_path / "plain")
    Classifier.create(plain_config, storage, resource, context).train(data)
    plain = Classifier.load(plain_config, storage, resource, context)
    assert np.allclose(plain.explain(messages, 3)[3], typical)
    assert np.allclose(blend(parts, config["knn_weight"], config["knn_background"]),
                       plain.predict_proba(messages), atol=1e-5)


def test_typicality_ranks_far_messages_below_what_was_taught() -> None:
    """The distance score behind ood_floor: messages near a taught intent get a high
    p-value, ones far from all of them a low one; its arrays round-trip."""
    from bot.components.intent_classifier import Typicality, unit_rows

    rng = np.random.default_rng(0)
    centres = unit_rows(rng.normal(size=(4, 24)))
    labels = np.repeat(np.arange(4), 60)
    vectors = unit_rows(centres[labels] + 0.15 * rng.normal(size=(240, 24)))
    model = Typicality.fit(vectors, labels, excluded=[3])  # class 3: "out of scope"
    assert model is not None and len(model.means) == 3
    near = unit_rows(centres[:3] + 0.15 * rng.normal(size=(3, 24)))
    far = unit_rows(rng.normal(size=(50, 24)))
    assert model.p_value(near).min() > 0.05
    assert np.median(model.p_value(far)) < 0.01
    assert model.p_value(np.zeros((1, 24)))[0] == 1.0  # an empty message: no opinion
    again = Typicality.from_arrays(model.arrays())
    assert np.allclose(again.p_value(far), model.p_value(far), atol=0.02)
    assert Typicality.fit(vectors[:5], labels[:5]) is None  # too little to fit
