"""A process that runs only the projection workers of one Hub, until it is killed.

Used by the crash tests: ``python -m tests.integration.projection_worker_process
DATABASE_URL``. It creates no tables, writes no events and never stops by
itself; the test sends it SIGKILL.
"""

from __future__ import annotations

import logging
import sys
import threading

from itemhub.commands import PasswordHasher
from itemhub.config import Settings
from itemhub.runtime import Hub


def main(argv: list[str]) -> int:
    """Open a Hub on ``argv[1]``, start its workers and block forever."""
    if len(argv) != 2:
        sys.stderr.write(f"usage: {argv[0]} DATABASE_URL\n")
        return 2
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(threadName)s %(levelname)s %(message)s",
    )
    settings = Settings(  # type: ignore[call-arg]
        database_url=argv[1], auto_migrate=False, _env_file=None
    )
    # The bus is never used here; a cheap hasher keeps start-up fast.
    hub = Hub.open(settings, hasher=PasswordHasher.argon2id(memory_cost=1024))
    hub.read_side.start()
    logging.getLogger(__name__).info("projection workers started")
    threading.Event().wait()
    return 0  # pragma: no cover (the process is only ever killed)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
