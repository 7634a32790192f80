"""Argo's executor-plugin wire format. Nothing else in pressplay speaks it.

Request (``ExecuteTemplateArgs``): ``{"workflow": {"metadata": {name, namespace, uid}}, "template": {...}}``
— tolerant: unknown keys are kept and ignored.
Reply (``ExecuteTemplateReply``): ``{"node": {phase, message, outputs}, "requeue": "30s"}`` — exact:
only what Argo's swagger (``pkg/plugins/executor/swagger.yml``) declares.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pressplay.steps.base import Failed, Outcome, Running, Succeeded
from pressplay.types import format_duration


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ObjectMeta(_Lenient):
    name: str = ""
    namespace: str = ""
    uid: str = ""


class WorkflowRef(_Lenient):
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)


class Parameter(_Lenient):
    name: str
    value: Any = None
    global_name: str | None = Field(None, alias="globalName")


class Outputs(_Lenient):
    parameters: list[Parameter] = Field(default_factory=list)


class Template(_Lenient):
    name: str = ""
    outputs: Outputs = Field(default_factory=Outputs)
    plugin: dict[str, Any] | None = None


class ExecuteRequest(_Lenient):
    """The body the agent POSTs to ``/api/v1/template.execute``."""

    workflow: WorkflowRef = Field(default_factory=WorkflowRef)
    template: Template


class _Exact(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ReplyParameter(_Exact):
    name: str
    value: str
    global_name: str | None = Field(None, serialization_alias="globalName")


class ReplyOutputs(_Exact):
    parameters: list[ReplyParameter] = Field(default_factory=list)


class NodeResult(_Exact):
    phase: Literal["Pending", "Running", "Succeeded", "Failed", "Error"]
    message: str = ""
    outputs: ReplyOutputs | None = None


class ExecuteReply(_Exact):
    """What we answer. ``{}`` (no node) means "not mine"."""

    node: NodeResult | None = None
    requeue: str | None = None

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def to_json_bytes(self) -> bytes:
        """The reply as the sidecar sends it (compact JSON, no nulls), serialised by pydantic-core."""
        return self.model_dump_json(by_alias=True, exclude_none=True).encode()


NOT_MINE = ExecuteReply()
MAX_MESSAGE = 4000


def _clip(message: str) -> str:
    message = " ".join(message.split()) if "\n" not in message else message.strip()
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"


def reply_for(outcome: Outcome, template: Template | None = None) -> ExecuteReply:
    """Turn a step outcome into the reply Argo expects (strings only; no requeue on final phases)."""
    if isinstance(outcome, Running):
        return ExecuteReply(
            node=NodeResult(phase="Running", message=_clip(outcome.message)),
            requeue=format_duration(outcome.requeue),
        )
    values = outcome.encoded_outputs()
    global_names: dict[str, str] = {}
    if template is not None:
        global_names = {p.name: p.global_name for p in template.outputs.parameters if p.global_name}
    params = [
        ReplyParameter(name=name, value=value, global_name=global_names.get(name))
        for name, value in values.items()
    ]
    if isinstance(outcome, Succeeded):
        message = outcome.summary or values.get("summary", "")
        return ExecuteReply(
            node=NodeResult(
                phase="Succeeded", message=_clip(message), outputs=ReplyOutputs(parameters=params)
            )
        )
    assert isinstance(outcome, Failed)
    return ExecuteReply(
        node=NodeResult(
            phase="Failed", message=_clip(outcome.message), outputs=ReplyOutputs(parameters=params)
        )
    )
