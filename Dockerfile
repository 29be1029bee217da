# newswatch: the daemon (default) or any `newswatch` command, with Chromium for script-only pages.
#   docker build -t newswatch .
#   docker run --rm -v "$PWD/deploy:/config:ro" newswatch crawl    # deploy/newswatch.yaml
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NEWSWATCH_CONFIG=/config/newswatch.yaml

# Chromium renders the few pages that need scripts (Playwright drives the system browser).
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium chromium-headless-shell ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
# .[redis]: scrapy-redis for `newswatch worker` and the daemon with redis: set
RUN pip install .[redis] && rm -rf /src

RUN useradd --create-home --uid 10001 newswatch
USER newswatch
WORKDIR /home/newswatch

# The daemon stops on SIGTERM: no new crawls, running crawls get SIGTERM then SIGKILL after 15 s.
# `daemon --serve` (docker-compose.yml) serves the dashboard on this port.
EXPOSE 8000
STOPSIGNAL SIGTERM
ENTRYPOINT ["newswatch"]
CMD ["daemon"]
