"""The native half of barge (Rust, through pyo3): use the functions of `barge` instead."""

from typing import Any, Callable, Iterable, List, Optional, Sequence

DEFAULT_TARGET: str
__version__: str

class Error(Exception):
    """Any error of a load."""

    hint: Optional[str]
    rows_committed: Optional[int]
    load_id: Optional[str]
    sqlstate: Optional[str]

class ConfigError(Error):
    """The load is set up wrong (options, table, columns, target): nothing was loaded."""

class ConnectError(Error):
    """The database cannot be reached or refused the login."""

class DatabaseError(Error):
    """The database refused a statement (its SQLSTATE is `.sqlstate`)."""

class BadRow(Error):
    """A row that cannot be loaded; pass `rejects=` to set such rows aside."""

    input: str
    row: int
    column: Optional[str]
    value: Optional[str]
    reason: str

class Interrupted(Error):
    """The load was stopped; what was committed stays, and the same call resumes."""

def load_files(
    url: str,
    files: Sequence[str],
    options: str,
    on_progress: Optional[Callable[[dict], Any]] = None,
    progress: bool = False,
    stop: Any = None,
) -> str: ...
def load_rows(
    url: str,
    rows: Any,
    columns: Optional[Sequence[str]],
    options: str,
    on_progress: Optional[Callable[[dict], Any]] = None,
    progress: bool = False,
    stop: Any = None,
) -> str: ...
def load_arrow(
    url: str,
    data: Any,
    options: str,
    on_progress: Optional[Callable[[dict], Any]] = None,
    progress: bool = False,
    stop: Any = None,
) -> str: ...


def sqlalchemy_url(url: str) -> Optional[str]: ...
def json_texts(values: Iterable[Any]) -> List[Optional[str]]: ...
