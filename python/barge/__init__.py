"""barge: move millions of rows into PostgreSQL, MySQL/MariaDB and SQLite, fast, in constant
memory, exactly once, with bad rows set aside instead of sinking the load.

    import barge
    r = barge.load("postgresql://u:p@host/db", "events", "data/*.csv.gz", rejects="bad.csv")
    r = barge.load(url, "events", rows)                  # dicts, or tuples with columns=[...]
    r = await barge.load_async(url, "events", agen)      # async iterables too
    r = barge.load(url, "events", df)                    # pandas, polars, pyarrow
    print(r.rows, r.rejected, r.elapsed)

Every keyword argument is an option of ``barge load``, with the command line's name
(``--chunk-rows`` is ``chunk_rows``) and default. The work is done by barge's Rust library, with
the GIL released: this module only turns Python's ways of naming a database and its data into
what that library takes.
"""

from __future__ import annotations

import asyncio
import itertools
import json as _json
import os
import threading
from typing import Any, Callable, Iterable, List, Mapping, Optional, Sequence, Union

from . import _native
from ._native import (
    BadRow,
    ConfigError,
    ConnectError,
    DatabaseError,
    Error,
    Interrupted,
)

__version__ = _native.__version__
__all__ = [
    "load",
    "load_async",
    "schema",
    "Report",
    "Error",
    "BadRow",
    "ConfigError",
    "ConnectError",
    "DatabaseError",
    "Interrupted",
]

DEFAULT_TARGET: str = _native.DEFAULT_TARGET


class Report:
    """What a load did. ``to_dict()`` is what ``barge load --json`` prints."""

    __slots__ = ("_d",)

    def __init__(self, d: Mapping[str, Any]):
        self._d = dict(d)

    @property
    def rows(self) -> int:
        """Rows committed by this call."""
        return self._d["rows"]

    @property
    def rejected(self) -> int:
        """Rows set aside as bad (``rejects=``) by this call."""
        return self._d["rejected"]

    @property
    def inserted(self) -> int:
        """Rows inserted: every row committed, or an upsert's new keys."""
        up = self._d.get("upsert")
        return up["inserted"] if up else self._d["rows"]

    @property
    def updated(self) -> int:
        """Rows that updated an existing key (``on_conflict="update"``)."""
        up = self._d.get("upsert")
        return up["updated"] if up else 0

    @property
    def skipped(self) -> int:
        """Rows whose key existed and were left alone (``on_conflict="nothing"``)."""
        up = self._d.get("upsert")
        return up["skipped"] if up else 0

    @property
    def resumed_rows(self) -> int:
        """Rows an earlier, interrupted run of the same load had committed (not loaded again)."""
        return self._d["skipped_rows"]

    @property
    def elapsed(self) -> float:
        """Wall time of the load, in seconds."""
        return self._d["elapsed"]

    @property
    def table(self) -> str:
        return self._d["table"]

    @property
    def target(self) -> str:
        """The database, without its password."""
        return self._d["target"]

    @property
    def load_id(self) -> Optional[str]:
        return self._d.get("load_id")

    @property
    def already_loaded(self) -> bool:
        """True when an earlier run had loaded this input completely, so nothing was done."""
        return self._d.get("already_loaded") is not None

    @property
    def dry_run(self) -> bool:
        """True for ``dry_run=True``: ``rows`` would load, ``rejected`` would be refused, and
        nothing was written."""
        return bool(self._d.get("dry_run"))

    @property
    def rejects_file(self) -> Optional[str]:
        return self._d.get("rejects_file")

    @property
    def indexes_built(self) -> int:
        """Indexes left out while the empty table loaded and built at the end (PostgreSQL)."""
        built = self._d.get("indexes_built")
        return built["count"] if built else 0

    def to_dict(self) -> dict:
        return dict(self._d)

    def __repr__(self) -> str:
        return (
            f"Report(rows={self.rows}, rejected={self.rejected}, inserted={self.inserted}, "
            f"updated={self.updated}, elapsed={self.elapsed:.3f}, table={self.table!r})"
        )


