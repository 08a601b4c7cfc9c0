"""The README's Python examples run as written, in order, in a fresh directory holding a copy
of `examples/`, on the embedded default (SQLite)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import sqlite3

from conftest import ROOT


def python_blocks() -> list[str]:
    readme = open(os.path.join(ROOT, "README.md")).read()
    start = readme.index("\n## Python\n")
    end = readme.index("\n## ", start + 1)
    return re.findall(r"```python\n(.*?)```", readme[start:end], re.S)


def test_readme_python_examples_run_as_written(tmp_path, monkeypatch):
    shutil.copytree(os.path.join(ROOT, "examples"), tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks()
    assert len(blocks) == 6, blocks
    ns: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in blocks:
            exec(compile(block, "README.md", "exec"), ns)
    printed = out.getvalue().splitlines()
    assert printed[0].startswith("12 0 12 0 "), printed
    # barge.schema prints what `barge schema --dialect postgres` prints (shown in the README).
    readme = open(os.path.join(ROOT, "README.md")).read()
    shown = readme.split("barge schema examples/events.csv --dialect postgres\n```\n\n```text\n")[1]
    shown = shown.split("```")[0].splitlines()
    assert printed[1 : 1 + len(shown)] == shown, printed
    printed = printed[len(shown) + 1 :]
    assert printed[0].startswith("Report(rows=1000, rejected=0"), printed
    assert printed[1] == "1 id not a number expected INTEGER: not an integer", printed
    count = sqlite3.connect("barge.db").execute("SELECT count(*) FROM events").fetchone()[0]
    assert count == 12 + 1000 + 12 + 1000
