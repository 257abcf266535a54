"""The store's three tables (SQLAlchemy Core), created on start when missing.

Times are seconds since the epoch (floats) from the store's clock, so tests can move time.
Secrets are never stored: a class keeps the SHA-256 of its teacher's key, a student the SHA-256
of their browser token. Deleting a class deletes its students (ON DELETE CASCADE; SQLite
enforces it with PRAGMA foreign_keys=ON, which the store sets on every connection).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from .codes import LENGTH
from .names import MAX_NAME

HASH = 64  # hex digits of a SHA-256

metadata = MetaData()

classes = Table(
    "lr_classes",
    metadata,
    Column("code", String(LENGTH), primary_key=True),
    Column("key_hash", String(HASH), nullable=False),
    Column("settings", Text, nullable=False),  # JSON: the starting settings, as in the link
    Column("created", Float, nullable=False),
    Column("ends", Float, nullable=False, index=True),
    Column("paused", Boolean, nullable=False, default=False),
)

students = Table(
    "lr_students",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "code",
        String(LENGTH),
        ForeignKey(classes.c.code, ondelete="CASCADE"),
        nullable=False,
    ),
    Column("token_hash", String(HASH), nullable=False),
    Column("name", String(MAX_NAME), nullable=False),
    Column("joined", Float, nullable=False),
    Column("seen", Float, nullable=False),  # the last join or run: "active" on the board
    # the last run: its settings (JSON, as in the share link) and its outcome; NULL before any
    Column("settings", Text),
    Column("step_size", Float),
    Column("final_loss", Float),
    Column("epochs_to_1pct", Integer),
    Column("diverged", Boolean),
    Column("distance", Float),
    UniqueConstraint("code", "token_hash", name="lr_students_code_token"),
)

# failed look-ups (unknown class, wrong key) per client and minute, shared by every worker
failures = Table(
    "lr_failures",
    metadata,
    Column("client", String(HASH), primary_key=True),
    Column("minute", Integer, primary_key=True),
    Column("count", Integer, nullable=False),
)

Index("lr_failures_minute", failures.c.minute)
