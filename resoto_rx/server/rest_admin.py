"""REST handlers for config documents (resotocore's ``/config/{id}``) and jobs; present when the core has them."""

from __future__ import annotations

from typing import Any

from resoto_rx.config import ConfigError, ConfigService, UnknownConfigError
from resoto_rx.jobs import Job, JobRegistry, UnknownJobError
from resoto_rx.server.handlers import ApiHandler
from resoto_rx.workflows.model import WorkflowDefinitionError

REVISION_HEADER = "Resoto-Config-Revision"


class _ConfigAccess(ApiHandler):
    def config(self) -> ConfigService:
        config: ConfigService | None = self.ctx.optional("config")
        if config is None:
            self.fail(404, "this server has no config service")
        return config


class ConfigsHandler(_ConfigAccess):
    """``GET /configs``: the ids of every config document."""

    def get(self) -> None:
        self.reply(self.config().ids())


class ConfigHandler(_ConfigAccess):
    """``GET|PUT|PATCH|DELETE /config/{id}``: the content as JSON, the revision in a header."""

    def get(self, config_id: str) -> None:
        try:
            entry = self.config().show(config_id)
        except UnknownConfigError as err:
            self.fail(404, str(err))
        self.set_header(REVISION_HEADER, entry.revision)
        self.reply(entry.content)

    def put(self, config_id: str) -> None:
        self._write(config_id, lambda service, body: service.put(config_id, body))

    def patch(self, config_id: str) -> None:
        self._write(config_id, lambda service, body: service.patch(config_id, body))

    def delete(self, config_id: str) -> None:
        try:
            self.config().delete(config_id)
        except UnknownConfigError as err:
            self.fail(404, str(err))
        except ConfigError as err:
            self.fail(409, str(err))
        self.set_status(204)
        self.finish()

    def _write(self, config_id: str, write: Any) -> None:
        body = self.json_body()
        if not isinstance(body, dict):
            self.fail(400, f"body: expected a JSON object (the config document), got {type(body).__name__}")
        try:
            entry = write(self.config(), body)
        except ConfigError as err:
            self.fail(400, str(err))
        self.set_header(REVISION_HEADER, entry.revision)
        self.reply(entry.content)


class _JobAccess(ApiHandler):
    def jobs(self) -> JobRegistry:
        jobs: JobRegistry | None = self.ctx.optional("jobs")
        if jobs is None:
            self.fail(404, "this server has no job registry")
        return jobs

    def definition(self, body: Any) -> Job:
        try:
            return Job.from_json(body)
        except WorkflowDefinitionError as err:
            self.fail(400, str(err))

    def show(self, job_id: str) -> Job:
        try:
            return self.jobs().show(job_id)
        except UnknownJobError as err:
            self.fail(404, str(err))


class JobsHandler(_JobAccess):
    """``GET /jobs``: every job; ``POST /jobs``: add a command job from its JSON definition."""

    def get(self) -> None:
        self.reply([job.to_json() for job in self.jobs().list()])

    def post(self) -> None:
        job = self.definition(self.json_body())
        try:
            self.jobs().add(job)
        except WorkflowDefinitionError as err:
            self.fail(409 if "exists already" in str(err) else 400, str(err))
        self.reply(job.to_json(), 201)


class JobHandler(_JobAccess):
    """``GET|PUT|DELETE /job/{id}``."""

    def get(self, job_id: str) -> None:
        self.reply(self.show(job_id).to_json())

    def put(self, job_id: str) -> None:
        body = self.json_body()
        if isinstance(body, dict) and body.setdefault("id", job_id) != job_id:
            self.fail(400, f"id: the body says {body['id']!r} but the path says {job_id!r}")
        self.show(job_id)
        job = self.definition(body)
        try:
            self.jobs().update(job)
        except WorkflowDefinitionError as err:
            self.fail(400, str(err))
        self.reply(job.to_json())

    def delete(self, job_id: str) -> None:
        self.show(job_id)
        self.jobs().delete(job_id)
        self.set_status(204)
        self.finish()

class JobActionHandler(_JobAccess):
    """``POST /job/{id}/run|activate|deactivate`` (the verb is the subclass's ``verb``)."""

    verb = ""

    def post(self, job_id: str) -> None:
        self.show(job_id)
        jobs = self.jobs()
        if self.verb == "run":
            task = jobs.run(job_id)
            self.reply(task.summary() if task is not None else {"job": job_id, "skipped": True}, 202)
        else:
            change = jobs.activate if self.verb == "activate" else jobs.deactivate
            try:
                self.reply(change(job_id).to_json())
            except WorkflowDefinitionError as err:  # e.g. a job without a trigger has nothing to (de)activate
                self.fail(400, str(err))


class JobRunHandler(JobActionHandler):
    verb = "run"


class JobActivateHandler(JobActionHandler):
    verb = "activate"


class JobDeactivateHandler(JobActionHandler):
    verb = "deactivate"
