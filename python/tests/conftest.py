"""Fixtures: the throwaway servers (one of each per session), the CLI to compare with, and a
fresh table name per test."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from servers import MariaDB, Postgres

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="session")
def pg():
    srv = Postgres()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def mariadb():
    srv = MariaDB()
    yield srv
    srv.stop()


def cli_path() -> str:
    """The barge binary that `cargo test` built (or $BARGE_BIN)."""
    path = os.environ.get("BARGE_BIN") or os.path.join(ROOT, "target", "debug", "barge")
    if not os.path.exists(path):
        raise RuntimeError(
            f"the Python tests compare with the CLI and found no {path}: run `cargo build` first"
        )
    return path


@pytest.fixture
def cli():
    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        out = subprocess.run([cli_path(), *args], capture_output=True, text=True)
        if check and out.returncode not in (0, 3):
            raise AssertionError(f"barge {' '.join(args)} failed:\n{out.stderr}")
        return out

    return run


@pytest.fixture
def table(request) -> str:
    return "t_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:50]