def _target(url: Any) -> str:
    """The database as barge names it, from a URL (barge's or SQLAlchemy's), a SQLAlchemy
    ``URL``, ``Engine``, ``AsyncEngine`` or ``Connection``, or None (``$DATABASE_URL``, else
    barge's default). The password is kept: barge never shows it."""
    if url is None:
        return os.environ.get("DATABASE_URL") or DEFAULT_TARGET
    url = getattr(url, "url", url)  # an Engine, AsyncEngine or Connection
    if hasattr(url, "render_as_string"):  # a sqlalchemy.engine.URL
        url = url.render_as_string(hide_password=False)
    if isinstance(url, os.PathLike):
        url = os.fspath(url)
    if not isinstance(url, str):
        raise TypeError(f"the database is a URL or a SQLAlchemy engine, not {type(url).__name__}")
    scheme, _, rest = url.partition("://")
    if scheme.lower() == "sqlite" and (rest == "" or rest.startswith("/")):
        # In Python a plain sqlite:/// URL is SQLAlchemy's too, which the library reads in its
        # dialect+driver form: sqlite:///relative.db, sqlite:////absolute.db, sqlite:// (memory).
        url = "sqlite+pysqlite://" + rest
        _check_relative_sqlite(rest)
    # postgresql+asyncpg://, mysql+pymysql://, ...: the library names the same database (the
    # CLI reads them too, from DATABASE_URL).
    return _native.sqlalchemy_url(url) or url


def _check_relative_sqlite(rest: str) -> None:
    """``sqlite:///tmp/x.db`` is, in SQLAlchemy and so here, the relative path ``tmp/x.db``;
    the CLI (and barge's README) reads it as ``/tmp/x.db``. When only the absolute reading names
    an existing folder, the URL almost surely meant it: said now, instead of SQLite's "unable
    to open database file" (or a new database in another folder)."""
    path = rest[1:].split("?", 1)[0]
    if path.startswith("/") or path in ("", ":memory:"):
        return
    folder = os.path.dirname(path)
    if folder and not os.path.isdir(folder) and os.path.isdir("/" + folder):
        raise ConfigError(
            f"sqlite:///{path} is, as in SQLAlchemy, the relative path {path}, whose folder "
            f"{folder} does not exist here; for /{path}, write sqlite:////{path} (four slashes)")


def _options(opts: dict) -> str:
    out = {}
    for k, v in opts.items():
        if v is None or k in ("quiet", "json"):
            continue
        if isinstance(v, os.PathLike):
            v = os.fspath(v)
        out[k] = v
    return _json.dumps(out)


def _is_paths(data: Any) -> bool:
    if isinstance(data, (str, os.PathLike)):
        return True
    return (
        isinstance(data, (list, tuple))
        and len(data) > 0
        and all(isinstance(p, (str, os.PathLike)) for p in data)
    )


def _named_index(df: Any) -> bool:
    """Whether a pandas DataFrame's index is data (named, as ``set_index("day")`` leaves it)
    rather than row labels (unnamed: what sorting or filtering leaves, which pyarrow would
    otherwise load as a column ``__index_level_0__``)."""
    return any(n is not None for n in df.index.names)


class _FrameRows:
    """A pandas DataFrame that Arrow cannot type, as rows of tuples with their columns' names
    (a named index's after the others, where pyarrow puts them)."""

    def __init__(self, df: Any) -> None:
        if _named_index(df):
            data = list(df.columns)
            df = df.reset_index()
            df = df[data + [c for c in df.columns if c not in data]]
        self.columns = [str(c) for c in df.columns]
        self.rows = df.itertuples(index=False, name=None)


def _named(given: Optional[List[str]], names: List[str]) -> List[str]:
    """The columns of data that names its own (a DataFrame, a dict of columns): ``columns=``
    names them instead, in order, as ``--columns`` does a file's."""
    if given is None:
        return names
    if len(given) != len(names):
        raise TypeError(
            f"columns= names {len(given)} columns, and the data has {len(names)}: "
            + ", ".join(names)
        )
    return list(given)


