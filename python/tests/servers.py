"""Throwaway database servers for the Python tests, started from the installed binaries as the
Rust tests start theirs: PostgreSQL by initdb into a temporary directory, MariaDB by
mariadb-install-db, each on a free port of 127.0.0.1, stopped at the end of the session. A
missing binary fails the test with a message saying what to install; nothing is skipped."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _need(path: str | None, what: str) -> str:
    if not path:
        raise RuntimeError(what)
    return path


class Postgres:
    """A PostgreSQL server in a temporary directory."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
        bins = [b for b in bins if os.path.exists(os.path.join(b, "initdb"))]
        self.bin = _need(
            bins[0] if bins else None,
            "the Python tests need PostgreSQL's server binaries (initdb, pg_ctl): "
            "apt-get install postgresql",
        )
        self.dir = tempfile.mkdtemp(prefix="barge-py-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.user = None
        if os.geteuid() == 0:
            # initdb refuses root: the server runs as the postgres system user.
            self.user = "postgres"
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self._run(
            [os.path.join(self.bin, "initdb"), "-D", self.data, "-U", "postgres",
             "-A", "trust", "-E", "UTF8", "--no-sync"]
        )
        opts = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= "
            "-c fsync=off -c synchronous_commit=off -c TimeZone=UTC"
        )
        self._run(
            [os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l",
             os.path.join(self.dir, "server.log"), "-o", opts, "-w", "start"]
        )
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, cmd: list[str]) -> None:
        out = subprocess.run(cmd, capture_output=True, text=True, user=self.user)
        if out.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {out.stdout}{out.stderr}")

    def sql(self, query: str) -> str:
        """Runs `query` with psql; returns its unaligned output."""
        psql = _need(shutil.which("psql"), "the Python tests need psql: apt-get install postgresql-client")
        out = subprocess.run(
            [psql, "-X", "-v", "ON_ERROR_STOP=1", "-At", "-d", self.url, "-c", query],
            capture_output=True, text=True,
        )
        if out.returncode != 0:
            raise RuntimeError(f"psql: {out.stderr}")
        return out.stdout.strip()

    def stop(self) -> None:
        subprocess.run(
            [os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", "immediate", "stop"],
            capture_output=True, user=self.user,
        )
        shutil.rmtree(self.dir, ignore_errors=True)


class MariaDB:
    """A MariaDB server in a temporary directory."""

    def __init__(self) -> None:
        install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
        server = shutil.which("mariadbd") or (
            "/usr/sbin/mariadbd" if os.path.exists("/usr/sbin/mariadbd") else None
        )
        _need(install and server, "the Python tests need MariaDB's server binaries "
              "(mariadb-install-db, mariadbd): apt-get install mariadb-server")
        self.dir = tempfile.mkdtemp(prefix="barge-py-my-")
        data = os.path.join(self.dir, "data")
        tmp = os.path.join(self.dir, "tmp")
        os.makedirs(tmp)
        self.port = free_port()
        out = subprocess.run(
            [install, "--no-defaults", f"--datadir={data}", "--user=root",
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            capture_output=True, text=True,
        )
        if out.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed: {out.stdout}{out.stderr}")
        self.sock = os.path.join(self.dir, "sock")
        self.proc = subprocess.Popen(
            [server, "--no-defaults", f"--datadir={data}", "--user=root",
             f"--port={self.port}", "--bind-address=127.0.0.1", f"--socket={self.sock}",
             f"--pid-file={os.path.join(self.dir, 'pid')}",
             f"--log-error={os.path.join(self.dir, 'server.log')}", "--skip-name-resolve",
             "--local-infile=1", "--innodb-buffer-pool-size=64M",
             "--innodb-flush-log-at-trx-commit=2", "--character-set-server=utf8mb4",
             f"--tmpdir={tmp}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 60
        while True:
            try:
                self.sql("CREATE DATABASE IF NOT EXISTS test", db="")
                break
            except RuntimeError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise
                time.sleep(0.3)
        self.url = f"mysql://root@127.0.0.1:{self.port}/test"

    def sql(self, query: str, db: str = "test") -> str:
        client = _need(shutil.which("mariadb") or shutil.which("mysql"),
                       "the Python tests need the mariadb client: apt-get install mariadb-client")
        cmd = [client, "--no-defaults", "-h127.0.0.1", f"-P{self.port}", "-uroot", "-N", "-B",
               "-e", query]
        if db:
            cmd.append(db)
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"mariadb: {out.stderr}")
        return out.stdout.strip()

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
