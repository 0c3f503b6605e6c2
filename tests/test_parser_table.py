"""Table of single resident messages and what each one means (spec: ../shared/spec/jielong.md §3).

Each row is ``(text, expected)``:
  - a dict item code -> qty: the message orders exactly that, and is neither unclear nor refused;
  - ``"unclear"``: nothing is ordered and the message is listed in ``unclear``;
  - ``"ignored"``: not an order: nothing ordered, not in ``unclear`` nor ``refused``;
  - ``("unclear", {...})``: a clear pair is ordered AND the message is listed in ``unclear`` (§3.2).

Every row is sent by a resident who has ordered nothing before, so a change of nothing is "ignored"
(§3.6 'A cancel or decrease of what the sender does not have changes nothing and is not unclear').

To stay fast, all rows of one catalog are replayed as ONE transcript: row i is message ``m<i>`` in chat
``<i>`` from sender ``s<i>``, and the result is compared chat by chat.
"""

from __future__ import annotations

import functools
import json
import subprocess
import tempfile
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.replaytool import to_toml, tuan_cmd

U, IG = "unclear", "ignored"

# --- catalogs ----------------------------------------------------------------------------------------------------------
CATALOGS = {
    # the catalog of the shared cases
    "fruit3": {
        "items": [
            {
                "code": "1",
                "name": "阳光玫瑰葡萄 2斤装",
                "unit": "盒",
                "price": "29.9",
                "aliases": ["葡萄", "阳光玫瑰"],
            },
            {"code": "2", "name": "赣南脐橙 5斤", "unit": "箱", "price": "25.8", "aliases": ["脐橙", "橙子"]},
            {"code": "3", "name": "土鸡蛋 30枚", "unit": "盒", "price": "32", "aliases": ["鸡蛋"]},
        ]
    },
    # a one-item deal
    "single": {
        "items": [
            {"code": "1", "name": "百香果 5斤", "unit": "箱", "price": "39.9", "aliases": ["百香果"]},
        ]
    },
    # two oranges, an apple whose name shares 阿 with 刘阿姨, a chicken
    "oranges": {
        "items": [
            {"code": "1", "name": "赣南脐橙", "unit": "箱", "price": "25.8", "aliases": []},
            {"code": "2", "name": "塔罗科血橙", "unit": "箱", "price": "36", "aliases": []},
            {"code": "3", "name": "阿克苏苹果", "unit": "箱", "price": "45", "aliases": []},
            {"code": "4", "name": "散养土鸡", "unit": "只", "price": "88", "aliases": []},
        ]
    },
    # a citrus deal sold by the 斤, two apples sharing 苹果, a cola with its spec in the name
    "citrus": {
        "items": [
            {"code": "1", "name": "广西砂糖桔", "unit": "斤", "price": "4.5", "aliases": ["砂糖桔"]},
            {"code": "2", "name": "四川贡柑", "unit": "斤", "price": "6", "aliases": ["贡柑"]},
            {"code": "3", "name": "烟台红富士 苹果", "unit": "箱", "price": "45", "aliases": []},
            {"code": "4", "name": "阿克苏 苹果", "unit": "箱", "price": "55", "aliases": []},
            {"code": "5", "name": "可乐550ml*24瓶", "unit": "箱", "price": "52", "aliases": []},
        ]
    },
}

