"""Composition root of the staff console: settings → sessions, service clients, pages."""

from __future__ import annotations

import uvicorn

from services.console.app import create_console
from services.console.settings import ConsoleSettings


def serve(settings: ConsoleSettings | None = None) -> None:
    """Serve the console in the foreground until SIGINT/SIGTERM."""
    settings = settings or ConsoleSettings()
    uvicorn.run(
        create_console(settings),
        host=settings.console_host,
        port=settings.console_port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    serve()
