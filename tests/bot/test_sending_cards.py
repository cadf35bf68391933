"""Product cards are not listed twice where a channel draws them."""

from __future__ import annotations

from bot.channels.sending import drawn_with_cards

CARDS = [{"sku": "S1", "title": "Anta C202 Running Shoes (red)", "price": "$69.99"},
         {"sku": "S2", "title": "Nike Pegasus 41 Running Shoes (black)", "price": "$129.99"}]


def test_a_list_in_words_of_the_cards_drawn_goes_the_rest_of_the_text_stays() -> None:
    text = ("Here is what I found in our catalog for your photo:\n"
            "1. Anta C202 Running Shoes (red) — $69.99\n"
            "2. Nike Pegasus 41 Running Shoes (black) — $129.99\n"
            "Ask me about any of them, e.g. \"how much is the first one?\"")
    shown = drawn_with_cards({"text": text, "custom": {"type": "product_cards",
                                                       "cards": CARDS, "listed": "lines"}})
    assert shown["text"] == ("Here is what I found in our catalog for your photo:\n"
                             "Ask me about any of them, e.g. \"how much is the first one?\"")
    assert shown["custom"]["cards"] == CARDS


def test_an_agents_card_is_not_said_again_in_words() -> None:
    message = {"text": "Anta C202 Running Shoes (red) — $69.99", "author": "Ann",
               "custom": {"type": "product_cards", "cards": CARDS[:1], "listed": "all"}}
    shown = drawn_with_cards(message)
    assert "text" not in shown and shown["author"] == "Ann" and shown["custom"]["cards"]


def test_text_that_does_not_list_the_cards_is_left_alone() -> None:
    plain = {"text": "1. Anta C202 Running Shoes (red) — $69.99"}
    assert drawn_with_cards(plain) == plain  # no cards: a search list stays whole
    unmarked = {"text": "1. Anta C202 Running Shoes (red) — $69.99",
                "custom": {"type": "product_cards", "cards": CARDS}}
    assert drawn_with_cards(unmarked) == unmarked  # not marked as listed
    other = {"text": "1. A line about something else\nHello",
             "custom": {"type": "product_cards", "cards": CARDS, "listed": "lines"}}
    assert drawn_with_cards(other)["text"] == other["text"]