# --- rows: the 3-item catalog (1 葡萄, 2 橙子, 3 鸡蛋) ---------------------------------------------------------------
FRUIT3 = [
    # §3.2 short style: one entry, one or more (item, quantity) pairs, optional label
    ("葡萄2", {"1": 2}),
    ("葡萄 2", {"1": 2}),
    ("葡萄2盒", {"1": 2}),
    ("要一盒葡萄", {"1": 1}),
    ("要两盒鸡蛋", {"3": 2}),
    ("1号2份 3号1份", {"1": 2, "3": 1}),
    ("葡萄两盒,橙子一箱", {"1": 2, "2": 1}),
    ("脐橙一箱，鸡蛋两盒", {"2": 1, "3": 2}),
    ("葡萄2；橙子1", {"1": 2, "2": 1}),
    ("葡萄2、鸡蛋1", {"1": 2, "3": 1}),
    ("葡萄1 鸡蛋2 橙子3", {"1": 1, "3": 2, "2": 3}),
    ("王姐 3-402 葡萄x2", {"1": 2}),
    ("3栋402 王姐 葡萄1", {"1": 1}),
    ("🌸Lily 7栋 橙子两箱", {"2": 2}),
    ("帮3栋李奶奶 鸡蛋1", {"3": 1}),
    ("葡萄\n鸡蛋2", {"1": 1, "3": 2}),
    ("葡萄1盒，谢谢团长", {"1": 1}),
    # §3.5 'No quantity means 1'
    ("5栋 李阿姨 鸡蛋", {"3": 1}),
    ("3栋402 葡萄", {"1": 1}),
    # §3.4 codes with a mark: 1号, #1, ①, 一号 (in a short reply ③ names an item)
    ("1号2份", {"1": 2}),
    ("#2 x3", {"2": 3}),
    ("#1 2盒", {"1": 2}),
    ("#3两盒", {"3": 2}),
    ("一号两盒", {"1": 2}),
    ("三号1盒", {"3": 1}),
    ("3号 x2", {"3": 2}),
    ("2号一箱", {"2": 1}),
    ("鸡蛋1，②两箱", {"3": 1, "2": 2}),
    ("葡萄1 ③2", {"1": 1, "3": 2}),
    # §3.4 'a bare 1 is never a code'
    ("鸡蛋 2", {"3": 2}),
    ("要1盒鸡蛋", {"3": 1}),
    ("葡萄 3", {"1": 3}),
    ("橙子 1", {"2": 1}),
    # §3.4 name, alias, or a part of the name that picks out one item alone
    ("阳光玫瑰1盒", {"1": 1}),
    ("玫瑰2", {"1": 2}),
    ("阳光玫瑰葡萄 2斤装 x2", {"1": 2}),
    ("阳光玫瑰葡萄2盒", {"1": 2}),
    ("赣南脐橙1箱", {"2": 1}),
    ("赣南2箱", {"2": 2}),
    ("土鸡蛋3盒", {"3": 3}),
    ("橙1", {"2": 1}),
    ("脐橙x2", {"2": 2}),
    ("橙子1", {"2": 1}),
    # §3.4 a reference that fits none is unclear; §3.2 a clear pair still orders
    ("草莓2", U),
    ("榴莲1个", U),
    ("车厘子两斤", U),
    ("葡萄2 草莓1", (U, {"1": 2})),
    # §3.4 各
    ("葡萄、鸡蛋各2", {"1": 2, "3": 2}),
    ("葡萄、橙子、鸡蛋各一", {"1": 1, "2": 1, "3": 1}),
    ("1号、3号各2份", {"1": 2, "3": 2}),
    ("葡萄、草莓各2", (U, {"1": 2})),
    # §3.4 +1 alone with several items is unclear; §3.5 '+2 (after an item)'
    ("+1", U),
    ("+2", U),
    ("葡萄+1", {"1": 1}),
    ("鸡蛋+2", {"3": 2}),
    ("橙子+2", {"2": 2}),
    # §3.4 label only / quantity without item, several items: unclear
    ("3栋402 王姐", U),
    ("钟予馨2箱", U),
    ("9-1-302 1盒", U),
    ("5号楼2单元 李阿姨", U),
    ("阿强 3-402", U),
    ("3#402 2份", U),
    ("3栋402 +1", U),
    # §3.5 numerals
    ("葡萄两盒", {"1": 2}),
    ("葡萄二", {"1": 2}),
    ("葡萄三盒", {"1": 3}),
    ("葡萄一盒", {"1": 1}),
    ("鸡蛋十二盒", {"3": 12}),
    ("鸡蛋十盒", {"3": 10}),
    ("鸡蛋二十盒", {"3": 20}),
    ("葡萄 2份", {"1": 2}),
    ("橙子x2", {"2": 2}),
    ("橙子×2", {"2": 2}),
    ("橙子*2", {"2": 2}),
    ("橙子X2", {"2": 2}),
    ("橙子 x2", {"2": 2}),
    ("鸡蛋 ×3", {"3": 3}),
    ("鸡蛋3️⃣", {"3": 3}),
    ("葡萄2️⃣盒", {"1": 2}),
    ("葡萄２盒", {"1": 2}),
    ("葡萄１２", {"1": 12}),
    # §3.5 numbers in labels, phones, times and names are not quantities
    ("9-1-302 阿强 鸡蛋2盒 电话13812345678", {"3": 2}),
    ("5号楼2单元 李阿姨 脐橙1箱 明天下午3点来取", {"2": 1}),
    ("3#402 葡萄1", {"1": 1}),
    ("3#402 阳光玫瑰葡萄 2斤装 x2", {"1": 2}),
    ("2号楼3单元501 鸡蛋1", {"3": 1}),
    ("1号楼 王姐 鸡蛋2", {"3": 2}),
    ("3-402 橙子2", {"2": 2}),
    ("葡萄1，18:30后取", {"1": 1}),
    ("鸡蛋2 13912345678", {"3": 2}),
    ("葡萄2 明天下午3点取", {"1": 2}),
    ("３栋４０２ 葡萄１", {"1": 1}),
    ("9-1-302 葡萄", {"1": 1}),
    ("王姐 402 葡萄2", {"1": 2}),
    ("王姐402 葡萄2", {"1": 2}),
    ("李阿姨1201 鸡蛋1", {"3": 1}),
    ("B座1203 葡萄2", {"1": 2}),
    ("尾号5678 葡萄2", {"1": 2}),
    ("138 1234 5678 葡萄2", {"1": 2}),
    ("葡萄2 周六取", {"1": 2}),
    ("葡萄2 8:30取", {"1": 2}),
    ("301 葡萄2", {"1": 2}),
    ("王姐301 葡萄2", {"1": 2}),
    ("3幢2-402 鸡蛋1", {"3": 1}),
    # §3.4 codes right after a building/room label
    ("3栋402 2号1箱", {"2": 1}),
    ("3#402 #1 x2", {"1": 2}),
    ("9-1-302 #3 2盒", {"3": 2}),
    ("5号楼2单元 一号两盒", {"1": 2}),
    # §3.5 the spec inside a name, also after an alias or a part of the name
    ("鸡蛋30枚 2盒", {"3": 2}),
    ("鸡蛋 30枚 x2", {"3": 2}),
    ("鸡蛋30枚", {"3": 1}),
    ("脐橙 5斤 x2", {"2": 2}),
    ("葡萄 2斤装 3盒", {"1": 3}),
    ("土鸡蛋 30枚 x2", {"3": 2}),
    # §3.4 a longer part of the name is one reference
    ("玫瑰葡萄2盒", {"1": 2}),
    ("玫瑰葡萄", {"1": 1}),
    # §3.5 an Arabic numeral after the item, with a colon
    ("葡萄:2", {"1": 2}),
    ("葡萄：2盒", {"1": 2}),
    # §3.5 a quantity that is not a positive whole number is unclear
    ("葡萄半盒", U),
    ("葡萄半斤", U),
    ("橙子1.5箱", U),
    ("鸡蛋0", U),
    ("葡萄0.5", U),
    ("葡萄2 鸡蛋1.5", (U, {"1": 2})),
    ("橙子半箱，葡萄1", (U, {"1": 1})),
    ("葡萄一盒半", U),
    ("葡萄两盒半", U),
    ("葡萄1/2盒", U),
    ("鸡蛋2.5盒", U),
    # §3.6 changes by a sender with nothing yet: 改成 sets the total 'whether or not the sender had any'
    ("葡萄改成3", {"1": 3}),
    ("葡萄改3盒", {"1": 3}),
    ("橙子换成2箱", {"2": 2}),
    # §3.6 cancels / decreases of nothing change nothing and are not unclear; 改成0 cancels
    ("葡萄改成0", IG),
    ("葡萄不要了", IG),
    ("取消葡萄", IG),
    ("鸡蛋取消", IG),
    ("取消", IG),
    ("不要了", IG),
    ("我的取消", IG),
    ("葡萄减1", IG),
    ("葡萄-1", IG),
    # §3.7 questions: a clause that asks is ignored
    ("葡萄甜吗?", IG),
    ("几点到?", IG),
    ("还有橙子吗", IG),
    ("葡萄甜不甜", IG),
    ("葡萄多少钱一盒", IG),
    ("鸡蛋什么时候到", IG),
    ("橙子怎么卖", IG),
    ("有没有鸡蛋", IG),
    ("葡萄还有吗？", IG),
    ("葡萄2盒可以吗", IG),
    ("鸡蛋2盒 几点到", IG),
    ("葡萄能不能便宜点", IG),
    ("橙子是不是赣南的", IG),
    ("我的呢", IG),
    ("葡萄要不要冷藏?", IG),
    ("葡萄2?", IG),
    ("鸡蛋2盒？", IG),
    ("葡萄能改成3吗", IG),
    ("可以取消吗？", IG),
    # §3.7 clause by clause: the other clauses still count
    ("葡萄2,几点到?", {"1": 2}),
    ("鸡蛋2盒，葡萄甜不甜", {"3": 2}),
    ("橙子1箱；能不能送到5栋？", {"2": 1}),
    ("明天几点取？葡萄1", {"1": 1}),
    ("鸡蛋2,橙子要不要?", {"3": 2}),
    ("葡萄1。橙子甜吗", {"1": 1}),
    ("葡萄2！几点截单", {"1": 2}),
    ("橙子还有吗？有的话橙子1箱", {"2": 1}),
    # §3.7 thanks, greetings, emoji, pickup chatter
    ("谢谢团长👍", IG),
    ("🍇🍇🍇", IG),
    ("已取", IG),
    ("到了吗", IG),
    ("好的👌", IG),
    ("收到，谢谢团长！", IG),
    ("早上好☀️", IG),
    ("🙏🙏", IG),
    ("已取，谢谢", IG),
    ("👍", IG),
    ("晚上好", IG),
    # §3.7 what the platform adds: a WeChat quote counts only for its reply part
    ("「王姐：葡萄2」\n- - - - - - - - - - - - - - -\n我也要葡萄1", {"1": 1}),
    ("「阿强：鸡蛋3盒 橙子1」\n- - - - - - - - - - - - - - -\n橙子2", {"2": 2}),
    ("「团长小美：#接龙 今日水果\n1. 王姐 葡萄1」\n- - - - - - - - - - - - - - -\n鸡蛋1", {"3": 1}),
    ("「王姐：葡萄2」\n- - - - - - - - - - - - - - -\n几点到?", IG),
    # §3.7 platform notices are never orders
    ('"阿强" 拍了拍 "团长小美"', IG),
    ('"王姐"邀请"3栋402李阿姨"加入了群聊', IG),
    ('"7栋1202小陈"通过扫描"团长小美"分享的二维码加入群聊', IG),
    ('"葡萄2号"撤回了一条消息', IG),
    ('"团长小美"修改群名为"幸福里3期 葡萄2团"', IG),
    ("[红包]恭喜发财，大吉大利", IG),
    ("[转账]向你转账59.8元", IG),
    # §3.7 an @mention is an address, not order text
    ("@小美2号团长 葡萄1", {"1": 1}),
    ("@小美2号团长\u2005葡萄1", {"1": 1}),
    ("@团长小美 @3号楼王姐 鸡蛋2", {"3": 2}),
    ("葡萄2 @团长小美", {"1": 2}),
    # §3.7 a reply that only points at someone else's order is unclear
    ("同上", U),
    ("跟楼上一样", U),
    ("我也是", U),
    ("我也要一样的", U),
    ("3栋402 同上", U),
    ("一样，谢谢团长", U),
    ("我也要葡萄1", {"1": 1}),
    # §3.5 a quantity that cannot be read whole, or above max_line_qty (99), is unclear
    ("葡萄一万", U),
    ("葡萄 x 3000", U),
    ("葡萄999999999", U),
    ("要1234567盒葡萄", U),
    # a phone number right after an item is a phone, not a quantity (and never echoed whole)
    ("葡萄13912345678", {"1": 1}),
    ("葡萄 电话13800138000 2盒", {"1": 2}),
    ("葡萄13912345678 2盒", {"1": 2}),
    # a number written against the item's tail or after 也要 is its quantity, never a silent 1
    ("葡萄也要2", {"1": 2}),
    ("葡萄的2", {"1": 2}),
    ("葡萄子2", {"1": 2}),
    ("葡萄 那个 2", U),  # a number tied to no item: asked about, not 1
    # the spec of a name written again beside it is no quantity (§3.5): 30枚 of 土鸡蛋 30枚
    ("鸡蛋三十枚", {"3": 1}),
    ("鸡蛋 30枚 2盒", {"3": 2}),  # a long run before a measure word is a count, not a phone number
    ("1234567盒葡萄", U),
    ("葡萄1234567盒", U),
    ("葡萄×1234567", U),
    ("葡萄十万八千", U),
    ("葡萄两千万", U),
    ("葡萄一万亿盒", U),
    ("葡萄3万", U),
    ("鸡蛋一百盒", U),
    ("橙子x100", U),
    ("葡萄99", {"1": 99}),
    ("鸡蛋九十九盒", {"3": 99}),
    ("葡萄1" + "1" * 4000, U),
    ("葡萄2 鸡蛋500", (U, {"1": 2})),
    # §3.5 a quantity before its item
    ("2盒葡萄 1箱橙子", {"1": 2, "2": 1}),
    ("3栋402 2葡萄", {"1": 2}),
    # §3.6 a change without an item by a sender with nothing: unclear
    ("改成3", U),
    ("再加1", U),
    ("减1", U),
]

