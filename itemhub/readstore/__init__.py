"""The read store: engines, the schema of the read tables, tracking rows."""
