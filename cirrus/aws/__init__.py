"""cirrus on AWS: the Lambda handlers and the AWS services the runtime uses there.

The handlers run the same runtime as the embedded pipeline (:mod:`cirrus.runtime`): the
``process`` function reads, claims and starts payloads as a local worker does, with a Step
Functions execution in place of the in-process engine; ``update-state`` concludes an
execution as a local worker does when its run ends. :mod:`cirrus.aws.build` makes a
project into one CloudFormation stack, and :mod:`cirrus.aws.deploy` creates or updates it
(``cirrus deploy``). See docs/aws.md.
"""

from __future__ import annotations

__all__: list[str] = []
