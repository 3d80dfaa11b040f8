"""``cirrus init``, ``create``, ``show`` and ``validate``: work with a project's components.

Human messages go to stderr; what a command shows (tables, READMEs, definitions) goes to
stdout. Every command takes ``--project DIR`` (env ``CIRRUS_PROJECT``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cirrus.cli.common import NOT_A_PROJECT, echo_json, project_option
from cirrus.cli.exits import ExitCode, reporting_errors
from cirrus.task.kinds import TaskKind

if TYPE_CHECKING:
    from rich.console import Console

    from cirrus.project import Component, Project

__all__ = ["create", "init", "show", "validate"]

KIND_CHOICES = ("task", "workflow", "feeder", "function")
PLURALS = {f"{kind}s": kind for kind in KIND_CHOICES}


def _project(project_dir: str | None, *, required: bool = True) -> Project:
    from cirrus.project import Project, find_project

    project = find_project(explicit=project_dir)
    if project is not None:
        return project
    if required:
        click.echo(f"error: {NOT_A_PROJECT}: run `cirrus init` to make one", err=True)
        sys.exit(ExitCode.FAILED)
    return Project.embedded(Path.cwd())


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    console = Console(stderr=stderr, soft_wrap=False)
    if not console.is_terminal:
        # Piped output: wide enough that tables and text are not wrapped mid-word.
        console = Console(stderr=stderr, width=max(console.width, 160))
    return console


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--name", help="Project name (default: from the folder name).")
def init(directory: str, name: str | None) -> None:
    """Make DIRECTORY (default: here) a cirrus project.

    Writes cirrus.yml, the tasks/, workflows/, feeders/ and functions/ folders and a
    .gitignore entry for .cirrus/. The project runs as it is: nothing needs editing first.
    """
    from cirrus.project import init_project

    with reporting_errors():
        root = init_project(Path(directory), name)
    click.echo(f"created a cirrus project in {root}", err=True)
    click.echo("next: cirrus create task NAME DESCRIPTION, then cirrus validate", err=True)


@click.group()
def create() -> None:
    """Create a component from its template."""


def _report_created(component: Component, project: Project) -> None:
    assert component.path is not None
    where = component.path.relative_to(project.root)
    click.echo(f"created {component.kind} {component.name} in {where}/", err=True)
    for file in sorted(p for p in component.path.rglob("*") if p.is_file()):
        click.echo(f"  {file.relative_to(project.root)}", err=True)


@create.command("task")
@click.argument("name")
@click.argument("description")
@click.option(
    "--type",
    "types",
    multiple=True,
    type=click.Choice([kind.value for kind in TaskKind]),
    help="How the task runs; repeat for both (default: lambda).",
)
@click.option("--has-lambda/--no-lambda", default=None, help="Include a Lambda variant.")
@click.option("--has-batch/--no-batch", default=None, help="Include a Batch variant.")
@project_option
def create_task(
    name: str,
    description: str,
    types: tuple[str, ...],
    has_lambda: bool | None,
    has_batch: bool | None,
    project_dir: str | None,
) -> None:
    """Create task NAME, described by DESCRIPTION, under tasks/.

    A task gets definition.yml, README.md, src/task/task.py and test-payload.json; a batch
    task also gets Dockerfile, Dockerfile.lambda, Dockerfile.batch and requirements.txt.
    A workflow test-NAME that runs the task alone is made with it, for the test payload.
    """
    from cirrus.project import create_component

    chosen = set(types)
    for kind, flag in (("lambda", has_lambda), ("batch", has_batch)):
        if flag is True:
            chosen.add(kind)
        elif flag is False and kind in chosen:
            raise click.UsageError(f"--type {kind} and --no-{kind} contradict each other")
    if not chosen:
        chosen = {"lambda"} if has_lambda is not False else set()
    if not chosen:
        raise click.UsageError("a task needs a type: --type lambda, --type batch, or both")
    project = _project(project_dir)
    test_workflow = project.folder("workflow") / f"test-{name}"
    made_test_workflow = not test_workflow.exists()
    with reporting_errors():
        component = create_component(project, "task", name, description, sorted(chosen))
    _report_created(component, project)
    if made_test_workflow and test_workflow.exists():
        click.echo(
            f"created workflow test-{name} in {test_workflow.relative_to(project.root)}/, "
            f"which runs it: cirrus run-workflow tasks/{name}/test-payload.json",
            err=True,
        )


def _simple_create(kind: str) -> click.Command:
    @click.command(kind, help=f"Create {kind} NAME, described by DESCRIPTION.")
    @click.argument("name")
    @click.argument("description")
    @project_option
    def command(name: str, description: str, project_dir: str | None) -> None:
        from cirrus.project import create_component

        project = _project(project_dir)
        with reporting_errors():
            component = create_component(project, kind, name, description)
        _report_created(component, project)

    return command


for _kind in ("workflow", "feeder", "function"):
    create.add_command(_simple_create(_kind))


class _ShowGroup(click.Group):
    """``show tasks`` lists; ``show task NAME [readme|definition]`` shows one component."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*PLURALS, *KIND_CHOICES, "guide"]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "guide":
            return _guide
        if cmd_name in PLURALS:
            return _list_command(PLURALS[cmd_name])
        if cmd_name in KIND_CHOICES:
            return _one_command(cmd_name)
        return None


