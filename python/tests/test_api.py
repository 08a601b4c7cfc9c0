"""The API's shape: every CLI option as a keyword with the CLI's default, SQLAlchemy URLs and
engines, every target, files and globs."""

from __future__ import annotations

import gzip
import inspect
import os
import re
import sqlite3

import pytest
import sqlalchemy
from sqlalchemy.ext.asyncio import create_async_engine

import barge


def cli_options(cli) -> dict:
    """`barge load --help`'s long options and their defaults (None when they have none)."""
    text = cli("load", "--help").stdout
    starts = list(re.finditer(r"^\s+(?:-\w, )?--([a-z-]+)", text, re.M))
    out = {}
    for k, m in enumerate(starts):
        end = starts[k + 1].start() if k + 1 < len(starts) else len(text)
        body = text[m.start():end]
        default = re.search(r"\[default: ([^\]]*)\]", body)
        out[m.group(1).replace("-", "_")] = default.group(1) if default else None
    return out


def test_every_cli_option_is_a_keyword_with_the_cli_default(cli):
    opts = cli_options(cli)
    # The URL is the first argument; -v/--help are the shell's own.
    for shell_only in ("into", "verbose", "help", "version"):
        opts.pop(shell_only)
    params = inspect.signature(barge.load).parameters
    kw = {n: p.default for n, p in params.items() if p.kind == p.KEYWORD_ONLY}
    kw["table"] = None
    missing = set(opts) - set(kw)
    assert not missing, f"CLI options missing from barge.load: {missing}"
    for name, default in opts.items():
        if default is not None:
            assert str(kw[name]) == default, (name, kw[name], default)
        elif kw[name] not in (False, ""):
            assert kw[name] is None, (name, kw[name])


@pytest.mark.parametrize(
    "given, target",
    [
        ("postgresql+asyncpg://u:p@h:5/db?prepared_statement_cache_size=0&sslmode=require",
         "postgresql://u:p@h:5/db?sslmode=require"),
        ("postgresql+psycopg://u@h/db", "postgresql://u@h/db"),
        ("postgresql://u@h/db?application_name=x", "postgresql://u@h/db?application_name=x"),
        ("mysql+asyncmy://u:p@h:3306/db?charset=utf8mb4", "mysql://u:p@h:3306/db"),
        ("mariadb+pymysql://u@h/db", "mysql://u@h/db"),
        ("sqlite:///relative.db", "sqlite://relative.db"),
        ("sqlite:////abs/path.db", "sqlite:///abs/path.db"),
        ("sqlite+pysqlite:///x.db", "sqlite://x.db"),
        ("sqlite://", "sqlite::memory:"),
        ("sqlite://barge-form.db", "sqlite://barge-form.db"),
    ],
)
def test_sqlalchemy_urls_become_barge_targets(given, target):
    assert barge._target(given) == target
    assert barge._target(sqlalchemy.engine.make_url(given)) == target


def test_an_engine_is_used_with_its_password_which_is_never_shown(pg, table, tmp_path):
    pg.sql(f"CREATE TABLE {table} (id int PRIMARY KEY)")
    pg.sql("CREATE ROLE loader LOGIN PASSWORD 'eng1ne-pw'")
    pg.sql(f"GRANT ALL ON {table} TO loader; GRANT CREATE ON SCHEMA public TO loader")
    url = pg.url.replace("postgres@", "loader:eng1ne-pw@").replace("postgresql", "postgresql+psycopg")
    engine = sqlalchemy.create_engine(url)
    r = barge.load(engine, table, [{"id": 1}, {"id": 2}])
    assert r.rows == 2 and "eng1ne-pw" not in repr(r.to_dict())
    aengine = create_async_engine(url.replace("+psycopg", "+asyncpg"))
    assert barge.load(aengine, table, [{"id": 3}]).rows == 1
    with pytest.raises(barge.DatabaseError) as e:
        barge.load(engine, table, [{"id": 3}], retries=0)  # a duplicate key
    assert "eng1ne-pw" not in str(e.value) and e.value.sqlstate == "23505"
    # The hint speaks Python: the keyword arguments that would let the load go on.
    assert 'on_conflict="nothing"' in e.value.hint and "rejects=PATH" in e.value.hint
    db = tmp_path / "e.db"
    sqlite3.connect(db).execute("CREATE TABLE t (id int)")
    assert barge.load(sqlalchemy.create_engine(f"sqlite:///{db}"), "t", [{"id": 1}]).rows == 1