# --- rows: a one-item deal (1 百香果) ---------------------------------------------------------------------------------
SINGLE = [
    # §3.4 '+1 alone names the only item of a one-item deal'
    ("+1", {"1": 1}),
    ("+2", {"1": 2}),
    ("+3", {"1": 3}),
    ("3栋402 王姐 +1", {"1": 1}),
    # §3.4 a short reply holding a building or room is a label: one of the item
    ("3栋101 李阿姨", {"1": 1}),
    ("3栋402 王姐", {"1": 1}),
    ("阿强 3-402", {"1": 1}),
    ("5号楼2单元 陈阿姨", {"1": 1}),
    ("3#402 小陈 13812345678", {"1": 1}),
    ("9-1-302 赵磊", {"1": 1}),
    # §3.4 a quantity but no item: that many of it
    ("钟予馨2箱", {"1": 2}),
    ("9-1-302 1盒", {"1": 1}),
    ("王姐 3栋402 2箱", {"1": 2}),
    ("9-1-302 赵磊 2箱", {"1": 2}),
    ("要两箱", {"1": 2}),
    # names, codes, numerals
    ("百香果2", {"1": 2}),
    ("百香果两箱", {"1": 2}),
    ("1号3箱", {"1": 3}),
    ("#1 x2", {"1": 2}),
    ("百香果 5斤 x2", {"1": 2}),
    ("要两箱百香果", {"1": 2}),
    ("李阿姨 百香果１箱", {"1": 1}),
    ("百香果3️⃣", {"1": 3}),
    ("百香果十二箱", {"1": 12}),
    ("百香果+1", {"1": 1}),
    ("百香果改成2", {"1": 2}),
    # §3.5 bad quantities
    ("百香果半箱", U),
    ("百香果0", U),
    ("百香果1.5箱", U),
    # §3.7 clause by clause, chatter, questions
    ("百香果2,几点到?", {"1": 2}),
    ("+1，明天几点取？", {"1": 1}),
    ("百香果甜吗", IG),
    ("百香果酸不酸", IG),
    ("有没有百香果", IG),
    ("+1?", IG),
    ("谢谢", IG),
    ("几点到", IG),
    ("👍", IG),
    ("收到", IG),
    # §3.6 cancel of nothing
    ("取消", IG),
    ("百香果不要了", IG),
    # §3.7 notices whose nickname holds a room are no label-only order
    ('"5-1-301阿强" 拍了拍 "团长小美"', IG),
    ('"7栋1202小陈"通过扫描"团长小美"分享的二维码加入群聊', IG),
    ('"团长小美"邀请"3栋402王姐"加入了群聊', IG),
    ('"3栋402王姐"撤回了一条消息', IG),
    ("同上", U),
    ("3栋402 王姐 同上", U),
    ("@3栋402王姐 几点到?", IG),
    # §3.5 large quantities
    ("百香果一千箱", U),
    ("+1000", U),
    # §3.6 a change without an item in a one-item deal is about that item
    ("改成2", {"1": 2}),
]

