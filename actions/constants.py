"""Names shared with the Rasa domain (bot/domain.yml).

tests/actions/test_constants.py checks that every name here exists in the
domain and that the domain has no intent, slot or custom action missing here.
"""

from __future__ import annotations


class Intent:
    """Intent names."""

    GREET = "greet"
    GOODBYE = "goodbye"
    THANK = "thank"
    AFFIRM = "affirm"
    DENY = "deny"
    BOT_CHALLENGE = "bot_challenge"
    # "why do you need my e-mail?" inside (or outside) the order form
    ASK_WHY_NEEDED = "ask_why_needed"
    OUT_OF_SCOPE = "out_of_scope"
    UNSUPPORTED_LANGUAGE = "unsupported_language"
    SEARCH_PRODUCTS = "search_products"
    ASK_PRICE = "ask_price"
    ASK_COLOR = "ask_color"
    ASK_MATERIAL = "ask_material"
    ASK_STOCK = "ask_stock"
    ASK_DETAILS = "ask_details"
    COMPARE_PRODUCTS = "compare_products"
    ASK_ACCESSORIES = "ask_accessories"
    ASK_RECOMMENDATION = "ask_recommendation"
    ASK_SIMILAR = "ask_similar"
    ASK_COMPLEMENTS = "ask_complements"
    PICK_RECOMMENDATION = "pick_recommendation"
    ASK_DISCOUNT = "ask_discount"
    NEGOTIATE_PRICE = "negotiate_price"
    SHARE_IMAGE = "share_image"
    HUMAN_HANDOFF = "human_handoff"
    # a button of the satisfaction question, after a person helped
    RATE_HANDOFF = "rate_handoff"
    # triggered by the Rasa server when an agent hands the conversation back
    HANDOFF_RETURNED = "handoff_returned"
    # sent by channels (a photo message) or buttons, never typed: no NLU examples
    CHANNEL_ONLY = (SHARE_IMAGE, RATE_HANDOFF, HANDOFF_RETURNED)
    # given by the NLU's follow-up detector to "and the last one?", "第二个呢"
    FOLLOW_UP = "follow_up"
    # intents no NLU example teaches
    NO_EXAMPLES = (SHARE_IMAGE, FOLLOW_UP, RATE_HANDOFF, HANDOFF_RETURNED)
    CHECK_ORDER_STATUS = "check_order_status"
    CANCEL_ORDER = "cancel_order"
    RETURN_ORDER = "return_order"
    # "how long do I have to return it?": the policy, not a return
    ASK_RETURN_POLICY = "ask_return_policy"
    INFORM = "inform"


class Entity:
    """Entity names."""

    PRODUCT = "product"
    BRAND = "brand"
    CATEGORY = "category"
    COLOR = "color"
    PRICE = "price"
    MENTION = "mention"
    ORDER_NUMBER = "order_number"
    EMAIL = "email"
    LANGUAGE = "language"
    CSAT = "csat"


class Slot:
    """Slot names."""

    LANGUAGE = "language"
    ORDER_ACTION = "order_action"
    ORDER_NUMBER = "order_number"
    ORDER_EMAIL = "order_email"
    PRODUCT = "product"
    SHOWN_PRODUCTS = "shown_products"
    SEARCH_CATEGORY = "search_category"
    SEARCH_BRAND = "search_brand"
    SEARCH_COLOR = "search_color"
    SEARCH_MAX_PRICE = "search_max_price"
    SEARCH_MIN_PRICE = "search_min_price"
    SEARCH_CURRENCY = "search_currency"
    RECOMMENDATION = "recommendation"
    REQUESTED_SLOT = "requested_slot"
    # "waiting" or "assigned" while a person is asked for or holds the conversation
    HANDOFF_STATE = "handoff_state"
    # why a person is offered (set by the handoff policy with its prediction)
    HANDOFF_REASON = "handoff_reason"
    # written by the Rasa server for the agent desk: who holds it, internal notes
    HANDOFF_AGENT = "handoff_agent"
    HANDOFF_NOTE = "handoff_note"


class ActionName:
    """Custom action names."""

    SEARCH_PRODUCTS = "action_search_products"
    PRODUCT_INFO = "action_product_info"
    FOLLOW_UP = "action_follow_up"
    COMPARE_PRODUCTS = "action_compare_products"
    PRODUCT_ACCESSORIES = "action_product_accessories"
    RECOMMEND = "action_recommend"
    RECOMMENDATION_CLICK = "action_recommendation_click"
    VISUAL_SEARCH = "action_visual_search"
    QUOTE_PRICE = "action_quote_price"
    OFFER_DISCOUNT = "action_offer_discount"
    NEGOTIATE_PRICE = "action_negotiate_price"
    ORDER_STATUS = "action_order_status"
    CANCEL_ORDER = "action_cancel_order"
    RETURN_ORDER = "action_return_order"
    RETURN_POLICY = "action_return_policy"
    ASK_ORDER_NUMBER = "action_ask_order_number"
    VALIDATE_ORDER_FORM = "validate_order_form"
    HANDOFF_REQUEST = "action_handoff_request"
    HANDOFF_OFFER = "action_handoff_offer"
    HANDOFF_CANCEL = "action_handoff_cancel"
    HANDOFF_RETURN = "action_handoff_return"
    HANDOFF_RATE = "action_handoff_rate"
    HANDOFF_HOLD = "action_handoff_hold"


class Form:
    """Form names."""

    ORDER = "order_form"


