"""Training examples that mention the loaded catalog's own products and brands.

Hand-written examples in ``nlu_data/train`` teach phrasing; these teach the
names of whatever catalog is loaded, so product and brand mentions are
recognised for every product, not just the few named by hand. Deterministic
for a given catalog and seed.
"""

from __future__ import annotations

import random

from knowledge_graph.graph import ProductGraph

PRODUCT_TEMPLATES = {
    "ask_price": (["how much is the {p}?", "what does the {p} cost", "price of the {p}",
                   "how much are the {p}"],
                  ["{p}多少钱", "{p}的价格是多少", "{p}卖多少钱"]),
    "ask_details": (["tell me about the {p}", "what is the {p} like?", "details of the {p}"],
                    ["介绍一下{p}", "{p}怎么样", "说说{p}"]),
    "ask_stock": (["is the {p} in stock?", "do you have the {p} available"],
                  ["{p}有货吗", "{p}还有库存吗"]),
    "ask_material": (["what is the {p} made of?"], ["{p}是什么材质的"]),
    "ask_accessories": (["what accessories fit the {p}?", "any cases or chargers for the {p}"],
                        ["{p}有什么配件", "适合{p}的配件"]),
    "ask_color": (["what colours does the {p} come in?"], ["{p}有哪些颜色"]),
    "ask_similar": (["anything similar to the {p}?", "show me products like the {p}",
                     "alternatives to the {p}"],
                    ["有类似{p}的吗", "和{p}差不多的商品", "{p}有替代品吗"]),
    "ask_complements": (["what goes with the {p}?", "what is often bought with the {p}",
                         "what else should I buy with the {p}"],
                        ["{p}搭配什么好", "和{p}一起买什么", "{p}配什么"]),
}
SEARCH_TEMPLATES = (["show me {b} {c}", "do you have {b} {c}?", "any {b} {c}"],
                    ["看看{b}{c}", "有没有{b}的{c}", "{b}{c}有吗"])


def _ann(text: str, entity: str) -> str:
    """Annotate ``text``; trailing symbols ("SPF 50+") stay outside, as tokens drop them."""
    core = text.rstrip("+!?.,;:°")
    return f"[{core}]({entity}){text[len(core):]}"


def build_examples(graph: ProductGraph, *, seed: int = 13, per_intent: int = 24) -> str:
    """Render catalog-specific training examples as a Rasa NLU YAML document."""
    rng = random.Random(seed)
    models = graph.model_names()
    lines = ['version: "3.1"', "", "# Generated from the product graph by `make data`.", "nlu:"]
    for intent, (en_templates, zh_templates) in PRODUCT_TEMPLATES.items():
        examples: list[str] = []
        for _, model_en, model_zh in rng.sample(models, min(per_intent, len(models))):
            examples.append(rng.choice(en_templates).format(p=_ann(model_en, "product")))
            examples.append(rng.choice(zh_templates).format(p=_ann(model_zh, "product")))
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {e}" for e in dict.fromkeys(examples)]
    brands = sorted(set(graph.vocabulary("brand").values()))
    categories = graph.vocabulary("category")
    en_categories = sorted(label for label, key in categories.items()
                           if label.isascii() and "_" not in label)
    zh_categories = sorted(label for label in categories if not label.isascii())
    brand_labels = graph.vocabulary("brand")
    en_brands = sorted(label for label in brand_labels if label.isascii() and "_" not in label)
    zh_brands = sorted(label for label in brand_labels if not label.isascii()) or en_brands
    examples = []
    for _ in range(min(per_intent, len(brands) * 2)):
        examples.append(rng.choice(SEARCH_TEMPLATES[0]).format(
            b=_ann(rng.choice(en_brands), "brand"), c=_ann(rng.choice(en_categories), "category")))
        examples.append(rng.choice(SEARCH_TEMPLATES[1]).format(
            b=_ann(rng.choice(zh_brands), "brand"), c=_ann(rng.choice(zh_categories), "category")))
    lines += ["- intent: search_products", "  examples: |"]
    lines += [f"    - {e}" for e in dict.fromkeys(examples)]
    return "\n".join(lines) + "\n"
