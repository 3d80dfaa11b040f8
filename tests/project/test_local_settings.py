"""``cirrus validate`` says once which settings a local run cannot honour."""

from __future__ import annotations

from tests.reliability.conftest import add_task
from tests.runtime.conftest import Proj, proj, project_template

__all__ = ["proj", "project_template"]  # the runtime tests' project fixtures


def test_validate_names_each_aws_only_setting_once(proj: Proj) -> None:
    gpu = "batch:\n  vcpu: 1\n  gpu: 1\n  compute_environment: ec2\n"
    add_task(proj, "gpu-one", gpu)
    add_task(proj, "gpu-two", gpu)
    add_task(proj, "imaged", "lambda:\n  image: registry.example/imaged:1\n")
    run = proj.cirrus("validate")
    said = run.stdout + run.stderr
    assert said.count("batch.gpu: applies on AWS only") == 1
    assert "locally a batch task gets no GPU reserved (and in 1 other task)" in said
    assert said.count("lambda.image: applies on AWS only") == 1
    assert "vcpu" not in said
