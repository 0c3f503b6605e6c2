"""Use cases: what the bot and the CLI do with the store, as plain functions over ports."""