def _arrow(data: Any, columns: Optional[List[str]] = None) -> Any:
    """An object with ``__arrow_c_stream__`` for a DataFrame or Arrow object, a
    :class:`_FrameRows` for a pandas DataFrame Arrow cannot type, else None."""
    mod = type(data).__module__
    if mod == "numpy" and type(data).__name__ == "ndarray" and data.ndim == 2:
        # A matrix of rows (what scikit-learn and numpy computations give): its columns, named
        # by columns=, go as Arrow arrays, column-wise.
        if columns is None or len(columns) != data.shape[1]:
            raise TypeError(
                f"a 2-D numpy array needs columns=[...] naming its {data.shape[1]} columns"
            )
        import pyarrow as pa

        return pa.table({name: data[:, k] for k, name in enumerate(columns)})
    if mod.startswith("pandas") and type(data).__name__ == "Series":
        data = data.to_frame()  # its Arrow stream is one array, not a table of one column
    if mod.startswith("polars") and type(data).__name__ == "LazyFrame":
        if not hasattr(data, "collect_batches"):  # polars before collect_batches
            return _arrow(data.collect())
        # The query runs batch by batch as the load takes them: its result need not fit in
        # memory at once (a scan of files, filtered, loaded).
        import pyarrow as pa

        batches = (b for df in data.collect_batches() for b in pa.table(_arrow(df)).to_batches())
        first = next(batches, None)
        if first is None:
            return _arrow(data.collect())  # no rows: the schema of the empty result
        return pa.RecordBatchReader.from_batches(first.schema, itertools.chain([first], batches))
    if mod.startswith("polars") and type(data).__name__ == "DataFrame":
        import polars as pl

        # polars exports a column of its Null type (a field never set) with a buffer that
        # Arrow's C interface does not have for that type; as strings its NULLs load anywhere.
        nulls = [name for name, ty in data.schema.items() if ty == pl.Null]
        if nulls:
            data = data.with_columns(pl.col(nulls).cast(pl.String))
    if mod.startswith("pandas") and type(data).__name__ == "DataFrame":
        import warnings

        import pyarrow as pa  # what pandas' own Arrow stream interface goes through

        try:
            return _with_json_columns(data, _named_index(data))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as e:
            # An object column of mixed values (ints and strings, as a spreadsheet gives): each
            # value then goes by its own Python type, as rows of tuples do (a str as its
            # column's text), which is what pandas' to_sql does with such a column.
            warnings.warn(
                f"barge: Arrow cannot type this DataFrame ({e}); its rows load one by one, "
                "each value by its Python type (slower than column-wise)",
                stacklevel=3,
            )
            return _FrameRows(data)
    if hasattr(data, "__arrow_c_stream__"):
        return data
    if mod.startswith("polars") and hasattr(data, "to_arrow"):
        return data.to_arrow()
    if mod.startswith("pyarrow") and hasattr(data, "to_reader"):
        return data.to_reader()
    return None


def _with_json_columns(frame: Any, preserve_index: Optional[bool]) -> Any:
    """``frame`` as an Arrow table, its object columns of dicts (or of lists of them) as each
    value's JSON, typed Arrow's JSON, as a row's dict is written. Arrow would make a struct of
    every key any row has, writing each object with them all (``{"a": 1}`` beside
    ``{"b": 2}`` loaded as ``{"a": 1, "b": null}``), and fails on a key whose values differ in
    type (an API's payloads), sending the whole frame row by row."""
    import pyarrow as pa

    def holds_dicts(column: Any) -> bool:
        if getattr(column, "dtype", None) != object:
            return False  # a typed column, or a duplicated name (a frame of them)
        present = column.notna()
        if not present.any():
            return False
        first = column.iloc[int(present.argmax())]
        if isinstance(first, (list, tuple)):
            return any(isinstance(v, dict) for v in first)
        return isinstance(first, dict)

    names = [n for n in frame.columns if holds_dicts(frame[n])] if hasattr(pa, "json_") else []
    texts = {}
    for name in names:
        try:
            texts[name] = _native.json_texts(frame[name])
        except TypeError:
            pass  # a value with no JSON form: Arrow says what to do with the column
    table = pa.Table.from_pandas(frame.drop(columns=list(texts)), preserve_index=preserve_index)
    # An object column of Decimals: Arrow sizes its decimal type to the values at hand
    # (Decimal("1.50") makes decimal(3,2)), which is a sample, not a declaration. A table made
    # of it gets room before the point, as a file's sampled decimals do (at least 20 digits):
    # MySQL's DECIMAL(3,2) refused the next frame's 100.00.
    for at, field in enumerate(table.schema):
        ty = field.type
        if pa.types.is_decimal128(ty) and frame.get(field.name, None) is not None:
            if getattr(frame[field.name], "dtype", None) == object and ty.precision < 38:
                wide = pa.decimal128(min(38, max(ty.precision, ty.scale + 20)), ty.scale)
                table = table.set_column(at, field.with_type(wide), table.column(at).cast(wide))
    json_type = pa.json_(pa.string())
    for name, values in texts.items():
        at = list(frame.columns).index(name)
        table = table.add_column(at, pa.field(str(name), json_type), pa.array(values, json_type))
    return table