def test_mariadb_takes_rows_files_and_upserts(mariadb, table, tmp_path):
    mariadb.sql(f"CREATE TABLE {table} (id int PRIMARY KEY, name varchar(20))")
    url = mariadb.url.replace("mysql://", "mysql+asyncmy://") + "?charset=utf8mb4"
    assert barge.load(url, table, ({"id": i, "name": f"n{i}"} for i in range(1, 1001))).rows == 1000
    path = tmp_path / "more.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write("id,name\n" + "".join(f"{i},m{i}\n" for i in range(901, 1101)))
    r = barge.load(url, table, str(path), on_conflict="update")
    assert (r.inserted, r.updated) == (100, 100)
    assert mariadb.sql(f"SELECT count(*), sum(id), sum(name LIKE 'm%') FROM {table}") == (
        f"1100\t{sum(range(1, 1101))}\t200"
    )


def test_files_and_globs_load_as_the_cli_loads_them(pg, table, tmp_path):
    pg.sql(f"CREATE TABLE {table} (id int PRIMARY KEY, v text)")
    for k in range(3):
        (tmp_path / f"part{k}.csv").write_text(
            "id,v\n" + "".join(f"{k * 100 + i},x\n" for i in range(100))
        )
    r = barge.load(pg.url, table, str(tmp_path / "part*.csv"))
    assert r.rows == 300 and r.to_dict()["files"] == 3
    again = barge.load(pg.url, table, str(tmp_path / "part*.csv"))
    assert again.already_loaded
    with pytest.raises(barge.ConfigError, match="no file matches"):
        barge.load(pg.url, table, str(tmp_path / "nothing*.csv"))
    with pytest.raises(barge.ConfigError) as e:
        barge.load(pg.url, "no_such_table", str(tmp_path / "part0.csv"))
    assert "create=" in str(e.value)
    # A `;`-separated file is read as such; read with the comma, the hint names the option.
    (tmp_path / "semi.csv").write_text("id;v\n1000;x\n")
    with pytest.raises(barge.ConfigError) as e:
        barge.load(pg.url, table, str(tmp_path / "semi.csv"), delimiter=",")
    assert e.value.hint.endswith("if the file's fields are separated by ';', pass delimiter=';'")
    assert barge.load(pg.url, table, str(tmp_path / "semi.csv"), delimiter=";").rows == 1
    (tmp_path / "semi2.csv").write_text("id;v\n1001;y\n")
    assert barge.load(pg.url, table, str(tmp_path / "semi2.csv")).rows == 1
    # Numbers written with a decimal comma and thousands dots, when asked.
    (tmp_path / "semi3.csv").write_text("id;v\n1.002;2,5\n")
    with pytest.raises(barge.BadRow) as e:
        barge.load(pg.url, table, str(tmp_path / "semi3.csv"))
    assert barge.load(pg.url, table, str(tmp_path / "semi3.csv"), decimal_comma=True).rows == 1
    assert pg.sql(f"SELECT v FROM {table} WHERE id = 1002") == "2,5"
    # And with thousands commas (a spreadsheet's amounts); text columns keep theirs.
    (tmp_path / "us.csv").write_text('id,v\n"-1,021","1,5"\n')
    with pytest.raises(barge.BadRow) as e:
        barge.load(pg.url, table, str(tmp_path / "us.csv"))
    assert e.value.value == "-1,021" and 'call it again with thousands=","' in e.value.hint, e.value.hint
    assert barge.load(pg.url, table, str(tmp_path / "us.csv"), thousands=",").rows == 1
    assert pg.sql(f"SELECT v FROM {table} WHERE id = -1021") == "1,5"
    # A missing value spelled NULL: the hint names the keyword that reads it.
    (tmp_path / "nulls.csv").write_text("id,v\n1003,x\nNULL,y\n")
    with pytest.raises(barge.BadRow) as e:
        barge.load(pg.url, table, str(tmp_path / "nulls.csv"))
    assert e.value.value == "NULL" and e.value.hint.startswith(
        "the file seems to write NULL for a missing value: call it again with "
        "null=['NULL', ''] to read unquoted NULL fields as NULL, and unquoted empty fields as "
        "NULL as now (null='NULL' alone reads an empty field as an empty string"
    ), e.value.hint
    # Both texts, as the hint says: NULL and an empty field are NULL, "" an empty string.
    pg.sql(f"CREATE TABLE {table}_n (id int, v int, s text)")
    (tmp_path / "both.csv").write_text('id,v,s\n1,NULL,a\n2,,""\n3,3,NULL\n')
    r = barge.load(pg.url, f"{table}_n", str(tmp_path / "both.csv"), null=["NULL", ""])
    assert r.rows == 3
    got = pg.sql(f"SELECT count(v), sum(v), count(s), string_agg(s, '|' ORDER BY id) FROM {table}_n")
    assert got == "1|3|2|a|", got
    # So for a program's rows: a string equal to one of the texts is NULL.
    rows = [{"id": 4, "v": "NA", "s": ""}, {"id": 5, "v": "5", "s": "NA!"}]
    assert barge.load(pg.url, f"{table}_n", rows, null=["NA", ""]).rows == 2
    got = pg.sql(f"SELECT v, s IS NULL, s FROM {table}_n WHERE id > 3 ORDER BY id")
    assert got == "|t|\n5|f|NA!", got
    # Read as NULL, into a NOT NULL column: the hint no longer names null=.
    with pytest.raises(barge.BadRow, match='NULL in column "id", which is NOT NULL') as e:
        barge.load(pg.url, table, str(tmp_path / "nulls.csv"), null="NULL")
    assert "null=" not in e.value.hint, e.value.hint
    # A quoted empty string into an integer column: the hint says when an empty field is
    # NULL, in keyword spelling.
    (tmp_path / "empty.csv").write_text('id,v\n"",z\n')
    with pytest.raises(barge.BadRow) as e:
        barge.load(pg.url, table, str(tmp_path / "empty.csv"))
    assert e.value.value == "" and "with null= only when '' is one of its texts (null=['NULL', ''])" in e.value.hint, e.value.hint
    assert "--" not in e.value.hint, e.value.hint
    # A report's title above the header: the hint names skip_lines=, which skips it.
    (tmp_path / "report.csv").write_text("Monthly report\n\nid,v\n1004,a\n1005,b\n")
    with pytest.raises(barge.ConfigError) as e:
        barge.load(pg.url, table, str(tmp_path / "report.csv"))
    assert "skip the lines before the header with skip_lines=N" in e.value.hint, e.value.hint
    assert barge.load(pg.url, table, str(tmp_path / "report.csv"), skip_lines=2).rows == 2
    assert pg.sql(f"SELECT string_agg(v, '' ORDER BY id) FROM {table} WHERE id > 1003") == "ab"


