"""Composition root of the staff console: settings → sessions, service clients, pages."""

from __future__ import annotations

from dataclasses import dataclass

import uvicorn

from services.console.app import create_console
from services.console.settings import ConsoleSettings
from shared.runtime import ensure_port_free
from shared.settings import ServiceSettings


@dataclass
class ConsoleService:
    """The console as `coop serve console` and `coop up` run it."""

    settings: ConsoleSettings

    def serve(self) -> None:
        """Serve the console in the foreground until SIGINT/SIGTERM."""
        settings = self.settings
        ensure_port_free(settings.console_host, settings.console_port, "console")
        uvicorn.run(
            create_console(settings),
            host=settings.console_host,
            port=settings.console_port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=5,
        )


def build(settings: ServiceSettings) -> ConsoleService:
    """Wire the console from the shared service settings and its own (`COOP_CONSOLE_*`)."""
    own = ConsoleSettings()
    return ConsoleService(
        own.model_copy(
            update={
                "console_host": settings.host,
                "console_port": settings.port,
                "data_dir": settings.data_dir,
            }
        )
    )


if __name__ == "__main__":
    ConsoleService(ConsoleSettings()).serve()
