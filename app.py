"""ItemHub's entry point: ``python app.py`` serves (the wiring is ``itemhub.web``)."""

from itemhub.web import build, main

__all__ = ["build", "main"]

# NiceGUI's test harness runs this file as ``__main__`` (pyproject: main_file).
if __name__ in {"__main__", "__mp_main__"}:
    main()
