"""Every Python value type, loaded straight from its value, gives the table the CLI gives from
the same values written as text in a CSV file: on PostgreSQL, MariaDB and SQLite."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import os
import sqlite3
import uuid
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

import barge

UTC = dt.timezone.utc
PLUS = dt.timezone(dt.timedelta(hours=5, minutes=30))
MINUS = dt.timezone(dt.timedelta(hours=-8))

PG_TABLE = """CREATE TABLE {t} (
    id int PRIMARY KEY, b boolean, i2 smallint, i4 int, i8 bigint, f4 real, f8 double precision,
    n numeric, n2 numeric(12,3), s text, vc varchar(10), by bytea, d date, tm time,
    ts timestamp, tstz timestamptz, u uuid, j json, jb jsonb)"""

COLUMNS = ["id", "b", "i2", "i4", "i8", "f4", "f8", "n", "n2", "s", "vc", "by", "d", "tm",
           "ts", "tstz", "u", "j", "jb"]


def rows() -> list[dict]:
    """Rows that cover each Python type, its edges, and NULL in every column."""
    out = [
        dict(id=1, b=True, i2=-32768, i4=2**31 - 1, i8=-(2**63), f4=1.5, f8=0.1,
             n=Decimal("12345678901234567890.123456789"), n2=Decimal("-1.5"), s="plain",
             vc="ten chars!", by=b"\x00\xff\\ab", d=dt.date(2024, 2, 29),
             tm=dt.time(23, 59, 59, 999999), ts=dt.datetime(2024, 3, 1, 12, 30, 45, 123456),
             tstz=dt.datetime(2024, 3, 1, 12, 30, tzinfo=PLUS),
             u=uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
             j={"k": [1, 2.5, None, True, "x\"y"]}, jb=[1, {"a": "b"}]),
        dict(id=2, b=False, i2=0, i4=-1, i8=2**63 - 1, f4=-0.0, f8=-2.5e300,
             n=2**70, n2=Decimal("0.001"), s="", vc="", by=b"", d=dt.date(1, 1, 1),
             tm=dt.time(0, 0), ts=dt.datetime(1, 1, 1), tstz=dt.datetime(1999, 12, 31, 23, 59,
             59, tzinfo=MINUS), u=uuid.UUID(int=0), j="\"a JSON string\"", jb="{\"s\": 1}"),
        dict(id=3, b=True, i2=7, i4=7, i8=7, f4=math.inf, f8=math.nan, n=Decimal("NaN"),
             n2=7, s="quotes \" and, commas\nand lines", vc="ünïcødé", by=bytes(range(256)),
             d=dt.date(9999, 12, 31), tm=dt.time(12, 0, 0, 1),
             ts=dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
             tstz=dt.datetime(2024, 6, 1, tzinfo=UTC), u=uuid.uuid5(uuid.NAMESPACE_DNS, "x"),
             j=[], jb={}),
        dict(id=4, b=None, i2=None, i4=None, i8=None, f4=None, f8=None, n=None, n2=None,
             s=None, vc=None, by=None, d=None, tm=None, ts=None, tstz=None, u=None, j=None,
             jb=None),
        # numpy scalars and pandas' missing values.
        dict(id=5, b=np.bool_(True), i2=np.int8(-5), i4=np.int32(123456), i8=np.int64(-7),
             f4=np.float32(0.5), f8=np.float64(3.25), n=np.int64(10), n2=np.float64(2.5),
             s=pd.NA, vc=np.str_("np"), by=None, d=pd.NaT, tm=None,
             ts=pd.Timestamp("2020-01-02 03:04:05.678901"),
             tstz=pd.Timestamp("2020-01-02 03:04:05", tz="UTC"), u=None, j=None,
             jb={"n": np.int64(3)}),
        # A naive datetime into timestamptz is read in the session's zone (UTC here), as its
        # text is.
        dict(id=6, tstz=dt.datetime(2024, 1, 1, 8, 0), ts=dt.datetime(2024, 1, 1, 8, 0,
             tzinfo=PLUS)),
    ]
    return out


def text(v) -> str | None:
    """A value as the text a CSV file would hold for the CLI (None: an empty unquoted field)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return repr(v)
    if isinstance(v, bytes):
        return "\\x" + v.hex()
    if isinstance(v, pd.Timestamp):
        v = v.to_pydatetime()
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, (dict, list)):
        return json.dumps(v, default=lambda o: o.item(), separators=(",", ":"))
    return str(v)


