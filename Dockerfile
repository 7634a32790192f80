# syntax=docker/dockerfile:1
# pressplay images. Targets:
#   sidecar (default) - the executor-plugin sidecar: `pressplay serve`, as plugin.yaml expects
#   agent             - the agent-step runtime (pressplay + git); agent CLIs and toolchains are layered on it
#                       by the user, see docs/agent-image.md

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/pressplay
# Dependencies first, in their own layer: they change far less often than the code.
COPY pyproject.toml README.md ./
RUN mkdir -p plugin/pressplay && touch plugin/pressplay/__init__.py \
    && /opt/pressplay/bin/pip install '.[otlp]' \
    && /opt/pressplay/bin/pip uninstall -y pressplay
COPY plugin ./plugin
RUN /opt/pressplay/bin/pip install --no-deps .

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
