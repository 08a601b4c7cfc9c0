"""DataFrames and Arrow data load column-wise, with NULLs in every column type, into the table
the CLI makes of the same rows written as CSV."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from decimal import Decimal

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import barge
from test_values import text

PG_TABLE = """CREATE TABLE {t} (
    id bigint PRIMARY KEY, i int, small smallint, f double precision, r real, ok boolean,
    s text, cat text, ts timestamp, tstz timestamptz, d date, tm time, n numeric(20,4),
    raw bytea, doc jsonb)"""
COLUMNS = ["id", "i", "small", "f", "r", "ok", "s", "cat", "ts", "tstz", "d", "tm", "n", "raw",
           "doc"]


def frame() -> pd.DataFrame:
    n = 6
    ts = [dt.datetime(2024, 1, 1, 0, 0, 0) + dt.timedelta(days=k, microseconds=k * 7)
          for k in range(n)]
    df = pd.DataFrame({
        "id": pd.array(range(1, n + 1), dtype="int64"),
        "i": pd.array([1, None, -(2**31), 2**31 - 1, 0, None], dtype="Int32"),
        "small": pd.array([None, 1, 2, 3, -32768, 32767], dtype="Int16"),
        "f": [0.5, float("nan"), -1e300, 2.0, 1 / 3, None],
        "r": pd.array([1.5, None, 0.25, -0.0, 3.0, 2.5], dtype="float32"),
        "ok": pd.array([True, False, None, True, False, True], dtype="boolean"),
        "s": pd.array(["a", "", None, "x,y\n\"z\"", "ünï", "long " * 20], dtype="string"),
        "cat": pd.Categorical(["red", "green", None, "red", "blue", "green"]),
        "ts": pd.Series(ts[:3] + [pd.NaT] + ts[4:], dtype="datetime64[ns]"),
        "tstz": pd.Series(ts, dtype="datetime64[ns]").dt.tz_localize("UTC").where(
            [True, True, True, True, False, True]),
        "d": [dt.date(2024, 2, 29), None, dt.date(1970, 1, 1), dt.date(1, 1, 1),
              dt.date(9999, 12, 31), dt.date(2000, 1, 1)],
        "tm": [dt.time(0, 0), dt.time(23, 59, 59, 999999), None, dt.time(12, 30),
               dt.time(1, 2, 3), dt.time(4, 5, 6, 7)],
        "n": [Decimal("1.2345"), Decimal("-99999999.0001"), None, Decimal("0"),
              Decimal("12.5"), Decimal("3")],
        "raw": [b"\x00\x01", b"", None, bytes(range(16)), b"\xff", b"abc"],
        "doc": ['{"a": 1}', "[1, 2]", None, '"s"', "{}", "null"],
    })
    return df


def expected_csv(df: pd.DataFrame, path: str) -> None:
    with open(path, "w", newline="") as f:
        f.write(",".join(COLUMNS) + "\n")
        for row in df.itertuples(index=False):
            out = []
            for v in row:
                if v is None or (not isinstance(v, (str, bytes)) and pd.isna(v)):
                    out.append("")
                    continue
                if isinstance(v, float) and v == int(v) and abs(v) < 1e15:
                    v = float(v)
                t = text(v)
                out.append('"' + t.replace('"', '""') + '"')
            f.write(",".join(out) + "\n")


def column_types(pg, t: str) -> str:
    """Table `t`'s columns and their types, in order: `id bigint, tags jsonb`."""
    return pg.sql(
        "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) "
        f"FROM information_schema.columns WHERE table_name = '{t}'")


def dump(pg, t: str) -> str:
    return pg.sql(f"SELECT {', '.join(COLUMNS)} FROM {t} ORDER BY id")


def test_a_pandas_frame_with_nulls_in_every_type_equals_the_cli_load(pg, cli, table, tmp_path):
    for t in ("_pd", "_pl", "_pa", "_cli"):
        pg.sql(PG_TABLE.format(t=table + t))
    df = frame()
    r = barge.load(pg.url, table + "_pd", df)
    assert (r.rows, r.rejected) == (len(df), 0)
    path = str(tmp_path / "frame.csv")
    expected_csv(df, path)
    cli("load", path, "--into", pg.url, "--table", table + "_cli", "--quiet")
    want = dump(pg, table + "_cli")
    assert dump(pg, table + "_pd") == want
    # Every column holds a NULL somewhere.
    nulls = pg.sql(
        f"SELECT {', '.join(f'count(*) - count({c})' for c in COLUMNS[1:])} FROM {table}_pd"
    )
    assert all(int(x) >= 1 for x in nulls.split("|")), nulls

    # The same rows as a pyarrow Table and as a polars DataFrame.
    tbl = pa.Table.from_pandas(df, preserve_index=False)
    assert barge.load(pg.url, table + "_pa", tbl).rows == len(df)
    assert dump(pg, table + "_pa") == want
    assert barge.load(pg.url, table + "_pl", pl.from_arrow(tbl)).rows == len(df)
    assert dump(pg, table + "_pl") == want


