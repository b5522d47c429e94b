# The bot as a container: `docker compose up -d` (compose.yaml), or
#   docker build -t escalation-bot . && docker run -v escalation-data:/data --env-file .env -p 127.0.0.1:3978:3978 escalation-bot
# Plain HTTP on $PORT: put HTTPS in front of it (README, "Running it in production").

FROM python:3.12-slim-bookworm AS build
WORKDIR /src
# Only what the wheel is built from. examples/ too: the demo's directory in adapters/examples links to it.
COPY pyproject.toml README.md LICENSE ./
COPY bot bot
COPY adapters adapters
COPY policies policies
COPY examples examples
# The bot's wheel and every dependency's, so the runtime stage installs with no index and no compiler.
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.12-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=3978 \
    DATABASE_URL=sqlite:////data/escalations.db
# The wheelhouse holds one version of each distribution, the one built above: pinned by construction.
# hadolint ignore=DL3013
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels escalation-bot \
    && groupadd --system --gid 10001 bot \
    && useradd --system --uid 10001 --gid bot --home-dir /data --shell /usr/sbin/nologin bot \
    && mkdir /data \
    && chown bot:bot /data
# The database (and its WAL files) live on this volume; the image holds no state.
VOLUME ["/data"]
WORKDIR /data
USER 10001:10001
EXPOSE 3978
# Python's own client: the slim image has no curl. Healthy means the server answers and its database opens.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3978'), timeout=4)"]
ENTRYPOINT ["escalation-bot"]
CMD ["serve"]
