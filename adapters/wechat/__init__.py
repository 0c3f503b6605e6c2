"""WeChat adapter through a wechaty puppet service (python-wechaty 0.10.7). See docs/wechat.md.

Importing this package does not import ``wechaty``: :func:`adapters.wechat.compat.load` does,
when the adapter starts, after its Python 3.11 fixes.
"""

from adapters.wechat.adapter import WechatAdapter, WechatUnavailable, create
from adapters.wechat.config import WechatConfigError, WechatSettings, from_section

__all__ = ["WechatAdapter", "WechatConfigError", "WechatSettings", "WechatUnavailable", "create", "from_section"]
