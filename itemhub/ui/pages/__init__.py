"""NiceGUI pages; each module exposes ``register(...)`` declaring its routes."""
