# ItemHub: one process serves the REST API and the NiceGUI board.
# It runs as prod: it listens on every interface, so it refuses to start
# without ITEMHUB_SECRET_KEY, ITEMHUB_STORAGE_SECRET and the first superuser's
# password (dev mode is for `make run` on one's own machine). UI sessions
# (without Redis) go to the one directory the runtime user may write.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    ITEMHUB_ENV=prod \
    ITEMHUB_HOST=0.0.0.0 \
    ITEMHUB_PORT=8080 \
    NICEGUI_STORAGE_PATH=/app/data/nicegui

WORKDIR /app
RUN useradd --create-home --uid 1000 itemhub
COPY pyproject.toml README.md ./
COPY itemhub ./itemhub
COPY app.py ./
RUN pip install --no-cache-dir . && mkdir -p /app/data && chown itemhub /app/data \
    && chmod 700 /app/data
USER itemhub

EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/api/v1/health', timeout=2)"
CMD ["itemhub", "serve"]
