"""The one validator at the pipeline's door: what ``process``, ``run-workflow``, the worker
and ``cirrus payload validate`` accept.

A payload is admitted when, in this order:

1. its text is within the size and depth limits and strict JSON (:mod:`~cirrus.runtime.limits`);
2. a ``{"url": ...}`` / ``{"href": ...}`` reference reads within its bounds
   (:func:`cirrus.storage.read_reference`) to such text;
3. it is a valid payload (:meth:`cirrus.payload.Payload.from_dict`) with no more features
   than allowed;
4. its identity is unambiguous: item ids, collections and workflow names have no ``/``,
   no control, format (bidi) or unpaired surrogate characters, are not ``.`` or ``..`` and
   fit ``max_id_bytes``; an explicit ``id`` is the one its content gives;
5. every workflow it names (the chain's too) is one of the project's;
6. every ``path_template`` writes under the data root or a root in ``allowed_roots``.

Each refusal is a :class:`~cirrus.errors.PayloadError` naming the field and the fix::

    admission = Admission.for_pipeline(settings, project)
    payload = admission.admit_text(line, where="input line 3")

**Why ``/`` is refused in ids rather than escaped.** A payload id joins collections and
item ids with ``/`` (upstream Cirrus's shape), so ``a/b`` and ``[a, b]`` would share an id,
and one would be skipped as the other. Escaping would change the id of every payload that
has such an id compared with upstream's, and the id is also the payload's storage key and
its DynamoDB key; refusing keeps every accepted id exactly upstream's, and item ids with
``/`` cannot be served by a STAC API (``/collections/{c}/items/{id}``) anyway.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from cirrus.errors import CirrusError, PayloadError, StorageError
from cirrus.payload import Payload, make_payload_id, parse_payload_id
from cirrus.runtime.jobs import execution_key
from cirrus.runtime.limits import IntakeLimits, parse_payload_text

if TYPE_CHECKING:
    from cirrus.project import Project
    from cirrus.runtime.settings import RuntimeSettings

__all__ = ["Admission", "check_name", "refusal_text", "template_problem"]

_REMEMBERED_NAMES = 1024
"""Workflow names an admission remembers as checked (a project has a handful)."""


def check_name(value: str, field: str, max_bytes: int) -> None:
    """Refuse a name that cannot be one segment of a payload id.

    Raises:
        PayloadError: ``value`` has a ``/``, a control, format (bidi, zero-width) or
            unpaired surrogate character, is ``.``/``..``, or is longer than ``max_bytes``.
    """
    if "/" in value or "\\" in value:
        raise PayloadError(
            field,
            f"is {value!r}, which has a '/' or '\\'",
            "ids are joined with '/' into the payload id: use another separator such as '_'",
        )
    if not value.isprintable():
        bad = next(ch for ch in value if not ch.isprintable() and ch != " ")
        raise PayloadError(
            field,
            f"is {value!r}, which has the unprintable character U+{ord(bad):04X}",
            "ids may not hold control, format (bidi, zero-width) or unpaired surrogate characters",
        )
    if value in (".", ".."):
        raise PayloadError(field, f"is {value!r}", "give a name that is not '.' or '..'")
    if len(value) * 4 > max_bytes and len(value.encode()) > max_bytes:
        raise PayloadError(
            field,
            f"is {len(value.encode())} bytes long, more than max_id_bytes ({max_bytes})",
            "shorten it (it becomes a folder name, and file names end at 255 bytes)",
        )


def _definitions(process: list[Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every process definition of a process array (chain links and branches) by JSON path."""
    for index, link in enumerate(process):
        if isinstance(link, list):
            for branch_index, branch in enumerate(link):
                yield f"$.process[{index}][{branch_index}]", branch
        else:
            yield f"$.process[{index}]", link


def _templates(definition: dict[str, Any], path: str) -> Iterator[tuple[str, str]]:
    """The ``path_template`` values of a definition, each with its JSON path."""
    options = definition.get("upload_options") or {}
    if isinstance(options.get("path_template"), str):
        yield f"{path}.upload_options.path_template", options["path_template"]
    for name, each in (definition.get("collection_options") or {}).items():
        uploads = each.get("upload_options") if isinstance(each, dict) else None
        if isinstance(uploads, dict) and isinstance(uploads.get("path_template"), str):
            field = f"{path}.collection_options.{name}.upload_options.path_template"
            yield field, uploads["path_template"]