def test_a_record_batch_reader_streams_and_a_bad_value_is_set_aside(pg, table, tmp_path):
    pg.sql(f"CREATE TABLE {table} (id bigint PRIMARY KEY, small smallint NOT NULL)")
    schema = pa.schema([("id", pa.int64()), ("small", pa.int64())])

    def batches():
        for b in range(100):
            ids = list(range(b * 1000 + 1, b * 1000 + 1001))
            small = [70000 if i % 25_000 == 0 else i % 30000 for i in ids]
            yield pa.record_batch([ids, small], schema=schema)

    reader = pa.RecordBatchReader.from_batches(schema, batches())
    bad = tmp_path / "bad.csv"
    r = barge.load(pg.url, table, reader, rejects=bad)
    assert (r.rows, r.rejected) == (100_000 - 4, 4)
    assert pg.sql(f"SELECT count(*), sum(id) FROM {table}") == (
        f"{100_000 - 4}|{sum(range(1, 100_001)) - 25_000 - 50_000 - 75_000 - 100_000}"
    )
    lines = bad.read_text().splitlines()
    assert lines == ["id,small", "25000,70000", "50000,70000", "75000,70000", "100000,70000"]


def test_a_frame_creates_its_table_from_its_types(pg, table, tmp_path):
    df = frame()
    # PostgreSQL with create=: each column's type from the frame's own.
    r = barge.load(pg.url, table, df, create=True)
    assert r.rows == len(df) and r.to_dict()["created"]
    types = column_types(pg, table)
    assert types == (
        "id bigint, i bigint, small bigint, f double precision, r double precision, "
        "ok boolean, s text, cat text, ts timestamp without time zone, "
        "tstz timestamp with time zone, d date, tm time without time zone, n numeric, "
        "raw bytea, doc text"), types
    # The values are the frame's: the same as into the table the CLI makes of them.
    pg.sql(PG_TABLE.format(t=f"{table}_ref"))
    barge.load(pg.url, f"{table}_ref", df)
    cols = "id, i, small, f, r::float8, ok, s, cat, ts, tstz, d, tm, n, raw, doc::jsonb"
    diff = pg.sql(f"SELECT count(*) FROM ((SELECT {cols} FROM {table} EXCEPT "
                  f"SELECT {cols} FROM {table}_ref) UNION ALL (SELECT {cols} FROM {table}_ref "
                  f"EXCEPT SELECT {cols} FROM {table})) AS d")
    assert diff == "0", diff
    # Without create= a missing table is an error that says how.
    with pytest.raises(barge.ConfigError) as e:
        barge.load(pg.url, f"{table}_none", df)
    assert "create=" in e.value.hint, e.value.hint
    # The embedded default creates it unasked, as it does a file's.
    db = tmp_path / "f.db"
    r = barge.load(f"sqlite:///{db}", "f", df)
    assert r.rows == len(df) and r.to_dict()["created"]
    con = sqlite3.connect(db)
    decl = [(c[1], c[2]) for c in con.execute("PRAGMA table_info(f)")]
    assert decl == [("id", "INTEGER"), ("i", "INTEGER"), ("small", "INTEGER"), ("f", "REAL"),
                    ("r", "REAL"), ("ok", "BOOLEAN"), ("s", "TEXT"), ("cat", "TEXT"),
                    ("ts", "TIMESTAMP"), ("tstz", "TIMESTAMPTZ"), ("d", "DATE"), ("tm", "TIME"),
                    ("n", "NUMERIC"), ("raw", "BLOB"), ("doc", "TEXT")], decl
    assert con.execute("SELECT count(*), sum(id), sum(length(raw)) FROM f").fetchone() == (
        6, 21, 2 + 0 + 16 + 1 + 3)


def test_lists_and_structs_of_an_arrow_table_load_as_arrays_and_json(pg, table):
    """A column of lists of scalars makes an array column of their type (what asyncpg users
    have for lists), and loads into it; lists of lists (which may be ragged) and dicts are
    JSON: a created table has jsonb columns for them, and each value is the JSON of the Python
    value."""
    t = pa.table({
        "id": [1, 2, 3],
        "tags": pa.array([["a", "b"], [], None], pa.list_(pa.string())),
        "nums": pa.array([[1, None], None, [3]], pa.list_(pa.int32())),
        "when": pa.array([[dt.date(2024, 1, 2)], None, []], pa.list_(pa.date32())),
        "grid": pa.array([[[1], [2, 3]], None, []], pa.list_(pa.list_(pa.int64()))),
        "attrs": pa.array([{"x": 1, "y": "q"}, None, {"x": None, "y": "z"}]),
    })
    r = barge.load(pg.url, table, t, create=True)
    assert r.rows == 3
    types = pg.sql("SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' "
                   f"ORDER BY attnum) FROM pg_attribute WHERE attrelid = '{table}'::regclass "
                   "AND attnum > 0")
    assert types == ("id bigint, tags text[], nums bigint[], when date[], grid jsonb, "
                     "attrs jsonb"), types
    got = pg.sql(
        f"SELECT string_agg(concat_ws(' ', id, tags, nums, \"when\", grid, attrs), "
        f"'; ' ORDER BY id) FROM {table}")
    assert got == ('1 {a,b} {1,NULL} {2024-01-02} [[1], [2, 3]] {"x": 1, "y": "q"}; '
                   '2 {}; 3 {3} {} [] {"x": null, "y": "z"}'), got


