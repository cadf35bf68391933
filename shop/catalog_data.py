"""Reference data the demo-shop generator draws from.

Everything here is plain data: categories, brands, colours, materials and
product-line templates with English and Chinese wording. The generator expands
each template into colour/size/capacity variants.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# key -> (English, Chinese, parent key or None)
CATEGORIES: dict[str, tuple[str, str, str | None]] = {
    "phones": ("phones", "手机", None),
    "headphones": ("headphones", "耳机", None),
    "laptops": ("laptops", "笔记本电脑", None),
    "shoes": ("shoes", "鞋", None),
    "running_shoes": ("running shoes", "跑鞋", "shoes"),
    "sneakers": ("sneakers", "休闲鞋", "shoes"),
    "apparel": ("apparel", "服装", None),
    "t_shirts": ("t-shirts", "T恤", "apparel"),
    "jackets": ("jackets", "夹克", "apparel"),
    "kitchen": ("kitchen", "厨房用品", None),
    "home": ("home", "家居", None),
    "beauty": ("beauty", "美妆", None),
    "toys": ("toys", "玩具", None),
    "groceries": ("groceries", "食品杂货", None),
    "accessories": ("accessories", "配件", None),
    "phone_accessories": ("phone accessories", "手机配件", "accessories"),
    "laptop_accessories": ("laptop accessories", "电脑配件", "accessories"),
}

# Other words customers use for a category, exported as skos:altLabel.
CATEGORY_ALIASES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "phones": (("phone", "smartphone", "smartphones", "mobile phone", "mobile phones",
                "cell phone", "cellphone"), ("智能手机", "电话")),
    "headphones": (("headphone", "earphones", "earbuds", "headset", "speaker", "speakers"),
                   ("耳麦", "蓝牙耳机", "音箱")),
    "laptops": (("laptop", "notebook", "notebooks", "computer", "computers"),
                ("笔记本", "电脑", "笔记本电脑")),
    "shoes": (("shoe", "footwear"), ("鞋子", "鞋")),
    "running_shoes": (("running shoe", "runners", "trainers"), ("跑步鞋", "运动鞋")),
    "sneakers": (("sneaker",), ("板鞋", "休闲鞋")),
    "apparel": (("clothes", "clothing"), ("衣服", "服饰")),
    "t_shirts": (("t-shirt", "tshirt", "tee", "tees", "t shirt"), ("T恤衫", "短袖")),
    "jackets": (("jacket", "coat", "coats", "down jacket"), ("外套", "羽绒服")),
    "kitchen": (("kitchen appliances", "cookware", "coffee machine", "coffee machines",
                 "coffee maker", "coffee makers", "espresso machine", "espresso machines"),
                ("厨具", "咖啡机")),
    "home": (("home appliances", "household", "vacuum", "lamp"), ("家电", "家居用品")),
    "beauty": (("cosmetics", "makeup", "skincare", "lipstick", "face cream", "serum",
                "sunscreen", "moisturiser", "moisturizer"),
               ("化妆品", "护肤品", "口红", "面霜", "精华", "防晒霜", "粉底", "彩妆")),
    "toys": (("toy", "lego sets", "games"), ("玩具",)),
    "groceries": (("grocery", "food", "snacks", "drinks", "coffee"), ("食品", "零食", "咖啡")),
    "accessories": (("accessory",), ("配件",)),
    "phone_accessories": (("phone accessory", "charger", "chargers", "phone case",
                           "phone cases", "case", "cases"), ("充电器", "手机壳")),
    "laptop_accessories": (("laptop accessory", "mouse", "laptop bag", "laptop sleeve"),
                           ("鼠标", "电脑包")),
}

COLOR_ALIASES: dict[str, tuple[str, ...]] = {
    "grey": ("gray",),
    "navy": ("navy blue", "dark blue"),
}

BRANDS: dict[str, tuple[str, str]] = {
    "huawei": ("Huawei", "华为"),
    "xiaomi": ("Xiaomi", "小米"),
    "apple": ("Apple", "苹果"),
    "samsung": ("Samsung", "三星"),
    "oppo": ("OPPO", "OPPO"),
    "vivo": ("vivo", "vivo"),
    "sony": ("Sony", "索尼"),
    "bose": ("Bose", "Bose"),
    "jbl": ("JBL", "JBL"),
    "lenovo": ("Lenovo", "联想"),
    "dell": ("Dell", "戴尔"),
    "nike": ("Nike", "耐克"),
    "adidas": ("Adidas", "阿迪达斯"),
    "li_ning": ("Li-Ning", "李宁"),
    "anta": ("Anta", "安踏"),
    "asics": ("ASICS", "亚瑟士"),
    "new_balance": ("New Balance", "新百伦"),
    "uniqlo": ("Uniqlo", "优衣库"),
    "the_north_face": ("The North Face", "北面"),
    "delonghi": ("De'Longhi", "德龙"),
    "nespresso": ("Nespresso", "奈斯派索"),
    "midea": ("Midea", "美的"),
    "joyoung": ("Joyoung", "九阳"),
    "lodge": ("Lodge", "洛奇"),
    "zwilling": ("Zwilling", "双立人"),
    "dyson": ("Dyson", "戴森"),
    "ikea": ("IKEA", "宜家"),
    "muji": ("Muji", "无印良品"),
    "philips": ("Philips", "飞利浦"),
    "loreal": ("L'Oreal", "欧莱雅"),
    "estee_lauder": ("Estee Lauder", "雅诗兰黛"),
    "shiseido": ("Shiseido", "资生堂"),
    "perfect_diary": ("Perfect Diary", "完美日记"),
    "florasis": ("Florasis", "花西子"),
    "lego": ("LEGO", "乐高"),
    "mattel": ("Mattel", "美泰"),
    "pop_mart": ("Pop Mart", "泡泡玛特"),
    "lavazza": ("Lavazza", "拉瓦萨"),
    "three_squirrels": ("Three Squirrels", "三只松鼠"),
    "yili": ("Yili", "伊利"),
    "nongfu": ("Nongfu Spring", "农夫山泉"),
    "anker": ("Anker", "安克"),
    "spigen": ("Spigen", "Spigen"),
    "logitech": ("Logitech", "罗技"),
    "tomtoc": ("tomtoc", "tomtoc"),
}

COLORS: dict[str, str] = {
    "black": "黑色",
    "white": "白色",
    "red": "红色",
    "blue": "蓝色",
    "green": "绿色",
    "grey": "灰色",
    "silver": "银色",
    "gold": "金色",
    "pink": "粉色",
    "purple": "紫色",
    "yellow": "黄色",
    "brown": "棕色",
    "beige": "米色",
    "navy": "藏青色",
    "orange": "橙色",
}

MATERIALS: dict[str, str] = {
    "glass and aluminium": "玻璃和铝",
    "aluminium": "铝",
    "plastic": "塑料",
    "mesh and rubber": "网布和橡胶",
    "leather": "皮革",
    "suede": "麂皮",
    "cotton": "棉",
    "polyester": "聚酯纤维",
    "nylon and down": "尼龙和羽绒",
    "stainless steel": "不锈钢",
    "cast iron": "铸铁",
    "ceramic": "陶瓷",
    "silicone": "硅胶",
    "glass": "玻璃",
    "paper": "纸",
    "vinyl": "乙烯基",
}


@dataclass(frozen=True)
class Template:
    """A product line that expands into variants.

    Attributes:
        category: Category key.
        brand: Brand key.
        model_en: Model name in English, without the brand.
        model_zh: Model name in Chinese, without the brand.
        price: Base list price in USD.
        material: Material key (see ``MATERIALS``) or ``None``.
        feature_en: One selling point in English.
        feature_zh: The same selling point in Chinese.
        colors: Colour keys the line comes in.
        axis: ``"capacity"`` or ``"size"`` when variants differ in it.
        values: Values of ``axis`` with their price surcharge in USD.
        accessory_for: Group ids of product lines this line is an accessory for.
    """

    category: str
    brand: str
    model_en: str
    model_zh: str
    price: int
    material: str | None
    feature_en: str
    feature_zh: str
    colors: tuple[str, ...]
    axis: str | None = None
    values: tuple[tuple[str, int], ...] = ()
    accessory_for: tuple[str, ...] = field(default=())


PHONE_CAP = (("128GB", 0), ("256GB", 100), ("512GB", 250))
LAPTOP_CAP = (("512GB", 0), ("1TB", 200))
SHOE_SIZES = tuple((f"EU {n}", 0) for n in range(36, 46))
APPAREL_SIZES = (("XS", 0), ("S", 0), ("M", 0), ("L", 0), ("XL", 0), ("XXL", 0))
GA = "glass and aluminium"


def _phone(brand: str, en: str, zh: str, price: int, colors: tuple[str, ...]) -> Template:
    return Template(
        "phones", brand, en, zh, price, GA,
        "a bright OLED display and an all-day battery", "高亮OLED屏幕，续航一整天",
        colors, "capacity", PHONE_CAP,
    )


def _shoe(cat: str, brand: str, en: str, zh: str, price: int, material: str,
          colors: tuple[str, ...]) -> Template:
    feature = ("responsive cushioning for daily runs", "回弹缓震，适合日常跑步") if cat == (
        "running_shoes") else ("a classic low-top look for every day", "经典低帮造型，百搭日常")
    return Template(cat, brand, en, zh, price, material, feature[0], feature[1], colors,
                    "size", SHOE_SIZES)


TEMPLATES: tuple[Template, ...] = (
    # phones
    _phone("huawei", "Mate 60 Pro", "Mate 60 Pro", 899, ("black", "white", "green")),
    _phone("huawei", "Pura 70", "Pura 70", 699, ("black", "white", "pink")),
    _phone("huawei", "nova 12", "nova 12", 349, ("black", "white", "blue")),
    _phone("huawei", "Enjoy 70", "畅享 70", 169, ("black", "white", "green")),
    _phone("xiaomi", "Xiaomi 14", "小米 14", 599, ("black", "white", "green")),
    _phone("xiaomi", "Redmi Note 13", "红米 Note 13", 199, ("black", "blue", "purple")),
    _phone("apple", "iPhone 15", "iPhone 15", 799, ("black", "blue", "pink", "yellow")),
    _phone("apple", "iPhone 15 Pro", "iPhone 15 Pro", 999, ("black", "white", "blue")),
    _phone("samsung", "Galaxy S24", "Galaxy S24", 799, ("black", "grey", "purple")),
    _phone("samsung", "Galaxy A55", "Galaxy A55", 449, ("black", "blue")),
    _phone("oppo", "Find X7", "Find X7", 649, ("black", "blue")),
    _phone("vivo", "X100", "X100", 599, ("black", "orange")),
    _phone("huawei", "Mate X5 Foldable", "Mate X5 折叠屏", 1699, ("black", "green")),
    _phone("xiaomi", "Xiaomi 14 Ultra", "小米 14 Ultra", 899, ("black", "white")),
    _phone("samsung", "Galaxy Z Flip5", "Galaxy Z Flip5", 999, ("grey", "purple", "green")),
    _phone("oppo", "Reno 11", "Reno 11", 399, ("green", "black")),
    _phone("vivo", "Y100", "Y100", 249, ("black", "blue", "pink")),
    # headphones
    *(
        Template("headphones", b, en, zh, p, m, fe, fz, c)
        for b, en, zh, p, m, fe, fz, c in (
            ("sony", "WH-1000XM5 Headphones", "WH-1000XM5 头戴式耳机", 399, "plastic",
             "industry-leading noise cancelling", "业界领先的降噪", ("black", "silver", "blue")),
            ("sony", "WF-1000XM5 Earbuds", "WF-1000XM5 真无线耳机", 299, "plastic",
             "tiny earbuds with strong noise cancelling", "小巧机身，强力降噪",
             ("black", "silver")),
            ("apple", "AirPods Pro 2", "AirPods Pro 2", 249, "plastic",
             "adaptive audio and a USB-C case", "自适应音频，USB-C充电盒", ("white",)),
            ("huawei", "FreeBuds Pro 3", "FreeBuds Pro 3", 199, "plastic",
             "dual-driver sound", "双单元声学", ("white", "green", "silver")),
            ("xiaomi", "Redmi Buds 5", "红米 Buds 5", 39, "plastic",
             "40 hours of playback", "40小时续航", ("black", "white", "blue")),
            ("bose", "QuietComfort Ultra Headphones", "QuietComfort Ultra 头戴式耳机", 429,
             "plastic", "immersive spatial audio", "沉浸式空间音频", ("black", "white")),
            ("jbl", "Tune 520BT", "Tune 520BT 头戴式耳机", 49, "plastic",
             "57 hours of wireless play", "57小时无线播放", ("black", "blue", "purple", "white")),
            ("jbl", "Flip 6 Speaker", "Flip 6 蓝牙音箱", 129, "plastic",
             "a waterproof portable speaker", "防水便携音箱", ("black", "red", "blue", "green")),
        )
    ),
    # laptops
    *(
        Template("laptops", b, en, zh, p, "aluminium", fe, fz, c, "capacity", LAPTOP_CAP)
        for b, en, zh, p, fe, fz, c in (
            ("apple", "MacBook Air 13", "MacBook Air 13", 1099, "a fanless, silent design",
             "无风扇静音设计", ("silver", "grey", "gold")),
            ("apple", "MacBook Pro 14", "MacBook Pro 14", 1599, "a Liquid Retina XDR display",
             "Liquid Retina XDR 显示屏", ("silver", "black")),
            ("lenovo", "ThinkPad X1 Carbon", "ThinkPad X1 Carbon", 1499,
             "a legendary keyboard at 1.1 kg", "经典键盘，仅重1.1公斤", ("black",)),
            ("lenovo", "Legion 5 Gaming Laptop", "拯救者 R7000 游戏本", 1199,
             "an RTX graphics card for gaming", "RTX显卡畅玩游戏", ("grey", "black")),
            ("lenovo", "Xiaoxin Pro 14", "小新 Pro 14", 799, "a 2.8K 120 Hz screen",
             "2.8K 120Hz屏幕", ("grey", "silver")),
            ("huawei", "MateBook 14", "MateBook 14", 999, "a 2.8K touch screen",
             "2.8K触控屏", ("grey", "silver")),
            ("dell", "XPS 13", "XPS 13", 1199, "an edge-to-edge InfinityEdge display",
             "InfinityEdge窄边框屏幕", ("silver", "white")),
            ("xiaomi", "RedmiBook 15", "RedmiBook 15", 549, "a light everyday laptop",
             "轻薄日常办公", ("grey",)),
        )
    ),
    # shoes
    _shoe("running_shoes", "nike", "Pegasus 41 Running Shoes", "Pegasus 41 跑鞋", 130,
          "mesh and rubber", ("black", "white", "blue")),
    _shoe("running_shoes", "adidas", "Ultraboost Light Running Shoes", "Ultraboost Light 跑鞋",
          190, "mesh and rubber", ("black", "white")),
    _shoe("running_shoes", "li_ning", "Feidian 4 Running Shoes", "飞电 4 跑鞋", 90,
          "mesh and rubber", ("white", "red", "black")),
    _shoe("running_shoes", "anta", "C202 Running Shoes", "C202 跑鞋", 70, "mesh and rubber",
          ("red", "black", "white")),
    _shoe("running_shoes", "asics", "Gel-Kayano 31 Running Shoes", "Gel-Kayano 31 跑鞋", 165,
          "mesh and rubber", ("blue", "black")),
    _shoe("running_shoes", "nike", "Revolution 7 Running Shoes", "Revolution 7 跑鞋", 70,
          "mesh and rubber", ("red", "black")),
    _shoe("sneakers", "anta", "KT9 Basketball Shoes", "KT9 篮球鞋", 120, "leather",
          ("white", "black")),
    _shoe("sneakers", "nike", "Air Force 1 Sneakers", "Air Force 1 板鞋", 115, "leather",
          ("white", "black")),
    _shoe("sneakers", "adidas", "Samba OG Sneakers", "Samba OG 德训鞋", 100, "suede",
          ("white", "black", "green")),
    _shoe("sneakers", "new_balance", "574 Sneakers", "574 复古鞋", 90, "suede",
          ("grey", "navy", "beige")),
    # apparel
    *(
        Template(c, b, en, zh, p, m, fe, fz, cols, "size", APPAREL_SIZES)
        for c, b, en, zh, p, m, fe, fz, cols in (
            ("t_shirts", "uniqlo", "U Crew Neck T-Shirt", "U系列圆领T恤", 15, "cotton",
             "a heavyweight cotton tee", "厚实纯棉T恤", ("white", "black", "navy", "beige")),
            ("t_shirts", "nike", "Dri-FIT Training Tee", "Dri-FIT 训练T恤", 30, "polyester",
             "sweat-wicking fabric", "速干排汗面料", ("black", "red", "blue")),
            ("jackets", "the_north_face", "1996 Nuptse Jacket", "1996 Nuptse 羽绒服", 320,
             "nylon and down", "700-fill goose down", "700蓬松度鹅绒", ("black", "yellow")),
            ("jackets", "uniqlo", "Ultra Light Down Jacket", "高级轻型羽绒服", 70,
             "nylon and down", "packs into its own pouch", "可收纳便携",
             ("black", "navy", "beige")),
            ("jackets", "adidas", "Tiro Track Jacket", "Tiro 运动夹克", 65, "polyester",
             "a slim football training fit", "修身足球训练版型", ("black", "navy", "green")),
        )
    ),
    # kitchen
    Template("kitchen", "delonghi", "Dedica Espresso Machine", "Dedica 意式咖啡机", 249,
             "stainless steel", "15-bar pump espresso", "15巴泵压萃取", ("silver", "black", "red")),
    Template("kitchen", "nespresso", "Vertuo Next Coffee Machine", "Vertuo Next 胶囊咖啡机", 179,
             "plastic", "one-touch capsule coffee", "一键胶囊咖啡", ("black", "white", "red")),
    Template("kitchen", "midea", "Smart Rice Cooker", "智能电饭煲", 89, "stainless steel",
             "fuzzy-logic cooking programs", "智能烹饪程序", ("white", "black"), "capacity",
             (("3L", 0), ("5L", 20))),
    Template("kitchen", "joyoung", "Soymilk Maker", "豆浆机", 99, "stainless steel",
             "fresh soymilk in 25 minutes", "25分钟现磨豆浆", ("white",), "capacity",
             (("1.2L", 0), ("1.5L", 15))),
    Template("kitchen", "lodge", "Cast Iron Skillet", "铸铁平底锅", 35, "cast iron",
             "pre-seasoned and oven safe", "预开锅，可进烤箱", ("black",), "size",
             (("25 cm", 0), ("30 cm", 15))),
    Template("kitchen", "zwilling", "Pro Chef's Knife", "Pro 主厨刀", 109, "stainless steel",
             "ice-hardened German steel", "德国冰锻钢", ("silver", "black"), "size",
             (("16 cm", 0), ("20 cm", 20))),
    # home
    Template("home", "dyson", "V15 Detect Vacuum", "V15 Detect 无绳吸尘器", 749, "plastic",
             "a laser that reveals dust", "激光显尘", ("yellow", "purple")),
    Template("home", "xiaomi", "Robot Vacuum S10", "扫地机器人 S10", 299, "plastic",
             "laser navigation and mopping", "激光导航，扫拖一体", ("white", "black")),
    Template("home", "ikea", "Desk Lamp", "台灯", 25, "aluminium", "an adjustable arm",
             "可调节灯臂", ("white", "black", "green")),
    Template("home", "muji", "Aroma Diffuser", "香薰机", 59, "ceramic", "quiet ultrasonic mist",
             "静音超声波雾化", ("white", "brown")),
    Template("home", "philips", "Air Purifier 2000", "空气净化器 2000", 199, "plastic",
             "a HEPA filter for 79 m² rooms", "HEPA滤网，适用79平方米", ("white", "grey")),
    # beauty
    Template("beauty", "loreal", "Revitalift Day Cream", "复颜日霜", 29, None,
             "hyaluronic acid hydration", "玻尿酸保湿", ("white",), "capacity",
             (("50ml", 0), ("75ml", 8))),
    Template("beauty", "estee_lauder", "Advanced Night Repair Serum", "特润修护精华露", 115, None,
             "overnight skin repair", "夜间修护", ("brown",), "capacity",
             (("50ml", 0), ("100ml", 70))),
    Template("beauty", "shiseido", "Ultimate Sun Protector SPF 50+", "新艳阳夏防晒霜 SPF50+", 42,
             None, "water-resistant sun protection", "防水防晒", ("blue",)),
    Template("beauty", "perfect_diary", "Velvet Matte Lipstick", "丝绒雾面口红", 12, None,
             "a long-lasting matte finish", "持久雾面妆效",
             ("red", "pink", "brown", "orange", "purple")),
    Template("beauty", "florasis", "Loose Setting Powder", "空气蜜粉", 30, None,
             "a weightless matte setting powder", "轻盈定妆", ("beige", "white")),
    # toys
    Template("toys", "lego", "Technic Race Car", "机械组赛车", 199, "plastic",
             "a 1,580-piece buildable supercar", "1580块积木超跑", ("red", "yellow", "blue")),
    Template("toys", "lego", "City Fire Station", "城市消防局", 99, "plastic",
             "a fire station with three floors", "三层消防站", ("red",)),
    Template("toys", "mattel", "Barbie Dreamhouse", "芭比梦想豪宅", 179, "plastic",
             "three floors and 75 accessories", "三层楼，75件配件", ("pink",)),
    Template("toys", "mattel", "Hot Wheels Track Set", "风火轮轨道套装", 49, "plastic",
             "a loop-the-loop track", "回旋轨道", ("orange", "blue")),
    Template("toys", "pop_mart", "Molly Blind Box", "Molly 盲盒", 14, "vinyl",
             "a collectible surprise figure", "收藏惊喜手办", ("pink", "white", "blue")),
    # groceries
    Template("groceries", "nespresso", "Vertuo Coffee Capsules", "Vertuo 咖啡胶囊", 12, None,
             "a 10-capsule pack for Vertuo machines", "10颗装，适配Vertuo咖啡机",
             ("black", "gold"), "capacity", (("10 pcs", 0), ("30 pcs", 22)),
             accessory_for=("nespresso-vertuo-next-coffee-machine",)),
    Template("groceries", "lavazza", "Espresso Coffee Beans", "意式咖啡豆", 22, None,
             "medium roast arabica beans", "中度烘焙阿拉比卡豆", ("brown",), "capacity",
             (("500g", 0), ("1kg", 14)),
             accessory_for=("delonghi-dedica-espresso-machine",)),
    Template("groceries", "three_squirrels", "Mixed Nuts", "每日坚果", 15, None,
             "seven kinds of nuts and fruit", "七种坚果果干", ("brown",), "capacity",
             (("750g", 0), ("1.5kg", 12))),
    Template("groceries", "yili", "Pure Milk Case", "纯牛奶整箱", 18, None,
             "24 cartons of whole milk", "24盒全脂纯牛奶", ("white",)),
    Template("groceries", "nongfu", "Natural Spring Water", "天然饮用水", 6, None,
             "24 bottles of spring water", "24瓶天然水", ("white",)),
    # phone accessories
    Template("phone_accessories", "apple", "MagSafe Charger", "MagSafe 充电器", 39, "silicone",
             "snap-on 15 W wireless charging", "磁吸15W无线充电", ("white",),
             accessory_for=("apple-iphone-15", "apple-iphone-15-pro")),
    Template("phone_accessories", "spigen", "Ultra Hybrid Case for iPhone 15",
             "iPhone 15 透明保护壳", 25, "plastic", "a clear drop-tested case", "透明防摔保护壳",
             ("white", "black"), accessory_for=("apple-iphone-15",)),
    Template("phone_accessories", "spigen", "Tough Armor Case for Galaxy S24",
             "Galaxy S24 防摔保护壳", 25, "plastic", "dual-layer protection", "双层防护",
             ("black", "blue"), accessory_for=("samsung-galaxy-s24",)),
    Template("phone_accessories", "huawei", "66W SuperCharge Charger", "66W 超级快充充电器", 39,
             "plastic", "fast charging for Huawei phones", "华为手机超级快充", ("white",),
             accessory_for=("huawei-mate-60-pro", "huawei-pura-70", "huawei-nova-12",
                            "huawei-enjoy-70")),
    Template("phone_accessories", "xiaomi", "67W Fast Charger", "67W 快充充电器", 29, "plastic",
             "fast charging for Xiaomi phones", "小米手机快充", ("white",),
             accessory_for=("xiaomi-xiaomi-14", "xiaomi-redmi-note-13")),
    Template("phone_accessories", "anker", "Nano 20W USB-C Charger", "Nano 20W USB-C 充电器", 19,
             "plastic", "a compact charger for any USB-C phone", "小巧USB-C快充",
             ("white", "black", "blue"),
             accessory_for=("apple-iphone-15", "apple-iphone-15-pro", "samsung-galaxy-s24",
                            "samsung-galaxy-a55", "oppo-find-x7", "vivo-x100")),
    Template("phone_accessories", "anker", "MagGo Power Bank", "MagGo 磁吸充电宝", 69, "plastic",
             "10,000 mAh magnetic power bank", "10000毫安磁吸充电宝", ("black", "white"),
             accessory_for=("apple-iphone-15", "apple-iphone-15-pro")),
    # laptop accessories
    Template("laptop_accessories", "logitech", "MX Master 3S Mouse", "MX Master 3S 鼠标", 99,
             "plastic", "quiet clicks and an 8K DPI sensor", "静音点击，8K DPI", ("grey", "black"),
             accessory_for=("apple-macbook-air-13", "apple-macbook-pro-14",
                            "lenovo-thinkpad-x1-carbon", "dell-xps-13", "huawei-matebook-14")),
    Template("laptop_accessories", "tomtoc", "360 Protective Laptop Sleeve 14-inch",
             "14英寸360°防护电脑内胆包", 29, "polyester", "corner armor protection", "四角防护",
             ("black", "grey", "blue"),
             accessory_for=("apple-macbook-pro-14", "lenovo-xiaoxin-pro-14", "huawei-matebook-14",
                            "lenovo-thinkpad-x1-carbon")),
    Template("laptop_accessories", "anker", "7-in-1 USB-C Hub", "七合一 USB-C 扩展坞", 39,
             "aluminium", "HDMI, SD and USB ports in one", "HDMI、SD与USB接口", ("grey",),
             accessory_for=("apple-macbook-air-13", "apple-macbook-pro-14", "dell-xps-13",
                            "huawei-matebook-14", "lenovo-xiaoxin-pro-14")),
)

FIRST_NAMES_EN = ("Alice", "Ben", "Chloe", "Daniel", "Emma", "Felix", "Grace", "Henry",
                  "Isla", "Jack", "Kate", "Liam", "Mia", "Noah", "Olivia", "Peter", "Ruby",
                  "Sam", "Tara", "Umar")
LAST_NAMES_EN = ("Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Thomas", "Clark",
                 "Walker", "Wright", "Green", "Hall")
SURNAMES_ZH = (("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
               ("杨", "yang"), ("赵", "zhao"), ("黄", "huang"), ("周", "zhou"), ("吴", "wu"))
GIVEN_ZH = (("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"),
            ("磊", "lei"), ("洋", "yang"), ("婷", "ting"), ("杰", "jie"), ("欣", "xin"))
CARRIERS = ("UPS", "FedEx", "DHL", "SF Express")
