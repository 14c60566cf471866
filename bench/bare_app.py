"""The baseline HTTP server: a bare FastAPI JSON endpoint under uvicorn, as the services run.

Same uvicorn settings as `shared.runtime.Service.serve` (uvloop and httptools when installed,
no access log), a synchronous route with a pydantic body like the services' command routes,
and nothing else: no auth, no store, no NATS. Run: `python -m bench.bare_app PORT`.
"""

from __future__ import annotations

import sys
import uuid
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel


class Item(BaseModel):
    """The body the load generator sends (the shape of a cooperative's join)."""

    name: str
    region: str
    sector: str
    worker_members: int
    joined_on: str
    neq: str | None = None


def create_app() -> FastAPI:
    """The bare app: POST /items (201 + JSON) and GET /items (200 + JSON)."""
    app = FastAPI()

    @app.post("/items", status_code=201)
    def create(item: Item) -> JSONResponse:
        body = {"id": str(uuid.uuid4()), **item.model_dump(), "version": 1}
        return JSONResponse(body, status_code=201, headers={"Location": f"/items/{body['id']}"})

    @app.get("/items")
    def read() -> dict[str, Any]:
        return {"items": [{"id": str(uuid.uuid4()), "value": n} for n in range(25)]}

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    return app


def main() -> None:
    """Serve on 127.0.0.1:PORT until SIGTERM."""
    port = int(sys.argv[1])
    config = uvicorn.Config(
        create_app(), host="127.0.0.1", port=port, log_config=None, access_log=False
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