def test_a_pandas_column_of_dicts_loads_each_dict_as_it_is(pg, mariadb, table):
    """A pandas object column of dicts (what json_normalize leaves, an API's payloads): Arrow
    makes a struct of every key any row has, and each object was loaded with all of them,
    ``{"a": 1}`` as ``{"a": 1, "b": null}``. Each dict now loads as the program had it, as a
    row's dict does; a column of lists of scalars stays an array."""
    df = pd.DataFrame({
        "id": [1, 2, 3, 4],
        "doc": [{"a": 1}, None, {"b": [1, 2], "c": {"d": None}}, {"a": "x", "b": None}],
        "events": [[{"k": "x"}], [], None, [{"k": "y", "n": 2}]],
        "nums": [[1, 2], None, [], [3]],
    })
    r = barge.load(pg.url, table, df, create=True)
    assert r.rows == 4
    types = pg.sql("SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' "
                   f"ORDER BY attnum) FROM pg_attribute WHERE attrelid = '{table}'::regclass "
                   "AND attnum > 0")
    assert types == "id bigint, doc jsonb, events jsonb, nums bigint[]", types
    got = pg.sql(f"SELECT string_agg(concat_ws(' ', id, doc, events, nums), '; ' ORDER BY id) "
                 f"FROM {table}")
    assert got == ('1 {"a": 1} [{"k": "x"}] {1,2}; 2 []; 3 {"b": [1, 2], "c": {"d": null}} {}; '
                   '4 {"a": "x", "b": null} [{"k": "y", "n": 2}] {3}'), got
    # The same into MariaDB, which keeps the JSON text as it was sent.
    r = barge.load(mariadb.url, table, df, create=True)
    assert r.rows == 4
    got = mariadb.sql(f"SELECT id, doc, events FROM {table} ORDER BY id")
    assert got.splitlines() == [
        '1\t{"a":1}\t[{"k":"x"}]',
        "2\tNULL\t[]",
        '3\t{"b":[1,2],"c":{"d":null}}\tNULL',
        '4\t{"a":"x","b":null}\t[{"k":"y","n":2}]',
    ], got


def test_a_column_of_a_type_without_a_text_form_fails_before_the_table_is_made(pg, table):
    types = pa.array([0, 1], pa.int8())
    union = pa.UnionArray.from_sparse(types, [pa.array([1, 2]), pa.array(["a", "b"])])
    t = pa.table({"id": [1, 2], "u": union})
    with pytest.raises(barge.ConfigError) as e:
        barge.load(pg.url, table, t, create=True)
    assert 'column "u" is of Arrow type Union' in str(e.value), str(e.value)
    assert "leave the column out" in e.value.hint, e.value.hint
    assert pg.sql(f"SELECT to_regclass('{table}') IS NULL") == "t"
    # A union inside a list, which arrow-json cannot write: the same, from the schema.
    offsets = pa.array([0, 1, 2], pa.int32())
    nested = pa.table({"id": [1, 2], "us": pa.ListArray.from_arrays(offsets, union)})
    with pytest.raises(barge.ConfigError) as e:
        barge.load(pg.url, table, nested, create=True)
    assert 'column "us" is of Arrow type List' in str(e.value), str(e.value)
    assert "cannot be written as JSON" in str(e.value), str(e.value)
    assert pg.sql(f"SELECT to_regclass('{table}') IS NULL") == "t"


def test_timedeltas_load_as_intervals(pg, mariadb, table, tmp_path):
    """pandas' timedeltas (Arrow durations) and Arrow intervals: `interval` columns in a
    created table, each value the span it was (negative ones too), and the same text's
    span into an existing `interval` column; text elsewhere."""
    spans = [dt.timedelta(seconds=-1), dt.timedelta(days=3, microseconds=5), None,
             dt.timedelta(hours=-1, minutes=-2, seconds=-3, microseconds=-500000),
             dt.timedelta(0)]
    df = pd.DataFrame({"id": range(1, 6), "took": pd.Series(spans, dtype="timedelta64[ns]")})
    t = pa.Table.from_pandas(df, preserve_index=False).append_column(
        "every", pa.array([(1, 2, 3_000_000_000), None, (0, -1, 0), (0, 0, -1_500), (-14, 0, 0)],
                          pa.month_day_nano_interval()))
    r = barge.load(pg.url, table, t, create=True)
    assert r.rows == 5
    types = column_types(pg, table)
    assert types == "id bigint, took interval, every interval", types
    got = pg.sql(f"SELECT string_agg(coalesce(extract(epoch FROM took)::text, '-') || ' ' || "
                 f"coalesce(every::text, '-'), '; ' ORDER BY id) FROM {table}")
    assert got == ("-1.000000 1 mon 2 days 00:00:03; "
                   "259200.000005 -; "
                   "- -1 days; "
                   "-3723.500000 -00:00:00.000001; "
                   "0.000000 -1 years -2 mons"), got
    # Into an existing interval column, from a frame of the microsecond unit.
    pg.sql(f"CREATE TABLE {table}_x (id bigint, took interval)")
    us = pa.table({"id": [1, 2], "took": pa.array([-1_500_000, 7_200_000_000],
                                                   pa.duration("us"))})
    barge.load(pg.url, f"{table}_x", us)
    got = pg.sql(f"SELECT string_agg(took::text, ', ' ORDER BY id) FROM {table}_x")
    assert got == "-00:00:01.5, 02:00:00", got
    # MariaDB and SQLite keep the text.
    barge.load(mariadb.url, table, us, create=True)
    got = mariadb.sql(f"SELECT group_concat(took ORDER BY id SEPARATOR ', ') FROM {table}")
    assert got == "PT-1.5S, PT7200S", got
    db = tmp_path / "d.db"
    barge.load(f"sqlite:///{db}", "d", us)
    con = sqlite3.connect(db)
    assert con.execute("SELECT group_concat(took, ', ') FROM d").fetchone() == (
        "PT-1.5S, PT7200S",)