def write_csv(path: str, data: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        f.write(",".join(COLUMNS) + "\n")
        for r in data:
            fields = []
            for c in COLUMNS:
                t = text(r.get(c))
                if t is None:
                    fields.append("")
                else:
                    fields.append('"' + t.replace('"', '""') + '"')
            f.write(",".join(fields) + "\n")


def test_every_python_type_loads_as_its_text_does_into_postgres(pg, cli, table, tmp_path):
    ours, theirs = table + "_py", table + "_cli"
    for t in (ours, theirs):
        pg.sql(PG_TABLE.format(t=t))
    data = rows()
    r = barge.load(pg.url, ours, data)
    assert (r.rows, r.rejected, r.inserted, r.updated) == (len(data), 0, len(data), 0)
    path = str(tmp_path / "values.csv")
    write_csv(path, data)
    cli("load", path, "--into", pg.url, "--table", theirs, "--quiet")
    dump = "SELECT {c} FROM {t} ORDER BY id"
    cols = ", ".join(COLUMNS)
    a = pg.sql(dump.format(c=cols, t=ours))
    b = pg.sql(dump.format(c=cols, t=theirs))
    assert a == b
    assert pg.sql(f"SELECT count(*) FROM {ours}") == str(len(data))
    # Spot checks that the values are the ones given, not merely equal to the CLI's.
    assert pg.sql(f"SELECT i8, n, encode(by, 'hex') FROM {ours} WHERE id = 1") == (
        f"{-(2**63)}|12345678901234567890.123456789|00ff5c6162"
    )
    assert pg.sql(f"SELECT tstz FROM {ours} WHERE id = 1") == "2024-03-01 07:00:00+00"
    assert pg.sql(f"SELECT jb->>'n' FROM {ours} WHERE id = 5") == "3"
    assert pg.sql(f"SELECT j::text FROM {ours} WHERE id = 2") == '"a JSON string"'


def test_a_value_that_does_not_fit_raises_bad_row_with_where_and_why(pg, table):
    pg.sql(PG_TABLE.format(t=table))
    data = [dict(id=i, i2=i) for i in range(1, 50)] + [dict(id=50, i2=40000)]
    with pytest.raises(barge.BadRow) as e:
        barge.load(pg.url, table, data)
    err = e.value
    assert (err.row, err.column, err.value) == (50, "i2", "40000")
    assert "out of range for type smallint" in err.reason
    assert "rejects=" in str(err), str(err)
    assert isinstance(err, barge.Error)


MY_TABLE = """CREATE TABLE {t} (
    id int PRIMARY KEY, b tinyint(1), i2 smallint, i4 int, i8 bigint, f4 float, f8 double,
    n decimal(40,9), n2 decimal(12,3), s text, vc varchar(10), `by` blob, d date, tm time(6),
    ts datetime(6), tstz timestamp(6) NULL, u binary(16), j json, jb json)"""


def my_rows() -> list[dict]:
    """What MySQL's types hold: no NaN or infinities, dates from year 1000, timestamps in
    1970-2038."""
    out = []
    for r in rows():
        r = dict(r)
        if r["id"] == 2:
            r.update(n=2**70, d=dt.date(1000, 1, 1), ts=dt.datetime(1000, 1, 1),
                     tstz=dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=MINUS))
        if r["id"] == 3:
            r.update(f4=1.25, f8=None, n=Decimal("1.5"), n2=7,
                     tstz=dt.datetime(2024, 6, 1, tzinfo=UTC))
        r["u"] = r["u"].bytes if isinstance(r.get("u"), uuid.UUID) else None
        out.append(r)
    return out


def test_every_python_type_loads_as_its_text_does_into_mariadb(mariadb, cli, table, tmp_path):
    ours, theirs = table + "_py", table + "_cli"
    for t in (ours, theirs):
        mariadb.sql(MY_TABLE.format(t=t))
    data = my_rows()
    r = barge.load(mariadb.url, ours, data)
    assert r.rows == len(data)
    path = str(tmp_path / "values.csv")
    # A CSV field is bytes to MySQL's binary columns, with no hex form to write them in:
    # those two columns are checked apart.
    write_csv(path, [dict(r, by=None, u=None) for r in data])
    cli("load", path, "--into", mariadb.url, "--table", theirs, "--quiet")
    cols = ", ".join(f"`{c}`" for c in COLUMNS if c not in ("by", "u"))
    dump = "SELECT {c} FROM {t} ORDER BY id"
    assert mariadb.sql(dump.format(c=cols, t=ours)) == mariadb.sql(dump.format(c=cols, t=theirs))
    assert mariadb.sql(f"SELECT hex(u) FROM {ours} WHERE id = 1") == (
        "A0EEBC999C0B4EF8BB6D6BB9BD380A11"
    )
    assert mariadb.sql(f"SELECT hex(`by`) FROM {ours} WHERE id = 1") == "00FF5C6162"


def test_every_python_type_loads_as_its_text_does_into_sqlite(cli, tmp_path):
    db = str(tmp_path / "v.db")
    con = sqlite3.connect(db)
    for t in ("py", "cli"):
        con.execute(PG_TABLE.format(t=t).replace("double precision", "double").replace("bytea", "blob"))
    con.commit()
    # SQLite stores no NaN: it is a bad value there (and so in the CLI's load).
    data = [dict(r, f8=1.0, n=Decimal("1.5")) if r["id"] == 3 else r for r in rows()]
    r = barge.load(f"sqlite:///{db}", "py", data)  # SQLAlchemy's form: four slashes, absolute
    assert r.rows == len(data)
    path = str(tmp_path / "values.csv")
    write_csv(path, data)
    cli("load", path, "--into", "sqlite://" + db, "--table", "cli", "--quiet")
    cols = ", ".join(f"quote({c})" for c in COLUMNS)
    a = con.execute(f"SELECT {cols} FROM py ORDER BY id").fetchall()
    b = con.execute(f"SELECT {cols} FROM cli ORDER BY id").fetchall()
    assert a == b
    assert con.execute("SELECT typeof(by), typeof(i8) FROM py WHERE id = 1").fetchone() == (
        "blob", "integer")
    assert os.path.exists(db)
