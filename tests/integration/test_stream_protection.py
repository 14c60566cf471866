"""The streams are the history projections replay: no message deleted, no purge (Hardening)."""

from __future__ import annotations

import pytest
from nats.js.errors import APIError

from shared.contracts.membership import MEMBERSHIP
from shared.messaging import Messaging
from tests.support import NatsServer


async def test_a_stream_refuses_deleting_a_message_and_purging(nats_server: NatsServer) -> None:
    messaging = Messaging(nats_server.url, name="coop-test")
    await messaging.connect()
    try:
        info = await messaging.ensure_stream(MEMBERSHIP)
        assert info.config.deny_delete and info.config.deny_purge
        js = await messaging.jetstream()
        ack = await js.publish("coop.membership.CoopJoined", b"{}")
        with pytest.raises(APIError):
            await js.delete_msg(MEMBERSHIP.stream, ack.seq)
        with pytest.raises(APIError):
            await js.purge_stream(MEMBERSHIP.stream)
        assert (await js.stream_info(MEMBERSHIP.stream)).state.messages == 1
    finally:
        await messaging.close()


async def test_an_existing_stream_is_brought_under_protection(nats_server: NatsServer) -> None:
    messaging = Messaging(nats_server.url, name="coop-test")
    await messaging.connect()
    try:
        js = await messaging.jetstream()
        await js.add_stream(name=MEMBERSHIP.stream, subjects=MEMBERSHIP.subjects)
        info = await messaging.ensure_stream(MEMBERSHIP)
        assert info.config.deny_delete and info.config.deny_purge
    finally:
        await messaging.close()
