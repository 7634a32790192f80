"""``pressplay lint``: check rendered manifests before they reach a cluster.

What it checks (each finding names the file, the object and the path inside it):

- **plugin steps**: every ``plugin: {pressplay: {<step>: {...}}}`` names a known step and its
  arguments validate against that step's model. A value holding a ``{{...}}`` expression is checked
  the way Argo delivers it: as a *string* after substitution (so a list or object argument given as
  one expression must be accepted as JSON text by the model). Plugin outputs must be declared with
  ``valueFrom: {supplied: {}}``.
- **references**: ``template``/``templateRef``/``workflowTemplateRef``/``entrypoint``/``onExit``
  resolve; ``{{tasks.X.outputs.parameters.Y}}`` and ``{{steps.X...}}`` name an existing task/step
  and a declared output of its template; ``{{inputs.parameters.X}}`` and
  ``{{workflow.parameters.X}}`` are declared; ``{{item}}`` only under ``withParam``/``withItems``;
  required inputs are passed and no unknown ones are.
- **shell safety**: no ``{{...}}`` in shell source (``script.source``, the script after ``sh -c``):
  workflow and event values must reach a container as env vars or files.
- **environment**: no ``envFrom: configMapRef`` in any container (nor in an executor plugin's
  sidecar): every key of the ConfigMap would become a variable, so a ``PRESSPLAY_*`` key added there
  would reconfigure pressplay; name each variable with ``valueFrom.configMapKeyRef``.
- **synchronization and retries**: Argo Workflows v4 lists (``semaphores:``/``mutexes:``), lock names
  without ``/``, semaphore ConfigMaps and keys that exist; every ``retryStrategy`` has a ``limit``.
- **DAG dependencies**: ``depends`` names existing tasks and results; a bare name of a task with a
  ``when`` is flagged (it also counts as done when that task was skipped).
- **Argo Events**: Sensor string filters (and ``=~`` in ``exprs``) are anchored regexes, filter types
  and header paths are right, a GitHub dependency filters ``body.installation.id`` and
  ``body.repository.full_name`` (warning) and every ``owner/name`` of the settings' ``repositories``
  passes that filter, a trigger names its dependency, triggers use ``submit`` with
  ``workflowTemplateRef`` and arguments the template declares, GitHub EventSources always verify
  signatures and use no personal access token.

Use :func:`lint_documents` from code, ``pressplay lint [PATH]`` from a shell.
"""

from __future__ import annotations

from pressplay.lint.core import Finding, LintContext, Severity, lint_documents
from pressplay.lint.load import LoadError, load_path

__all__ = ["Finding", "LintContext", "LoadError", "Severity", "lint_documents", "load_path"]
