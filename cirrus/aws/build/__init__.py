"""The AWS build: a cirrus project as one CloudFormation stack, its Lambda zips and a manifest.

    >>> from cirrus.aws.build import build
    >>> result = build(project, "dev")        # the deployment `dev` of cirrus.yml
    >>> result.template_path, result.manifest_path, result.zips
    (PosixPath('.../.cirrus/build/aws/template.json'), ..., {'code': ..., 'dependencies': ...})

The template is plain Python data (:class:`Template`), one flat stack: buckets, the state
table, queues, topics, the process and update-state functions, a function per Lambda task,
Batch job definitions, a state machine per workflow (rendered by :func:`render_workflow`
through the one task rule), IAM roles, log groups and the SSM parameters ``cirrus mgmt``
finds the deployment by. See docs/aws.md, "Build".
"""

from __future__ import annotations

from cirrus.aws.build.build import (
    BUILD_FOLDER,
    MANIFEST_FILE,
    TEMPLATE_FILE,
    BuildResult,
    Stack,
    build,
    build_stack,
)
from cirrus.aws.build.packaging import Artifact, code_zip, dependency_layer, deterministic_zip
from cirrus.aws.build.render import (
    BatchTarget,
    RenderContext,
    RenderedWorkflow,
    WorkflowReferences,
    render_workflow,
    workflow_references,
)
from cirrus.aws.build.template import Template

__all__ = [
    "BUILD_FOLDER",
    "MANIFEST_FILE",
    "TEMPLATE_FILE",
    "Artifact",
    "BatchTarget",
    "BuildResult",
    "RenderContext",
    "RenderedWorkflow",
    "Stack",
    "Template",
    "WorkflowReferences",
    "build",
    "build_stack",
    "code_zip",
    "dependency_layer",
    "deterministic_zip",
    "render_workflow",
    "workflow_references",
]
