"""The schema: one table per row type of :mod:`bot.ports`, plus the exactly-once marks.

The tables describe the schema (and drive Alembic's autogenerate); the repository writes
through them with Core bulk statements. Migrations, not ``create_all``, build it. They are
plain Core tables, so opening a store never imports ``sqlalchemy.orm`` (a short start-up for
`tuan replay`).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Sequence,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from bot.ports import ID_BLOCK_SIZE as ID_BLOCK_SIZE
from storage.types import Money, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# 64-bit ids; plain INTEGER on SQLite so the primary key is the rowid (and autoincrements).
Id = BigInteger().with_variant(Integer(), "sqlite")

METADATA = MetaData(naming_convention=NAMING_CONVENTION)
"""Every Tuan table (Alembic's ``target_metadata``)."""

# A deal: one catalog, shared by the chats bound to it.
DEALS = Table(
    "deals", METADATA,
    Column("id", String, primary_key=True),
    Column("title", String, nullable=False),
    Column("status", String, nullable=False),
    Column("cutoff", UTCDateTime, nullable=True),
    Column("max_qty", Integer, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("source", String, nullable=False),
    Column("max_line_qty", Integer, nullable=True),
    # Every committed change of the deal's orders (or of the deal) moves it: a cached copy of the
    # deal in any process is good only while its version is the store's.
    Column("version", Integer, nullable=False, server_default="0"),
    Column("closed_at", UTCDateTime, nullable=True),
)

# The chats a deal was opened for (a round's groups, kept after the chats move on to a new round).
DEAL_CHATS = Table(
    "deal_chats", METADATA,
    Column("deal_id", ForeignKey("deals.id", ondelete="CASCADE"), primary_key=True),
    Column("chat_key", String, primary_key=True, index=True),
)

# Id blocks (hi/lo): a transaction that holds its deal's lock takes the next block of
# ID_BLOCK_SIZE ids for its messages, entries and lines, so ids come from the store (never a
# counter of one process) and grow in the order the deal's transactions committed. PostgreSQL
# uses the sequence (no row that every transaction would queue on); SQLite, whose write lock is
# the whole database anyway, this one-row table.
ID_BLOCK_SEQUENCE = Sequence("tuan_id_blocks", metadata=METADATA, start=1)
ID_BLOCKS = Table(
    "id_blocks", METADATA,
    Column("name", String, primary_key=True),
    Column("next_block", BigInteger, nullable=False),
)

# An item of a deal's catalog; ``position`` keeps the catalog's order.
ITEMS = Table(
    "deal_items", METADATA,
    Column("deal_id", ForeignKey("deals.id", ondelete="CASCADE"), primary_key=True),
    Column("code", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("unit", String, nullable=False),
    Column("price", Money, nullable=False),
    Column("aliases", JSON, nullable=False),
    Column("stock", Integer, nullable=True),
    Column("position", Integer, nullable=False),
)

# A group chat and the deal it is currently bound to.
CHATS = Table(
    "chats", METADATA,
    Column("chat_key", String, primary_key=True),
    Column("platform", String, nullable=False),
    Column("external_id", String, nullable=False),
    Column("title", String, nullable=False),
    Column("deal_id", ForeignKey("deals.id"), nullable=True, index=True),
)

# A handled message. Platforms may reuse a message id across edits, so ``seq`` is the key.
MESSAGES = Table(
    "messages", METADATA,
    Column("seq", Id, primary_key=True, autoincrement=False),
    Column("chat_key", String, nullable=False),
    Column("message_id", String, nullable=False),
    Column("sender_id", String, nullable=False),
    Column("sender_name", String, nullable=False),
    Column("text", Text, nullable=False),
    Column("ts", UTCDateTime, nullable=False),
    Column("is_admin", Boolean, nullable=False),
    Column("edit_of", String, nullable=True),
    Column("recall_of", String, nullable=True),
    Column("kind", String, nullable=False),
    Column("deal_id", String, nullable=True, index=True),  # the chat's deal when it was handled
    Column("touched", Id, nullable=True),  # the deal version that wrote it (see TOUCHED below)
    Index(None, "chat_key", "message_id"),
    Index("ix_messages_deal_touched", "deal_id", "touched"),
)

# One (item, signed quantity) a message gave a resident within a deal.
ENTRIES = Table(
    "entries", METADATA,
    Column("id", Id, primary_key=True, autoincrement=False),
    Column("deal_id", ForeignKey("deals.id"), nullable=False, index=True),
    Column("chat_key", String, nullable=False),
    Column("sender_id", String, nullable=False),
    Column("sender_name", String, nullable=False),
    Column("label", String, nullable=False),
    Column("item_code", String, nullable=False),
    Column("qty", Integer, nullable=False),
    Column("kind", String, nullable=False),
    Column("message_id", String, nullable=False),
    Column("seq", Id, nullable=False),
    Column("line_id", Id, nullable=True),
    Column("superseded_seq", Id, nullable=True),
    Column("removed", Boolean, nullable=False),
    Column("touched", Id, nullable=True),  # the deal version that last wrote it (see TOUCHED below)
    Index("ix_entries_deal_touched", "deal_id", "touched"),
)

# A 接龙 list line seen in a chat.
LINES = Table(
    "lines", METADATA,
    Column("id", Id, primary_key=True, autoincrement=False),
    Column("chat_key", String, nullable=False, index=True),
    Column("text_key", Text, nullable=False),
    Column("number", String, nullable=True),
    Column("label", String, nullable=False),
    Column("owner_id", String, nullable=False),
    Column("message_id", String, nullable=False),
    Column("seq", Id, nullable=False),
    Column("alive", Boolean, nullable=False),
    Column("replaced_by", Id, nullable=True),
    Column("deal_id", String, nullable=True, index=True),
    Column("touched", Id, nullable=True),  # the deal version that last wrote it (see TOUCHED below)
    Index("ix_lines_deal_touched", "deal_id", "touched"),
)

TOUCHED = "touched"
"""Column of ``messages``, ``entries`` and ``lines``: the version of the row's deal that the transaction
writing the row (inserting or updating it) committed; NULL for rows of no deal and rows written before
migration 0014. A process whose cached copy of a deal is at version *v* reads only the rows with
``touched > v`` to catch up (``storage.reader.deal_changes``)."""

# An order line the bot did not apply (unclear or refused); ``id`` keeps commit order.
NOTICES = Table(
    "notices", METADATA,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("chat_key", String, nullable=False, index=True),
    Column("message_id", String, nullable=False),
    Column("seq", Id, nullable=False),
    Column("kind", String, nullable=False),
    Column("reason", Text, nullable=False),
)

# An exactly-once mark: this platform update was handled and committed.
PROCESSED = Table(
    "processed_deliveries", METADATA,
    Column("source", String, primary_key=True),
    Column("update_id", String, primary_key=True),
)

# A once-only mark: a scheduled post (job id and slot) that went out, or is going out.
MARKS = Table(
    "sent_marks", METADATA,
    Column("key", String, primary_key=True),
    Column("at", UTCDateTime, nullable=False),
)

# What the bot is to say about a committed message, until it is delivered (then deleted). Written in
# the message's transaction; keyed by the message's ``seq`` and the effect's place ``n``. A row is
# held by one worker (``claimed_by``) until ``claimed_until``; once that lease ends, any worker's
# sweeper may claim it (bot/dispatch.py). NULLs: a row written before leases (claimable at once).
OUTBOX = Table(
    "outbox", METADATA,
    Column("seq", Id, primary_key=True, autoincrement=False),
    Column("n", Integer, primary_key=True, autoincrement=False),
    Column("chat_key", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("target", String, nullable=True),
    Column("text", Text, nullable=False),
    Column("mention_id", String, nullable=True),
    Column("mention_name", String, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("claimed_by", String, nullable=True),
    Column("claimed_until", UTCDateTime, nullable=True),
)

# --- platform data: groups, leaders and the product library (imported from tuan.toml at start-up) ---

# A group chat the bot serves: ``id`` is the config's group id; ``chat_key`` "<platform>:<chat id>".
GROUPS = Table(
    "groups", METADATA,
    Column("id", String, primary_key=True),
    Column("platform", String, nullable=False),
    Column("chat_key", String, nullable=False),
    Column("title", String, nullable=False),
    Column("timezone", String, nullable=False),
    Column("pickup_points", JSON, nullable=False),  # a list of strings (自提点)
    Column("retired_at", UTCDateTime, nullable=True),  # `tuan group remove` (0017); NULL: active
    UniqueConstraint("chat_key"),
)

# A leader (团长) or an operator (leads every group on the platforms of their accounts).
# ``source``: "config" for leaders imported from tuan.toml (the import adds, changes and removes
# those), anything else for leaders it leaves alone.
LEADERS = Table(
    "leaders", METADATA,
    Column("id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("role", String, nullable=False),  # "leader" | "operator"
    Column("source", String, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Commission terms (bot/usecases/commission.py), Decimal text such as "0.08"; NULL: none. Set by
    # `tuan leader add|edit`; the tuan.toml import never writes them.
    Column("commission_rate", String, nullable=True),  # of the net sales of the leader's groups
    Column("upline_id", String, nullable=True),  # the leader who recruited this one (two tiers at most)
    Column("upline_share", String, nullable=True),  # of each direct downline's commission, earned on top
    Column("retired_at", UTCDateTime, nullable=True),  # `tuan leader remove` (0017); NULL: active
)

# A leader's account on a platform: a user id or "@username" (platform "*": any platform).
LEADER_ACCOUNTS = Table(
    "leader_accounts", METADATA,
    Column("leader_id", ForeignKey("leaders.id", ondelete="CASCADE"), primary_key=True),
    Column("platform", String, primary_key=True),
    Column("account_id", String, primary_key=True),
)

# The groups a leader leads.
GROUP_LEADERS = Table(
    "group_leaders", METADATA,
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("leader_id", ForeignKey("leaders.id", ondelete="CASCADE"), primary_key=True, index=True),
)

# A leader's commission terms from ``since`` on (migration 0018): every change of ``leaders``'
# terms (`tuan leader add|edit`) adds a row, so a period is settled under the terms in force when
# each of its rounds opened (bot/usecases/terms_history.py). Columns as in ``leaders``.
LEADER_TERMS = Table(
    "leader_terms", METADATA,
    Column("leader_id", ForeignKey("leaders.id", ondelete="CASCADE"), primary_key=True),
    Column("since", UTCDateTime, primary_key=True),
    Column("commission_rate", String, nullable=True),
    Column("upline_id", String, nullable=True),
    Column("upline_share", String, nullable=True),
)

# A leader's role and retirement from ``since`` on (migration 0019): a row each time ``leaders.role``
# or ``retired_at`` changes (`leader edit --role`, `leader remove`, `edit --active`, tuan.toml), so
# a round is shared by the leaders of when it opened (bot/usecases/terms_history.py). A leader
# without a row has their current role and retirement at every time. Columns as in ``leaders``.
LEADER_STANDING = Table(
    "leader_standing", METADATA,
    Column("leader_id", ForeignKey("leaders.id", ondelete="CASCADE"), primary_key=True),
    Column("since", UTCDateTime, primary_key=True),
    Column("role", String, nullable=False),
    Column("retired_at", UTCDateTime, nullable=True),
)

# The leaders linked to a group (``group_leaders``) from ``since`` on (migration 0019): a row each
# time the set changes (`group add|edit --leaders`, `leader add|edit --groups`, tuan.toml), so a
# round is shared by the group's leaders of when it opened (bot/usecases/terms_history.py). A group
# without a row has its current leaders at every time. No foreign key: a removed group's rows stay.
GROUP_LEADER_SETS = Table(
    "group_leader_sets", METADATA,
    Column("group_id", String, primary_key=True),
    Column("since", UTCDateTime, primary_key=True),
    Column("leader_ids", JSON, nullable=False),  # a sorted list of leader ids
)

# A chat a group had until ``until`` (migration 0018), written when the group's chat key changes
# (`tuan group edit --chat`, tuan.toml): its earlier rounds stay its own in the settlement and the
# statistics (bot/usecases/group_chats.py). No foreign key: a removed group's rows are kept.
GROUP_FORMER_CHATS = Table(
    "group_former_chats", METADATA,
    Column("chat_key", String, primary_key=True),
    Column("until", UTCDateTime, primary_key=True),
    Column("group_id", String, primary_key=True),
)

# An open round that moved with its group's chat (migration 0020; storage/platform.py
# ``_move_round``): the round ``deal_id`` went from ``from_key`` to ``chat_key`` at ``at`` with the
# group ``group_id``. Its orders taken in ``chat_key`` are that group's, whoever had the chat when
# the round opened; a copy of the round skips ``from_key`` (bot/usecases/group_chats.py).
DEAL_MOVES = Table(
    "deal_moves", METADATA,
    Column("deal_id", ForeignKey("deals.id", ondelete="CASCADE"), primary_key=True),
    Column("chat_key", String, primary_key=True),
    Column("at", UTCDateTime, primary_key=True),
    Column("from_key", String, nullable=False),
    Column("group_id", String, nullable=False),
)

# The product library: what deals are made of. ``id`` is the product's code.
PRODUCTS = Table(
    "products", METADATA,
    Column("id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("aliases", JSON, nullable=False),
    Column("unit", String, nullable=False),
    Column("spec", String, nullable=False),
    Column("price", Money, nullable=False),
    Column("supplier", String, nullable=True),
    Column("active", Boolean, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # "config": an item of tuan.toml's deals (the import owns it); "library": added from the CLI, an
    # import file or the web (the tuan.toml import never touches it; migration 0015)
    Column("source", String, nullable=False, server_default="config"),
)

# A scheduled post of a group (bot/scheduler.py). ``source`` "config": imported from tuan.toml's
# [[schedules]] (the import adds and removes those; ``id`` is the job id tuan.toml's schedule always
# had), else added with `tuan schedule add`. ``position`` orders the jobs.
SCHEDULES = Table(
    "schedules", METADATA,
    Column("id", String, primary_key=True),
    Column("group_id", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("cron", String, nullable=False),
    Column("second", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("source", String, nullable=False),
    Column("position", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# --- product variants (规格), suppliers and what deals were made of (purchase orders) ---

# A supplier (供应商): ``id`` is how products name it (``products.supplier``, ``product_variants.supplier``).
SUPPLIERS = Table(
    "suppliers", METADATA,
    Column("id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("contact", String, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# A variant (规格) of a library product, e.g. 5斤装 and 10斤装 of 葡萄, each with its own price, unit,
# cost price and supplier. A product with no rows here has one variant: its own row (spec, unit, price,
# supplier; no cost). ``position`` keeps the order the variants were added or imported in.
VARIANTS = Table(
    "product_variants", METADATA,
    Column("product_id", ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
    Column("spec", String, primary_key=True),
    Column("unit", String, nullable=False),
    Column("price", Money, nullable=False),
    Column("cost", Money, nullable=True),
    Column("supplier", String, nullable=True),
    Column("aliases", JSON, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("position", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("commission", Money, nullable=True),  # yuan per unit sold (0013); None: the leader's rate
)

# A deal opened from the library: the day its goods are delivered (what purchase orders are by).
DEAL_SUPPLIES = Table(
    "deal_supplies", METADATA,
    Column("deal_id", ForeignKey("deals.id", ondelete="CASCADE"), primary_key=True),
    Column("delivery_date", Date, nullable=False, index=True),
)

# Which library variant a deal item is, with the cost price and supplier when the deal was opened.
DEAL_ITEM_SOURCES = Table(
    "deal_item_sources", METADATA,
    Column("deal_id", ForeignKey("deals.id", ondelete="CASCADE"), primary_key=True),
    Column("item_code", String, primary_key=True),
    Column("product_id", String, nullable=False),
    Column("spec", String, nullable=False),
    Column("unit", String, nullable=False),
    Column("cost", Money, nullable=True),
    Column("supplier", String, nullable=True),
    Column("commission", Money, nullable=True),  # the variant's, when the deal opened (0013)
)

# --- the leader's day after the cutoff: pickup, payments, after-sale, audit ---

# One household of a deal (a resident (chat_key, sender_id)) as the leader marks it: its pickup
# code (unique in the deal), chosen pickup point, payment and pickup verification.
HOUSEHOLD_MARKS = Table(
    "household_marks", METADATA,
    Column("deal_id", ForeignKey("deals.id", ondelete="CASCADE"), primary_key=True),
    Column("chat_key", String, primary_key=True),
    Column("sender_id", String, primary_key=True),
    Column("pickup_code", String, nullable=True),
    Column("pickup_point", String, nullable=True),  # None: the group's first point
    Column("paid_amount", Money, nullable=True),  # None: not marked paid
    Column("paid_at", UTCDateTime, nullable=True),
    Column("paid_by", String, nullable=True),
    Column("picked_at", UTCDateTime, nullable=True),  # None: not picked up
    Column("picked_by", String, nullable=True),
    Column("picked_by_name", String, nullable=True),
    UniqueConstraint("deal_id", "pickup_code"),
)

# An after-sale record: a refund (kind "refund"), a replacement ("replace", amount 0) or the refund
# of a short delivery ("short"), of ``qty`` of one item of a household.
REFUNDS = Table(
    "refunds", METADATA,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("deal_id", ForeignKey("deals.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("chat_key", String, nullable=False),
    Column("sender_id", String, nullable=False),
    Column("item_code", String, nullable=False),
    Column("qty", Integer, nullable=False),
    Column("amount", Money, nullable=False),
    Column("kind", String, nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("by_id", String, nullable=False),
    Column("by_name", String, nullable=False),
)

# Every leader action of the leader's day (verify, paid, refund, short, add, ...): who, when, what.
AUDIT = Table(
    "audit", METADATA,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor_id", String, nullable=False),
    Column("actor_name", String, nullable=False),
    Column("action", String, nullable=False),
    Column("chat_key", String, nullable=False),  # where it was done (the group)
    Column("deal_id", String, nullable=True, index=True),
    Column("household_chat", String, nullable=True),
    Column("household_sender", String, nullable=True),
    Column("detail", Text, nullable=False),
    Index(None, "chat_key", "id"),  # the web's audit page of a leader's groups, newest first
)

# --- the web dashboard (bot/web/): who may sign in ---

# A web account: an operator (every group) or a leader (the groups of ``leader_id`` in group_leaders).
# ``password_hash``: argon2id (argon2-cffi's PHC string), never the password.
USERS = Table(
    "users", METADATA,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String, nullable=False),
    Column("role", String, nullable=False),  # "operator" | "leader"
    Column("leader_id", ForeignKey("leaders.id", ondelete="SET NULL"), nullable=True, index=True),
    Column("password_hash", String, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Moved by signing out, a new password or removal: a session cookie carries the value it was
    # signed in with and is dead once they differ (bot/web/core.py ``_viewer``).
    Column("session_epoch", Integer, nullable=False, server_default="0"),
    UniqueConstraint("name"),
)