def test_a_file_fixed_after_a_stop_goes_on_with_continue_changed(pg, table, tmp_path):
    pg.sql(f"CREATE TABLE {table} (id int, v int)")
    path = tmp_path / "fixed.csv"
    good = "".join(f"{i},{i}\n" for i in range(3000))
    path.write_text("id,v\n" + good.replace("2500,2500", "2500,x"))
    with pytest.raises(barge.BadRow) as e:
        barge.load(pg.url, table, str(path), chunk_rows=500, workers=1)
    assert e.value.hint.startswith(
        "fix the value in the file (or the table's column type), then call it again with "
        "continue_changed=True to load the rest"
    ), e.value.hint
    path.write_text("id,v\n" + good)
    with pytest.raises(barge.ConfigError) as e:
        barge.load(pg.url, table, str(path), chunk_rows=500, workers=1)
    assert "call it again with continue_changed=True to load the rest" in e.value.hint, (
        e.value.hint
    )
    r = barge.load(pg.url, table, str(path), chunk_rows=500, workers=1, continue_changed=True)
    assert r.rows == 500 and r.resumed_rows == 2500
    assert pg.sql(f"SELECT count(*), count(DISTINCT id), sum(v) FROM {table}") == (
        f"3000|3000|{sum(range(3000))}"
    )
    again = barge.load(pg.url, table, str(path))
    assert again.already_loaded and again.rows == 0


