"""The machinery that runs the folds: workers, election, outbox relay, replay, feed."""

from itemhub.readside.feed import ChangeFeed
from itemhub.readside.worker import ProjectionFailed

__all__ = ["ChangeFeed", "ProjectionFailed"]
