# syntax=docker/dockerfile:1
# pressplay images. Targets:
#   sidecar (default) - the executor-plugin sidecar: `pressplay serve`, as plugin.yaml expects
#   agent             - the agent-step runtime (pressplay + git); agent CLIs and toolchains are layered on it
#                       by the user, see docs/agent-image.md

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Dependencies first, in their own layer (they change far less often than the code), from the lock files:
# every package pinned and checked against its hash, so two builds of one commit install the same files.
# sidecar.lock is pressplay's dependencies plus the `otlp` extra (never the `testing` extra); build.lock is
# the build backend, kept in /opt/build, which the final images do not copy. See docs/install.md.
# --no-deps: a lock is its whole closure (pip's hash mode refuses an extra such as hishel[httpx] that the
# lock pins as plain hishel); `pip check` below proves nothing is missing.
COPY requirements/sidecar.lock requirements/build.lock ./requirements/
RUN python -m venv /opt/pressplay \
    && /opt/pressplay/bin/pip install --require-hashes --no-deps -r requirements/sidecar.lock \
    && python -m venv /opt/build \
    && /opt/build/bin/pip install --require-hashes --no-deps -r requirements/build.lock
COPY pyproject.toml README.md ./
COPY plugin ./plugin
# pressplay itself, without dependencies; `pip check` fails the build if the lock no longer satisfies it.
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /tmp/dist . \
    && /opt/pressplay/bin/pip install --no-deps --no-index /tmp/dist/pressplay-*.whl \
    && /opt/pressplay/bin/pip check

FROM python:${PYTHON_VERSION}-slim-bookworm AS agent
# The agent-step runtime: `pressplay agent run` + git. Agent CLIs (Claude Code, Codex, ...) and language
# toolchains are layered on this image by the user: see docs/agent-image.md. Git talks HTTPS through the
# `pressplay git-credential` helper, so no token is ever stored in the image, a remote URL or disk.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates=2023* git=1:2.39.* \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/pressplay /opt/pressplay
ENV PATH=/opt/pressplay/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOME=/tmp/home
WORKDIR /workspace
# Same non-root UID as the agent-step template's securityContext (runAsUser 8737).
USER 8737:0
ENTRYPOINT ["pressplay", "agent"]
CMD ["run"]

FROM python:${PYTHON_VERSION}-slim-bookworm AS sidecar
# UID 8737 is the Argo agent's user: the token file /var/run/argo/token is readable by it (mode 0440).
COPY --from=build /opt/pressplay /opt/pressplay
ENV PATH=/opt/pressplay/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 8737:0
EXPOSE 17820
ENTRYPOINT ["pressplay"]
CMD ["serve", "--host", "127.0.0.1", "--port", "17820"]