def load(
    url: Any,
    table: Optional[str],
    data: Any,
    *,
    columns: Optional[Sequence[str]] = None,
    format: Optional[str] = None,
    ignore_unknown: bool = False,
    delimiter: Optional[str] = None,
    decimal_comma: bool = False,
    thousands: Optional[str] = None,
    no_header: bool = False,
    skip_lines: int = 0,
    header: bool = False,
    null: Union[str, Sequence[str], None] = None,
    encoding: Optional[str] = None,
    sample_rows: int = 10_000,
    create: bool = False,
    distribute_by: Optional[str] = None,
    split: Optional[str] = None,
    on_conflict: Optional[str] = None,
    key: Union[str, Sequence[str], None] = None,
    update_columns: Union[str, Sequence[str], None] = None,
    mode: str = "copy",
    rejects: Union[str, os.PathLike, None] = None,
    max_errors: Optional[int] = None,
    chunk_rows: Optional[int] = None,
    chunk_bytes: Union[int, str, None] = None,
    workers: Optional[int] = None,
    checkpoint_table: str = "barge_checkpoint",
    no_checkpoint: bool = False,
    load_id: Optional[str] = None,
    again: bool = False,
    continue_changed: bool = False,
    atomic: bool = False,
    replace: bool = False,
    dry_run: bool = False,
    keep_indexes: bool = False,
    retries: int = 10,
    retry_for: int = 300,
    commit_every: float = 5,
    quiet: bool = False,
    json: bool = False,
    progress: bool = False,
    on_progress: Optional[Callable[[dict], Any]] = None,
    _stop: Any = None,
) -> Any:
    """Loads ``data`` into ``table`` of the database at ``url``, and returns a :class:`Report`.

    ``url``: ``postgresql://...``, ``mysql://...``, ``sqlite://file.db``, a SQLAlchemy URL
    (``postgresql+asyncpg://``, ``mysql+asyncmy://``, ``sqlite:///file.db``), a SQLAlchemy
    ``Engine`` or ``AsyncEngine``, or None for ``$DATABASE_URL`` (else ``sqlite://barge.db``).

    ``data``:

    * a path, a quoted glob (``"data/*.csv.gz"``), a directory (its files, as Spark writes
      a data set) or a list of paths: CSV, TSV or NDJSON,
      plain, gzip or zstd, or Parquet, as ``barge load FILE`` reads them (``table`` may be
      None: the file's name);
    * an iterable of dicts (keys are columns; a missing key is NULL), of tuples with
      ``columns=[...]`` (a namedtuple names its own), or of dataclasses, pydantic models or
      attrs classes (a column for each field), or a dict of columns (``{"id": [1, 2],
      "name": ["a", "b"]}``);
    * a pandas or polars DataFrame (or a pandas Series: one column; a polars LazyFrame,
      computed batch by batch as they load), a pyarrow Table or
      RecordBatchReader, anything with ``__arrow_c_stream__``, or a 2-D numpy array with
      ``columns=``: loaded column-wise from Arrow's buffers.

    ``columns=`` names the data's columns in order: a file's (as ``--columns`` does), tuples'
    values, and also a DataFrame's or a dict's, instead of their own names. A file's delimiter
    is read from its first lines when it is ``;``, a tab or ``|``; ``decimal_comma=True``
    reads numbers written ``1.234,5`` in number columns (a ``str`` value's too), and
    ``thousands=","`` numbers written ``1,234.5`` (what a spreadsheet exports for an amount);
    ``skip_lines=N`` skips a CSV or TSV file's first N lines, above its header (a report's
    title, the date it was run).

    Values keep their type: ``int``, ``float``, ``bool``, ``bytes``, ``Decimal``,
    ``datetime`` (aware or naive), ``date``, ``time``, ``UUID`` go into their columns without
    being written out as text; a ``str`` is the column's text form, as a CSV field is (into
    json, JSON text); a ``dict`` or ``list`` is a JSON value. numpy scalars and pandas' NA/NaT
    are understood.

    A missing table is created (into SQLite unasked, elsewhere with ``create=True``): a
    file's from its header and a sample of its rows, a DataFrame's or Parquet file's from its
    schema, and rows from an iterable from a sample of the first ``sample_rows`` (a value's
    type says its column's, a ``str`` is read as a file's field is).

    Rows from a program keep no checkpoints unless ``load_id=`` names the load; with one, the
    same call after an interruption resumes after the rows already committed. A file is its
    own load (its fingerprint); after it was fixed where a load of it stopped,
    ``continue_changed=True`` goes on from there, as a new load would put the rows committed
    before the stop in a second time. ``null=""``
    makes an empty string NULL, as an empty field is in a CSV file: the dicts of
    ``csv.DictReader`` then load exactly as the file does. A list names several texts that
    are NULL (``null=["NULL", ""]``), as ``--null`` given once for each.

    ``dry_run=True`` checks the rows against an existing table and changes nothing: they are
    written in one transaction that is rolled back, so the database's own checks run too, and
    the report says how many would load (and, with ``rejects=``, which would be refused).

    Raises :class:`BadRow` for a value that does not fit its column (or, with ``rejects=``,
    writes it there and goes on), :class:`ConnectError`, :class:`ConfigError`,
    :class:`DatabaseError`, and ``KeyboardInterrupt`` after Ctrl-C once the load has stopped
    cleanly. ``json=True`` returns ``Report.to_dict()`` instead of the report.
    """
    opts = dict(
        table=table,
        columns=list(columns) if columns is not None else None,
        format=format,
        ignore_unknown=ignore_unknown,
        delimiter=delimiter,
        decimal_comma=decimal_comma,
        thousands=thousands,
        no_header=no_header,
        skip_lines=skip_lines,
        header=header,
        null=null if null is None or isinstance(null, str) else list(null),
        encoding=encoding,
        sample_rows=sample_rows,
        create=create,
        distribute_by=distribute_by,
        split=split,
        on_conflict=on_conflict,
        key=key if key is None or isinstance(key, str) else list(key),
        update_columns=update_columns
        if update_columns is None or isinstance(update_columns, str)
        else list(update_columns),
        mode=mode,
        rejects=rejects,
        max_errors=max_errors,
        chunk_rows=chunk_rows,
        chunk_bytes=chunk_bytes,
        workers=workers,
        checkpoint_table=checkpoint_table,
        no_checkpoint=no_checkpoint,
        load_id=load_id,
        again=again,
        continue_changed=continue_changed,
        atomic=atomic,
        replace=replace,
        dry_run=dry_run,
        keep_indexes=keep_indexes,
        retries=retries,
        retry_for=retry_for,
        commit_every=commit_every,
    )
    target = _target(url)
    show = progress and not quiet
    if _is_paths(data):
        paths = [data] if isinstance(data, (str, os.PathLike)) else list(data)
        paths = [os.fspath(p) for p in paths]
        out = _native.load_files(target, paths, _options(opts), on_progress, show, _stop)
    elif isinstance(stream := _arrow(data, columns), _FrameRows):
        names = _named(opts.pop("columns"), stream.columns)
        out = _native.load_rows(
            target, stream.rows, names, _options(opts), on_progress, show, _stop
        )
    elif stream is not None:
        # columns= names the stream's columns in order, as --columns does a file's.
        out = _native.load_arrow(target, stream, _options(opts), on_progress, show, _stop)
    elif isinstance(data, Mapping):
        # Columns by name, as a DataFrame is made from them: {"id": [1, 2], "name": [...]}.
        names = [str(k) for k in data]
        if not all(isinstance(v, Iterable) and not isinstance(v, (str, bytes)) for v in
                   data.values()):
            raise TypeError(
                'a dict is loaded as columns ({"id": [1, 2], ...}): for one row, pass [row]'
            )
        values = [list(v) for v in data.values()]
        if len({len(v) for v in values}) > 1:
            raise TypeError(
                "a dict of columns needs them all of one length, not "
                + ", ".join(f"{n}: {len(v)}" for n, v in zip(names, values))
            )
        names = _named(opts.pop("columns"), names)
        rows = zip(*values)
        out = _native.load_rows(target, rows, names, _options(opts), on_progress, show, _stop)
    elif hasattr(data, "__aiter__"):
        raise TypeError("an async iterable is loaded with `await barge.load_async(...)`")
    elif isinstance(data, Iterable):
        cols = opts.pop("columns")
        out = _native.load_rows(target, data, cols, _options(opts), on_progress, show, _stop)
    else:
        raise TypeError(
            "data is a path, an iterable of rows, or a DataFrame/Arrow table, "
            f"not {type(data).__name__}"
        )
    report = Report(_json.loads(out))
    return report.to_dict() if json else report


