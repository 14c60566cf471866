"""OpenTelemetry bootstrap and the spans that follow a command across services.

Tracing is configured by the standard `OTEL_*` variables; with none set, the no-op tracer
costs nothing. Trace context travels in the stored event's context row and in the NATS
`traceparent` header.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context, propagate, trace
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.trace import SpanKind

_TRACER = "reseau-coop"


def setup_telemetry(service: str, environ: Mapping[str, str] | None = None) -> bool:
    """Install an SDK tracer provider when `OTEL_*` asks for one; return whether it did."""
    env = os.environ if environ is None else environ
    exporter = env.get("OTEL_TRACES_EXPORTER", "")
    endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    )
    if exporter in ("", "none") and not endpoint:
        return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": env.get("OTEL_SERVICE_NAME") or f"coop-{service}"}
        )
    )
    if exporter == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return True


def is_enabled() -> bool:
    """True when an SDK tracer provider is installed (by `setup_telemetry` or a test)."""
    return isinstance(trace.get_tracer_provider(), SdkTracerProvider)


def instrument_api(app: Any) -> None:
    """Trace every HTTP request of a FastAPI app, when tracing is on (no cost otherwise)."""
    if is_enabled():
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")


def tracer() -> trace.Tracer:
    """The platform's tracer."""
    return trace.get_tracer(_TRACER)


def current_traceparent() -> str | None:
    """The W3C traceparent of the active span, if one is recording."""
    if not is_enabled():
        return None
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def publish_span(parent: str | None, event_type: str) -> str | None:
    """Record the publish of one event under the command's trace; return the header to send."""
    if not is_enabled():
        return parent
    parent_context = propagate.extract({"traceparent": parent} if parent else {})
    with tracer().start_as_current_span(
        f"publish {event_type}", context=parent_context, kind=SpanKind.PRODUCER
    ):
        return current_traceparent() or parent


@contextmanager
def consumer_span(name: str, headers: Mapping[str, str] | None) -> Iterator[None]:
    """A span for applying one message, child of the publisher's span."""
    if not is_enabled():
        yield
        return
    parent_context = propagate.extract(dict(headers or {}))
    token = context.attach(parent_context)
    try:
        with tracer().start_as_current_span(name, kind=SpanKind.CONSUMER):
            yield
    finally:
        context.detach(token)
