"""Idempotency records keep no plain digest of a request, and expire for good (Hardening, 7)."""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import stat
import time
from pathlib import Path

import pytest

from shared.http import IDEMPOTENCY_TTL_SECONDS, sweep_idempotency_records
from shared.persistence import Database, IdempotencyRecord, idempotency_table
from shared.settings import ServiceSettings, installation_secret
from tests.support import NatsServer, ServiceProcess

SECRET = "a-secret-of-this-installation"


@pytest.mark.e2e
def test_a_stored_key_and_fingerprint_are_hmacs_with_the_installation_secret(
    tmp_path: Path,
) -> None:
    nats = NatsServer(tmp_path / "nats").start()
    service = ServiceProcess("membership", tmp_path / "m", nats.url, COOP_SECRET_KEY=SECRET)
    try:
        service.start()
        with service.client() as http:
            answer = http.post(
                "/v1/cooperatives",
                json={"name": "Coop Secrète", "region": "06", "sector": "design",
                      "worker_members": 2, "joined_on": "2023-01-01"},
                headers={"Idempotency-Key": "my-key"},
            )  # fmt: skip
        assert answer.status_code == 201
    finally:
        service.stop()
        nats.stop()
    with sqlite3.connect(tmp_path / "m" / "membership.sqlite3") as db:
        [(key_hash, fingerprint)] = db.execute(
            f"SELECT key_hash, fingerprint FROM {idempotency_table.name}"
        ).fetchall()
    assert key_hash == hmac.new(SECRET.encode(), b"my-key", hashlib.sha256).hexdigest()
    assert key_hash != hashlib.sha256(b"my-key").hexdigest()
    assert "Coop" not in fingerprint and len(fingerprint) == 64


def test_the_installation_secret_is_generated_once_and_readable_by_its_owner_only(
    tmp_path: Path,
) -> None:
    settings = ServiceSettings.from_env("membership", {"COOP_DATA_DIR": str(tmp_path)})
    first = installation_secret(settings)
    assert installation_secret(settings) == first
    assert stat.S_IMODE((tmp_path / "secret.key").stat().st_mode) == 0o600
    given = ServiceSettings.from_env("membership", {"COOP_SECRET_KEY": SECRET})
    assert installation_secret(given) == SECRET.encode()


def test_the_sweep_deletes_every_expired_record_and_keeps_the_others(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'db.sqlite3'}", app_name="membership")
    database.create_tables()
    old = time.time() - IDEMPOTENCY_TTL_SECONDS - 60
    with database.writing() as conn:
        for key, created in (("old-1", old), ("old-2", old), ("fresh", time.time())):
            record = IdempotencyRecord(key, "fingerprint", 201, "resource", created)
            conn.execute(idempotency_table.insert().values(**record.__dict__))
    assert sweep_idempotency_records(database) == 2
    with database.reading() as conn:
        kept = [row.key_hash for row in conn.execute(idempotency_table.select())]
    assert kept == ["fresh"]
