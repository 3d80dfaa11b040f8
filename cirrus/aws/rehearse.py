"""Rehearse a deployment on this machine: the built stack on a local AWS API emulator, run for real.

:func:`rehearse` starts moto's server on 127.0.0.1 (no Docker, no account), deploys the
built stack to it with :func:`cirrus.aws.deploy.deploy`, finds the deployment through SSM
as ``cirrus mgmt`` does, sends the payloads to the deployed process queue, and drives the
deployed functions (:mod:`cirrus.aws.rehearsal`): the ``process`` and ``update-state``
handlers, and the deployed state machines' definitions, as rendered with their Lambda ARNs,
run on cirrus's engine with every Lambda ARN invoking the task handler **from the built
code zip** in a process of its own, with that function's deployed environment.

What it does not check: IAM permissions by resource, the real Lambda runtime and its
limits, Batch containers (a Batch task runs from the code zip as a local process), and
CloudFormation's replacement rules.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cirrus.aws.discovery import deployment_environment
from cirrus.aws.environment import AwsSettings, runtime_environment, settings_from_environment
from cirrus.aws.handlers.process import ProcessFunction
from cirrus.aws.handlers.update_state import UpdateStateFunction
from cirrus.aws.rehearsal import ExecutionRunner, QueueDelivery, run_until_quiet
from cirrus.engine import (
    FUNCTION_ARN,
    ResourceError,
    TargetKind,
    TaskHandler,
    TaskTarget,
)
from cirrus.errors import ConfigError, TaskError
from cirrus.project import Project
from cirrus.queue import open_queue
from cirrus.state import open_state_db

__all__ = [
    "Rehearsal",
    "RehearsalResult",
    "ZipFunctions",
    "deploy_rehearsal",
    "local_aws",
    "rehearse",
]

_RUN_HANDLER = """
import json, sys
from cirrus.aws.handlers.task import lambda_handler
try:
    result = lambda_handler(json.load(sys.stdin), None)
except Exception as err:
    json.dump({"errorType": type(err).__name__, "errorMessage": str(err)}, sys.stdout)
    sys.exit(1)
json.dump(result, sys.stdout)
"""


@dataclass
class ZipFunctions:
    """Runs deployed Lambda functions from the built code zip, with their deployed environment.

    Args:
        lambda_client: a boto3 ``lambda`` client of the emulator.
        code_dir: the built code zip, unpacked.
        environment: the variables every function process gets (AWS endpoint, credentials).
    """

    lambda_client: Any
    code_dir: Path
    environment: dict[str, str]
    _functions: dict[str, dict[str, str]] = field(default_factory=dict)

    def resolve(self, target: TaskTarget) -> TaskHandler:
        """A deployed function, by ARN or name; job definitions are not run here."""
        if target.kind is TargetKind.JOB_DEFINITION:
            raise ResourceError("a rehearsal does not run Batch jobs yet")
        value = str(target.value)
        match = FUNCTION_ARN.fullmatch(value)
        name = match["name"] if match else value
        variables = self._variables(name)
        return TaskHandler(lambda payload, timeout: self._invoke(name, variables, payload))

    def _variables(self, name: str) -> dict[str, str]:
        if name not in self._functions:
            try:
                config = self.lambda_client.get_function_configuration(FunctionName=name)
            except Exception as err:
                raise ResourceError(f"no deployed function {name!r}: {err}") from err
            self._functions[name] = dict(config.get("Environment", {}).get("Variables", {}))
        return self._functions[name]

    def _invoke(self, name: str, variables: dict[str, str], payload: Any) -> Any:
        env = {
            **self.environment,
            **variables,
            "CIRRUS_PROJECT": str(self.code_dir / "project"),
            "PYTHONPATH": str(self.code_dir),
            "AWS_LAMBDA_FUNCTION_NAME": name,
        }
        finished = subprocess.run(
            [sys.executable, "-c", _RUN_HANDLER],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            env=env,
            cwd=self.code_dir,
            check=False,
        )
        try:
            answer = json.loads(finished.stdout) if finished.stdout.strip() else None
        except ValueError:
            answer = None
        if finished.returncode != 0:
            if isinstance(answer, dict) and "errorType" in answer:
                raise TaskError(str(answer["errorType"]), str(answer.get("errorMessage", "")))
            raise TaskError("Runtime.ExitError", finished.stderr.strip()[-2000:])
        return answer


@contextmanager
def local_aws() -> Iterator[dict[str, str]]:
    """moto's server on 127.0.0.1 and a process environment that talks only to it."""
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    environment = {
        "AWS_ACCESS_KEY_ID": "rehearsal",
        "AWS_SECRET_ACCESS_KEY": "rehearsal",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ALLOW_HTTP": "true",
        "AWS_EC2_METADATA_DISABLED": "true",
        "MOTO_PORT": str(port),
    }
    saved = {name: os.environ.get(name) for name in environment}
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not one line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.update(environment)
    try:
        with warnings.catch_warnings():
            # the emulator says so for each resource type it skips (the queue policy)
            warnings.filterwarnings("ignore", "Tried to parse", UserWarning)
            yield environment
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        server.stop()


