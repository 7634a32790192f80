"""``pressplay demo``: press play on a sample repository, end to end, on this machine.

Nothing leaves 127.0.0.1: a GitHub emulator (mirroring a local bare git remote served over HTTP), a
Kubernetes/Argo CD emulator and the real sidecar run in this process; a deterministic scripted agent
(:mod:`pressplay.demo.scripted_agent`) does the coding through the real ``pressplay agent checkout``,
``run`` and ``push``, run as the ``agent-step`` pod runs its three containers (:mod:`.pod`); the
real plugin steps run over HTTP through the agent emulator, in the order of the ``task``
WorkflowTemplate (:data:`pressplay.demo.pipeline.TASK_STEPS`; a test keeps the two equal).

- :mod:`.sample` - the sample project, its Taskmaster backlog and the agent profiles;
- :mod:`.world` - the emulators, the bare remote, simulated CI and Argo CD, state saved for resume;
- :mod:`.git_http` - the git host (smart HTTP, token-authenticated pushes, every request recorded);
- :mod:`.pod` - the agent step as three processes, the agent's sandboxed where the machine allows;
- :mod:`.runner` - press-play and task flows, remediation runs;
- :mod:`.cli` - the command.
"""
