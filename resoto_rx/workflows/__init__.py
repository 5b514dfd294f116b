"""Workflows as observable pipelines: model, built-ins, task runner, subscribers."""

from resoto_rx.workflows.builtin import DEFAULT_SCHEDULE, builtin_workflows
from resoto_rx.workflows.graph_merge import GRAPH_MERGE_COMPLETED, GraphMergeTracker
from resoto_rx.workflows.model import (
    EmitEvent,
    EventTrigger,
    Execute,
    OnError,
    PerformAction,
    Step,
    Surpass,
    TimeTrigger,
    WaitForEvent,
    WaitForGraphMerge,
    Workflow,
    WorkflowDefinitionError,
)
from resoto_rx.workflows.progress import TaskProgress
from resoto_rx.workflows.runner import TaskRun, TaskRunner, TaskStatus, UnknownWorkflowError
from resoto_rx.workflows.steps import StepRun
from resoto_rx.workflows.subscribers import (
    Subscriber,
    SubscriberRegistry,
    Subscription,
    SubscriptionError,
)
from resoto_rx.workflows.worker import ActionCall, subscribe_action

__all__ = [
    "DEFAULT_SCHEDULE",
    "GRAPH_MERGE_COMPLETED",
    "ActionCall",
    "EmitEvent",
    "EventTrigger",
    "Execute",
    "GraphMergeTracker",
    "OnError",
    "PerformAction",
    "Step",
    "StepRun",
    "Subscriber",
    "SubscriberRegistry",
    "Subscription",
    "SubscriptionError",
    "Surpass",
    "TaskProgress",
    "TaskRun",
    "TaskRunner",
    "TaskStatus",
    "TimeTrigger",
    "UnknownWorkflowError",
    "WaitForEvent",
    "WaitForGraphMerge",
    "Workflow",
    "WorkflowDefinitionError",
    "builtin_workflows",
    "subscribe_action",
]