def test_a_frame_creates_its_table_in_mariadb(mariadb, table):
    df = frame().drop(columns=["tstz"])  # MySQL has no time zone type: DATETIME(6) in UTC
    r = barge.load(mariadb.url, table, df, create=True)
    assert r.rows == len(df) and r.to_dict()["created"]
    types = mariadb.sql(
        "SELECT group_concat(column_name, ' ', column_type ORDER BY ordinal_position "
        "SEPARATOR ', ') FROM information_schema.columns "
        f"WHERE table_schema = database() AND table_name = '{table}'")
    assert types == (
        "id bigint(20), i bigint(20), small bigint(20), f double, r double, ok tinyint(1), "
        "s longtext, cat longtext, ts datetime(6), d date, tm time(6), n decimal(24,4), "
        "raw longblob, doc longtext"), types
    got = mariadb.sql(
        f"SELECT count(*), sum(id), sum(i), sum(length(raw)), sum(tm = '23:59:59.999999'), "
        f"sum(n) FROM {table}").split("\t")
    want = (6, 21, 1 + (-(2**31)) + (2**31 - 1) + 0, 2 + 0 + 16 + 1 + 3, 1,
            Decimal("1.2345") - Decimal("99999999.0001") + Decimal("12.5") + 3)
    assert got == [str(v) for v in want], got


def test_a_parquet_file_loads_as_its_frame_does(pg, cli, table, tmp_path):
    """The frame written as Parquet (by pyarrow, as pandas' to_parquet writes it) loads every
    value as the frame itself does, by path from Python and by the CLI."""
    import pyarrow.parquet as pq

    for t in ("_df", "_py", "_cli"):
        pg.sql(PG_TABLE.format(t=table + t))
    df = frame()
    barge.load(pg.url, table + "_df", df)
    path = tmp_path / "frame.parquet"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=4)
    r = barge.load(pg.url, table + "_py", str(path))
    assert (r.rows, r.rejected) == (len(df), 0)
    cli("load", str(path), "--into", pg.url, "--table", table + "_cli", "--quiet")
    want = dump(pg, table + "_df")
    assert dump(pg, table + "_py") == want
    assert dump(pg, table + "_cli") == want
    # Loaded once: the same path again is known.
    assert barge.load(pg.url, table + "_py", str(path)).already_loaded


def test_a_frame_arrow_cannot_type_loads_row_by_row(pg, table, tmp_path):
    """An object column of mixed values (ints and strings, as a spreadsheet gives) has no
    Arrow type: pyarrow refuses the frame. It loads anyway, each value by its Python type (a
    str as its column's text), with a warning that says why it is slower, as pandas' to_sql
    loads such a column; a named index is a column after the others, as it is column-wise."""
    df = pd.DataFrame({
        "code": [1, "A-7", None, 30],
        "amount": [Decimal("1.50"), "2.25", None, 4],
        "at": [dt.date(2024, 1, 2), "2024-02-03", None, pd.NaT],
    }, index=pd.Index([10, 20, 30, 40], name="k"))
    pg.sql(f"CREATE TABLE {table} (k bigint, code text, amount numeric, at date)")
    with pytest.warns(UserWarning, match="Arrow cannot type this DataFrame .*column code"):
        r = barge.load(pg.url, table, df)
    assert r.rows == 4
    got = pg.sql(f"SELECT string_agg(concat_ws('|', k, code, amount, at), '; ' ORDER BY k) "
                 f"FROM {table}")
    assert got == "10|1|1.50|2024-01-02; 20|A-7|2.25|2024-02-03; 30; 40|30|4", got
    # A created table takes each column's type from the values' (mixed: text).
    db = tmp_path / "m.db"
    with pytest.warns(UserWarning):
        r = barge.load(f"sqlite:///{db}", "m", df)
    assert r.rows == 4 and r.to_dict()["created"]
    con = sqlite3.connect(db)
    decl = [(c[1], c[2]) for c in con.execute("PRAGMA table_info(m)")]
    assert (decl[0], decl[-1]) == (("code", "TEXT"), ("k", "INTEGER")), decl
    assert con.execute("SELECT group_concat(code, ',') FROM m").fetchone() == ("1,A-7,30",)


