"""Which characters may start a name that ends in a Chinese numeral (张三, 李四, 老五, 小六, 阿三).

Spec §3.2/§3.5: numbers of a label are no quantities. A numeral is read as a name's tail only
after a common single-character surname (张三, 王二麻子) or a familiar prefix (老五, 小六, 阿三);
after any other word (我家三, 家里三, 我们三) it stays a quantity. Characters that are surnames
but mostly ordinary words in an order line (家, 里, 全, 都, 和 ...) are left out on purpose.
"""

from __future__ import annotations

# a familiar prefix before a numeral: 老五, 小六, 阿三 (a name on its own, whatever stands before it)
NUMERAL_NAME_PREFIXES = frozenset("老小阿")

# common single-character surnames (the ~150 most frequent), without those that are everyday words
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范廖石金韦贾夏付方邹熊孟秦邱侯江尹薛闫段雷黎史龙陶贺顾毛郝龚邵万钱严"
    "覃武戴莫孔汤向常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包"
    "宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾"
    "尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞"
    "姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
# everyday words in an order line that are also rare surnames: never a name's start here
SURNAMES = SURNAMES - frozenset("和全边时明成单向文常安路连商解应车")


def starts_numeral_name(before: str, before2: str) -> bool:
    """True when a Chinese numeral right after ``before`` (one Han character, with ``before2`` the
    character before it in the same run of name characters, or "" when none) ends a person's name.

    张三 (before 张), 3栋402李四, 王二麻子, 老五 / 小六 / 阿三: a name. 老王一 (a full name 老王
    already), 我家三, 家里三: no name, the numeral is a quantity.
    """
    if before in NUMERAL_NAME_PREFIXES:
        return True
    return before in SURNAMES and before2 not in NUMERAL_NAME_PREFIXES