# --- rows: 1 赣南脐橙, 2 塔罗科血橙, 3 阿克苏苹果, 4 散养土鸡 ----------------------------------------------------
ORANGES = [
    # §3.4 a part that fits two items is unclear
    ("橙1", U),
    ("橙2箱", U),
    ("要两箱橙", U),
    ("橙2 苹果1", (U, {"3": 1})),
    # §3.4 橙子 / 鸡蛋 are no part of any name here (a single character counts only standing alone)
    ("橙子1", U),
    ("鸡蛋2", U),
    # §3.4 unique parts, at least two characters
    ("血橙2", {"2": 2}),
    ("脐橙1", {"1": 1}),
    ("苹果2", {"3": 2}),
    ("阿克苏1箱", {"3": 1}),
    ("阿克苏 2箱", {"3": 2}),
    ("阿克苏苹果两箱", {"3": 2}),
    ("塔罗科血橙1箱", {"2": 1}),
    ("塔罗科1", {"2": 1}),
    ("赣南1 塔罗科1", {"1": 1, "2": 1}),
    ("土鸡1", {"4": 1}),
    ("散养土鸡 x2", {"4": 2}),
    # §3.4 one character standing alone as a word
    ("要一只鸡", {"4": 1}),
    ("鸡2只", {"4": 2}),
    ("鸡1 苹果1", {"4": 1, "3": 1}),
    ("脐橙1 血橙1 苹果1 鸡1", {"1": 1, "2": 1, "3": 1, "4": 1}),
    # §3.4 names of people (刘阿姨) do not order 阿克苏
    ("刘阿姨 血橙1", {"2": 1}),
    ("苏阿姨 要一只鸡", {"4": 1}),
    ("刘阿姨 3栋 脐橙2", {"1": 2}),
    ("橙橙妈 苹果1", {"3": 1}),
    ("刘阿姨 +1", U),
    ("3栋 刘阿姨", U),
    # codes, 各
    ("4号2只", {"4": 2}),
    ("#3 x1", {"3": 1}),
    ("血橙、脐橙各1", {"1": 1, "2": 1}),
    # quantities, questions
    ("苹果1.5箱", U),
    ("苹果甜不甜", IG),
    ("血橙还有吗", IG),
    ("血橙2，苹果多少钱？", {"2": 2}),
    ("血橙不要了", IG),
    # §3.4 a written name holding a unique part is one reference; leftovers are not read again
    ("刘阿姨血橙1", {"2": 1}),
    ("大血橙2", {"2": 2}),
    ("赣南大脐橙1箱", {"1": 1}),
]

