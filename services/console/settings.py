"""The console's settings, from the environment (pydantic-settings)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICE_PORTS = {
    "membership": 8001,
    "events": 8002,
    "ambassadors": 8003,
    "reporting": 8004,
    "partnerships": 8005,
}


class ConsoleSettings(BaseSettings):
    """Where the console listens, where the services answer, how sessions are kept."""

    model_config = SettingsConfigDict(env_prefix="COOP_", extra="ignore")

    console_host: str = Field(default="127.0.0.1", description="address the console listens on")
    console_port: int = Field(default=8000, ge=1, le=65535, description="port of the console")
    data_dir: Path = Field(default=Path("./var"), description="where the sessions file lives")
    console_database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the sessions table (default: SQLite in the data dir)",
    )
    secret_key: str | None = Field(
        default=None,
        description="key signing the session cookie (default: generated in the data dir)",
    )
    console_idle_minutes: int = Field(
        default=480, ge=1, description="a session ends after this idle time"
    )
    membership_url: str | None = None
    events_url: str | None = None
    ambassadors_url: str | None = None
    reporting_url: str | None = None
    partnerships_url: str | None = None
    membership_port: int = SERVICE_PORTS["membership"]
    events_port: int = SERVICE_PORTS["events"]
    ambassadors_port: int = SERVICE_PORTS["ambassadors"]
    reporting_port: int = SERVICE_PORTS["reporting"]
    partnerships_port: int = SERVICE_PORTS["partnerships"]

    def service_url(self, service: str) -> str:
        """A service's base URL: `COOP_<SERVICE>_URL`, else 127.0.0.1 and its port."""
        explicit: str | None = getattr(self, f"{service}_url")
        if explicit:
            return explicit.rstrip("/")
        return f"http://127.0.0.1:{getattr(self, f'{service}_port')}"

    def database_url(self) -> str:
        """The sessions table's database."""
        if self.console_database_url:
            return self.console_database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'console.sqlite3').resolve()}"

    def signing_key(self) -> str:
        """`COOP_SECRET_KEY`, else a key generated once into the data dir."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "console.key"
        if not path.exists():
            import secrets

            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
