# syntax=docker/dockerfile:1
# pressplay images. Targets:
#   sidecar (default) - the executor-plugin sidecar: `pressplay serve`, as plugin.yaml expects (no Node)
#   agent             - the default agent image, ghcr.io/pressplay-dev/pressplay-agent:<version>: the
#                       agent-step runtime (pressplay + git), Node.js and Claude Code
#   agent-codex       - the same with OpenAI's Codex CLI instead: ...pressplay-agent:<version>-codex
#   agent-base        - the runtime alone, to layer another CLI on: ...pressplay-agent:<version>-base
# Language toolchains for the gates (Rust, Python's ruff/pytest, Go) are layered on by the user; see
# docs/agent-image.md. The CLI versions below are pinned here and nowhere else
# (tests/agent/test_real_cli.py installs exactly these and runs the shipped profiles with them).

ARG PYTHON_VERSION=3.11
ARG NODE_VERSION=22
ARG CLAUDE_CODE_VERSION=2.1.328
ARG CODEX_VERSION=0.169.0

# Node.js (node + npm) for the npm-packaged agent CLIs and the Node gates, copied out of the official image.
FROM node:${NODE_VERSION}-bookworm-slim AS node

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

FROM python:${PYTHON_VERSION}-slim-bookworm AS agent-base
# The agent-step runtime: `pressplay agent run` + git. Git talks HTTPS through the `pressplay
# git-credential` helper, so no token is ever stored in the image, a remote URL or disk. Only the
# `pressplay` command comes from pressplay's venv: `python` and `pip` on PATH are the image's own, so a
# layer that installs a repository's tools (ruff, pytest, ...) puts them where the gates find them.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates=2023* git=1:2.39.* \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/pressplay /opt/pressplay
RUN ln -s /opt/pressplay/bin/pressplay /usr/local/bin/pressplay
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOME=/tmp/home
WORKDIR /workspace
# Same non-root UID as the agent-step template's securityContext (runAsUser 8737).
USER 8737:0
ENTRYPOINT ["pressplay", "agent"]
CMD ["run"]

FROM agent-base AS agent-node
USER 0
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
    && node --version && npm --version
# npm's cache and global prefix of the agent at run time: its HOME, an emptyDir (the root is read-only).
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false
USER 8737:0

FROM agent-node AS agent-codex
ARG CODEX_VERSION
USER 0
# `codex exec` is Codex's headless mode (the profiles in manifests/agents/codex); the key comes from
# CODEX_API_KEY or OPENAI_API_KEY in the Secret pressplay-agent-credentials.
RUN npm install --global --no-audit "@openai/codex@${CODEX_VERSION}" \
    && npm cache clean --force \
    && codex --version
USER 8737:0

# The default agent image: the one the agent-step template names (ghcr.io/pressplay-dev/pressplay-agent:<version>).
FROM agent-node AS agent
ARG CLAUDE_CODE_VERSION
USER 0
# `claude -p` is Claude Code's headless mode (the profiles in manifests/agents); the key comes from
# ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN in the Secret pressplay-agent-credentials. The package's
# postinstall puts the native binary of this platform in place.
RUN npm install --global --no-audit "@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}" \
    && npm cache clean --force \
    && claude --version
ENV DISABLE_AUTOUPDATER=1
USER 8737:0

FROM python:${PYTHON_VERSION}-slim-bookworm AS sidecar
# UID 8737 is the Argo agent's user: the token file /var/run/argo/token is readable by it (mode 0440).
COPY --from=build /opt/pressplay /opt/pressplay
ENV PATH=/opt/pressplay/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 8737:0
EXPOSE 17820
ENTRYPOINT ["pressplay"]
CMD ["serve", "--host", "127.0.0.1", "--port", "17820"]
