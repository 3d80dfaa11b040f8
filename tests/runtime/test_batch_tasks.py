"""Batch-type tasks run in processes of their own, with payloads passed through the store."""

from __future__ import annotations

from tests.runtime.conftest import Proj, item, payload, payload_id


def test_a_workflow_of_batch_tasks_succeeds_and_leaves_no_transient_copies(proj: Proj) -> None:
    proj.write_payloads([payload(item("b1"), workflow="on-batch")])
    summary = proj.cirrus("process", "in.ndjson", "--wait").json()
    assert summary == {"queued": 1, "rejected": 0, "succeeded": 1}
    (output,) = proj.outputs(payload_id("b1", "on-batch"))
    assert output["features"][0]["properties"]["stamped"] is True
    assert [line["item"]["id"] for line in proj.published] == ["b1"]
    assert proj.stored("tmp/batch") == {}


def test_a_failing_batch_task_gives_its_own_error_and_keeps_its_input(proj: Proj) -> None:
    pid = payload_id("b2", "on-batch")
    proj.write_payloads([payload(item("b2", fail=True), workflow="on-batch")])
    run = proj.cirrus("process", "in.ndjson", "--wait", check=False)
    assert run.returncode == 1
    record = proj.records()[pid]
    assert record["state"] == "FAILED"
    assert record["last_error"] == "RuntimeError: asked to fail b2"
    kept = proj.stored(f"tmp/batch/{pid}")
    inputs = [value for key, value in kept.items() if not key.endswith("_out.json")]
    assert [value["features"][0]["id"] for value in inputs] == ["b2"]


# Upstream Cirrus's batch pattern, as its docs and users' workflows write it: a Parallel of
# pre-batch -> batch:submitJob.sync (Catch -> post-batch) -> post-batch, with OutputPath $[0].
UPSTREAM_BATCH_WORKFLOW = """\
description: stamps, runs maybe-fail as a Batch job the upstream way, then publishes
definition:
  StartAt: stamp
  States:
    stamp:
      Type: Task
      Resource: !GetAtt stamp.Arn
      Next: batch-group
    batch-group:
      Type: Parallel
      Branches:
        - StartAt: pre-batch
          States:
            pre-batch:
              Type: Task
              Resource: !GetAtt pre-batch.Arn
              Next: batch-task
              Retry:
                - ErrorEquals: [Lambda.TooManyRequestsException, Lambda.Unknown]
                  IntervalSeconds: 10
                  MaxDelaySeconds: 86400
                  BackoffRate: 2.0
                  MaxAttempts: 20
                  JitterStrategy: FULL
            batch-task:
              Type: Task
              Resource: arn:aws:states:::batch:submitJob.sync
              Parameters:
                JobName: maybe-fail
                JobQueue: !Ref maybe-failJobQueue
                JobDefinition: !Ref maybe-failJobDefinition
                Parameters:
                  url.$: $.url
              Next: post-batch
              Retry:
                - ErrorEquals: [Batch.AWSBatchException]
                  IntervalSeconds: 600
                  MaxDelaySeconds: 86400
                  BackoffRate: 2
                  MaxAttempts: 20
                  JitterStrategy: FULL
              Catch:
                - ErrorEquals: [States.ALL]
                  ResultPath: $.error
                  Next: post-batch
            post-batch:
              Type: Task
              Resource: !GetAtt post-batch.Arn
              End: true
      OutputPath: $[0]
      Next: publish
      Catch:
        - ErrorEquals: [States.ALL]
          ResultPath: $.error
          Next: failure
    publish:
      Type: Task
      Resource: !GetAtt publish.Arn
      End: true
    failure:
      Type: Fail
      ErrorPath: $.error.Error
      CausePath: $.error.Cause
"""


def _add_upstream_batch_workflow(proj: Proj) -> None:
    folder = proj.root / "workflows" / "upstream-batch"
    folder.mkdir()
    (folder / "definition.yml").write_text(UPSTREAM_BATCH_WORKFLOW)
    (folder / "README.md").write_text("# upstream-batch\n\nUpstream's batch pattern.\n")


def test_upstream_batch_pattern_validates_and_succeeds(proj: Proj) -> None:
    _add_upstream_batch_workflow(proj)
    validated = proj.cirrus("validate", check=False)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "upstream-batch" not in validated.stdout + validated.stderr  # no problem, no warning
    pid = payload_id("b3", "upstream-batch")
    proj.write_payloads([payload(item("b3"), workflow="upstream-batch")])
    summary = proj.cirrus("process", "in.ndjson", "--wait").json()
    assert summary == {"queued": 1, "rejected": 0, "succeeded": 1}
    (output,) = proj.outputs(pid)
    assert output["features"][0]["properties"]["stamped"] is True  # through the Batch job
    assert [line["item"]["id"] for line in proj.published] == ["b3"]
    # pre-batch's copy and the job's output stay under tmp/ (upstream's bucket expires them)
    assert sorted(key.endswith("_out.json") for key in proj.stored(f"tmp/batch/{pid}")) == [
        False,
        True,
    ]


def test_upstream_batch_pattern_fails_with_the_tasks_own_error(proj: Proj) -> None:
    _add_upstream_batch_workflow(proj)
    pid = payload_id("b4", "upstream-batch")
    proj.write_payloads([payload(item("b4", fail=True), workflow="upstream-batch")])
    run = proj.cirrus("process", "in.ndjson", "--wait", check=False)
    assert run.returncode == 1
    record = proj.records()[pid]
    assert record["state"] == "FAILED"
    # post-batch read it from the last line of the job's kept log, as from CloudWatch on AWS
    assert record["last_error"] == "RuntimeError: asked to fail b4"
    (log,) = proj.stored_text(f"tmp/batch/{pid}", ".log").values()
    assert log.splitlines()[-1] == "RuntimeError: asked to fail b4"