# --- rows: 1 砂糖桔 (sold by the 斤), 2 贡柑, 3 烟台红富士 苹果, 4 阿克苏 苹果, 5 可乐 ---------------------------------------
CITRUS = [
    # §3.5 quantity before its item; a clause starting with a quantity: each number belongs to the item after it
    ("2桔", {"1": 2}),
    ("两斤砂糖桔", {"1": 2}),
    ("1贡3桔", {"2": 1, "1": 3}),
    ("王姐 2贡", {"2": 2}),
    ("3栋402 2贡柑", {"2": 2}),
    ("贡柑2 砂糖桔3", {"2": 2, "1": 3}),
    ("要3斤桔", {"1": 3}),
    # §3.5 x12 after a name that ends in its own spec is the quantity
    ("可乐550ml*24瓶 x2", {"5": 2}),
    ("可乐550ml*24瓶x3", {"5": 3}),
    ("可乐 550ml*24瓶 ×2", {"5": 2}),
    # §3.4 a unique part followed by a word two items share is one reference
    ("红富士苹果2", {"3": 2}),
    ("红富士 苹果2", {"3": 2}),
    ("阿克苏苹果1箱", {"4": 1}),
    ("苹果2", U),
    ("红富士1 阿克苏1", {"3": 1, "4": 1}),
]