def test_arrow_extension_types_load_as_what_they_mean(pg, mariadb, cli, table, tmp_path):
    """Arrow's canonical UUID and JSON extension types make uuid and jsonb columns and load
    as UUIDs and JSON; a pandas period, stored as a count of periods since 1970, is refused
    from the schema, with what to do, rather than loaded as that count."""
    ids = [uuid.UUID(int=(k * 0x9E3779B97F4A7C15) % (1 << 128)) for k in range(1, 4)]
    t = pa.table({
        "u": pa.array([ids[0].bytes, None, ids[2].bytes], pa.uuid()),
        "j": pa.array(['{"b": 1, "a": [2]}', None, "3"], pa.json_()),
    })
    barge.load(pg.url, table, t, create=True)
    types = column_types(pg, table)
    assert types == "u uuid, j jsonb", types
    got = pg.sql(f"SELECT string_agg(coalesce(u::text, '-') || ' ' || coalesce(j::text, '-'), "
                 f"'; ' ORDER BY u NULLS LAST) FROM {table}")
    want = sorted([f"{ids[0]} " + '{"a": [2], "b": 1}', f"{ids[2]} 3"]) + ["- -"]
    assert got == "; ".join(want), got
    barge.load(mariadb.url, table, t, create=True)
    got = mariadb.sql(f"SELECT group_concat(u ORDER BY u SEPARATOR ' ') FROM {table}")
    assert got == " ".join(sorted([str(ids[0]), str(ids[2])])), got
    # In a Parquet file they are Parquet's UUID and JSON logical types (as DuckDB writes
    # UUIDs): the same columns and values from `barge load`.
    import pyarrow.parquet as pq

    path = tmp_path / "ext.parquet"
    pq.write_table(t, path)
    assert str(pq.read_schema(path).field("u").type) == "extension<arrow.uuid>"
    run = cli("load", str(path), "--into", pg.url, "--table", f"{table}_f", "--create")
    assert run.returncode == 0, run.stderr
    types = column_types(pg, f"{table}_f")
    assert types == "u uuid, j jsonb", types
    assert pg.sql(f"SELECT count(*) FROM (SELECT u, j::text FROM {table} EXCEPT ALL "
                  f"SELECT u, j::text FROM {table}_f) AS d") == "0"

    periods = pd.DataFrame({"id": [1, 2],
                            "month": pd.period_range("2024-01", periods=2, freq="M")})
    with pytest.raises(barge.ConfigError) as e:
        barge.load(pg.url, f"{table}_p", periods, create=True)
    assert 'column "month" is of Arrow type Int64, which barge cannot load: a pandas period' \
        in str(e.value), str(e.value)
    assert ".dt.to_timestamp()" in str(e.value), str(e.value)
    assert "convert it" in e.value.hint, e.value.hint
    assert pg.sql(f"SELECT to_regclass('{table}_p') IS NULL") == "t"


def test_a_sorted_or_filtered_frame_loads_without_its_row_labels(pg, table):
    """Sorting or filtering a frame leaves an unnamed index of row labels, which pyarrow (and
    pandas' own Arrow stream) would add as a column `__index_level_0__`: into an existing table
    that failed ("has no column"), and a created table got it. Row labels are not loaded; a
    named index (`set_index("day")`) is data, and loads as a column."""
    df = pd.DataFrame({"a": [3, 1, 4, 1, 5], "b": ["c", "a", "d", "a2", "e"]})
    pg.sql(f"CREATE TABLE {table} (a int, b text)")
    frames = (df.sort_values("b"), df[df.b != "a"], df.sample(frac=1, random_state=7))
    for frame in frames:
        assert type(frame.index).__name__ != "RangeIndex", frame.index
        barge.load(pg.url, table, frame, again=True)
    want = pd.concat(frames)
    got = pg.sql(f"SELECT count(*), sum(a), string_agg(b, ',' ORDER BY b) FROM {table}")
    assert got == f"{len(want)}|{want.a.sum()}|{','.join(sorted(want.b))}", got
    barge.load(pg.url, f"{table}_c", df.sort_values("b"), create=True)
    cols = pg.sql("SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM "
                  f"information_schema.columns WHERE table_name = '{table}_c'")
    assert cols == "a,b", cols
    barge.load(pg.url, f"{table}_n", df.set_index("b").sort_values("a"), create=True)
    got = pg.sql(f"SELECT string_agg(b || '=' || a, ',' ORDER BY b) FROM {table}_n")
    assert got == "a=1,a2=1,c=3,d=4,e=5", got


