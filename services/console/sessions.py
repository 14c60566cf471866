"""Sign-in sessions kept server-side: the staff member's token never leaves the console.

The browser holds only a signed, random session id (cookie `HttpOnly`, `SameSite=Strict`,
`Secure` over HTTPS). A session ends on sign-out or after its idle time.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa
from itsdangerous import BadSignature, URLSafeSerializer

metadata = sa.MetaData()
sessions_table = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("token", sa.Text, nullable=False),
    sa.Column("scopes", sa.Text, nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("last_seen", sa.Float, nullable=False),
)


@dataclass(frozen=True)
class StaffSession:
    """A signed-in staff member: their token, what it may do, the forms' CSRF token."""

    id: str
    token: str
    scopes: frozenset[str]
    csrf: str

    def can(self, scope: str) -> bool:
        """True when the token carries the scope."""
        return scope in self.scopes

    def csrf_matches(self, submitted: str | None) -> bool:
        """True when a form carries this session's CSRF token."""
        return bool(submitted) and hmac.compare_digest(self.csrf, submitted or "")


class Sessions:
    """The sessions table and the cookie that names a row of it."""

    COOKIE = "coop_session"

    def __init__(self, database_url: str, signing_key: str, idle_seconds: float) -> None:
        self.engine = sa.create_engine(database_url)
        metadata.create_all(self.engine)
        self.serializer = URLSafeSerializer(signing_key, salt="console-session")
        self.idle_seconds = idle_seconds

    def open(self, token: str, scopes: list[str]) -> tuple[StaffSession, str]:
        """A new session for a token; returns it and the cookie value."""
        session = StaffSession(
            secrets.token_urlsafe(32), token, frozenset(scopes), secrets.token_urlsafe(32)
        )
        with self.engine.begin() as conn:
            conn.execute(
                sessions_table.insert().values(
                    id=session.id,
                    token=token,
                    scopes=json.dumps(sorted(scopes)),
                    csrf=session.csrf,
                    last_seen=time.time(),
                )
            )
        return session, self.serializer.dumps(session.id)

    def find(self, cookie: str | None) -> StaffSession | None:
        """The live session a cookie names (its idle clock restarted), or None."""
        if not cookie:
            return None
        try:
            session_id = self.serializer.loads(cookie)
        except BadSignature:
            return None
        now = time.time()
        table = sessions_table
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(table).where(table.c.id == session_id)).first()
            if row is None:
                return None
            if now - row.last_seen > self.idle_seconds:
                conn.execute(table.delete().where(table.c.id == session_id))
                return None
            conn.execute(table.update().where(table.c.id == session_id).values(last_seen=now))
        return StaffSession(row.id, row.token, frozenset(json.loads(row.scopes)), row.csrf)

    def close(self, session: StaffSession) -> None:
        """Sign out: the session row is deleted."""
        with self.engine.begin() as conn:
            conn.execute(sessions_table.delete().where(sessions_table.c.id == session.id))

    def ping(self) -> bool:
        """True when the sessions table answers."""
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.select(sa.func.count()).select_from(sessions_table))
            return True
        except sa.exc.SQLAlchemyError:
            return False

    def dispose(self) -> None:
        """Close the sessions table's connections."""
        self.engine.dispose()

    def sweep(self) -> None:
        """Delete sessions idle for too long."""
        limit = time.time() - self.idle_seconds
        with self.engine.begin() as conn:
            conn.execute(sessions_table.delete().where(sessions_table.c.last_seen < limit))
