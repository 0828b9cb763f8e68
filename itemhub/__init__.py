"""ItemHub: an event-sourced, live-updating item board."""

__version__ = "0.1.0"