@click.group(cls=_ShowGroup)
def show() -> None:
    """Show components: `show tasks`, `show task NAME readme|definition`; `show guide`."""


@click.command("guide")
@click.argument("name", default="projects")
def _guide(name: str) -> None:
    """Show a page of cirrus's guide; NAME defaults to projects (components, definition.yml
    fields, cirrus.yml settings). The pages are the docs/ of cirrus's source, shipped with it.
    """
    from cirrus.project import GUIDE

    pages = {page.stem: page for page in GUIDE.parent.glob("*.md")}
    if name not in pages:
        click.echo(f"error: no guide page {name!r}; pages: {', '.join(sorted(pages))}", err=True)
        sys.exit(ExitCode.INVALID)
    _show_readme(pages[name].read_text(encoding="utf-8"))


def _types_text(component: Component) -> str:
    return ", ".join(t for t in ("lambda", "batch") if t in component.types) or "-"


def _list_command(kind: str) -> click.Command:
    @click.command(f"{kind}s", help=f"List every {kind}, built-in and in the project.")
    @click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
    @project_option
    def command(as_json: bool, project_dir: str | None) -> None:
        from rich.table import Table

        project = _project(project_dir, required=False)
        with reporting_errors():
            components = project.components(kind)
        if as_json:
            echo_json([_listing(component) for component in components.values()])
            return
        table = Table(title=f"{kind}s", title_justify="left")
        table.add_column("name", no_wrap=True, style="bold")
        table.add_column("built-in", no_wrap=True)
        table.add_column("lambda/batch", no_wrap=True)
        table.add_column("description")
        for component in components.values():
            if component.builtin:
                origin = "yes"
            else:
                origin = "no (overrides)" if component.overrides_builtin else "no"
            description = component.description or "(definition.yml has problems)"
            if not component.enabled:
                description += " (disabled)"
            table.add_row(component.name, origin, _types_text(component), description)
        if not components:
            click.echo(f"no {kind}s yet: cirrus create {kind} NAME DESCRIPTION", err=True)
            return
        _console().print(table)

    return command


def _listing(component: Component) -> dict[str, object]:
    """One component as ``show <kind>s --json`` lists it."""
    listing: dict[str, object] = {
        "name": component.name,
        "kind": component.kind,
        "builtin": component.builtin,
        "overrides_builtin": component.overrides_builtin,
        "enabled": component.enabled,
        "description": component.description,
        "path": str(component.path) if component.path else None,
    }
    if component.kind == "task":
        listing["types"] = [t for t in ("lambda", "batch") if t in component.types]
    return listing


def _one_command(kind: str) -> click.Command:
    @click.command(kind, help=f"Show one {kind}: its README (default) or its definition.")
    @click.argument("name")
    @click.argument("what", default="readme", type=click.Choice(["readme", "definition", "path"]))
    @project_option
    def command(name: str, what: str, project_dir: str | None) -> None:
        project = _project(project_dir, required=False)
        with reporting_errors():
            component = project.component(kind, name)
            if what == "readme":
                _show_readme(component.readme())
            elif what == "definition":
                _show_definition(component)
            else:
                click.echo(str(component.path) if component.path else "(built-in)")

    return command


def _show_readme(text: str) -> None:
    """Rendered on a terminal; the Markdown itself when piped or redirected."""
    from rich.markdown import Markdown

    console = _console()
    if not console.is_terminal:
        click.echo(text.rstrip("\n"))
        return
    console.print(Markdown(text))


def _show_definition(component: Component) -> None:
    import yaml

    from cirrus.project import WorkflowComponent

    texts: list[tuple[str, str]] = []
    file = component.definition_file
    if file is not None and file.is_file():
        texts.append((file.suffix, file.read_text(encoding="utf-8")))
    else:
        text = yaml.safe_dump(component.definition, sort_keys=False, allow_unicode=True)
        texts.append((".yml", text))
    if isinstance(component, WorkflowComponent) and component.sibling_file is not None:
        sibling = component.sibling_file
        texts.append((sibling.suffix, sibling.read_text(encoding="utf-8")))
    console = _console()
    for suffix, text in texts:
        if console.is_terminal:
            from rich.syntax import Syntax

            lexer = "json" if suffix == ".json" else "yaml"
            console.print(Syntax(text, lexer, background_color="default"))
        else:
            click.echo(text.rstrip("\n"))


@click.command()
@project_option
def validate(project_dir: str | None) -> None:
    """Check the whole project: cirrus.yml, every definition, README and workflow.

    Lists every problem as FILE:LINE: FIELD: MESSAGE and exits 1 when there are errors
    (warnings alone exit 0).
    """
    from cirrus.project import validate_project

    project = _project(project_dir)
    with reporting_errors():
        problems = validate_project(project)
    for problem in problems:
        click.echo(problem.format(Path.cwd()), err=True)
    errors = sum(problem.is_error for problem in problems)
    warnings = len(problems) - errors
    if errors:
        click.echo(f"{errors} error(s), {warnings} warning(s) in {project.root}", err=True)
        sys.exit(ExitCode.FAILED)
    counts = ", ".join(
        f"{len(project.project_components(kind))} {kind}(s)" for kind in KIND_CHOICES
    )
    suffix = f", {warnings} warning(s)" if warnings else ""
    click.echo(f"{project.root} is valid: {counts}{suffix}", err=True)