def test_a_series_a_polars_null_column_and_a_dict_of_columns_load(pg, table):
    """Shapes of data a program has at hand: a pandas Series (its Arrow stream is one array,
    which the C interface could not read as a table), a polars frame with a column of its Null
    type (a field never set: polars exports it with a buffer Arrow's C interface refused), and
    a dict of columns (which failed as "rows must be dicts ...; the first is a str")."""
    r = barge.load(pg.url, f"{table}_s", pd.Series([1, 2, None], name="a", dtype="Int64"),
                   create=True)
    assert r.rows == 3
    assert pg.sql(f"SELECT count(*), count(a), sum(a) FROM {table}_s") == "3|2|3"

    pf = pl.DataFrame({"a": [1, 2], "n": [None, None]})
    assert pf.schema["n"] == pl.Null
    pg.sql(f"CREATE TABLE {table}_p (a int, n timestamptz)")
    assert barge.load(pg.url, f"{table}_p", pf).rows == 2
    assert pg.sql(f"SELECT count(*), count(n), sum(a) FROM {table}_p") == "2|0|3"
    assert barge.load(pg.url, f"{table}_pc", pf, create=True).rows == 2

    cols = {"id": [1, 2, 3], "name": ["a", None, "c"], "at": [dt.date(2024, 1, 1)] * 3}
    assert barge.load(pg.url, f"{table}_d", cols, create=True).rows == 3
    got = pg.sql(f"SELECT string_agg(concat_ws(',', id, name, at), ';' ORDER BY id) "
                 f"FROM {table}_d")
    assert got == "1,a,2024-01-01;2,2024-01-01;3,c,2024-01-01", got
    with pytest.raises(TypeError, match="all of one length, not id: 2, name: 1"):
        barge.load(pg.url, f"{table}_d", {"id": [1, 2], "name": ["a"]})
    with pytest.raises(TypeError, match=r"for one row, pass \[row\]"):
        barge.load(pg.url, f"{table}_d", {"id": 4, "name": "d"})


def test_lists_load_into_array_columns_from_rows_and_every_frame(pg, table):
    """Python lists, and the list columns of pandas, pyarrow and polars, load into PostgreSQL
    array columns (the server reads only `{...}` literals: these were 'malformed array
    literal'), timestamps with a named zone inside lists too (arrow-json could not write them
    without chrono-tz: the frame was refused)."""
    pg.sql(f"CREATE TABLE {table} (id int, tags text[], nums bigint[], ts timestamptz[], "
           "d numeric(5,2)[], grid int[])")
    utc = dt.timezone.utc
    barge.load(pg.url, table, [
        {"id": 1, "tags": ["a", "b \"c\"", None], "nums": (1, 2),
         "ts": [dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=utc)], "d": [Decimal("1.5")],
         "grid": [[1, 2], [3, 4]]},
    ])
    barge.load(pg.url, table, pd.DataFrame({
        "id": [2, 3],
        "tags": [["x"], []],
        "nums": [[5, None], None],
        "ts": [[pd.Timestamp("2024-06-01 12:00", tz="UTC")], None],
    }))
    barge.load(pg.url, table, pa.table({
        "id": [4],
        "tags": pa.array([["q"]], pa.large_list(pa.string())),
        "nums": pa.array([[7]], pa.list_(pa.int32())),
        # pyarrow takes a naive datetime as UTC; the zone is the column's name for it.
        "ts": pa.array([[dt.datetime(2024, 3, 10, 1, 30)]],
                       pa.list_(pa.timestamp("us", tz="America/New_York"))),
        "d": pa.array([[Decimal("2.25"), None]], pa.list_(pa.decimal128(5, 2))),
    }))
    barge.load(pg.url, table, pl.DataFrame({"id": [5], "tags": [["p", "q"]], "nums": [[8, 9]]}))
    got = pg.sql(f"SELECT string_agg(concat_ws(' ', id, tags, nums, ts, d, grid), '; ' "
                 f"ORDER BY id) FROM {table}")
    assert got == (
        '1 {a,"b \\"c\\"",NULL} {1,2} {"2024-01-02 03:04:05+00"} {1.50} {{1,2},{3,4}}; '
        '2 {x} {5,NULL} {"2024-06-01 12:00:00+00"}; '
        "3 {}; "
        '4 {q} {7} {"2024-03-10 01:30:00+00"} {2.25,NULL}; '
        "5 {p,q} {8,9}"), got


def test_columns_names_a_frames_columns_in_order(pg, table):
    """``columns=`` names the columns of data that names its own (pandas, polars, pyarrow, a
    dict of columns, a frame Arrow cannot type), in order, as ``--columns`` names a file's;
    it was ignored. A count that does not match says so."""
    pg.sql(f"CREATE TABLE {table} (id bigint, name text, amount numeric(12,2))")
    names = ["id", "name", "amount"]
    for data in [
        pd.DataFrame({"a": [1], "b": ["pandas"], "c": [1.5]}),
        pl.DataFrame({"a": [2], "b": ["polars"], "c": [2.5]}),
        pa.table({"a": [3], "b": ["pyarrow"], "c": [3.5]}),
        {"a": [4], "b": ["dict"], "c": [4.5]},
    ]:
        assert barge.load(pg.url, table, data, columns=names).rows == 1
    mixed = pd.DataFrame({"a": [5, 6], "b": ["mixed", 7], "c": [5.5, 6.5]})
    with pytest.warns(UserWarning, match="Arrow cannot type"):
        assert barge.load(pg.url, table, mixed, columns=names).rows == 2
    assert pg.sql(f"SELECT id, name, amount FROM {table} ORDER BY id") == (
        "1|pandas|1.50\n2|polars|2.50\n3|pyarrow|3.50\n4|dict|4.50\n5|mixed|5.50\n6|7|6.50"
    )
    with pytest.raises(barge.ConfigError,
                       match="columns= names 2 columns, and the arrow data has 3: a, b, c"):
        barge.load(pg.url, table, pa.table({"a": [7], "b": ["x"], "c": [7]}),
                   columns=["id", "name"])
    with pytest.raises(TypeError, match="columns= names 2 columns, and the data has 3: a, b, c"):
        barge.load(pg.url, table, {"a": [7], "b": ["x"], "c": [7]}, columns=["id", "name"])
    assert pg.sql(f"SELECT count(*) FROM {table}") == "6"


