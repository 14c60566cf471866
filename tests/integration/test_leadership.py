"""One active follower per name: a PostgreSQL advisory lock elects it; SQLite always leads."""

from __future__ import annotations

import asyncio
from pathlib import Path

from shared.leadership import AdvisoryLock, SoleInstance, leadership
from shared.persistence import Database


async def test_only_one_instance_leads_until_it_releases_or_its_session_dies(
    postgres_database_url: str,
) -> None:
    first_db = Database(postgres_database_url, app_name="membership")
    second_db = Database(postgres_database_url, app_name="membership")
    first = AdvisoryLock(first_db, "relay:COOP_MEMBERSHIP", retry=0.05, check_every=0.0)
    second = AdvisoryLock(second_db, "relay:COOP_MEMBERSHIP", retry=0.05, check_every=0.0)
    try:
        await first.acquire()
        assert await first.held()
        waiting = asyncio.create_task(second.acquire())
        await asyncio.sleep(0.3)
        assert not waiting.done()

        await first.release()
        await asyncio.wait_for(waiting, 5)
        assert await second.held()
        assert not await first.held()
    finally:
        await first.release()
        await second.release()
        first_db.dispose()
        second_db.dispose()


async def test_different_followers_lead_independently(postgres_database_url: str) -> None:
    database = Database(postgres_database_url, app_name="membership")
    relay = AdvisoryLock(database, "relay:COOP_MEMBERSHIP")
    consumer = AdvisoryLock(database, "consumer:COOP_MEMBERSHIP:events-membership")
    try:
        await asyncio.wait_for(relay.acquire(), 5)
        await asyncio.wait_for(consumer.acquire(), 5)
        assert await relay.held() and await consumer.held()
    finally:
        await relay.release()
        await consumer.release()
        database.dispose()


def test_the_embedded_sqlite_default_always_leads(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}", app_name="membership")
    assert isinstance(leadership(database, "relay:COOP_MEMBERSHIP"), SoleInstance)
    database.dispose()
