"""``cirrus build``: a project into one CloudFormation stack, its zips and its manifest.

    >>> result = build(project, "dev")              # or None: the default deployment
    >>> result.template_path                        # .cirrus/build/aws/template.json
    >>> result.template["Resources"]["ProcessFunction"]["Properties"]["FunctionName"]
    'demo-dev-process'
    >>> result.zips                                 # {"code": Path(...code-<hash>.zip), ...}

:func:`build_stack` makes the template alone, without writing anything (the deploy,
rehearsal and cost steps use :func:`build`, whose result carries everything).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cirrus
from cirrus.aws.build.batch import add_batch_tasks
from cirrus.aws.build.fragments import project_fragments
from cirrus.aws.build.functions import ARCHITECTURE, ARTIFACT_BUCKET, LAYER, RUNTIME
from cirrus.aws.build.manifest import build_manifest
from cirrus.aws.build.packaging import (
    LAMBDA_UNZIPPED_LIMIT,
    Artifact,
    cirrus_requirements,
    code_zip,
    dependency_layer,
    task_requirements,
)
from cirrus.aws.build.pipeline import StackInputs, add_discovery, add_pipeline
from cirrus.aws.build.render import RenderContext, RenderedWorkflow
from cirrus.aws.build.tasks import BATCH_HELPERS, add_task_functions
from cirrus.aws.build.template import Template, ref
from cirrus.aws.build.workflows import add_workflows
from cirrus.errors import ConfigError
from cirrus.project import Problem, Project, TaskComponent, validate_project
from cirrus.project.deployments import DeploymentSettings, load_deployment
from cirrus.project.task_resolver import task_catalog
from cirrus.task.kinds import TaskKind

__all__ = [
    "BUILD_FOLDER",
    "MANIFEST_FILE",
    "TEMPLATE_FILE",
    "BuildResult",
    "Stack",
    "build",
    "build_stack",
]

BUILD_FOLDER = Path(".cirrus") / "build" / "aws"
"""Where a build goes, inside the project folder."""
CACHE_FOLDER = Path(".cirrus") / "build" / "cache"
TEMPLATE_FILE = "template.json"
MANIFEST_FILE = "manifest.json"
REQUIREMENTS_FILE = "requirements.txt"


@dataclass
class Stack:
    """A built template, before anything is written.

    Attributes:
        template: the template.
        deployment: the deployment it is for.
        workflows: the rendered workflows, by name.
        state_machines: each workflow's state machine (logical id), by name.
        settings: the deployment's ``CIRRUS_*`` settings (CloudFormation values).
        warnings: what needs a look but does not stop the build.
    """

    template: Template
    deployment: DeploymentSettings
    workflows: dict[str, RenderedWorkflow]
    state_machines: dict[str, str]
    settings: dict[str, Any]
    warnings: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class BuildResult:
    """What ``cirrus build`` made.

    Attributes:
        project: the project built.
        deployment: the deployment built.
        out_dir: the folder holding everything (``.cirrus/build/aws``).
        template: the CloudFormation template, as written to ``template.json``.
        manifest: the manifest, as written to ``manifest.json``.
        artifacts: the zips (``code``, and ``dependencies`` unless left out), by name.
        workflows: the rendered workflows, by name.
        warnings: what needs a look but did not stop the build.
    """

    project: Project
    deployment: DeploymentSettings
    out_dir: Path
    template: dict[str, Any]
    manifest: dict[str, Any]
    artifacts: dict[str, Artifact]
    workflows: dict[str, RenderedWorkflow]
    warnings: list[Problem]

    @property
    def template_path(self) -> Path:
        """``template.json``."""
        return self.out_dir / TEMPLATE_FILE

    @property
    def manifest_path(self) -> Path:
        """``manifest.json``."""
        return self.out_dir / MANIFEST_FILE

    @property
    def zips(self) -> dict[str, Path]:
        """The zip files by name (``code``, ``dependencies``)."""
        return {name: artifact.path for name, artifact in self.artifacts.items()}

    @property
    def parameters(self) -> dict[str, str]:
        """Template parameters a deploy must give, with their meaning."""
        return {
            name: str(value.get("Description", ""))
            for name, value in self.template.get("Parameters", {}).items()
        }


def _deployment(
    project: Project, deployment: str | DeploymentSettings | None
) -> DeploymentSettings:
    if isinstance(deployment, DeploymentSettings):
        return deployment
    return load_deployment(project.root, project.config.name, deployment)


def _raise(problems: list[Problem], project: Project, what: str) -> None:
    errors = [problem for problem in problems if problem.is_error]
    if errors:
        lines = "\n".join(f"  {problem.format(project.root)}" for problem in errors)
        raise ConfigError(f"{what} has {len(errors)} problem(s):\n{lines}")


def build_stack(
    project: Project,
    deployment: str | DeploymentSettings | None = None,
    *,
    code_key: str = "code.zip",
    layer_key: str | None = None,
) -> Stack:
    """The template of ``project``'s deployment, without writing anything.

    Args:
        project: the project.
        deployment: a deployment name, its settings, or None for the default one.
        code_key: the code zip's key in the artifact bucket.
        layer_key: the dependency layer's key, or None to build without the layer.

    Raises:
        ConfigError: the project does not validate, or a workflow, task or fragment cannot
            become part of the stack; every problem is listed with its file and line.
    """
    settings = _deployment(project, deployment)
    warnings = _validated(project)
    return _stack(project, settings, code_key, layer_key, warnings)


def _validated(project: Project) -> list[Problem]:
    """Validate the project; returns the warnings.

    Raises:
        ConfigError: listing every error.
    """
    problems = validate_project(project, local=False)
    _raise(problems, project, f"project {project.root}")
    return [problem for problem in problems if not problem.is_error]


def _stack(
    project: Project,
    settings: DeploymentSettings,
    code_key: str,
    layer_key: str | None,
    warnings: list[Problem],
) -> Stack:
    inputs = StackInputs(
        project.config.name,
        settings,
        code_key,
        layer_key is not None,
        project.root,
        project.config.environment,
    )
    template = Template(
        f"cirrus project {inputs.project}, deployment {settings.name} "
        f"(prefix {settings.prefix}); built by cirrus {cirrus.__version__}"
    )
    add_pipeline(template, inputs)
    if layer_key is not None:
        template.add(
            LAYER,
            "AWS::Lambda::LayerVersion",
            {
                "LayerName": f"{settings.prefix}-dependencies",
                "Description": "cirrus: third-party packages of the functions",
                "Content": {"S3Bucket": ref(ARTIFACT_BUCKET), "S3Key": layer_key},
                "CompatibleRuntimes": [RUNTIME],
                "CompatibleArchitectures": [ARCHITECTURE],
            },
        )
    tasks = project.tasks()
    functions = add_task_functions(template, inputs, tasks)
    enabled = {name: task for name, task in tasks.items() if task.enabled and not task.builtin}
    batch = add_batch_tasks(template, inputs, enabled)
    fragment_problems = project_fragments(template, project.root)
    problems = functions.problems + batch.problems + fragment_problems
    _raise(problems, project, f"deployment `{settings.name}` of {project.root}")
    catalog = dict(task_catalog(tasks))
    for helper in BATCH_HELPERS:
        catalog.setdefault(helper, frozenset({TaskKind.LAMBDA}))
    resources = {key: str(value.get("Type")) for key, value in template.resources.items()}
    resources.update(dict.fromkeys(template.parameters, "Parameter"))
    context = RenderContext(
        catalog=catalog,
        functions=functions.functions,
        jobs=batch.targets,
        pre_batch=functions.functions["pre-batch"],
        post_batch=functions.functions["post-batch"],
        resources=resources,
    )
    workflows = add_workflows(
        template, inputs, project.workflows(), context, batch.job_definition_arns
    )
    _raise(workflows.problems, project, f"the workflows of {project.root}")
    deployment_settings = add_discovery(template, settings)
    # a state the build warns about is already one validation warned about: say it once
    said = {(warning.file, warning.line, warning.field) for warning in workflows.warnings}
    kept = [w for w in warnings if (w.file, w.line, w.field) not in said]
    return Stack(
        template,
        settings,
        workflows.rendered,
        workflows.state_machines,
        deployment_settings,
        kept + workflows.warnings,
    )


def build(
    project: Project,
    deployment: str | DeploymentSettings | None = None,
    *,
    out_dir: Path | None = None,
    dependencies: bool = True,
    wheels: Path | None = None,
) -> BuildResult:
    """Build ``project``'s deployment into ``out_dir`` (default ``.cirrus/build/aws``).

    Writes ``template.json``, ``manifest.json``, ``code-<hash>.zip`` and (unless
    ``dependencies`` is false) ``dependencies-<hash>.zip``; zips of earlier builds there
    are removed.

    Args:
        project: the project.
        deployment: a deployment name, its settings, or None for the default one.
        out_dir: where to write (default: ``<project>/.cirrus/build/aws``).
        dependencies: build the layer of third-party packages with pip (needs the
            package index, or ``wheels``); false leaves the layer out of the stack.
        wheels: install the layer from this folder of wheels only.

    Raises:
        ConfigError: the project cannot be built; the message lists every problem.
    """
    settings = _deployment(project, deployment)
    warnings = _validated(project)
    out_dir = out_dir if out_dir is not None else project.root / BUILD_FOLDER
    tasks = project.tasks()
    zipped = _zip_tasks(tasks)
    folders = [task.path for task in zipped if task.path is not None]
    artifacts = {"code": code_zip(project.root, folders, out_dir)}
    if dependencies:
        requirements = cirrus_requirements(("aws",))
        for task in zipped:
            file = task.path / REQUIREMENTS_FILE if task.path else None
            if file is not None and file.is_file():
                requirements += task_requirements(file)
        artifacts["dependencies"] = dependency_layer(
            requirements, out_dir, cache=project.root / CACHE_FOLDER, wheels=wheels
        )
        unzipped = artifacts["code"].unzipped + artifacts["dependencies"].unzipped
        if unzipped > LAMBDA_UNZIPPED_LIMIT:
            warnings.append(
                Problem(
                    project.root,
                    None,
                    "",
                    f"the code and its dependencies are {unzipped / 2**20:.0f} MB unzipped, over "
                    f"Lambda's {LAMBDA_UNZIPPED_LIMIT // 2**20} MB: run the tasks that need big "
                    "packages from container images (lambda.image) or on Batch",
                    "warning",
                )
            )
    layer = artifacts.get("dependencies")
    stack = _stack(
        project,
        settings,
        artifacts["code"].key,
        layer.key if layer is not None else None,
        warnings,
    )
    template = stack.template.to_dict()
    header = {
        "project": project.config.name,
        "deployment": settings.name,
        "prefix": settings.prefix,
        "region": settings.region,
    }
    manifest = build_manifest(
        template,
        header=header,
        artifacts=artifacts,
        workflows=stack.workflows,
        state_machines=stack.state_machines,
        settings=stack.settings,
        sources=stack.template.sources,
    )
    (out_dir / TEMPLATE_FILE).write_text(stack.template.to_json(), encoding="utf-8")
    (out_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    keep = {artifact.path.name for artifact in artifacts.values()}
    for stale in [*out_dir.glob("code-*.zip"), *out_dir.glob("dependencies-*.zip")]:
        if stale.name not in keep:
            stale.unlink()
    return BuildResult(
        project,
        settings,
        out_dir,
        template,
        manifest,
        artifacts,
        stack.workflows,
        stack.warnings,
    )


def _zip_tasks(tasks: dict[str, TaskComponent]) -> list[TaskComponent]:
    """Project tasks whose Lambda function runs from the code zip."""
    found = []
    for task in tasks.values():
        if task.builtin or not task.enabled or task.path is None:
            continue
        settings = task.lambda_settings
        if settings is not None and not settings.image:
            found.append(task)
    return found