def test_numpy_matrices_and_vectors_load_as_rows(pg, table):
    """A 2-D numpy array loads column-wise, its columns named by ``columns=``; 1-D arrays in an
    iterable are rows, as tuples are."""
    import numpy as np

    pg.sql(f"CREATE TABLE {table} (id bigint, x double precision, y double precision)")
    matrix = np.array([[1, 0.5, -2.0], [2, 1e300, np.nan]])
    assert barge.load(pg.url, table, matrix, columns=["id", "x", "y"]).rows == 2
    vectors = [np.array([3, 3.5, 4.0]), np.array([4, -0.0, 1.25])]
    assert barge.load(pg.url, table, vectors, columns=["id", "x", "y"]).rows == 2
    assert pg.sql(f"SELECT id, x, y FROM {table} ORDER BY id") == (
        "1|0.5|-2\n2|1e+300|NaN\n3|3.5|4\n4|-0|1.25"
    )
    with pytest.raises(TypeError, match=r"a 2-D numpy array needs columns=\[\.\.\.\] naming its 3"):
        barge.load(pg.url, table, matrix)


def test_a_polars_lazyframe_loads_batch_by_batch(pg, table, tmp_path):
    """A polars LazyFrame (a scan of files, filtered) is computed batch by batch as the load
    takes the batches, and loads what collecting it would give; it was refused."""
    pg.sql(f"CREATE TABLE {table} (id bigint, name text, score double precision, gone text)")
    n = 250_000
    pl.DataFrame({
        "id": range(n),
        "name": [f"n{k}" if k % 7 else None for k in range(n)],
        "score": [k / 4 for k in range(n)],
    }).write_parquet(tmp_path / "part.parquet")
    lazy = (pl.scan_parquet(tmp_path / "part.parquet")
            .filter(pl.col("id") % 3 != 0)
            .with_columns(gone=pl.lit(None)))
    assert barge.load(pg.url, table, lazy).rows == lazy.collect().height
    kept = [k for k in range(n) if k % 3]
    named = sum(1 for k in kept if k % 7)
    assert pg.sql(f"SELECT count(*), count(name), sum(id), sum(score), count(gone) FROM {table}") == (
        f"{len(kept)}|{named}|{sum(kept)}|{sum(k / 4 for k in kept)!r}|0"
    )
    # An empty result still names its columns.
    assert barge.load(pg.url, table, lazy.filter(pl.col("id") < 0)).rows == 0


def test_nan_and_infinity_inside_lists_stay_what_they_are(pg, table):
    """NaN and the infinities inside a list: JSON has no number for them, and they went as
    null (Arrow data, silently: a float8[] stored NULL) or were refused (Python lists). They
    load as themselves into float and numeric arrays, and into jsonb as the strings
    PostgreSQL's own to_jsonb makes of them (but a pandas NaN, which pandas means as missing)."""
    pg.sql(f"CREATE TABLE {table} (id int, f float8[], r real[], n numeric[], doc jsonb)")
    nan, inf = float("nan"), float("inf")
    values = [1.5, nan, inf, -inf, None]
    barge.load(pg.url, table, [
        {"id": 1, "f": values, "r": values, "n": [Decimal("NaN"), Decimal("-Infinity"),
                                                  Decimal("2.5")], "doc": {"x": [nan, -inf]}},
    ])
    barge.load(pg.url, table, pa.table({
        "id": [2],
        "f": pa.array([values], pa.list_(pa.float64())),
        "r": pa.array([values], pa.list_(pa.float32())),
        "n": pa.array([[nan, 0.1]], pa.list_(pa.float32())),
        "doc": pa.array([{"x": [nan, -inf]}], pa.struct([("x", pa.list_(pa.float64()))])),
    }))
    # pandas' NaN is its missing value, in lists as in columns (pyarrow's from_pandas).
    barge.load(pg.url, table, pd.DataFrame({"id": [3], "f": [[nan, inf, 2.0]], "doc": [[inf]]}))
    barge.load(pg.url, table, pl.DataFrame({"id": [4], "f": [[-inf, 3.0]]}))
    got = pg.sql(f"SELECT string_agg(concat_ws(' ', id, f, r, n, doc), '; ' ORDER BY id) "
                 f"FROM {table}")
    assert got == (
        '1 {1.5,NaN,Infinity,-Infinity,NULL} {1.5,NaN,Infinity,-Infinity,NULL} '
        '{NaN,-Infinity,2.5} {"x": ["NaN", "-Infinity"]}; '
        '2 {1.5,NaN,Infinity,-Infinity,NULL} {1.5,NaN,Infinity,-Infinity,NULL} {NaN,0.1} '
        '{"x": ["NaN", "-Infinity"]}; '
        '3 {NULL,Infinity,2} ["Infinity"]; '
        "4 {-Infinity,3}"), got
    # What the server itself makes of the same floats in JSON.
    assert pg.sql("SELECT to_jsonb(ARRAY['NaN'::float8, '-Infinity'])") == '["NaN", "-Infinity"]'


