# syntax=docker/dockerfile:1
# One image for every GoChat role: the command picks it (`serve`, `worker NAME`, `sfu`,
# `migrate up`, `tools ...`). Build: docker build -t gochat .

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
WORKDIR /src
# Every dependency ships wheels, so the builder needs no compiler: it only collects the wheels
# (GoChat's own built from this tree) for the runtime stage to install offline.
COPY pyproject.toml README.md ./
COPY gochat ./gochat
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GOCHAT_DATA_DIR=/var/lib/gochat \
    GOCHAT_HOST=0.0.0.0 \
    GOCHAT_SFU_HOST=0.0.0.0
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels gochat \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/gochat --create-home \
       --shell /usr/sbin/nologin gochat
USER 10001:10001
WORKDIR /var/lib/gochat
# 8000: `gochat serve` (GraphQL, /health, /ready, /metrics); 8001: `gochat sfu` signaling.
EXPOSE 8000 8001
ENTRYPOINT ["gochat"]
CMD ["serve"]
