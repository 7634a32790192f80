"""The ``pressplay`` command.

Subcommands: ``serve`` (the sidecar), ``plugin-configmap`` (ExecutorPlugin ConfigMap from
plugin.yaml), ``docs`` (regenerate generated docs), ``lint`` (check rendered manifests), ``schema``
(JSON Schema of the steps' arguments, for editors), ``agent`` (the agent-step entrypoint),
``git-credential`` (git credential helper), ``demo`` (a whole task lifecycle on one machine),
``github-emulator`` (a local GitHub for ``serve --dev``), ``release`` (the versioned install
bundle), ``step`` (one step once, outside the sidecar). Heavy subcommands live in their own modules
and are imported on use.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pressplay._version import __version__
from pressplay.config import DEFAULT_PORT

#: subcommand -> (module:function taking argv, one-line help). Their own --help tells the rest.
DELEGATED: dict[str, tuple[str, str]] = {
    "lint": (
        "pressplay.lint.cli:main",
        "check rendered manifests (step arguments, references, shell safety)",
    ),
    "agent": (
        "pressplay.agent.cli:main",
        "one coding agent step: checkout | run | push (the agent-step containers' entrypoints)",
    ),
    "git-credential": ("pressplay.agent.credential:main", "git credential helper using the GitHub App"),
    "demo": (
        "pressplay.demo.cli:main",
        "run press-play end to end on this machine, with emulators (pip install 'pressplay[testing]')",
    ),
    "schema": (
        "pressplay.lint.schema:main",
        "write a JSON Schema of every step's arguments, for editors (yaml-language-server)",
    ),
    "github-emulator": (
        "pressplay.testing.dev:main",
        "start a GitHub emulator for serve --dev: its URL and a ready App key (pip install 'pressplay[testing]')",
    ),
    "step": (
        "pressplay.step_cli:main",
        "run one step once in this process (a pod of its own, when the plugin cannot answer)",
    ),
    "release": (
        "pressplay.release:main",
        "write the versioned install bundle: install-<component>.yaml per component, SHA256SUMS",
    ),
}


def _serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve",
        help="run the executor-plugin sidecar (Flask under gunicorn)",
        description="Run the sidecar. Every option also comes from PRESSPLAY_<OPTION> (e.g. PRESSPLAY_PORT).",
    )
    p.add_argument("--host", help="address to bind (default 127.0.0.1: the agent dials localhost)")
    p.add_argument("--port", type=int, help=f"port (default {DEFAULT_PORT}, as in plugin.yaml)")
    p.add_argument(
        "--workers",
        type=int,
        help="gunicorn worker processes (default 1: the load waits on GitHub, one worker serves it)",
    )
    p.add_argument(
        "--worker-class",
        choices=("gthread", "gevent"),
        help="gunicorn worker class (default gthread: OS threads; gevent: greenlets, about half the CPU "
        "per request for ~5 MiB more)",
    )
    p.add_argument(
        "--worker-connections",
        type=int,
        help="gevent: concurrent connections per worker (default 64; Argo's agent opens 16)",
    )
    p.add_argument(
        "--threads", type=int, help="gthread: threads per worker (default 16, the Argo agent's worker count)"
    )
    p.add_argument(
        "--token-file", type=Path, help="the agent's bearer token file (default /var/run/argo/token)"
    )
    p.add_argument("--github-app-id", help="GitHub App id")
    p.add_argument("--github-private-key-file", type=Path, help="GitHub App private key (PEM) file")
    p.add_argument(
        "--github-installation-id", type=int, help="installation id (default: discovered per repo)"
    )
    p.add_argument("--github-api-url", help="GitHub REST API URL (default https://api.github.com)")
    p.add_argument("--argocd-namespace", help="default namespace of Argo CD Applications (default argocd)")
    p.add_argument("--argocd-url", help="Argo CD UI URL, for links")
    p.add_argument("--log-level", help="log level (default INFO)")
    p.add_argument(
        "--dev",
        action="store_true",
        help="local development: generate a token, print a ready-to-paste curl, no token file needed",
    )


def cmd_serve(args: argparse.Namespace) -> int:
    import os

    from pressplay.config import load_settings, startup_problem

    names = (
        "host", "port", "workers", "worker_class", "worker_connections", "threads", "token_file",
        "github_app_id", "github_private_key_file", "github_installation_id", "github_api_url",
        "argocd_namespace", "argocd_url", "log_level",
    )  # fmt: skip
    overrides = {key: getattr(args, key) for key in names}
    if args.dev:
        import secrets

        overrides["token"] = secrets.token_urlsafe(24)
    try:
        settings = load_settings(**overrides)
    except Exception as exc:  # pydantic ValidationError: name the setting, no trace
        print(f"pressplay serve: invalid settings: {exc}", file=sys.stderr)
        return 2
    problem = startup_problem(settings)
    if problem is None:
        from pressplay.steps.registry import RegistryError, installed

        try:
            installed()  # metadata only: a step key declared by two packages stops us here
        except RegistryError as exc:
            problem = str(exc)
    if problem is not None:
        print(f"pressplay serve: {problem}", file=sys.stderr)
        return 2
    if args.dev:
        _print_dev_banner(
            settings.host, settings.port, settings.token.get_secret_value() if settings.token else ""
        )
        if not settings.github_app_id:
            print(
                "no GitHub App configured: steps that call GitHub will fail. For a local GitHub run "
                "`pressplay github-emulator` and pass the flags it prints.\n",
                flush=True,
            )
    # Flags become PRESSPLAY_* variables of the gunicorn process, whose workers build the same Settings.
    env = dict(os.environ)
    for key, value in overrides.items():
        if value is not None:
            env[f"PRESSPLAY_{key.upper()}"] = str(value)
    argv = [
        sys.executable, "-m", "pressplay.gunicorn_app",
        "--bind", f"{settings.host}:{settings.port}",
        "--workers", str(settings.workers), "--worker-class", settings.worker_class,
        "--threads", str(settings.threads), "--worker-connections", str(settings.worker_connections),
    ]  # fmt: skip
    sys.stdout.flush()
    os.execve(sys.executable, argv, env)  # noqa: S606 - our own interpreter and module, no shell
    return 0  # pragma: no cover - execve does not return


def _print_dev_banner(host: str, port: int, token: str) -> None:
    body = (
        '{"workflow":{"metadata":{"name":"dev","namespace":"argo","uid":"dev"}},'
        '"template":{"name":"try","plugin":{"pressplay":{"status":{"repo":"acme/api"}}}}}'
    )
    print(
        f"pressplay sidecar (dev mode) on http://{host}:{port}\n"
        f"try it (the reply names the missing arguments):\n\n"
        f"  curl -s -X POST http://{host}:{port}/api/v1/template.execute \\\n"
        f"    -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\\n"
        f"    -d '{body}'\n",
        flush=True,
    )


def cmd_plugin_configmap(args: argparse.Namespace) -> int:
    from pressplay.plugin_configmap import write_configmap

    try:
        path = write_configmap(args.plugin_yaml, args.out_dir)
    except (OSError, ValueError) as exc:
        print(f"pressplay plugin-configmap: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from pressplay.docgen import update_docs
    from pressplay.steps.registry import RegistryError

    try:
        done = update_docs(Path(args.docs_dir), check=args.check, only=args.step or ())
    except (RegistryError, ValueError) as exc:
        print(f"pressplay docs: {exc}", file=sys.stderr)
        return 2
    for line in done:
        print(line)
    return 1 if args.check and done else 0


def cmd_chart(args: argparse.Namespace) -> int:
    from pressplay.chart import ChartError, write_chart
    from pressplay.lint.load import LoadError

    try:
        differ = write_chart(args.manifests, args.out, check=args.check)
    except (ChartError, LoadError, OSError) as exc:
        print(f"pressplay chart: {exc}", file=sys.stderr)
        return 2
    for name in differ:
        print(f"{'stale' if args.check else 'wrote'} {args.out / name}")
    return 1 if args.check and differ else 0


def _delegate(target: str) -> Callable[[list[str]], int]:
    module, _, func = target.partition(":")
    return getattr(importlib.import_module(module), func)  # type: ignore[no-any-return]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pressplay",
        description="Press play on a backlog: an Argo Workflows executor plugin and agent runtime.",
    )
    parser.add_argument("--version", action="version", version=f"pressplay {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _serve_parser(sub)
    p = sub.add_parser(
        "plugin-configmap",
        help="write the ExecutorPlugin ConfigMap generated from plugin.yaml",
        description="Write the ExecutorPlugin ConfigMap Argo reads (what `argo executor-plugin build` "
        "makes) from plugin.yaml, the sidecar's definition, into OUT_DIR.",
    )
    p.add_argument("--plugin-yaml", type=Path, default=Path("plugin.yaml"), help="default ./plugin.yaml")
    p.add_argument("--out-dir", type=Path, default=Path("manifests/plugin"), help="default manifests/plugin")
    p = sub.add_parser(
        "docs",
        help="regenerate the generated parts of docs/ (step argument tables)",
        description="Regenerate the argument table of each step's page (docs/steps/<key>.md, between the "
        "GENERATED ARGS markers) from the step's argument model; --check only reports stale pages.",
    )
    p.add_argument("--docs-dir", default="docs", help="the docs folder holding steps/ (default docs)")
    p.add_argument(
        "--step", action="append", help="only this step key (repeatable; default: every installed step)"
    )
    p.add_argument("--check", action="store_true", help="only report stale files (exit 1)")
    p = sub.add_parser("chart", help="generate the Helm chart (charts/pressplay) from the kustomize tree")
    p.add_argument("--manifests", type=Path, default=Path("manifests"), help="default manifests")
    p.add_argument("--out", type=Path, default=Path("charts/pressplay"), help="default charts/pressplay")
    p.add_argument("--check", action="store_true", help="only report files that differ (exit 1)")
    for name, (_, help_text) in DELEGATED.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATED:
        return _delegate(DELEGATED[argv[0]][0])(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        return cmd_serve(args)
    if args.command == "plugin-configmap":
        return cmd_plugin_configmap(args)
    if args.command == "docs":
        return cmd_docs(args)
    if args.command == "chart":
        return cmd_chart(args)
    parser.print_help()
    return 2