def test_atomic_builds_an_empty_tables_indexes_at_the_end_unless_told(pg, table, tmp_path):
    pg.sql(f"CREATE TABLE {table} (id int PRIMARY KEY, v text); CREATE INDEX ON {table} (v)")
    defs = (f"SELECT string_agg(pg_get_indexdef(indexrelid), ';' ORDER BY 1) "
            f"FROM pg_index WHERE indrelid = '{table}'::regclass")
    before = pg.sql(defs)
    path = tmp_path / "rows.csv"
    path.write_text("id,v\n" + "".join(f"{i},v{i % 7}\n" for i in range(5000)))
    r = barge.load(pg.url, table, str(path), atomic=True)
    assert r.rows == 5000 and r.to_dict()["atomic"]
    assert pg.sql(defs) == before
    assert pg.sql(f"SELECT count(*), sum(id) FROM {table}") == f"5000|{sum(range(5000))}"
    # A duplicate key found when the primary key is built: the file goes again with the
    # indexes in place, which names the row; nothing stays.
    pg.sql(f"TRUNCATE {table}")
    path.write_text(path.read_text() + "42,again\n")
    with pytest.raises(barge.DatabaseError, match=r"record 5002.*\(id\)=\(42\) already exists"):
        barge.load(pg.url, table, str(path), atomic=True)
    assert pg.sql(f"SELECT count(*) FROM {table}") == "0"
    assert pg.sql(defs) == before
    with pytest.raises(barge.DatabaseError, match=r"record 5002"):
        barge.load(pg.url, table, str(path), atomic=True, keep_indexes=True)


def test_a_resumable_load_of_several_files_builds_plain_indexes_once_at_the_end(pg, table, tmp_path):
    pg.sql(f"CREATE TABLE {table} (id int PRIMARY KEY, n int, v text); "
           f"CREATE INDEX ON {table} (n); CREATE INDEX ON {table} (v)")
    defs = (f"SELECT string_agg(pg_get_indexdef(indexrelid), ';' "
            f"ORDER BY pg_get_indexdef(indexrelid)) "
            f"FROM pg_index WHERE indrelid = '{table}'::regclass")
    before = pg.sql(defs)
    for k in range(3):
        (tmp_path / f"part{k}.csv").write_text(
            "id,n,v\n" + "".join(f"{k * 1000 + i},{i % 13},t{i}\n" for i in range(1000))
        )
    r = barge.load(pg.url, table, str(tmp_path / "part*.csv"))
    # The index on n (a fixed-size column) waits for the end; the one on text stays.
    assert r.rows == 3000 and r.indexes_built == 1
    assert r.to_dict()["indexes_built"]["count"] == 1
    assert pg.sql(defs) == before
    assert pg.sql(f"SELECT count(*), sum(n) FROM {table}") == f"3000|{3 * sum(i % 13 for i in range(1000))}"
    # A table that holds rows keeps its indexes: nothing is built at the end.
    (tmp_path / "more.csv").write_text("id,n,v\n5000,1,x\n")
    assert barge.load(pg.url, table, str(tmp_path / "more.csv")).indexes_built == 0