def schema(
    data: Any,
    table: Optional[str] = None,
    *,
    url: Any = None,
    dialect: Optional[str] = None,
    **options: Any,
) -> str:
    """The table a load of ``data`` would create, as ``barge schema`` prints it: the
    ``CREATE TABLE``, where its types come from, and what the sample showed (a delimiter read
    from the file, a column made text by a spelled-out ``NULL``). Nothing is written.

    ``data`` is a file, read as ``load`` reads it, or a DataFrame or Arrow data. The SQL is
    ``dialect``'s (``"postgres"``, ``"mysql"``, ``"sqlite"``), else the database's at ``url``
    (default: ``$DATABASE_URL``, else SQLite), which is not connected to. ``options`` are
    ``load``'s that say how the input is read (``delimiter=``, ``null=``, ``columns=``,
    ``sample_rows=``, ``decimal_comma=``, ``thousands=``...)."""
    opts = dict(options, table=table)
    target = _target(url)
    if isinstance(data, (str, os.PathLike)):
        return _native.schema(target, _options(opts), dialect, path=os.fspath(data))
    stream = _arrow(data, opts.get("columns"))
    if stream is None or isinstance(stream, _FrameRows):
        raise TypeError(
            f"schema() reads a file, a DataFrame or Arrow data, not {type(data).__name__}"
        )
    return _native.schema(target, _options(opts), dialect, data=stream)


