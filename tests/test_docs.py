"""Every shell block of README.md and docs/*.md runs as pasted.

Each document's blocks run in order, in one temporary folder, each in its own ``bash`` with
``set -e -o pipefail``; the working folder and exported variables carry over from block to
block, as in the terminal a reader pastes them into. ``cirrus``, ``python`` and ``rio`` are
the ones of the Python running the tests. A comment on the line before a block says what is
special about it:

``<!-- docs-test: skip (why) -->``
    not run (it needs an AWS account, a network, or is a synopsis); the reason is required.
``<!-- docs-test: file NAME -->``
    (any block) its text is written to NAME first, as the text asks the reader to do.
``<!-- docs-test: status N -->``
    the block ends with exit status N: its last command fails on purpose.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = {"sh", "bash", "shell"}
_BLOCK = re.compile(
    r"(?:<!--\s*docs-test:\s*(?P<marker>[^\n]*?)\s*-->\n)?"  # a marker, on the line before
    r"^```(?P<language>[\w-]*)[^\n]*\n(?P<text>.*?)^```",
    re.DOTALL | re.MULTILINE,
)


@dataclass(frozen=True)
class Block:
    line: int
    language: str
    text: str
    marker: str

    @property
    def skipped(self) -> bool:
        return self.marker.startswith("skip")

    @property
    def file(self) -> str | None:
        return self.marker.split(None, 1)[1] if self.marker.startswith("file ") else None

    @property
    def status(self) -> int:
        return int(self.marker.split()[1]) if self.marker.startswith("status ") else 0


def blocks(document: Path) -> list[Block]:
    text = document.read_text(encoding="utf-8")
    return [
        Block(
            line=text.count("\n", 0, match.start("language")) + 1,
            language=match["language"],
            text=match["text"],
            marker=match["marker"] or "",
        )
        for match in _BLOCK.finditer(text)
    ]


def test_markers_are_understood() -> None:
    for document in DOCUMENTS:
        found = blocks(document)
        text = document.read_text(encoding="utf-8")
        written = len(re.findall(r"^<!--\s*docs-test:", text, flags=re.MULTILINE))
        assert written == sum(bool(block.marker) for block in found), (
            f"{document.name}: a docs-test marker is not on the line right before a block"
        )
        for block in found:
            where = f"{document.name}:{block.line}"
            if not block.marker:
                continue
            assert re.fullmatch(r"skip \(.+\)|file \S+|status \d+", block.marker), where
            if block.file is None:
                assert block.language in SHELL, f"{where}: skip/status on a {block.language} block"


def _environment(folder: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("CIRRUS_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(folder / "home")
    env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"  # closed: nothing leaves the machine
    env["COLUMNS"] = "120"
    source = str(ROOT)  # `cirrus` of the tests' Python runs this tree
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, env.get("PYTHONPATH")]))
    return env


def _run_block(block: Block, state: Path, env: dict[str, str]) -> None:
    script = "\n".join(
        [
            "set -e -o pipefail",
            f'cd "$(cat "{state}/cwd")"',
            f'. "{state}/env"',
            f'trap \'pwd > "{state}/cwd"; export -p > "{state}/env"\' EXIT',
            block.text,
        ]
    )
    result = subprocess.run(
        ["bash", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    shown = (
        f"block at line {block.line} exited {result.returncode}:\n{block.text}\n"
        f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}"
    )
    assert result.returncode == block.status, shown
    assert "Traceback" not in result.stderr, shown


@pytest.mark.parametrize("document", DOCUMENTS, ids=[path.name for path in DOCUMENTS])
def test_every_shell_block_runs(document: Path, tmp_path: Path) -> None:
    folder = tmp_path / "work"
    state = tmp_path / "state"
    for made in (folder, state, tmp_path / "work" / "home"):
        made.mkdir(parents=True, exist_ok=True)
    (state / "cwd").write_text(str(folder))
    (state / "env").write_text("")
    env = _environment(tmp_path / "work")
    for block in blocks(document):
        if block.file is not None:
            cwd = Path((state / "cwd").read_text().strip())
            (cwd / block.file).write_text(block.text, encoding="utf-8")
        elif block.language in SHELL and not block.skipped:
            _run_block(block, state, env)
