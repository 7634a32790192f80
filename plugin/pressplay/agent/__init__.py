"""``pressplay agent``: the three containers of the heavy ``agent-step`` (docs/agent-image.md).

No process the agent controls, and nothing the agent wrote, ever meets the App key or a write token:

1. **checkout** (:mod:`.checkout`, holds the key) - a fresh checkout of the task branch in an empty
   workspace, reading through ``pressplay git-credential`` (this interpreter with ``-I``, answering for
   the task repository's URL only, ``contents: read``); the trusted start (repository, URL, branch,
   start commit, the step's commit if the branch has one) recorded in a state directory the agent's
   container does not mount (:mod:`.state`);
2. **run** (:mod:`.runtime`, no key, no token) - the resume check (a commit with this step's
   ``Pressplay-Task`` / ``Pressplay-Step`` trailers means done), the prompt (:mod:`.prompt`: repository
   files read only as regular files, never through a link), the profile's agent CLI (:mod:`.profile`,
   :mod:`.process`: output redacted as one stream, leftovers stopped), the gates (:mod:`.gates`), one
   local commit with the trailers (:mod:`.git`), the output files;
3. **push** (:mod:`.push`, holds the key) - from the workspace's objects only (never its config,
   hooks or remotes), the agent phase's commit, verified against the recorded start and the trailers,
   pushed without force to the task branch at the URL computed from the settings, with a token for
   that one repository and ``contents: write``.

:func:`pressplay.agent.runtime.run_step` runs the three in one process (tests, embedding); the pod and
``pressplay demo`` (:mod:`pressplay.demo.pod`) run them apart. Modules: :mod:`.options` (inputs),
:mod:`.credential`, :mod:`.cli`.
"""

from __future__ import annotations

from pressplay.agent.options import AgentOptions
from pressplay.agent.runtime import StepResult, run_step

__all__ = ["AgentOptions", "StepResult", "run_step"]
