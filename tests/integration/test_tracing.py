"""One command, one trace: HTTP request, event store, NATS publish and the reporting consumer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services import registry
from shared.settings import ServiceSettings
from tests.support import AUTH, NatsServer

EXPORTER = InMemorySpanExporter()


def _install_tracing() -> None:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(EXPORTER))


async def test_one_command_yields_one_trace_from_http_through_store_publish_and_projection(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    _install_tracing()
    environ = {"COOP_DATA_DIR": str(tmp_path), "COOP_NATS_URL": nats_server.url}
    membership = registry.builder("membership")(ServiceSettings.from_env("membership", environ))
    reporting = registry.builder("reporting")(ServiceSettings.from_env("reporting", environ))
    assert membership.api is not None
    await membership.start()
    await reporting.start()
    try:
        transport = httpx.ASGITransport(app=membership.api)
        async with httpx.AsyncClient(transport=transport, base_url="http://membership") as client:
            created = await client.post(
                "/v1/cooperatives",
                headers=AUTH,
                json={
                    "name": "Coop du Traçage",
                    "region": "03",
                    "sector": "informatique",
                    "worker_members": 4,
                    "joined_on": "2024-01-10",
                },
            )
        assert created.status_code == 201

        def applied() -> list[str]:
            return [s.name for s in EXPORTER.get_finished_spans() if s.name.startswith("apply")]

        for _ in range(200):
            if applied():
                break
            await asyncio.sleep(0.05)
    finally:
        await reporting.stop()
        await membership.stop()

    spans = EXPORTER.get_finished_spans()
    server = next(s for s in spans if s.name.startswith("POST /v1/cooperatives"))
    trace_id = server.context.trace_id
    names = {s.name for s in spans if s.context.trace_id == trace_id}
    assert "store membership" in names
    assert "publish CoopJoined" in names
    assert "apply CoopJoined" in names