def _is_under(location: str, roots: Sequence[str]) -> bool:
    from cirrus.storage.paths import parse_root

    target = parse_root(location)
    for root in roots:
        allowed = parse_root(root)
        if (target.scheme, target.base) != (allowed.scheme, allowed.base):
            continue
        if not allowed.prefix or target.prefix == allowed.prefix:
            return True
        if target.prefix.startswith(allowed.prefix + "/"):
            return True
    return False


def template_problem(template: str, roots: Sequence[str] | None) -> str | None:
    """Why ``template`` may not be used, or None when it writes under ``roots``.

    A relative template is placed under the data root by the publishing task and may not
    climb out of it; an absolute path or URL must lie under one of ``roots`` (any, when
    ``roots`` is None).
    """
    from cirrus.errors import StorageError
    from cirrus.storage import check_key

    cut = template.find("${")
    fixed = template if cut < 0 else template[:cut]
    root = fixed.rpartition("/")[0]  # the folder the rendered rest goes into
    absolute = "://" in fixed or fixed.startswith("/") or (len(fixed) > 1 and fixed[1] == ":")
    if absolute and "://" in fixed and "://" not in root:
        root = fixed  # nothing fixed past the scheme: s3://bucket${id}, memory://
    try:
        if not absolute:
            if root:
                check_key(root)
            return None
        from cirrus.storage.paths import parse_root

        parsed = parse_root(root or "/")
        if parsed.prefix:
            check_key(parsed.prefix)
    except StorageError as err:
        return str(err)
    if roots is None or _is_under(root or "/", roots):
        return None
    return (
        f"writes outside the data root and allowed_roots ({', '.join(roots)}): make it "
        "relative (it is then placed under the data root), or list its root under "
        "allowed_roots in cirrus.yml"
    )