TABLES = {"fruit3": FRUIT3, "single": SINGLE, "oranges": ORANGES, "citrus": CITRUS}

NAMES = ["王姐", "阿强", "李阿姨", "小陈", "Tom", "🌸Lily", "赵磊", "钟予馨", "刘阿姨", "张叔", "Amy", "陈姐"]


# --- running -----------------------------------------------------------------------------------------------------------






def transcript_for(table: str) -> list[dict]:
    base = datetime.fromisoformat("2026-11-25T19:00:00+08:00")
    return [
        {
            "id": f"m{i}",
            "ts": (base + timedelta(seconds=10 * i)).isoformat(),
            "chat": str(i),
            "sender_id": f"s{i}",
            "sender": NAMES[i % len(NAMES)],
            "text": text,
        }
        for i, (text, _) in enumerate(TABLES[table])
    ]


@functools.cache
def replay(table: str):
    """Replay the whole table once; returns (per-chat orders, unclear ids, refused ids) or an error string."""
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp) / "transcript.jsonl"
        t.write_text(
            "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in transcript_for(table)), encoding="utf-8"
        )
        c = Path(tmp) / "catalog.toml"
        c.write_text(to_toml(CATALOGS[table]), encoding="utf-8")
        cmd = tuan_cmd() + ["replay", str(t), "--catalog", str(c), "--json"]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        except (subprocess.TimeoutExpired, FileNotFoundError) as e:
            return f"cannot run {cmd[0]}: {e}"
    if p.returncode != 0:
        return f"exit {p.returncode}: {p.stderr.strip()[-300:]}"
    try:
        got = json.loads(p.stdout)
    except json.JSONDecodeError:
        return f"stdout is not JSON: {p.stdout[:200]!r}"
    orders: dict = defaultdict(lambda: defaultdict(int))
    for r in got.get("orders", []):
        orders[str(r.get("chat"))][str(r["item"])] += int(r["qty"])
    unclear = {str(x.get("message_id")) for x in got.get("unclear", [])}
    refused = {str(x.get("message_id")) for x in got.get("refused", [])}
    return orders, unclear, refused


