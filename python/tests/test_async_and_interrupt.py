"""load_async inside a running event loop (which keeps running), cancellation, and Ctrl-C
followed by a run that resumes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time

import barge


def make(pg, table: str) -> None:
    pg.sql(f"CREATE TABLE {table} (id bigint PRIMARY KEY, name text)")


def test_an_async_generator_loads_without_blocking_the_event_loop(pg, table):
    make(pg, table)

    async def rows():
        for i in range(1, 200_001):
            if i % 10_000 == 0:
                await asyncio.sleep(0)
            yield {"id": i, "name": f"n{i}"}

    async def main():
        ticks = 0
        done = False

        async def ticker():
            nonlocal ticks
            while not done:
                ticks += 1
                await asyncio.sleep(0.005)

        t = asyncio.create_task(ticker())
        started = time.monotonic()
        r = await barge.load_async(pg.url, table, rows(), chunk_rows=5000)
        elapsed = time.monotonic() - started
        done = True
        await t
        return r, ticks, elapsed

    r, ticks, elapsed = asyncio.run(main())
    assert r.rows == 200_000
    assert pg.sql(f"SELECT count(*), sum(id) FROM {table}") == f"200000|{sum(range(1, 200_001))}"
    # The loop ran its other task all along: at least a tick per 50 ms of the load.
    assert ticks >= elapsed / 0.05, (ticks, elapsed)


def test_load_async_takes_sync_data_too(pg, table, tmp_path):
    make(pg, table)
    path = tmp_path / "rows.csv"
    path.write_text("id,name\n" + "".join(f"{i},n{i}\n" for i in range(1, 1001)))

    async def main():
        a = await barge.load_async(pg.url, table, str(path))
        b = await barge.load_async(pg.url, table, [{"id": 1001, "name": "x"}])
        return a, b

    a, b = asyncio.run(main())
    assert (a.rows, b.rows) == (1000, 1)
    assert pg.sql(f"SELECT count(*) FROM {table}") == "1001"


def test_cancelling_the_task_stops_the_load_and_the_same_call_resumes(pg, table):
    make(pg, table)

    def rows():
        for i in range(1, 300_001):
            if i % 1000 == 0:
                time.sleep(0.002)  # a slow source
            yield {"id": i, "name": "x"}

    async def cancelled():
        task = asyncio.create_task(
            barge.load_async(pg.url, table, rows(), load_id="cancel", chunk_rows=2000)
        )
        while int(pg.sql(f"SELECT count(*) FROM {table}")) == 0:
            await asyncio.sleep(0.05)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return True
        return False

    assert asyncio.run(cancelled())
    committed = int(pg.sql(f"SELECT count(*) FROM {table}"))
    assert 0 < committed < 300_000
    r = barge.load(pg.url, table, rows(), load_id="cancel", chunk_rows=2000)
    assert r.resumed_rows == committed
    assert pg.sql(f"SELECT count(*), count(DISTINCT id) FROM {table}") == "300000|300000"


def test_ctrl_c_stops_a_file_load_cleanly_and_the_next_run_resumes(pg, table, tmp_path):
    make(pg, table)
    path = tmp_path / "big.csv"
    with open(path, "w") as f:
        f.write("id,name\n")
        for i in range(1, 1_500_001):
            f.write(f"{i},name {i}\n")
    script = textwrap.dedent(f"""
        import barge
        try:
            barge.load({pg.url!r}, {table!r}, {str(path)!r}, chunk_rows=5000, workers=1)
        except KeyboardInterrupt as e:
            print("interrupted:", e, flush=True)
            raise SystemExit(130)
        print("finished", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while int(pg.sql(f"SELECT count(*) FROM {table}")) == 0:
        assert time.time() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    if "finished" in out:
        raise AssertionError("the load ended before Ctrl-C: make the file bigger")
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in out and "Traceback" not in err, (out, err)
    committed = int(pg.sql(f"SELECT count(*) FROM {table}"))
    assert 0 < committed < 1_500_000
    r = barge.load(pg.url, table, str(path))
    assert r.resumed_rows == committed and r.rows == 1_500_000 - committed
    assert pg.sql(f"SELECT count(*), sum(id), count(DISTINCT id) FROM {table}") == (
        f"1500000|{sum(range(1, 1_500_001))}|1500000"
    )
    assert os.path.exists(path)
