"""Questions the read side answers: read models, audit, history, time travel."""

from itemhub.queries.read_models import ItemFilter, Page, ReadModels

__all__ = ["ItemFilter", "Page", "ReadModels"]
