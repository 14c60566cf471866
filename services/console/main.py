"""Composition root of the staff console: settings → sessions, service clients, pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI

from services.console.app import create_console
from services.console.sessions import Sessions
from services.console.settings import ConsoleSettings
from shared.runtime import ensure_port_free
from shared.settings import ServiceSettings


@dataclass
class ConsoleService:
    """The console as `coop serve console` and `coop up` run it."""

    settings: ConsoleSettings
    api: FastAPI = field(init=False)
    closers: list[Callable[[], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.api = create_console(self.settings)

    @property
    def database(self) -> Sessions:
        """The sign-in sessions' table, the only thing the console stores."""
        sessions: Sessions = self.api.state.console.sessions
        return sessions

    def serve(self) -> None:
        """Serve the console in the foreground until SIGINT/SIGTERM."""
        settings = self.settings
        ensure_port_free(settings.console_host, settings.console_port, "console")
        uvicorn.run(
            self.api,
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
