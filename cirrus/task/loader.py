"""Import a task's code by file path and find its Task class: the one task-class loader.

Task code often lives outside any installed package (``tasks/<name>/src/task/task.py`` in a
project, or any ``path/to/task.py``), so it is loaded with :mod:`importlib` under a private
package name. The code folder is a package
for the load (relative imports work) and is on ``sys.path`` while the module runs its
top level (so ``import helpers`` works the way it does in a Lambda image).
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
import types
from pathlib import Path
from typing import Any

from cirrus.errors import ConfigError
from cirrus.task.invoke import is_task_subclass

__all__ = ["load_module", "load_task_class", "pick_task_class"]


def _package_name(code_dir: Path) -> str:
    digest = hashlib.sha1(str(code_dir).encode(), usedforsecurity=False).hexdigest()[:10]
    return f"_cirrus_project_code_{digest}"


def load_module(file: Path) -> types.ModuleType:
    """Execute ``file`` as a fresh module inside a private package for its folder.

    Raises:
        ConfigError: the file is missing or fails while importing.
    """
    if not file.is_file():
        raise ConfigError(f"{file} does not exist: the task's code goes in src/task/task.py")
    code_dir = file.parent.resolve()
    package = _package_name(code_dir)
    if package not in sys.modules:
        module = types.ModuleType(package)
        module.__path__ = [str(code_dir)]
        sys.modules[package] = module
    name = f"{package}.{file.stem}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{file} cannot be imported as Python code")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(code_dir))
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # any error in user code becomes one clear ConfigError
        del sys.modules[name]
        raise ConfigError(f"{file} failed to import: {type(err).__name__}: {err}") from err
    finally:
        if str(code_dir) in sys.path:
            sys.path.remove(str(code_dir))
    return module


def load_task_class(file: Path, class_name: str | None = None) -> type[Any]:
    """Import ``file`` and return the Task subclass it defines.

    Args:
        file: the task's Python file.
        class_name: the class to return; without it, the file must define exactly one
            concrete Task subclass (a shared base and its subclass count as one: the most
            derived wins).

    Raises:
        ConfigError: the file fails to import, defines no Task subclass, several of them
            with no class named to choose, or the named class is missing.
    """
    return pick_task_class(load_module(file), class_name, str(file))


def pick_task_class(module: types.ModuleType, class_name: str | None, where: str) -> type[Any]:
    """The Task subclass a module defines (see :func:`load_task_class`)."""
    if class_name is not None:
        found = getattr(module, class_name, None)
        if not is_task_subclass(found):
            raise ConfigError(
                f"{where} has no Task subclass named `{class_name}`: it must subclass "
                "cirrus.task.Task (or stactask.Task)"
            )
        if inspect.isabstract(found):
            raise ConfigError(f"{where}: `{class_name}` is abstract: implement process()")
        return found
    defined = [
        value
        for value in vars(module).values()
        if is_task_subclass(value) and value.__module__ == module.__name__
    ]
    # A file may hold a shared base and its subclass: keep the most derived classes.
    leaves = [
        cls for cls in defined if not any(o is not cls and issubclass(o, cls) for o in defined)
    ]
    concrete = [cls for cls in leaves if not inspect.isabstract(cls)]
    if len(concrete) == 1:
        return concrete[0]
    if not concrete:
        raise ConfigError(
            f"{where} defines no concrete subclass of cirrus.task.Task (or stactask.Task): "
            "define one with a process() method"
        )
    names = ", ".join(sorted(cls.__name__ for cls in concrete))
    raise ConfigError(
        f"{where} defines several Task classes ({names}): name the one to run "
        "(`class: <ClassName>` in definition.yml, or FILE.py:ClassName)"
    )