def test_wkb_geometries_load_into_postgis_columns(pg, table):
    """Geometries as WKB bytes (what GeoPandas' to_wkb() and GeoArrow hold) load into PostGIS
    geometry columns as the geometries they are, from Arrow data and from rows (they were sent
    as text, which the server cannot read as WKB)."""
    pg.sql("CREATE EXTENSION IF NOT EXISTS postgis")
    pg.sql(f"CREATE TABLE {table} (id int, g geometry, p geometry(Point, 4326))")
    point = bytes.fromhex("0101000000000000000000F03F0000000000000040")  # POINT(1 2)
    ewkb = bytes.fromhex("0101000020E6100000000000000000F83F00000000000000C0")  # SRID 4326
    barge.load(pg.url, table, pa.table({
        "id": [1, 2],
        "g": pa.array([point, None], pa.binary()),
        "p": pa.array([ewkb, ewkb], pa.large_binary()),
    }))
    barge.load(pg.url, table, [{"id": 3, "g": point, "p": ewkb}])
    got = pg.sql(f"SELECT string_agg(concat_ws(' ', id, ST_AsText(g), ST_AsEWKT(p)), '; ' "
                 f"ORDER BY id) FROM {table}")
    assert got == ("1 POINT(1 2) SRID=4326;POINT(1.5 -2); 2 SRID=4326;POINT(1.5 -2); "
                   "3 POINT(1 2) SRID=4326;POINT(1.5 -2)"), got


def test_schema_prints_what_a_load_would_create_and_creates_it(pg, cli, table, tmp_path):
    # A file: what `barge schema` prints, notes spelled as keyword arguments.
    f = tmp_path / "visits.csv"
    f.write_text("id;day;amount\n1;2024-01-02;1,5\n2;NULL;2,25\n")
    script = barge.schema(str(f), dialect="postgres", decimal_comma=True)
    assert script == cli("schema", str(f), "--dialect", "postgres", "--decimal-comma").stdout.replace(
        "--delimiter gives", "delimiter= gives"
    ).replace("--null 'NULL' --null ''", "null=['NULL', '']").rstrip("\n"), script
    assert script.splitlines()[-2:] == [
        "-- fields separated by ';' (read from the file's first lines; delimiter= gives another)",
        "-- column \"day\" is text because it holds NULL, its other values read as date: if the "
        "file writes NULL for a missing value, pass null=['NULL', ''] (empty fields stay NULL)",
    ], script
    assert '"amount" numeric' in script
    # With null=, the column is a date; the dialect comes from the URL when not given.
    script = barge.schema(f, "visits", url=pg.url, null="NULL", decimal_comma=True)
    assert '"day" date' in script and "null=" not in script, script
    # A DataFrame: the table load(create=True) makes, column for column.
    df = pd.DataFrame(
        {
            "id": pd.array([1, None], dtype="Int64"),
            "at": pd.to_datetime(["2024-01-02T03:04:05Z", None], utc=True),
            "tags": [["a", "b"], []],
            "price": [Decimal("1.50"), None],
        }
    )
    script = barge.schema(df, table, url=pg.url)
    assert script.endswith("\n-- from the Arrow schema"), script
    barge.load(pg.url, table, df, create=True)
    pg.sql(script.replace(f'CREATE TABLE "{table}"', f'CREATE TABLE "{table}_s"'))

    def types(t: str) -> str:
        return pg.sql(
            "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' "
            f"ORDER BY attnum) FROM pg_attribute WHERE attrelid = '{t}'::regclass AND attnum > 0"
        )

    assert types(table) == types(f"{table}_s") == (
        "id bigint, at timestamp with time zone, tags text[], price numeric"
    )
    # Arrow sizes a column of Decimals by the values at hand (decimal(3,2) here): a MySQL
    # table made of it has room before the point, as a file's sampled decimals have.
    script = barge.schema(df, table, dialect="mysql")
    assert "`price` DECIMAL(22,2)" in script, script
    declared = pa.table({"price": pa.array([Decimal("1.50")], pa.decimal128(5, 2))})
    assert "`price` DECIMAL(5,2)" in barge.schema(declared, table, dialect="mysql")
    # Without a table name, or with what is neither a file nor Arrow data: said.
    with pytest.raises(barge.ConfigError, match="no table given"):
        barge.schema(df)
    with pytest.raises(TypeError, match="schema\\(\\) reads a file, a DataFrame or Arrow data"):
        barge.schema([{"id": 1}], "t")
