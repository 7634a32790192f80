"""``pressplay agent``: the entrypoint of the heavy ``agent-step`` container.

One run of :func:`pressplay.agent.runtime.run_step` does, in order:

1. **checkout** - clone (or reuse) the repository, check out ``branch`` (from the remote when it exists,
   else from ``base``); git authenticates over HTTPS through the ``pressplay git-credential`` helper, so
   the installation token never reaches disk, a remote URL, argv or a log;
2. **resume check** - when the branch already carries a commit with this step's trailers
   (``Pressplay-Task`` + ``Pressplay-Step``) the step is done: it reports that commit and stops;
3. **prompt** - the profile's system prompt plus the user prompt (``prompt_mod``, the task prompt,
   context files such as a PR comment or failing check logs);
4. **agent** - the profile's command (an argv template: Claude Code, Codex, any CLI) with a timeout,
   output streamed to the log, bounded attempts;
5. **gates** - the profile's compliance gates (``cargo fmt --check``, clippy pedantic, tests, ...);
   a failing gate gives the agent another attempt with the report, and fails the step when none is left;
6. **commit + push** - one commit with the trailers, pushed without force;
7. **outputs** - the files the ``agent-step`` template reads (commit, changed files, gate report,
   summary), also written when the step fails.

Modules: :mod:`.options` (inputs), :mod:`.profile` (agent profiles), :mod:`.prompt`, :mod:`.process`
(running commands), :mod:`.gates`, :mod:`.git`, :mod:`.credential`, :mod:`.runtime`, :mod:`.cli`.
"""

from __future__ import annotations

from pressplay.agent.options import AgentOptions
from pressplay.agent.runtime import StepResult, run_step

__all__ = ["AgentOptions", "StepResult", "run_step"]
