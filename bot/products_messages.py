"""What purchase orders and the product commands show people (Simplified Chinese), in one place."""

from __future__ import annotations

SHEET_PURCHASE = "采购汇总"
SHEET_ROUTES = "配送分单"
PURCHASE_COLUMNS = ("供应商", "编码", "商品", "规格", "单位", "数量", "成本价", "成本金额")
ROUTE_COLUMNS = ("供应商", "团", "团长", "自提点", "编码", "商品", "规格", "单位", "数量")
MONEY_HEADERS = frozenset({"成本价", "成本金额"})
QTY_HEADERS = frozenset({"数量"})
NO_SUPPLIER = "(未指定供应商)"
NO_COST = "缺成本价"
SUBTOTAL = "小计"
TOTAL = "合计"
SOME_COST_UNKNOWN = "(部分缺成本价)"
PURCHASE_HEADING = "统一采购单 送货日 {date}(共 {deals} 个团购)"
PURCHASE_NOTHING = "送货日 {date} 没有要采购的商品。"
PURCHASE_CAPTION = "统一采购单 送货日 {date}"
