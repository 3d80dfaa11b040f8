"""Finding a deployment's settings, as upstream's management CLI does: through SSM.

A deployed stack keeps ``/cirrus/deployments/<name>`` = ``{"type": "parameter_store",
"value": "/deployment/<name>/"}`` and one parameter per ``CIRRUS_*`` setting under that
path. :func:`deployment_environment` reads them back, so that ``cirrus mgmt <name> ...``
runs the local commands against the deployment's table, buckets and queue.
"""

from __future__ import annotations

import json
from typing import Any

from cirrus.errors import ConfigError

__all__ = ["DEPLOYMENTS_PATH", "deployment_environment", "list_deployments"]

DEPLOYMENTS_PATH = "/cirrus/deployments/"


def _ssm(client: Any) -> Any:
    if client is not None:
        return client
    import boto3
    from botocore.exceptions import NoRegionError

    try:
        return boto3.client("ssm")
    except NoRegionError:
        raise ConfigError(
            "no AWS region is set to look deployments up in: set AWS_REGION or "
            "AWS_DEFAULT_REGION (or AWS_PROFILE); the embedded deployment is 'local'"
        ) from None


def list_deployments(client: Any = None) -> list[str]:
    """Names of the deployments registered in this account and region."""
    ssm = _ssm(client)
    names: list[str] = []
    for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=DEPLOYMENTS_PATH):
        names.extend(p["Name"].removeprefix(DEPLOYMENTS_PATH) for p in page["Parameters"])
    return sorted(names)


def deployment_environment(name: str, client: Any = None) -> dict[str, str]:
    """The ``CIRRUS_*`` settings of deployment ``name``.

    Raises:
        ConfigError: no such deployment (the known ones are listed), AWS cannot be asked
            (no region, no credentials, no endpoint), or its pointer is not one this
            version reads.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    ssm = _ssm(client)
    try:
        pointer = ssm.get_parameter(Name=f"{DEPLOYMENTS_PATH}{name}")["Parameter"]["Value"]
    except BotoCoreError as err:
        raise ConfigError(
            f"cannot look deployment {name!r} up in SSM: {err}; the embedded deployment is 'local'"
        ) from err
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") != "ParameterNotFound":
            raise ConfigError(f"cannot read deployment {name!r} from SSM: {err}") from err
        known = ", ".join(list_deployments(ssm)) or "none"
        raise ConfigError(
            f"no deployment named {name!r} in this account and region (known: {known}); "
            "deploy it with `cirrus deploy`, check AWS_PROFILE and AWS_REGION, or use the "
            "embedded deployment 'local'"
        ) from None
    try:
        found = json.loads(pointer)
        kind, path = found["type"], found["value"]
    except (ValueError, KeyError, TypeError):
        raise ConfigError(
            f"{DEPLOYMENTS_PATH}{name} is not a deployment pointer: {pointer!r}"
        ) from None
    if kind != "parameter_store":
        raise ConfigError(f"deployment {name!r} keeps its settings in {kind!r}, not supported")
    env: dict[str, str] = {}
    pages = ssm.get_paginator("get_parameters_by_path").paginate(Path=path, Recursive=True)
    for page in pages:
        for parameter in page["Parameters"]:
            env[parameter["Name"].removeprefix(path)] = parameter["Value"]
    return env
