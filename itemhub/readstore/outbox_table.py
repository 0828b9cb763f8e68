"""The change-feed outbox table: deltas each batch committed, for every instance."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, MetaData, String, Table, Text

from itemhub.readstore.schema import UTCDateTime

metadata = MetaData()
outbox = Table(
    "change_feed_outbox",
    metadata,
    Column("projection", String(64), primary_key=True),
    # The last log position of the batch; per projection, batches commit in
    # position order (the tracking row serialises them), so a reader that
    # resumes "after position p" never skips a row.
    Column("position", BigInteger, primary_key=True),
    Column("payload", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)
