"""The desk's words in English and Chinese, for agents (the customer's language is the
conversation's; the agent's is their own choice).

An agent's language is ``?lang=en|zh`` on a page (kept in a cookie), else the cookie,
else the browser's ``Accept-Language``. The pages get :data:`STRINGS` of that language
(the templates by name, ``desk.js`` as JSON in a data attribute). Intents are shown by
what the customer asked for, never by their internal names.
"""

from __future__ import annotations

from typing import Any

LANGUAGES = ("en", "zh")
COOKIE = "desk_lang"

STRINGS: dict[str, dict[str, Any]] = {
    "en": {
        "title": "Agent desk", "sign_in": "Sign in", "user_name": "User name",
        "password": "Password", "expired": "Your sign-in page expired. Please try again.",
        "wrong": "Wrong user name or password (or too many tries: wait 15 minutes).",
        "connecting": "connecting…", "live": "live", "reconnecting": "reconnecting…",
        "available": "Available", "sign_out": "Sign out", "queue": "Queue",
        "conversation": "Conversation", "context": "Context",
        "pick": "Pick a conversation from the queue.", "claim": "Claim",
        "transfer_to": "Transfer to", "transfer": "Transfer",
        "customer_typing": "The customer is typing…", "write": "Write to the customer…",
        "as_note": "Internal note (the customer never sees it)",
        "canned": "Canned responses…", "canned_label": "Canned responses", "send": "Send",
        "find_product": "Find a product to send…", "product_search": "Product search",
        "search": "Search", "summary": "Summary for the handback (optional)",
        "summary_label": "Handback summary", "handback": "Hand back to the assistant",
        "manage_canned": "Manage canned responses", "language": "Language",
        "canned_title": "Title", "canned_text": "Text ({agent} is your name)", "add": "Add",
        "other_language": "中文", "other_code": "zh",
        # desk.js
        "customer": "Customer", "agent": "Agent", "notice": "Notice",
        "assistant": "Assistant", "to_person": "to a person", "photo": "customer's photo",
        "cards": "Cards: ", "note": "Note", "out_of_stock": " (out of stock)",
        "list": "list", "coupon": "coupon", "shop_price": "shop", "no_segment": "no segment",
        "not_signed_in": "not signed in", "language_channel": "Language · channel",
        "reason": "Reason", "open_order": "Open order", "orders": "Orders",
        "product": "Product under discussion", "shown": "Products shown",
        "quotes": "Price quotes and coupons", "photos": "Photos", "history": "History",
        "none": "none", "waiting": "waiting", "ticket": "ticket", "offline": "offline",
        "delete": "Delete", "send_card": "Send card", "no_product": "No product found.",
        "delivered": "delivered", "undelivered": "not delivered", "sending": "sending…",
        "retry": "Retry",
        "states": {"waiting": "waiting", "assigned": "assigned", "resolved": "resolved",
                   "cancelled": "cancelled"},
        "reasons": {"asked": "asked for a person", "fallbacks": "not understood",
                    "failures": "look-ups failed", "upset": "upset", "photo": "photo",
                    "repeats": "repeated"},
        "in_language": {"en": "English", "zh": "Chinese"},
        "roles": {"agent": "agent", "supervisor": "supervisor"},
        "actors": {"customer": "customer", "system": "system"},
        "actions": {"requested": "asked for a person", "claimed": "took it",
                    "assigned": "was assigned", "transferred": "transferred it",
                    "replied": "replied", "noted": "wrote a note",
                    "customer_message": "wrote", "cancelled": "cancelled",
                    "handed_back": "handed it back", "timed_out": "waited too long",
                    "rated": "rated"},
        "intents": {
            "greet": "greeting", "goodbye": "goodbye", "thank": "thanks", "affirm": "yes",
            "deny": "no / never mind", "bot_challenge": "asks if it's a bot",
            "ask_why_needed": "asks why details are needed",
            "out_of_scope": "outside the shop", "unsupported_language": "other language",
            "search_products": "product search", "ask_price": "price question",
            "ask_discount": "discount question", "negotiate_price": "haggling",
            "ask_color": "colour question", "ask_material": "material question",
            "ask_stock": "stock question", "ask_details": "details question",
            "compare_products": "comparison", "ask_accessories": "accessories",
            "ask_recommendation": "recommendation", "ask_similar": "similar products",
            "ask_complements": "goes with", "pick_recommendation": "picked a suggestion",
            "share_image": "photo", "follow_up": "follow-up",
            "check_order_status": "order status", "cancel_order": "cancel an order",
            "return_order": "return an order", "ask_return_policy": "return window",
            "inform": "order details",
            "human_handoff": "asked for a person", "rate_handoff": "rating",
            "nlu_fallback": "not understood"},
    },
    "zh": {
        "title": "客服工作台", "sign_in": "登录", "user_name": "用户名", "password": "密码",
        "expired": "登录页已过期，请重试。",
        "wrong": "用户名或密码错误（或尝试次数过多：请等待 15 分钟）。",
        "connecting": "连接中…", "live": "已连接", "reconnecting": "重新连接中…",
        "available": "接待中", "sign_out": "退出", "queue": "队列", "conversation": "对话",
        "context": "背景信息", "pick": "请从队列中选择一个对话。", "claim": "接入",
        "transfer_to": "转给", "transfer": "转接", "customer_typing": "顾客正在输入…",
        "write": "回复顾客…", "as_note": "内部备注（顾客看不到）", "canned": "快捷回复…",
        "canned_label": "快捷回复", "send": "发送", "find_product": "查找要发送的商品…",
        "product_search": "商品搜索", "search": "搜索", "summary": "交还时的小结（可选）",
        "summary_label": "交还小结", "handback": "交还给智能助手",
        "manage_canned": "管理快捷回复", "language": "语言", "canned_title": "标题",
        "canned_text": "内容（{agent} 代表你的名字）", "add": "添加",
        "other_language": "English", "other_code": "en",
        "customer": "顾客", "agent": "客服", "notice": "通知", "assistant": "智能助手",
        "to_person": "发给人工", "photo": "顾客的照片", "cards": "商品卡片：", "note": "备注",
        "out_of_stock": "（缺货）", "list": "标价", "coupon": "优惠券", "shop_price": "店铺",
        "no_segment": "无分群", "not_signed_in": "未登录", "language_channel": "语言 · 渠道",
        "reason": "原因", "open_order": "当前订单", "orders": "订单",
        "product": "正在讨论的商品", "shown": "已展示的商品", "quotes": "报价和优惠券",
        "photos": "照片", "history": "记录", "none": "无", "waiting": "已等待",
        "ticket": "工单", "offline": "离线", "delete": "删除", "send_card": "发送卡片",
        "no_product": "未找到商品。", "delivered": "已送达", "undelivered": "未送达",
        "sending": "发送中…", "retry": "重试",
        "states": {"waiting": "等待中", "assigned": "已接入", "resolved": "已交还",
                   "cancelled": "已取消"},
        "reasons": {"asked": "要求人工", "fallbacks": "未能理解", "failures": "查询失败",
                    "upset": "情绪不满", "photo": "照片", "repeats": "重复提问"},
        "in_language": {"en": "英文", "zh": "中文"},
        "roles": {"agent": "客服", "supervisor": "主管"},
        "actors": {"customer": "顾客", "system": "系统"},
        "actions": {"requested": "请求人工", "claimed": "接入", "assigned": "被分配",
                    "transferred": "转接", "replied": "回复", "noted": "写了备注",
                    "customer_message": "留言", "cancelled": "取消", "handed_back": "交还",
                    "timed_out": "等待超时", "rated": "评价"},
        "intents": {
            "greet": "问候", "goodbye": "告别", "thank": "感谢", "affirm": "肯定",
            "deny": "否定 / 算了", "bot_challenge": "问是否机器人",
            "ask_why_needed": "问为何需要信息", "out_of_scope": "与本店无关",
            "unsupported_language": "其他语言", "search_products": "找商品",
            "ask_price": "问价格", "ask_discount": "问优惠", "negotiate_price": "讲价",
            "ask_color": "问颜色", "ask_material": "问材质", "ask_stock": "问库存",
            "ask_details": "问详情", "compare_products": "比较商品",
            "ask_accessories": "问配件", "ask_recommendation": "要推荐",
            "ask_similar": "类似商品", "ask_complements": "搭配商品",
            "pick_recommendation": "选了推荐", "share_image": "照片", "follow_up": "追问",
            "check_order_status": "查订单", "cancel_order": "取消订单",
            "return_order": "退货", "ask_return_policy": "退货期限", "inform": "提供订单信息",
            "human_handoff": "要求人工",
            "rate_handoff": "评价", "nlu_fallback": "未能理解"},
    },
}


def pick_language(*, asked: str | None, cookie: str | None, accept: str | None) -> str:
    """The agent's language: asked for now, kept in the cookie, or the browser's."""
    for choice in (asked, cookie):
        if choice in LANGUAGES:
            return str(choice)
    first = (accept or "").split(",")[0].strip().lower()
    return "zh" if first.startswith("zh") else "en"