class Admission:
    """Decides what the pipeline accepts (see the module docstring).

    Args:
        limits: the intake limits.
        workflows: the workflow names payloads may name; None accepts any (no project).
        data_root: where relative ``path_template`` locations go (always allowed); None
            leaves absolute and URL templates unchecked (on AWS, where the functions' IAM
            roles confine what they can write).
        allowed_roots: further roots an absolute or URL ``path_template`` may use.
    """

    def __init__(
        self,
        limits: IntakeLimits | None = None,
        *,
        workflows: Collection[str] | None = None,
        data_root: str | None = None,
        allowed_roots: Sequence[str] = (),
    ) -> None:
        self.limits = limits or IntakeLimits()
        self.workflows = None if workflows is None else frozenset(workflows)
        self.roots = None if data_root is None else (data_root, *allowed_roots)
        self._checked_workflows: set[str] = set()
        # what template_problem said of each path_template: most payloads share a few
        self._template_problems: dict[str, str | None] = {}

    @classmethod
    def for_pipeline(cls, settings: RuntimeSettings, project: Project | None) -> Admission:
        """The admission of a pipeline: its limits, roots and its project's workflows.

        Without a project folder (``cirrus mgmt DEPLOYMENT process`` submits to a
        deployment's queue from anywhere), any workflow name is admitted: the deployment
        knows its own workflows and records an unknown one as FAILED.
        """
        in_a_project = project is not None and project.config.source is not None
        return cls(
            settings.limits,
            workflows=project.workflows() if project is not None and in_a_project else None,
            data_root=settings.data_root,
            allowed_roots=settings.allowed_roots,
        )

    # -- text and references ---------------------------------------------------------------

    def parse(self, text: str, where: str = "payload") -> Any:
        """Parse payload text within the limits (see :func:`parse_payload_text`)."""
        return parse_payload_text(text, self.limits, where)

    def resolve(self, data: Any) -> Any:
        """``data``, or the payload its ``{"url"}``/``{"href"}`` reference names, read within
        the reference limits (a stored payload may itself be a reference)."""
        from cirrus.storage.references import follow_references, read_reference

        def parsed(url: str) -> Any:
            raw = read_reference(
                url,
                max_bytes=self.limits.reference_max_bytes,
                timeout=self.limits.reference_timeout_seconds,
            )
            try:
                text = raw.decode()
            except UnicodeDecodeError as err:
                raise PayloadError("$", f"at {url} is not UTF-8 text ({err})") from None
            return self.parse(text, f"the payload at {url}")

        return follow_references(data, parsed)

    # -- the payload -----------------------------------------------------------------------

    def admit_text(self, text: str, where: str = "payload") -> Payload:
        """The payload in ``text`` (references read), if it is admitted.

        Raises:
            PayloadError: naming what is refused and how to fix it.
            StorageError: a reference could not be read just now (worth trying again).
        """
        return self.admit(self.parse(text, where))

    def admit(self, data: Any) -> Payload:
        """The payload ``data`` is (references read), if it is admitted.

        Raises:
            PayloadError: naming what is refused and how to fix it.
            StorageError: a reference could not be read just now (worth trying again).
        """
        if type(data) is not dict or "features" not in data:  # a payload is not a reference
            data = self.resolve(data)
        payload = Payload.from_dict(data, copy_data=False)
        features = payload.features
        if len(features) > self.limits.max_features:
            raise PayloadError(
                "$.features",
                f"has {len(features)} items, more than max_features ({self.limits.max_features})",
                "split the payload, or raise max_features in cirrus.yml",
            )
        self._check_identity(payload)
        self._check_definitions(payload)
        return payload

    def _check_identity(self, payload: Payload) -> None:
        max_bytes = self.limits.max_id_bytes
        for index, feature in enumerate(payload.features):
            check_name(feature["id"], f"$.features[{index}].id", max_bytes)
            collection = feature.get("collection")
            if collection is None:
                continue
            if not isinstance(collection, str):
                raise PayloadError(
                    f"$.features[{index}].collection",
                    f"must be a string, not {type(collection).__name__}",
                )
            if collection:
                check_name(collection, f"$.features[{index}].collection", max_bytes)
        definition = payload.process_definition
        for index, name in enumerate(definition.input_collections or ()):
            check_name(name, f"$.process[0].input_collections[{index}]", max_bytes)
        explicit = payload.get("id")
        if not explicit:
            return
        if payload.features:
            derived = make_payload_id(
                payload.features, definition.workflow, definition.input_collections
            )
            if explicit != derived:
                raise PayloadError(
                    "$.id",
                    f"is {explicit!r}, but its items and workflow give {derived!r}",
                    "drop the id (it is derived), or make it match",
                )
            return
        collections, workflow, items = parse_payload_id(explicit)
        if workflow != definition.workflow:
            raise PayloadError(
                "$.id",
                f"names workflow {workflow!r}, but process[0] runs {definition.workflow!r}",
                "make the id's workflow-<name> part the payload's workflow",
            )
        for part in (*collections.split("/"), *items.split("/")):
            check_name(part, "$.id", max_bytes)

    def _template_problem(self, template: str) -> str | None:
        known = self._template_problems
        if template in known:
            return known[template]
        problem = template_problem(template, self.roots)
        if len(known) < _REMEMBERED_NAMES:
            known[template] = problem
        return problem

    def _check_definitions(self, payload: Payload) -> None:
        max_bytes = self.limits.max_id_bytes
        checked = self._checked_workflows
        for path, definition in _definitions(payload["process"]):
            workflow = definition["workflow"]
            if workflow not in checked:  # a name is checked once: most payloads share it
                check_name(workflow, f"{path}.workflow", max_bytes)
                if self.workflows is not None and workflow not in self.workflows:
                    raise PayloadError(
                        f"{path}.workflow",
                        f"is {workflow!r}, which this project does not have",
                        "use one of: "
                        + (", ".join(sorted(self.workflows)) or "none (add a workflow)"),
                    )
                if len(checked) < _REMEMBERED_NAMES:
                    checked.add(workflow)
            if "upload_options" in definition or "collection_options" in definition:
                for field, template in _templates(definition, path):
                    problem = self._template_problem(template)
                    if problem is not None:
                        raise PayloadError(field, f"is {template!r}: {problem}")
        try:
            execution_key(payload.id, "x", "input.json")  # every stored file stays in its root
        except StorageError as err:
            raise PayloadError("$.id", f"cannot be a storage key ({err})") from None


def refusal_text(error: BaseException) -> str:
    """One line saying why a payload was refused (unexpected errors keep their type)."""
    text = str(error) if isinstance(error, CirrusError) else f"{type(error).__name__}: {error}"
    # what the state database and logs can store, whatever the payload held
    return text.encode("utf-8", "backslashreplace").decode()
