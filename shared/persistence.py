"""Persistence chosen by URL: one database per service for its event store and its tables.

The event store uses eventsourcing's own SQLite and PostgreSQL recorders; the service's other
tables (local views, tracking, idempotency, personal information) use SQLAlchemy on the same
database. Recorder subclasses below write a command's context (correlation, causation, trace,
idempotency key) in the same transaction as its events, so a crash can never split them.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import sqlalchemy as sa
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import retry

from shared import migrations
from shared.errors import ConfigurationError

metadata = sa.MetaData()

tracking_table = sa.Table(
    "coop_tracking",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
)

idempotency_table = sa.Table(
    "coop_idempotency",
    metadata,
    sa.Column("key_hash", sa.String(64), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("resource", sa.String(300), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

event_context_table = sa.Table(
    "coop_event_context",
    metadata,
    sa.Column("originator_id", sa.String(36), primary_key=True),
    sa.Column("originator_version", sa.Integer, primary_key=True),
    sa.Column("correlation_id", sa.String(36), nullable=False),
    sa.Column("causation_id", sa.String(36)),
    sa.Column("traceparent", sa.String(64)),
)

unique_claims_table = sa.Table(
    "coop_unique_claims",
    metadata,
    sa.Column("claim_key", sa.String(300), primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False),
)
"""Keys that must stay unique (e.g. an active member's NEQ), claimed with the command's events."""

parked_table = sa.Table(
    "coop_parked_messages",
    metadata,
    sa.Column("consumer", sa.String(200), primary_key=True),
    sa.Column("stream_sequence", sa.BigInteger, primary_key=True),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("parked_at", sa.Float, nullable=False),
)


@dataclass(frozen=True)
class IdempotencyRecord:
    """What an `Idempotency-Key` remembers: the request's fingerprint and the answer's shape."""

    key_hash: str
    fingerprint: str
    status: int
    resource: str
    created_at: float


@dataclass(frozen=True)
class CommandContext:
    """Where a command came from; stored beside its events, never inside them."""

    correlation_id: str
    causation_id: str | None = None
    traceparent: str | None = None
    idempotency: IdempotencyRecord | None = None
    claims: tuple[tuple[str, str], ...] = ()
    releases: tuple[tuple[str, str], ...] = ()

    def claiming(
        self, claims: tuple[tuple[str, str], ...], releases: tuple[tuple[str, str], ...] = ()
    ) -> CommandContext:
        """This context, also claiming unique keys `(key, owner)` and releasing others."""
        return replace(self, claims=claims, releases=releases)


def _context_rows(
    stored_events: Sequence[StoredEvent], context: CommandContext
) -> list[tuple[Any, ...]]:
    return [
        (
            str(s.originator_id),
            s.originator_version,
            context.correlation_id,
            context.causation_id,
            context.traceparent,
        )
        for s in stored_events
    ]


def _idempotency_row(record: IdempotencyRecord) -> tuple[Any, ...]:
    return (record.key_hash, record.fingerprint, record.status, record.resource, record.created_at)


_CONTEXT_INSERT = (
    "INSERT INTO {s}coop_event_context (originator_id, originator_version, correlation_id, "
    "causation_id, traceparent) VALUES ({p},{p},{p},{p},{p})"
)
_IDEMPOTENCY_INSERT = (
    "INSERT INTO {s}coop_idempotency (key_hash, fingerprint, status, resource, created_at) "
    "VALUES ({p},{p},{p},{p},{p})"
)
_CLAIM_RELEASE = "DELETE FROM {s}coop_unique_claims WHERE claim_key = {p} AND owner = {p}"
_CLAIM_INSERT = "INSERT INTO {s}coop_unique_claims (claim_key, owner) VALUES ({p},{p})"


_CONTEXT_TEMPLATES = (_CONTEXT_INSERT, _IDEMPOTENCY_INSERT, _CLAIM_RELEASE, _CLAIM_INSERT)


def _context_statements(batch: Sequence[PendingWrite]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """The statements (templates with `{p}` parameters and `{s}` schema) that store the context
    of every save in `batch`: one statement of each kind, claims released before new ones taken.

    Only fixed SQL with bound parameters: the templates name tables, never values.
    """
    contexts: list[tuple[Any, ...]] = []
    records: list[tuple[Any, ...]] = []
    releases: list[tuple[Any, ...]] = []
    claims: list[tuple[Any, ...]] = []
    for pending in batch:
        context: CommandContext | None = pending.kwargs.get("context")
        if context is None:
            continue
        contexts += _context_rows(pending.stored_events, context)
        if context.idempotency is not None:
            records.append(_idempotency_row(context.idempotency))
        releases += context.releases
        claims += context.claims
    rows = (contexts, records, releases, claims)
    return [(template, r) for template, r in zip(_CONTEXT_TEMPLATES, rows, strict=True) if r]


_sqlite_write_locks: dict[str, threading.RLock] = {}
_sqlite_write_locks_guard = threading.Lock()


def sqlite_write_lock(path: str | Path) -> threading.RLock:
    """The lock every writer of one SQLite file in this process takes before writing.

    The event store's recorder and the SQLAlchemy engine write the same file through separate
    connections. Without one lock in front of both, a view holding the file's write lock while
    it reads the event store could wait on eventsourcing's connection pool, which in turn waits
    on a writer blocked by that very write lock: commands would stall and fail.
    """
    key = os.path.realpath(path)
    with _sqlite_write_locks_guard:
        return _sqlite_write_locks.setdefault(key, threading.RLock())


class PendingWrite:
    """One save waiting for a group commit: its stored events and arguments, then its outcome."""

    __slots__ = ("done", "error", "kwargs", "leads", "ready", "result", "stored_events")

    def __init__(self, stored_events: Sequence[StoredEvent], kwargs: dict[str, Any]) -> None:
        self.stored_events = stored_events
        self.kwargs = kwargs
        self.result: Sequence[int] | None = None
        self.error: BaseException | None = None
        self.done = False
        self.leads = False
        self.ready = threading.Event()


WriteTogether = Callable[[Sequence[PendingWrite]], list[Sequence[int] | None]]


class GroupCommit:
    """Concurrent saves share one store transaction, each with its own rows (group commit).

    The first save to arrive while none is being written leads: it writes every save waiting
    (up to `limit`) in one transaction, hands each its outcome, then passes the lead to the
    oldest save that arrived meanwhile. A save therefore commits with others or alone, never
    in part. When a shared transaction fails (e.g. one save's unique key is taken), each of
    its saves is written again in a transaction of its own, so one refusal loses no other.
    """

    def __init__(self, write_together: WriteTogether, *, limit: int = 64) -> None:
        self._write_together = write_together
        self._limit = limit
        self._mutex = threading.Lock()
        self._waiting: deque[PendingWrite] = deque()
        self._writing = False

    def write(self, stored_events: Sequence[StoredEvent], kwargs: dict[str, Any]) -> Any:
        """Record `stored_events` (with `kwargs`) and return their notification ids."""
        pending = PendingWrite(stored_events, kwargs)
        with self._mutex:
            self._waiting.append(pending)
            if not self._writing:
                self._writing = pending.leads = True
        if not pending.leads:
            pending.ready.wait()
        if pending.leads:
            self._lead(pending)
        if pending.error is not None:
            raise pending.error
        return pending.result

    def _lead(self, leader: PendingWrite) -> None:
        with self._mutex:
            batch = [self._waiting.popleft() for _ in range(min(self._limit, len(self._waiting)))]
        successor: PendingWrite | None = None
        try:
            self._commit(batch)
        except BaseException:  # the leader's thread was interrupted mid-write
            for pending in batch:
                if pending is not leader and not pending.done:
                    pending.error = OperationalError("the shared store transaction was interrupted")
            raise
        finally:
            with self._mutex:
                if self._waiting:
                    successor = self._waiting[0]
                    successor.leads = True
                else:
                    self._writing = False
            for pending in batch:
                if pending is not leader:
                    pending.ready.set()
            if successor is not None:
                successor.ready.set()

    def _commit(self, batch: Sequence[PendingWrite]) -> None:
        try:
            results = self._write_together(batch)
        except Exception as error:
            if len(batch) == 1:
                batch[0].error, batch[0].done = error, True
                return
            for pending in batch:  # one at a time: each gets its own outcome
                self._commit([pending])
            return
        for pending, result in zip(batch, results, strict=True):
            pending.result, pending.done = result, True


class _GroupCommitted:
    """A recorder whose saves go through its group commit."""

    _group: GroupCommit

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert events (and their context), together with concurrent saves."""
        result: Sequence[int] | None = self._group.write(stored_events, kwargs)
        return result


class SQLiteCoopRecorder(_GroupCommitted, SQLiteApplicationRecorder):
    """SQLite application recorder that also stores the command's context atomically.

    Concurrent saves are group-committed: one transaction (and one fsync) for all of them.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._write_lock = sqlite_write_lock(self.datastore.pool.db_name)
        self._group = GroupCommit(self._write_together)

    def _write_together(self, batch: Sequence[PendingWrite]) -> list[Sequence[int] | None]:
        """Insert every save of `batch` and its context in one transaction, under the lock."""
        with self._write_lock, self.datastore.transaction(commit=True) as c:
            ids = [self._insert_events(c, p.stored_events, **p.kwargs) for p in batch]
            for statement, rows in _context_statements(batch):
                c.executemany(statement.format(p="?", s=""), rows)
        return ids


class PostgresCoopRecorder(_GroupCommitted, PostgresApplicationRecorder):
    """PostgreSQL application recorder that also stores the command's context atomically.

    Concurrent saves are group-committed: one table lock and one commit for all of them.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._group = GroupCommit(self._write_together)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _write_together(self, batch: Sequence[PendingWrite]) -> list[Sequence[int] | None]:
        """Insert every save of `batch` in one transaction (as the parent inserts one save)."""
        stored_events = [s for p in batch for s in p.stored_events]
        error: Exception | None = None
        ids: Sequence[int] | None = None
        with self.datastore.get_connection() as conn:
            with conn.pipeline() as pipeline, conn.transaction():
                with conn.cursor() as curs:
                    for pending in batch:  # a subclass's rows of each save
                        self._insert_events(curs, pending.stored_events, **pending.kwargs)
                    schema = f'"{self.datastore.schema}".'
                    for statement, rows in _context_statements(batch):
                        curs.executemany(statement.format(p="%s", s=schema), rows)
                if stored_events:
                    with conn.cursor() as curs:
                        try:
                            self._insert_stored_events(curs, stored_events)
                            pipeline.sync()  # a constraint violation is raised here
                            ids = self._fetch_ids_after_insert_events(curs, stored_events)
                        except Exception as e:  # raised once the pipeline has exited
                            error = e
            if error is not None:
                raise error
        results: list[Sequence[int] | None] = []
        start = 0
        for pending in batch:
            count = len(pending.stored_events)
            results.append(list(ids[start : start + count]) if ids and count else None)
            start += count
        return results


_SEARCH_PATH = re.compile(r"search_path(?:=|%3D)([A-Za-z_][A-Za-z0-9_]*)")


_SET_SYNCHRONOUS = {
    0: "PRAGMA synchronous=OFF",
    1: "PRAGMA synchronous=NORMAL",
    2: "PRAGMA synchronous=FULL",
    3: "PRAGMA synchronous=EXTRA",
}
_NORMAL = 1


def _synchronous(sqlite: Any, level: int) -> int:
    """Set an SQLite connection's `synchronous` (outside a transaction); return the old one."""
    previous = int(sqlite.execute("PRAGMA synchronous").fetchone()[0])
    sqlite.execute(_SET_SYNCHRONOUS[level])
    return previous


class Database:
    """One service's database: eventsourcing settings and a SQLAlchemy engine, from one URL."""

    def __init__(self, url: str, *, app_name: str, derived: bool = False) -> None:
        """`derived`: the database only holds what consumers rebuild from the streams, so a
        SQLite commit does not wait for the disk (synchronous=NORMAL): a power loss may undo
        the last commits, positions with their effects, and the consumers apply them again.
        Its connections also keep fewer prepared statements."""
        self.url = url
        self.app_name = app_name
        self.derived = derived
        try:
            parsed = sa.engine.make_url(url)
        except sa.exc.ArgumentError:
            raise ConfigurationError(f"not a database URL: {url!r}") from None
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise ConfigurationError("database URLs must be sqlite:///… or postgresql+psycopg://…")
        self._parsed = parsed
        self.schema = "public"
        if self.dialect == "postgresql":
            options = unquote(str(parsed.query.get("options", "")))
            found = _SEARCH_PATH.search(options)
            if found:
                self.schema = found.group(1)
            if parsed.drivername == "postgresql":
                parsed = parsed.set(drivername="postgresql+psycopg")
        self.engine = self._create_engine(parsed)
        self._write_lock = sqlite_write_lock(self.sqlite_path) if self.is_sqlite else None

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded SQLite default."""
        return self.dialect == "sqlite"

    @property
    def sqlite_path(self) -> Path:
        """The SQLite file."""
        return Path(self._parsed.database or "")

    def eventsourcing_env(self) -> dict[str, str]:
        """The environment that points eventsourcing's recorders at this database."""
        if self.is_sqlite:
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.sqlite_path),
                "SQLITE_LOCK_TIMEOUT": "30",
                "APPLICATION_RECORDER_TOPIC": "shared.persistence:SQLiteCoopRecorder",
            }
        p = self._parsed
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": p.database or "",
            "POSTGRES_HOST": p.host or "127.0.0.1",
            "POSTGRES_PORT": str(p.port or 5432),
            "POSTGRES_USER": p.username or "",
            "POSTGRES_PASSWORD": p.password or "",
            "POSTGRES_SCHEMA": self.schema,
            "POSTGRES_POOL_SIZE": "10",
            "POSTGRES_MAX_OVERFLOW": "10",
            "POSTGRES_LOCK_TIMEOUT": "5",
            "APPLICATION_RECORDER_TOPIC": "shared.persistence:PostgresCoopRecorder",
        }

    def _create_engine(self, parsed: sa.URL) -> sa.Engine:
        if self.dialect == "postgresql":
            return sa.create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=10)
        self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        # A derived database's batches vary in size, so each of its big statements is new:
        # keeping 128 of them prepared per connection (sqlite3's default) costs tens of MiB.
        statements = 16 if self.derived else 128
        engine = sa.create_engine(
            parsed,
            connect_args={
                "timeout": 30,
                "check_same_thread": False,
                "cached_statements": statements,
            },
        )

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            if self.derived:
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn: sa.Connection) -> None:
            immediate = conn.get_execution_options().get("coop_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    def create_tables(self, *metadatas: sa.MetaData) -> None:
        """Create the shared tables and the given ones, if missing."""
        if self.dialect == "postgresql" and self.schema != "public":
            with self.engine.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
        with self.writing() as conn:
            for md in (metadata, *metadatas):
                md.create_all(conn)
            migrations.upgrade(
                conn, self.app_name, self.schema if self.dialect != "sqlite" else None
            )

    @contextmanager
    def writing(self, *, durable: bool = True) -> Iterator[sa.Connection]:
        """A write transaction (on SQLite, under the file's write lock, with BEGIN IMMEDIATE).

        `durable=False` is for what is rebuilt from the store after a crash (a local view, a
        relay's position): its commit does not wait for the disk. On SQLite
        (synchronous=NORMAL) the next durable commit, whatever its connection, syncs the
        write-ahead log with it; on PostgreSQL (`synchronous_commit` off for the transaction)
        the server writes it out within a moment. Either way only such trailing commits can
        be lost with the power, never one out of order.
        """
        lock: AbstractContextManager[Any] = self._write_lock or nullcontext()
        with lock, self.engine.connect() as conn:
            sqlite = conn.connection.dbapi_connection
            relaxed = not durable and self.dialect == "sqlite" and not self.derived
            synchronous = _synchronous(sqlite, _NORMAL) if relaxed else None
            try:
                conn = conn.execution_options(coop_write=True)
                with conn.begin():
                    if not durable and self.dialect == "postgresql":
                        conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                    yield conn
            finally:
                if synchronous is not None:
                    _synchronous(sqlite, synchronous)

    @contextmanager
    def reading(self) -> Iterator[sa.Connection]:
        """A read-only transaction."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def claim_holder(self, key: str) -> str | None:
        """The owner of a unique claim, if anyone holds it."""
        table = unique_claims_table
        with self.reading() as conn:
            return conn.execute(
                sa.select(table.c.owner).where(table.c.claim_key == key)
            ).scalar_one_or_none()

    def ping(self) -> bool:
        """True when the database answers."""
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def load_position(conn: sa.Connection, name: str) -> int:
    """The last position a follower (relay, consumer, local view) has recorded."""
    row = conn.execute(
        sa.select(tracking_table.c.position).where(tracking_table.c.name == name)
    ).first()
    return int(row[0]) if row else 0


def save_position(conn: sa.Connection, name: str, position: int) -> None:
    """Record a follower's position (inside the caller's transaction)."""
    updated = conn.execute(
        sa.update(tracking_table).where(tracking_table.c.name == name).values(position=position)
    )
    if updated.rowcount == 0:
        conn.execute(sa.insert(tracking_table).values(name=name, position=position))


def now() -> float:
    """Seconds since the epoch (a seam for tests)."""
    return time.time()