class Response:
    """Responses the custom actions send (templates live in the domain)."""

    CANNOT_LOOKUP = "utter_cannot_lookup"
    SEARCH_RESULTS = "utter_search_results"
    SEARCH_NONE = "utter_search_none"
    SEARCH_NEED_CRITERIA = "utter_search_need_criteria"
    PRICE = "utter_price"
    PRICE_ON_REQUEST = "utter_price_on_request"
    PRICE_OFFER = "utter_price_offer"
    PRICE_CHANGED = "utter_price_changed"
    DISCOUNT_COUPON = "utter_discount_coupon"
    DISCOUNT_COUPON_ANY = "utter_discount_coupon_any"
    DISCOUNT_EXISTING = "utter_discount_existing"
    DISCOUNT_ALREADY = "utter_discount_already"
    DISCOUNT_NONE = "utter_discount_none"
    NEGOTIATE_COUPON = "utter_negotiate_coupon"
    NEGOTIATE_AGAIN = "utter_negotiate_again"
    NEGOTIATE_FINAL = "utter_negotiate_final"
    STOCK_IN = "utter_stock_in"
    STOCK_LOW = "utter_stock_low"
    STOCK_OUT = "utter_stock_out"
    SIZE_UNAVAILABLE = "utter_size_unavailable"
    MATERIAL = "utter_material"
    MATERIAL_UNKNOWN = "utter_material_unknown"
    COLOR_AVAILABLE = "utter_color_available"
    COLOR_UNAVAILABLE = "utter_color_unavailable"
    COLORS_LIST = "utter_colors_list"
    DETAILS = "utter_details"
    COMPARE = "utter_compare"
    COMPARE_NEED_TWO = "utter_compare_need_two"
    ACCESSORIES = "utter_accessories"
    ACCESSORIES_NONE = "utter_accessories_none"
    COMPATIBLE = "utter_compatible"
    RECOMMEND_FOR_YOU = "utter_recommend_for_you"
    RECOMMEND_SIMILAR = "utter_recommend_similar"
    RECOMMEND_COMPLEMENTS = "utter_recommend_complements"
    RECOMMEND_NONE = "utter_recommend_none"
    RECOMMEND_BUSY = "utter_recommend_busy"
    RECOMMEND_CONTRADICTORY = "utter_recommend_contradictory"
    RECOMMEND_UNAVAILABLE = "utter_recommend_unavailable"
    WHICH_PRODUCT = "utter_which_product"
    PRODUCT_NOT_FOUND = "utter_product_not_found"
    PRODUCT_SUGGESTIONS = "utter_product_suggestions"
    MENTION_OUT_OF_RANGE = "utter_mention_out_of_range"
    MENTION_NOTHING_SHOWN = "utter_mention_nothing_shown"
    ASK_ORDER_NUMBER = "utter_ask_order_number"
    RECENT_ORDERS = "utter_recent_orders"
    INVALID_ORDER_NUMBER = "utter_invalid_order_number"
    INVALID_EMAIL = "utter_invalid_email"
    ORDER_NOT_FOUND = "utter_order_not_found"
    ORDER_LOOKUP_LOCKED = "utter_order_lookup_locked"
    CONCESSION_LIMIT = "utter_concession_limit"
    ORDER_STATUS_PREFIX = "utter_order_status_"
    CANCEL_DONE = "utter_cancel_done"
    CANCEL_REFUSED_SHIPPED = "utter_cancel_refused_shipped"
    CANCEL_REFUSED_DELIVERED = "utter_cancel_refused_delivered"
    CANCEL_REFUSED_DELIVERED_LATE = "utter_cancel_refused_delivered_late"
    CANCEL_REFUSED_CANCELLED = "utter_cancel_refused_cancelled"
    CANCEL_REFUSED_RETURNED = "utter_cancel_refused_returned"
    RETURN_DONE = "utter_return_done"
    RETURN_POLICY = "utter_return_policy"
    RETURN_POLICY_CUSTOMER_POSTAGE = "utter_return_policy_customer_postage"
    RETURN_REFUSED_NOT_DELIVERED = "utter_return_refused_not_delivered"
    RETURN_REFUSED_WINDOW = "utter_return_refused_window"
    RETURN_REFUSED_RETURNED = "utter_return_refused_returned"
    RETURN_REFUSED_CANCELLED = "utter_return_refused_cancelled"
    VISUAL_MATCHES = "utter_visual_matches"
    VISUAL_UNSURE = "utter_visual_unsure"
    VISUAL_NONE = "utter_visual_none"
    VISUAL_NOT_A_PHOTO = "utter_visual_not_a_photo"
    VISUAL_NO_PHOTO = "utter_visual_no_photo"
    VISUAL_BAD_PHOTO = "utter_visual_bad_photo"
    VISUAL_UNAVAILABLE = "utter_visual_unavailable"
    VISUAL_BUSY = "utter_visual_busy"
    HANDOFF_QUEUED = "utter_handoff_queued"
    HANDOFF_QUEUED_ALREADY = "utter_handoff_queued_already"
    HANDOFF_WITH_AGENT = "utter_handoff_with_agent"
    HANDOFF_CLOSED = "utter_handoff_closed"
    HANDOFF_NOBODY = "utter_handoff_nobody"
    HANDOFF_OFFER = "utter_handoff_offer"
    HANDOFF_OFFER_UPSET = "utter_handoff_offer_upset"
    HANDOFF_CANCELLED = "utter_handoff_cancelled"
    HANDOFF_BACK = "utter_handoff_back"
    HANDOFF_CSAT = "utter_handoff_csat"
    HANDOFF_CSAT_THANKS = "utter_handoff_csat_thanks"
    HANDOFF_KEPT = "utter_handoff_kept"
    HANDOFF_KEPT_TICKET = "utter_handoff_kept_ticket"


LANGUAGES = ("en", "zh")
