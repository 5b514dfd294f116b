"""The notebook layer: kernel-loop glue, pandas views and live widgets (``pip install 'resoto-rx[notebook]'``).

Every widget keeps its state as plain objects and DataFrames (``state()``, ``frame()``, ``preview()``)
and redraws at most 20 times per second on the bus loop. Importing this package does not patch
asyncio: nest-asyncio2 is applied only when a synchronous call (``run_workflow``, ``run_sync``) has
to wait inside the running kernel loop.

>>> from resoto_rx.notebook import EventLog, WorkflowMonitor, history_frame
"""

from resoto_rx.notebook.chain import (
    BufferWithCount,
    BufferWithTime,
    ChainError,
    ChainSpec,
    Debounce,
    EmitSink,
    Filter,
    FrameSink,
    ListSink,
    Map,
    PrintSink,
    Scan,
    Throttle,
    build_chain,
    job_code,
    rx_code,
)
from resoto_rx.notebook.composer import JobComposer
from resoto_rx.notebook.event_log import EventLog
from resoto_rx.notebook.frames import (
    cleanup_candidates,
    history_frame,
    job_runs_frame,
    metrics_frame,
    resources_frame,
    runs_frame,
    step_durations,
    steps_frame,
)
from resoto_rx.notebook.kernel import (
    bus_scheduler,
    kernel_loop,
    nest_asyncio_applied,
    run_sync,
    run_workflow,
)
from resoto_rx.notebook.live_frame import LiveFrame
from resoto_rx.notebook.monitor import MonitorState, PhaseState, WorkflowMonitor
from resoto_rx.notebook.plots import StepDurationsPlot, plot_step_durations
from resoto_rx.notebook.throttle import MAX_RATE, throttle_latest
from resoto_rx.notebook.view import LiveView

__all__ = [
    "MAX_RATE",
    "BufferWithCount",
    "BufferWithTime",
    "ChainError",
    "ChainSpec",
    "Debounce",
    "EmitSink",
    "EventLog",
    "Filter",
    "FrameSink",
    "JobComposer",
    "ListSink",
    "LiveFrame",
    "LiveView",
    "Map",
    "MonitorState",
    "PhaseState",
    "PrintSink",
    "Scan",
    "StepDurationsPlot",
    "Throttle",
    "WorkflowMonitor",
    "build_chain",
    "bus_scheduler",
    "cleanup_candidates",
    "history_frame",
    "job_code",
    "job_runs_frame",
    "kernel_loop",
    "metrics_frame",
    "nest_asyncio_applied",
    "plot_step_durations",
    "resources_frame",
    "run_sync",
    "run_workflow",
    "runs_frame",
    "rx_code",
    "step_durations",
    "steps_frame",
    "throttle_latest",
]
