"""Tests of the WeChat adapter (wechaty puppet service)."""
