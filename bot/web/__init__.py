"""The operator and leader web dashboard (docs/web.md): Starlette, Jinja2 templates, server-sent events.

Pages call the same use cases as the chat commands and the CLI (:mod:`bot.usecases`); every write
is recorded in the store's audit table. A leader sees only the groups they lead, checked on every
page and every API call (:mod:`bot.web.auth`).
"""
