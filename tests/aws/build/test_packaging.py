"""The Lambda artifacts: deterministic zips, and the dependency layer built by pip offline."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from cirrus.aws.build import build, deterministic_zip
from cirrus.aws.build.packaging import (
    cirrus_requirements,
    dependency_layer,
    layer_key,
    task_requirements,
)
from cirrus.errors import ConfigError
from cirrus.project import Project
from tests.project.conftest import write


def make_wheel(folder: Path, name: str = "cirrus_test_dep", version: str = "1.0") -> Path:
    """A pure-Python wheel of one module, made by hand (no network, no build tools)."""
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": b"VALUE = 1\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    record = []
    for path, content in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(content)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    wheel.write_bytes(deterministic_zip(files))
    return wheel


def test_the_same_entries_zip_to_the_same_bytes() -> None:
    entries = {"b.txt": b"b", "a/c.py": b"print()\n"}
    assert deterministic_zip(entries) == deterministic_zip(dict(reversed(entries.items())))
    with zipfile.ZipFile(io.BytesIO(deterministic_zip(entries))) as archive:
        assert archive.namelist() == ["a/c.py", "b.txt"]


def test_the_layer_is_installed_for_lambda_from_local_wheels(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    make_wheel(wheels)
    cache = tmp_path / "cache"
    first = dependency_layer(["cirrus_test_dep==1.0"], tmp_path / "one", cache=cache, wheels=wheels)
    with zipfile.ZipFile(first.path) as archive:
        names = archive.namelist()
    assert "python/cirrus_test_dep/__init__.py" in names
    assert not any(name.endswith(".pyc") or name.startswith("python/bin/") for name in names)
    assert first.path.name == f"dependencies-{first.sha256[:16]}.zip"
    # the same inputs come from the cache: no pip, no wheels needed
    for wheel in wheels.iterdir():
        wheel.unlink()
    again = dependency_layer(["cirrus_test_dep==1.0"], tmp_path / "two", cache=cache, wheels=wheels)
    assert again.path.read_bytes() == first.path.read_bytes()


def test_pip_failing_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "wheels").mkdir()
    with pytest.raises(ConfigError, match="pip could not install the Lambda dependency layer"):
        dependency_layer(["no-such-package-anywhere"], tmp_path, wheels=tmp_path / "wheels")


def test_a_build_with_the_layer_attaches_it_to_every_zip_function(
    mixed: Project, tmp_path: Path
) -> None:
    wheels = tmp_path / "wheels"
    make_wheel(wheels)
    cache = mixed.root / ".cirrus/build/cache"
    # stand in for pip: the layer these requirements give is already in the cache
    layer = dependency_layer(["cirrus_test_dep==1.0"], tmp_path / "layer", wheels=wheels)
    cache.mkdir(parents=True)
    key = layer_key(cirrus_requirements(("aws",)))  # the project's tasks need nothing more
    (cache / f"layer-{key}.zip").write_bytes(layer.path.read_bytes())
    result = build(mixed)
    assert set(result.zips) == {"code", "dependencies"}
    resources = result.template["Resources"]
    content = resources["DependenciesLayer"]["Properties"]["Content"]
    assert content["S3Key"] == result.zips["dependencies"].name
    zipped = [
        resource["Properties"]
        for resource in resources.values()
        if resource["Type"] == "AWS::Lambda::Function"
        and resource["Properties"].get("PackageType") != "Image"
    ]
    assert all(props["Layers"] == [{"Ref": "DependenciesLayer"}] for props in zipped)
    assert "Layers" not in resources["SegmentTaskFunction"]["Properties"]


def test_requirements_name_cirrus_as_its_own_dependencies(tmp_path: Path) -> None:
    own = cirrus_requirements(("aws",))
    assert any(line.startswith("boto3") for line in own)
    assert not any(line.lower().startswith("cirrus") for line in own)
    for own_name in ("cirrus-stac", "cirrus"):  # the distribution, and its name before
        file = write(tmp_path / "requirements.txt", f"{own_name}[geo]\nnumpy>=1.26  # arrays\n\n")
        found = task_requirements(file)
        assert any(line.startswith("rasterio") for line in found)
        assert not any(line.lower().startswith("cirrus") for line in found)
        assert found[-1] == "numpy>=1.26"
    write(file, "numpy\n-r other.txt\n")
    with pytest.raises(ConfigError, match=r"requirements.txt:2: `-r other.txt`"):
        task_requirements(file)
