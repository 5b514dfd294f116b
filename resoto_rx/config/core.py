"""The ``resoto.core`` config document, applied live to the task runner and the cleanup switch.

Shape (every part optional; a missing part means the default)::

    {
      "workflows": {"collect_and_cleanup": {"schedule": "*/15 * * * *", "timezone": "UTC"}},
      "cleanup": {"enabled": true}
    }

- ``workflows.<id>.schedule``: the cron schedule of a workflow known when the binding was made (the
  built-in ones); ``""`` (or ``null`` in a ``put``) means no schedule; absent means the schedule it
  started with. In a ``patch``, ``null`` removes the key (RFC 7386), i.e. restores that default.
- ``workflows.<id>.timezone``: IANA name the cron is read in (default ``UTC``).
- ``cleanup.enabled``: whether the next ``cleanup`` step deletes what the plan marked (default false).

The binding validates every new content before the config service stores it, then applies each
``config-updated`` / ``config-deleted`` of ``resoto.core`` from the bus, so a change made anywhere
(a notebook, the HTTP API) reschedules ``collect_and_cleanup`` at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reactivex.disposable import CompositeDisposable

from resoto_rx.config.service import ConfigError, ConfigService
from resoto_rx.messages import CoreEvent, Message
from resoto_rx.workflows.model import TimeTrigger, WorkflowDefinitionError
from resoto_rx.workflows.runner import TaskRunner

log = logging.getLogger(__name__)

CORE_CONFIG_ID = "resoto.core"
_SECTIONS = ("workflows", "cleanup")
_WORKFLOW_KEYS = ("schedule", "timezone")
_CLEANUP_KEYS = ("enabled",)
_UNSET = object()


@dataclass(frozen=True)
class CoreSettings:
    """What a ``resoto.core`` document sets: only the parts it names."""

    schedules: dict[str, TimeTrigger | None]
    cleanup_enabled: bool | None


def parse_core_config(content: Mapping[str, Any], workflow_ids: Iterable[str]) -> CoreSettings:
    """Check a ``resoto.core`` document against the known ``workflow_ids``; raises :class:`ConfigError`."""
    known = sorted(workflow_ids)
    where = CORE_CONFIG_ID
    _only(content, _SECTIONS, where)
    workflows = content.get("workflows", {})
    _object(workflows, f"{where}: workflows")
    schedules: dict[str, TimeTrigger | None] = {}
    for workflow_id, settings in workflows.items():
        path = f"{where}: workflows.{workflow_id}"
        if workflow_id not in known:
            raise ConfigError(f"{path}: unknown workflow {workflow_id!r}; known workflows: {', '.join(known)}")
        _object(settings, path)
        _only(settings, _WORKFLOW_KEYS, path)
        cron = settings.get("schedule", _UNSET)
        timezone = settings.get("timezone", "UTC")
        if cron is _UNSET:
            if "timezone" in settings:  # it would be stored and never used: say so instead
                raise ConfigError(f"{path}: timezone needs a schedule in the same entry, got only {timezone!r}")
            continue
        if cron is not None and not isinstance(cron, str):
            raise ConfigError(f"{path}.schedule must be a cron string such as '0 * * * *' or null, got {cron!r}")
        if not isinstance(timezone, str):
            raise ConfigError(f"{path}.timezone must be an IANA time zone name such as 'UTC', got {timezone!r}")
        try:
            schedules[workflow_id] = TimeTrigger(cron, timezone) if cron else None
        except WorkflowDefinitionError as err:
            raise ConfigError(f"{path}: {err}") from None
    cleanup = content.get("cleanup", {})
    _object(cleanup, f"{where}: cleanup")
    _only(cleanup, _CLEANUP_KEYS, f"{where}: cleanup")
    enabled = cleanup.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise ConfigError(f"{where}: cleanup.enabled must be true or false, got {enabled!r}")
    return CoreSettings(schedules, enabled)


class CoreConfigBinding:
    """Keeps the runner's workflow schedules and the cleanup switch in line with ``resoto.core``.

    Args:
        config: where ``resoto.core`` lives; its current content is applied at once.
        runner: whose workflows are rescheduled; the workflows it has now are the configurable ones,
            and their current schedules are the defaults.
        set_cleanup: called with the configured ``cleanup.enabled`` (e.g. ``DemoCloud.enable_cleanup``).
    """

    def __init__(
        self, config: ConfigService, runner: TaskRunner, set_cleanup: Callable[[bool], None] | None = None
    ) -> None:
        self.config = config
        self.runner = runner
        self.set_cleanup = set_cleanup
        self.defaults = {wid: _schedule_of(runner, wid) for wid in runner.workflows}
        self._cleanup_configured = False
        self._subscriptions = CompositeDisposable(
            config.add_validator(CORE_CONFIG_ID, self.validate),
            config.bus.listen(CoreEvent.CONFIG_UPDATED, CoreEvent.CONFIG_DELETED).subscribe(self._on_config_event),
        )
        current = config.get(CORE_CONFIG_ID)
        if current is not None:
            self.apply(current.content)

    def validate(self, content: dict[str, Any]) -> None:
        parse_core_config(content, self.defaults)

    def apply(self, content: Mapping[str, Any] | None) -> None:
        """Reschedule the workflows whose schedule differs and set the cleanup switch (None: the defaults)."""
        settings = parse_core_config(content or {}, self.defaults)
        for workflow_id, default in self.defaults.items():
            wanted = settings.schedules.get(workflow_id, default)
            workflow = self.runner.workflows.get(workflow_id)
            if workflow is None or _schedule_of(self.runner, workflow_id) == wanted:
                continue
            cron, timezone = (wanted.cron, wanted.timezone) if wanted is not None else (None, "UTC")
            self.runner.add_workflow(workflow.with_schedule(cron, timezone))
            log.info("workflow %s rescheduled to %s by %s", workflow_id, cron, CORE_CONFIG_ID)
        if self.set_cleanup is not None and (settings.cleanup_enabled is not None or self._cleanup_configured):
            # Only a configured switch is touched: going back to "not configured" restores the default (off).
            self.set_cleanup(bool(settings.cleanup_enabled))
        self._cleanup_configured = settings.cleanup_enabled is not None

    def _on_config_event(self, message: Message) -> None:
        if message.data.get("id") != CORE_CONFIG_ID:
            return
        entry = self.config.get(CORE_CONFIG_ID) if message.message_type == CoreEvent.CONFIG_UPDATED else None
        self.apply(entry.content if entry is not None else None)

    def close(self) -> None:
        self._subscriptions.dispose()


def _schedule_of(runner: TaskRunner, workflow_id: str) -> TimeTrigger | None:
    return next((t for t in runner.workflows[workflow_id].triggers if isinstance(t, TimeTrigger)), None)


def _object(value: object, where: str) -> None:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a JSON object, got {value!r}")


def _only(value: Mapping[str, Any], accepted: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(value) - set(accepted))
    if unknown:
        raise ConfigError(f"{where}: unknown keys {unknown}; accepted: {', '.join(accepted)}")
