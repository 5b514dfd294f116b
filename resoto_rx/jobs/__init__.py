"""Reactive jobs: a shell command, a Python callable or an RxPY operator chain, run on triggers as tasks.

>>> from resoto_rx.jobs import Job, JobRegistry, RxChain
"""

from resoto_rx.jobs.bodies import Emit, FrameView, JobDefinitionError, PythonCall, RxChain, ShellCommand
from resoto_rx.jobs.model import DEFAULT_JOB_TIMEOUT, Job
from resoto_rx.jobs.parse import parse_job_line
from resoto_rx.jobs.registry import ChainFailure, JobRegistry, UnknownJobError, cron_ticks
from resoto_rx.jobs.shell import ShellCommandError

__all__ = [
    "DEFAULT_JOB_TIMEOUT",
    "ChainFailure",
    "Emit",
    "FrameView",
    "Job",
    "JobDefinitionError",
    "JobRegistry",
    "PythonCall",
    "RxChain",
    "ShellCommand",
    "ShellCommandError",
    "UnknownJobError",
    "cron_ticks",
    "parse_job_line",
]
