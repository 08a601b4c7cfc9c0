"""Rows from Python iterables: dicts, tuples, namedtuples; a million of them in bounded memory;
rejects, upserts, progress, and errors raised by the iterator itself."""

from __future__ import annotations

import collections
import dataclasses
import decimal
import json
import os
import subprocess
import sys
import textwrap
from typing import Optional

import pytest

import barge


def make(pg, table: str) -> None:
    pg.sql(f"CREATE TABLE {table} (id bigint PRIMARY KEY, name text, amount numeric(12,2))")


def test_a_generator_of_a_million_dicts_loads_in_bounded_memory(pg, table):
    make(pg, table)
    # VmHWM, not ru_maxrss: ru_maxrss survives exec, so it would count this (pytest's) process.
    script = textwrap.dedent(f"""
        import barge
        rows = ({{"id": i, "name": "name %d" % i, "amount": "%d.25" % (i % 1000)}}
                for i in range(1, 1_000_001))
        r = barge.load({pg.url!r}, {table!r}, rows)
        hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0]
        print(r.rows, int(hwm.split()[1]) // 1024)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    rows, peak_mib = map(int, out.stdout.split())
    assert rows == 1_000_000
    assert pg.sql(f"SELECT count(*), sum(id), sum(amount) FROM {table}") == (
        f"1000000|{sum(range(1, 1_000_001))}|{sum((i % 1000) for i in range(1, 1_000_001)) + 250000}.00"
    )
    # The million rows held at once would take far over a gigabyte of Python objects.
    assert peak_mib < 100, f"peak RSS {peak_mib} MiB"


def test_tuples_take_columns_and_namedtuples_name_their_own(pg, table):
    make(pg, table)
    r = barge.load(pg.url, table, [(1, "a", 1.5), (2, None, None)], columns=["id", "name", "amount"])
    assert r.rows == 2
    Row = collections.namedtuple("Row", "id name amount")
    assert barge.load(pg.url, table, iter([Row(3, "c", 3)])).rows == 1
    assert pg.sql(f"SELECT id, name, amount FROM {table} ORDER BY id") == (
        "1|a|1.50\n2||\n3|c|3.00"
    )
    with pytest.raises(TypeError, match=r"columns=\[\.\.\.\]"):
        barge.load(pg.url, table, [(4, "d", 4)])
    with pytest.raises(TypeError, match='row 2 has key "nme"'):
        barge.load(pg.url, table, [{"id": 5, "name": "e"}, {"id": 6, "nme": "f"}])


def test_dataclasses_pydantic_models_and_attrs_classes_are_rows(pg, table):
    """Records as applications keep them load as dicts do, column by attribute: a dataclass, a
    pydantic model, an attrs class (each value by its type; ``columns=`` picks attributes)."""
    import attrs
    import pydantic

    make(pg, table)

    @dataclasses.dataclass
    class Event:
        id: int
        name: Optional[str]
        amount: decimal.Decimal
        note: dataclasses.InitVar[str] = "not a column"

        def __post_init__(self, note):
            pass

    class Model(pydantic.BaseModel):
        id: int
        name: Optional[str] = None
        amount: float

    @attrs.define
    class Record:
        id: int
        name: str
        amount: str

    assert barge.load(pg.url, table, [Event(1, "a", decimal.Decimal("1.25")),
                                       Event(2, None, decimal.Decimal("2"))]).rows == 2
    assert barge.load(pg.url, table, iter([Model(id=3, amount=3.5)])).rows == 1
    assert barge.load(pg.url, table, [Record(4, "d", "4.75")]).rows == 1
    assert barge.load(pg.url, table, [Record(5, "e", "5")], columns=["id", "name"]).rows == 1
    assert pg.sql(f"SELECT id, name, amount FROM {table} ORDER BY id") == (
        "1|a|1.25\n2||2.00\n3||3.50\n4|d|4.75\n5|e|"
    )
    @dataclasses.dataclass
    class Short:
        id: int

    with pytest.raises(TypeError, match='row 2 has no attribute "name"'):
        barge.load(pg.url, table, [Event(6, "f", decimal.Decimal(6)), Short(7)])


def test_bad_rows_go_to_the_rejects_file_as_csv_with_their_row_numbers(pg, table, tmp_path):
    make(pg, table)
    rows = [{"id": i, "name": f"n{i}", "amount": i} for i in range(1, 101)]
    rows[9]["amount"] = "ten"
    rows[49]["amount"] = 10**12  # too big for numeric(12,2)
    rows[79]["id"] = 1  # a duplicate key: refused by the server
    bad = tmp_path / "bad.csv"
    r = barge.load(pg.url, table, rows, rejects=bad, chunk_rows=30)
    assert (r.rows, r.rejected) == (97, 3)
    assert r.rejects_file == str(bad)
    assert bad.read_text().splitlines() == [
        "id,name,amount", "10,n10,ten", "50,n50,1000000000000", "1,n80,80",
    ]
    errors = [json.loads(line) for line in open(str(bad) + ".errors.jsonl")]
    assert [e["record"] for e in errors] == [10, 50, 80]
    assert pg.sql(f"SELECT count(*), sum(amount) FROM {table}") == (
        f"97|{sum(range(1, 101)) - 10 - 50 - 80}.00"
    )


def test_upsert_counts_inserts_and_updates_and_the_last_occurrence_wins(pg, table):
    make(pg, table)
    barge.load(pg.url, table, [{"id": i, "name": "old", "amount": 1} for i in range(1, 6)])
    rows = [{"id": i, "name": "new", "amount": i} for i in range(4, 9)]
    rows.append({"id": 8, "name": "last", "amount": 80})
    r = barge.load(pg.url, table, rows, on_conflict="update")
    assert (r.inserted, r.updated) == (3, 3)
    assert pg.sql(f"SELECT string_agg(id || name, ',' ORDER BY id) FROM {table}") == (
        "1old,2old,3old,4new,5new,6new,7new,8last"
    )


def test_on_progress_gets_the_rust_apis_events(pg, table):
    make(pg, table)
    events = []
    rows = ({"id": i, "name": "x", "amount": 1} for i in range(1, 50_001))
    barge.load(pg.url, table, rows, on_progress=events.append, chunk_rows=1000)
    assert events, "no progress event"
    last = events[-1]
    assert last["done"] is True and last["rows_committed"] == 50_000
    assert set(last) >= {"rows_read", "rows_committed", "chunks_committed", "rows_rejected"}


class Boom(Exception):
    pass


def test_an_error_in_the_iterator_is_raised_as_is_and_the_load_resumes(pg, table):
    make(pg, table)

    def rows(fail_at):
        for i in range(1, 30_001):
            if i == fail_at:
                raise Boom(f"source failed at {i}")
            yield {"id": i, "name": "x", "amount": i % 7}

    with pytest.raises(Boom, match="source failed at 25000"):
        barge.load(pg.url, table, rows(25_000), load_id="boom", chunk_rows=1000)
    committed = int(pg.sql(f"SELECT count(*) FROM {table}"))
    assert 0 < committed < 25_000
    r = barge.load(pg.url, table, rows(None), load_id="boom", chunk_rows=1000)
    assert r.resumed_rows == committed and r.rows == 30_000 - committed
    assert pg.sql(f"SELECT count(*), sum(id), count(DISTINCT id) FROM {table}") == (
        f"30000|{sum(range(1, 30_001))}|30000"
    )
    again = barge.load(pg.url, table, rows(None), load_id="boom")
    assert again.already_loaded and again.rows == 0


def test_a_password_is_never_shown(pg, table):
    url = pg.url.replace("postgres@", "nobody:s3cret-pw@")
    with pytest.raises(barge.Error) as e:
        barge.load(url, table, [{"id": 1}], retries=0)
    assert "s3cret-pw" not in str(e.value)
    assert isinstance(e.value, (barge.ConnectError, barge.DatabaseError))
    assert os.environ.get("PGPASSWORD") is None


def test_dictreader_rows_with_null_load_exactly_as_the_csv_does(pg, cli, table, tmp_path):
    import csv

    ddl = ("CREATE TABLE {t} (id bigint PRIMARY KEY, user_id int, amount numeric(12,2), "
           "name text, day date, payload jsonb)")
    for t in ("_py", "_cli"):
        pg.sql(ddl.format(t=table + t))
    path = tmp_path / "seed.csv"
    lines = ["id,user_id,amount,name,day,payload"]
    for i in range(1, 2001):
        nul = i % 7 == 0
        lines.append(",".join([
            str(i), "" if nul else str(i % 50), f"{i}.5", "" if nul else f"\"name, {i}\"",
            "" if nul else "2024-03-01", "" if nul else f"\"{{\"\"k\"\": {i}}}\"",
        ]))
    path.write_text("\n".join(lines) + "\n")
    with open(path, newline="") as f:
        r = barge.load(pg.url, table + "_py", csv.DictReader(f), null="")
    assert r.rows == 2000
    cli("load", str(path), "--into", pg.url, "--table", table + "_cli", "--quiet")
    dump = "SELECT * FROM {t} ORDER BY id"
    assert pg.sql(dump.format(t=table + "_py")) == pg.sql(dump.format(t=table + "_cli"))
    assert pg.sql(f"SELECT count(*) - count(name) FROM {table}_py") == str(2000 // 7)
    # Without null="", an empty string is a string: into an int column it is a bad value.
    with pytest.raises(barge.BadRow, match="user_id"):
        with open(path, newline="") as f:
            barge.load(pg.url, table + "_py", csv.DictReader(f), again=True)


def test_progress_true_draws_on_a_terminal(pg, table):
    import pty

    make(pg, table)
    script = textwrap.dedent(f"""
        import time, barge
        def rows():
            for i in range(1, 20_001):
                if i % 2000 == 0:
                    time.sleep(0.1)
                yield {{"id": i, "name": "x", "amount": 1}}
        barge.load({pg.url!r}, {table!r}, rows(), progress=True, chunk_rows=1000)
    """)
    main, sub = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=sub, stdout=sub, stderr=sub)
    os.close(sub)
    out = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    assert proc.wait() == 0, out
    assert b"rows loaded" in out, out
    assert pg.sql(f"SELECT count(*) FROM {table}") == "20000"