@dataclass
class RehearsalResult:
    """What a rehearsal did: the executions it ran and every payload's record."""

    executions: int
    records: list[dict[str, Any]]


@dataclass
class Rehearsal:
    """A deployed stack on the emulator, ready to run payloads (see :func:`deploy_rehearsal`).

    Attributes:
        prefix: the deployment's prefix (its name for ``cirrus mgmt``).
        settings: the deployment's settings, as its functions read them.
        code_dir: the built code zip, unpacked.
    """

    prefix: str
    settings: AwsSettings
    code_dir: Path
    environment: dict[str, str]

    def run(self, payloads: Sequence[Any]) -> RehearsalResult:
        """Send ``payloads`` to the deployed queue and run until nothing is left to do."""
        import boto3

        sfn = boto3.client("stepfunctions")
        definitions = {}
        for machine in sfn.list_state_machines()["stateMachines"]:
            if machine["name"].startswith(f"{self.prefix}-"):
                described = sfn.describe_state_machine(stateMachineArn=machine["stateMachineArn"])
                workflow = machine["name"].removeprefix(f"{self.prefix}-")
                definitions[workflow] = json.loads(described["definition"])
        lambda_client = boto3.client("lambda")
        _take_over_queue_mappings(lambda_client)
        resolver = ZipFunctions(lambda_client, self.code_dir, dict(self.environment))
        update_state = UpdateStateFunction(self.settings)
        runner = ExecutionRunner(
            sfn, self.settings.base_workflow_arn, definitions, resolver, update_state
        )
        queue = open_queue(self.settings.runtime.queue)
        queue.send_many([json.dumps(payload) for payload in payloads])
        ran = run_until_quiet(QueueDelivery(queue, ProcessFunction(self.settings)), runner)
        db = open_state_db(self.settings.runtime.state_db)
        records = [record.to_dict() for record in db.query().records]
        return RehearsalResult(ran, records)


@contextmanager
def deploy_rehearsal(
    project: Project,
    deployment: str | None = None,
    *,
    environment: dict[str, str],
    work_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Iterator[Rehearsal]:
    """Build ``project``, deploy it to the emulator ``environment`` names, and unpack its code.

    Raises:
        ConfigError: the build or the deploy failed.
    """
    from cirrus.aws.build import build
    from cirrus.aws.deploy import deploy

    built = build(project, deployment, dependencies=False)
    deployed = deploy(
        project,
        deployment,
        build=False,
        dependencies=False,
        poll_seconds=0.2,
        progress=progress,
    )
    prefix = deployed.deployment.prefix
    settings = settings_from_environment(runtime_environment(deployment_environment(prefix)))
    code = built.zips.get("code")
    if code is None:
        raise ConfigError("the build left no code zip to run the functions from")
    with tempfile.TemporaryDirectory(prefix="cirrus-rehearsal-", dir=work_dir) as scratch:
        code_dir = Path(scratch) / "code"
        with zipfile.ZipFile(code) as archive:
            archive.extractall(code_dir)
        yield Rehearsal(prefix, settings, code_dir, dict(environment))


def rehearse(
    project: Project,
    payloads: Sequence[Any],
    deployment: str | None = None,
    *,
    environment: dict[str, str],
    work_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> RehearsalResult:
    """Deploy ``project`` to the emulator ``environment`` names and run ``payloads`` through it.

    Raises:
        ConfigError: the build or the deploy failed.
    """
    with deploy_rehearsal(
        project, deployment, environment=environment, work_dir=work_dir, progress=progress
    ) as rehearsal:
        return rehearsal.run(payloads)


def _take_over_queue_mappings(lambda_client: Any) -> None:
    """Turn the emulator's SQS event source mappings off: the rehearsal delivers instead.

    Left on, the emulator would receive each message at once to run the function in a
    Docker container, which it cannot do here.
    """
    pages = lambda_client.get_paginator("list_event_source_mappings").paginate()
    for page in pages:
        for mapping in page["EventSourceMappings"]:
            if ":sqs:" in str(mapping.get("EventSourceArn", "")):
                lambda_client.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