def _params():
    out = []
    for table, rows in TABLES.items():
        for i, (text, expected) in enumerate(rows):
            out.append(pytest.param(table, i, text, expected, id=f"{table}-{i:03d}"))
    return out


def test_table_sizes():
    assert sum(len(rows) for rows in TABLES.values()) >= 150


@pytest.mark.parametrize("table,index,text,expected", _params())
def test_message(table: str, index: int, text: str, expected):
    result = replay(table)
    if isinstance(result, str):
        pytest.fail(result, pytrace=False)
    orders, unclear, refused = result
    mid = f"m{index}"
    have = {k: v for k, v in orders.get(str(index), {}).items() if v}
    is_unclear, is_refused = mid in unclear, mid in refused
    if expected == IG:
        want, want_unclear = {}, False
    elif expected == U:
        want, want_unclear = {}, True
    elif isinstance(expected, tuple):
        want, want_unclear = expected[1], True
    else:
        want, want_unclear = expected, False
    problems = []
    if have != want:
        problems.append(f"orders want {want} got {have}")
    if is_unclear != want_unclear:
        problems.append("should be in unclear" if want_unclear else "should not be in unclear")
    if is_refused:
        problems.append("should not be in refused")
    if problems:
        pytest.fail(f"[{table}] {text!r} (expected {expected!r}): " + "; ".join(problems), pytrace=False)