def test_a_sqlite_file_builds_its_plain_indexes_at_the_end(tmp_path):
    db = tmp_path / "shop.db"
    con = sqlite3.connect(db)
    con.executescript(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, n int, v text); "
        "CREATE INDEX t_n ON t (n); CREATE INDEX t_v ON t (v); "
        "CREATE INDEX t_lower ON t (lower(v))"
    )
    con.close()
    schema = "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 't' ORDER BY name"
    before = sqlite3.connect(db).execute(schema).fetchall()
    path = tmp_path / "t.csv"
    path.write_text("id,n,v\n" + "".join(f"{i},{i % 13},t{i}\n" for i in range(3000)))
    r = barge.load(f"sqlite:///{db}", "t", str(path))
    # The plain indexes wait for the end; the one on an expression stays.
    assert r.rows == 3000 and r.indexes_built == 2
    con = sqlite3.connect(db)
    assert con.execute(schema).fetchall() == before
    assert con.execute("SELECT count(*), sum(n), count(DISTINCT v) FROM t").fetchone() == (
        3000, sum(i % 13 for i in range(3000)), 3000)
    assert con.execute("SELECT count(*) FROM barge_checkpoint_indexes").fetchone() == (0,)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_the_embedded_default_needs_no_server(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    (tmp_path / "events.csv").write_text("id,name\n1,a\n2,b\n")
    r = barge.load(None, None, "events.csv")
    assert r.rows == 2
    assert sqlite3.connect(tmp_path / "barge.db").execute(
        "SELECT count(*) FROM events").fetchone() == (2,)
    assert barge.load(None, None, "events.csv", json=True)["already_loaded"] is not None


def test_rows_from_a_program_create_their_table_from_a_sample(pg, table, tmp_path):
    import datetime as dt
    import uuid
    from decimal import Decimal

    def rows(n):
        for i in range(1, n + 1):
            yield {"id": i, "score": i / 4 if i % 2 else i, "ok": i % 3 == 0,
                   "price": Decimal(i) / 100, "doc": {"n": i}, "code": f"{i:05d}",
                   "at": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(hours=i),
                   "day": dt.date(2024, 1, 1) + dt.timedelta(days=i % 300),
                   "tag": uuid.UUID(int=i), "raw": bytes([i % 256]), "none": None}

    # SQLite, the embedded kind, creates unasked.
    url = f"sqlite:///{tmp_path / 'c.db'}"  # SQLAlchemy's form: four slashes, an absolute path
    r = barge.load(url, "t", rows(25_000))
    assert r.rows == 25_000 and r.to_dict()["created"]
    con = sqlite3.connect(tmp_path / "c.db")
    assert con.execute("SELECT sql FROM sqlite_master WHERE name = 't'").fetchone()[0] == (
        'CREATE TABLE "t" (\n    "id" INTEGER,\n    "score" REAL,\n    "ok" BOOLEAN,\n'
        '    "price" NUMERIC,\n    "doc" JSON,\n    "code" TEXT,\n    "at" TIMESTAMPTZ,\n'
        '    "day" DATE,\n    "tag" UUID,\n    "raw" BLOB,\n    "none" TEXT\n)')
    # Every row once, the sample's first 10,000 among them.
    assert con.execute("SELECT count(*), sum(id), count(DISTINCT id), sum(ok) FROM t").fetchone() == (
        25_000, 25_000 * 25_001 // 2, 25_000, 25_000 // 3)

    # PostgreSQL with create=True: the types, and the values as typed.
    r = barge.load(pg.url, table, rows(3), create=True)
    assert r.rows == 3 and r.to_dict()["created"]
    types = pg.sql(
        "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) "
        f"FROM information_schema.columns WHERE table_name = '{table}'")
    assert types == (
        "id bigint, score double precision, ok boolean, price numeric, doc jsonb, code text, "
        "at timestamp with time zone, day date, tag uuid, raw bytea, none text"), types
    assert pg.sql(f"SELECT id, score, ok, price, doc, code, at AT TIME ZONE 'UTC', tag, raw "
                  f"FROM {table} WHERE id = 3") == (
        '3|0.75|t|0.03|{"n": 3}|00003|2024-01-01 03:00:00|'
        '00000000-0000-0000-0000-000000000003|\\x03')

    # Without create=, PostgreSQL says so.
    with pytest.raises(barge.ConfigError) as e:
        barge.load(pg.url, table + "_missing", rows(3))
    assert str(e.value).startswith(f'table "{table}_missing" does not exist'), e.value


def test_commit_every_reaches_the_load(tmp_path):
    with sqlite3.connect(tmp_path / "c.db") as c:
        c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    url = f"sqlite:///{tmp_path / 'c.db'}"
    rows = [{"id": i, "v": f"v{i}"} for i in range(2500)]
    with pytest.raises(barge.ConfigError, match="--commit-every takes seconds, 0 or more: -1 is not"):
        barge.load(url, "t", rows, commit_every=-1)
    r = barge.load(url, "t", rows, commit_every=0, chunk_rows=1000)
    assert r.rows == 2500 and r.to_dict()["chunks"] == 3


def test_replace_swaps_the_rows_or_keeps_the_old_ones(pg, table, tmp_path):
    pg.sql(f"CREATE TABLE {table} (id int PRIMARY KEY, v text)")
    barge.load(pg.url, table, [{"id": i, "v": "old"} for i in range(1, 11)])
    r = barge.load(pg.url, table, [{"id": i, "v": "new"} for i in range(5, 8)], replace=True)
    assert r.rows == 3 and r.to_dict()["replaced"] and r.to_dict()["atomic"]
    assert pg.sql(f"SELECT count(*), min(id), max(id), string_agg(DISTINCT v, ',') FROM {table}") == "3|5|7|new"
    # A bad row: the new rows are not committed, the old ones stay.
    with pytest.raises(barge.BadRow):
        barge.load(pg.url, table, [{"id": 1, "v": "x"}, {"id": "not a number", "v": "y"}],
                   replace=True)
    assert pg.sql(f"SELECT count(*), min(id), max(id) FROM {table}") == "3|5|7"
    # Several files replace the rows together; a bad row in the second names that file.
    parts = [tmp_path / "part-1.csv", tmp_path / "part-2.csv"]
    parts[0].write_text("id,v\n1,a\n2,b\n")
    parts[1].write_text("id,v\n3,c\n")
    r = barge.load(pg.url, table, [str(p) for p in parts], replace=True)
    assert r.rows == 3 and r.to_dict()["files"] == 2
    assert pg.sql(f"SELECT string_agg(id || v, ',' ORDER BY id) FROM {table}") == "1a,2b,3c"
    parts[1].write_text("id,v\n3,c\nx,d\n")
    with pytest.raises(barge.BadRow) as e:
        barge.load(pg.url, table, [str(p) for p in parts], replace=True)
    assert str(e.value).startswith(f"{parts[1]}: record 3 (line 3, byte 9)"), str(e.value)
    assert pg.sql(f"SELECT string_agg(id || v, ',' ORDER BY id) FROM {table}") == "1a,2b,3c"


def test_a_dry_run_reports_what_a_load_would_do_and_writes_nothing(pg, table, tmp_path):
    pg.sql(f"CREATE TABLE {table} (id int PRIMARY KEY, v text CHECK (v <> 'bad'))")
    barge.load(pg.url, table, [{"id": 1, "v": "there"}])
    rows = [{"id": 1, "v": "again"}, {"id": 2, "v": "bad"}, {"id": 3, "v": "ok"}]
    rejects = tmp_path / "r.csv"
    r = barge.load(pg.url, table, rows, dry_run=True, rejects=str(rejects))
    assert r.dry_run and r.rows == 1 and r.rejected == 2
    assert pg.sql(f"SELECT count(*), string_agg(v, ',') FROM {table}") == "1|there"
    # Without rejects=, the first row the server refuses fails it, named (its check is
    # evaluated as the row arrives, the key when the rows are written); nothing is written.
    with pytest.raises(barge.DatabaseError) as e:
        barge.load(pg.url, table, rows, dry_run=True)
    msg = str(e.value)
    assert "(chunk 1, rows 1-3), at row 2:" in msg and "violates check constraint" in msg, msg
    assert pg.sql(f"SELECT count(*) FROM {table}") == "1"
    r = barge.load(pg.url, table, rows[2:], dry_run=True)
    assert r.dry_run and r.rows == 1 and r.rejected == 0
    assert pg.sql(f"SELECT count(*) FROM {table}") == "1"


def test_text_format_and_ignore_unknown_are_keywords(pg, table, tmp_path):
    pg.sql(f"CREATE TABLE {table} (id int PRIMARY KEY, v text)")
    path = tmp_path / "export.txt"
    # As psql's \copy ... to writes it: no header, \N for NULL, backslash escapes.
    path.write_text("1\ta\\tb\n2\t\\N\n3\t\n")
    assert barge.load(pg.url, table, str(path), format="text").rows == 3
    assert pg.sql(f"SELECT id, coalesce(v, 'NULL'), length(v) FROM {table} ORDER BY id") == (
        "1|a\tb|3\n2|NULL|\n3||0")
    wide = tmp_path / "wide.csv"
    wide.write_text("id,extra,v\n4,x,d\n")
    with pytest.raises(barge.ConfigError) as e:
        barge.load(pg.url, table, str(wide))
    assert "ignore_unknown=" in e.value.hint, e.value.hint
    assert barge.load(pg.url, table, str(wide), ignore_unknown=True).rows == 1
    assert pg.sql(f"SELECT v FROM {table} WHERE id = 4") == "d"


def test_a_three_slash_sqlite_url_meant_as_absolute_says_how_to_write_it(tmp_path, monkeypatch):
    """In Python, sqlite:///tmp/x.db is SQLAlchemy's relative path tmp/x.db, not the CLI's
    /tmp/x.db: when only the absolute reading names a folder that exists, the error says how
    to write it, before anything is opened; the four-slash form loads there."""
    monkeypatch.chdir(tmp_path)
    absolute = tmp_path / "abs"
    absolute.mkdir()
    rel = str(absolute / "x.db").lstrip("/")
    with pytest.raises(barge.ConfigError) as e:
        barge.load(f"sqlite:///{rel}", "t", [{"id": 1}])
    assert str(e.value) == (
        f"sqlite:///{rel} is, as in SQLAlchemy, the relative path {rel}, whose folder "
        f"{os.path.dirname(rel)} does not exist here; for /{rel}, write sqlite:////{rel} "
        "(four slashes)")
    assert barge.load(f"sqlite:////{rel}", "t", [{"id": 1}]).rows == 1
    assert (absolute / "x.db").exists()
    # A relative path whose folder exists is SQLAlchemy's, as before.
    (tmp_path / "sub").mkdir()
    assert barge.load("sqlite:///sub/y.db", "t", [{"id": 2}]).rows == 1
    assert (tmp_path / "sub" / "y.db").exists()


def test_hints_name_switches_as_keywords_set_to_true(pg, table, tmp_path):
    pg.sql(f"CREATE TABLE {table} (id int)")
    path = tmp_path / "indexed.csv"
    path.write_text(",id\n0,1\n")
    with pytest.raises(barge.ConfigError) as e:
        barge.load(pg.url, table, str(path))
    assert "or pass ignore_unknown=True to leave out the columns the table lacks" in (
        e.value.hint
    ), e.value.hint
    assert barge.load(pg.url, table, str(path), ignore_unknown=True).rows == 1
