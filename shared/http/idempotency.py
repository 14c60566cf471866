"""Idempotency keys: a repeated command answers as the first did, for 24 hours.

Records are stored in the service's own database, keyed by an HMAC of the key, with an HMAC
fingerprint of the request (method, path, canonical body): never a request body in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from fastapi import Header, Request
from fastapi.responses import JSONResponse

from shared.http.edge import edge_of
from shared.persistence import Database, IdempotencyRecord, idempotency_table, now
from shared.problems import invalid

IDEMPOTENCY_TTL_SECONDS = 24 * 3600
IDEMPOTENCY_HEADER = Header(
    alias="Idempotency-Key", json_schema_extra={"minLength": 1, "maxLength": 255}
)


@dataclass
class IdempotentRequest:
    """A POST's `Idempotency-Key`, its request fingerprint and what was answered before."""

    database: Database
    key_hash: str
    fingerprint: str
    previous: IdempotencyRecord | None

    def record(self, status: int, resource: str) -> IdempotencyRecord:
        """The record to store in the same transaction as the command's events."""
        return IdempotencyRecord(self.key_hash, self.fingerprint, status, resource, now())

    def remember(self, status: int, resource: str) -> None:
        """Store the record of an answer that recorded no event."""
        row = self.record(status, resource)
        try:
            with self.database.writing() as conn:
                conn.execute(sa.insert(idempotency_table).values(**row.__dict__))
        except sa.exc.IntegrityError:
            pass  # a concurrent twin stored it first: same fingerprint, same outcome

    def stored(self) -> IdempotencyRecord | None:
        """The record as stored now (after a concurrent twin won the race)."""
        return _load_record(self.database, self.key_hash)


def _load_record(database: Database, key_hash: str) -> IdempotencyRecord | None:
    table = idempotency_table
    with database.reading() as conn:
        row = conn.execute(sa.select(table).where(table.c.key_hash == key_hash)).first()
    if row is None or row.created_at < now() - IDEMPOTENCY_TTL_SECONDS:
        return None
    return IdempotencyRecord(
        row.key_hash, row.fingerprint, row.status, row.resource, row.created_at
    )


def _expire(database: Database, key_hash: str) -> None:
    table = idempotency_table
    with database.writing() as conn:
        conn.execute(
            sa.delete(table).where(
                table.c.key_hash == key_hash,
                table.c.created_at < now() - IDEMPOTENCY_TTL_SECONDS,
            )
        )


def sweep_idempotency_records(database: Database) -> int:
    """Delete every idempotency record older than 24 h; returns how many went."""
    table = idempotency_table
    with database.writing(durable=False) as conn:
        result = conn.execute(
            sa.delete(table).where(table.c.created_at < now() - IDEMPOTENCY_TTL_SECONDS)
        )
    return int(result.rowcount or 0)


def idempotent_request(request: Request, raw: bytes) -> IdempotentRequest | None:
    """The request's `Idempotency-Key` with its fingerprint and earlier answer (None without).

    422 when the key is not 1 to 255 characters, or was used with another request.
    """
    idempotency_key = request.headers.get("idempotency-key")
    if idempotency_key is None:
        return None
    if not 1 <= len(idempotency_key) <= 255:
        raise invalid("Idempotency-Key", "must be 1 to 255 characters")
    database = edge_of(request).database
    try:
        canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"))
    except (ValueError, RecursionError):
        canonical = raw.decode("utf-8", "replace")
    secret = edge_of(request).secret
    fingerprint = hmac.new(
        secret, f"{request.method}\n{request.url.path}\n{canonical}".encode(), hashlib.sha256
    ).hexdigest()
    key_hash = hmac.new(secret, idempotency_key.encode(), hashlib.sha256).hexdigest()
    previous = _load_record(database, key_hash)
    if previous is None:
        _expire(database, key_hash)
    elif previous.fingerprint != fingerprint:
        raise invalid(
            "Idempotency-Key",
            "this key was used with another request",
            slug="idempotency-key-reused",
        )
    return IdempotentRequest(database, key_hash, fingerprint, previous)


def replayed(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    """The answer to a repeated idempotent request."""
    return JSONResponse(
        body, status_code=status, headers={**(headers or {}), "Idempotent-Replayed": "true"}
    )
