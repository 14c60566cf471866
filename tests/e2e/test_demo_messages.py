"""Every message on the streams after `coop demo` is what its AsyncAPI document says (§7, §15)."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx
import jsonschema
import nats
import pytest

from tests.e2e.test_demo import demo  # noqa: F401  (the running demo, a module fixture)

pytestmark = pytest.mark.e2e

PUBLISHERS = ("membership", "events", "ambassadors")


def validator(document: dict[str, Any], reference: str) -> Any:
    """A validator of one schema of the document, its `$ref`s resolved within the document."""
    schema = {"components": document["components"], "$ref": reference}
    return jsonschema.Draft202012Validator(schema)


async def stream_messages(url: str, stream: str) -> list[Any]:
    """Every message of a stream, from its first sequence to its last."""
    connection = await nats.connect(url)
    try:
        jetstream = connection.jetstream()
        info = await jetstream.stream_info(stream)
        return [
            await jetstream.get_msg(stream, sequence)
            for sequence in range(info.state.first_seq, info.state.last_seq + 1)
        ]
    finally:
        await connection.close()


def refusals(document: dict[str, Any], message: Any) -> list[str]:
    """Why a message does not match any message its channel documents (empty when it does)."""
    channels = [c for c in document["channels"].values() if c["address"] == message.subject]
    if not channels:
        return [f"{message.subject}: no channel"]
    found: list[str] = []
    for reference in channels[0]["messages"].values():
        described = document["components"]["messages"][reference["$ref"].rpartition("/")[2]]
        body = json.loads(message.data)
        errors = [
            e.message for e in validator(document, described["payload"]["$ref"]).iter_errors(body)
        ]
        headers = jsonschema.Draft202012Validator(described["headers"])
        errors += [e.message for e in headers.iter_errors(dict(message.headers or {}))]
        if not errors:
            return []
        found += errors
    return found


def test_every_message_after_the_demo_validates_against_its_asyncapi_document(
    demo: dict[str, str],  # noqa: F811
) -> None:
    nats_url = re.search(r"nats://127\.0\.0\.1:\d+", demo["printed"])
    assert nats_url is not None
    for service in PUBLISHERS:
        document = httpx.get(f"{demo[service]}/asyncapi.json", timeout=10).json()
        messages = asyncio.run(stream_messages(nats_url.group(0), document["info"]["x-stream"]))
        assert messages, service
        problems = {m.seq: refusals(document, m) for m in messages}
        assert {seq: why for seq, why in problems.items() if why} == {}, service