async def load_async(url: Any, table: Optional[str], data: Any, **options: Any) -> Any:
    """:func:`load`, awaitable: the load runs on barge's threads and never blocks the event
    loop. ``data`` may also be an async iterable (an async generator of dicts, say), pulled on
    this event loop in batches. Cancelling the task stops the load as Ctrl-C does: committed
    rows stay, and with ``load_id=`` the same call resumes."""
    loop = asyncio.get_running_loop()
    stop = threading.Event()
    if hasattr(data, "__aiter__"):
        data = _pull(data, loop, stop)
    fut = loop.run_in_executor(
        None, lambda: load(url, table, data, _stop=stop, **options)
    )
    try:
        return await asyncio.shield(fut)
    except asyncio.CancelledError:
        stop.set()
        try:
            await fut  # the load stops at a chunk boundary; then the cancellation goes on
        except BaseException:
            pass
        raise


def _pull(agen: Any, loop: asyncio.AbstractEventLoop, stop: threading.Event, batch: int = 1000):
    """A blocking iterator over an async iterable, for barge's thread: it asks the event loop
    for up to ``batch`` rows at a time, so that the loop stays free between batches."""
    it = agen.__aiter__()

    async def take():
        rows = []
        try:
            while len(rows) < batch:
                rows.append(await it.__anext__())
        except StopAsyncIteration:
            return rows, True
        return rows, False

    while not stop.is_set():
        rows, end = asyncio.run_coroutine_threadsafe(take(), loop).result()
        yield from rows
        if end:
            return
