"""The integration documents of every service, as the code generates them (`make api-docs`).

`docs/api/<service>.openapi.json` for every service and `docs/api/<service>.asyncapi.json` for
every publishing one; a test fails when a kept document differs from what the code generates.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from services.registry import apis, builder
from shared.asyncapi import asyncapi_document, contract_of
from shared.settings import ServiceSettings

DOCS = Path(__file__).resolve().parent.parent / "docs" / "api"


def openapi_document(service: str) -> dict[str, Any]:
    """The OpenAPI a service serves, from its composition root on a throwaway store."""
    with tempfile.TemporaryDirectory() as data_dir:
        settings = ServiceSettings.from_env(service, {"COOP_DATA_DIR": data_dir})
        built = builder(service)(settings)
        assert built.api is not None
        try:
            document: dict[str, Any] = built.api.openapi()
        finally:
            for close in built.closers:
                close()
            built.database.dispose()
    return document


def documents() -> dict[str, dict[str, Any]]:
    """File name → document, for every service's OpenAPI and every publisher's AsyncAPI."""
    found: dict[str, dict[str, Any]] = {}
    for service in apis():
        found[f"{service}.openapi.json"] = openapi_document(service)
        contract = contract_of(service)
        if contract is not None:
            found[f"{service}.asyncapi.json"] = asyncapi_document(contract)
    return found


def serialized(document: dict[str, Any]) -> str:
    """A document as kept: sorted keys, two-space indents, UTF-8."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write every document under the given directory (docs/api by default)."""
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else DOCS
    target.mkdir(parents=True, exist_ok=True)
    for name, document in documents().items():
        (target / name).write_text(serialized(document), encoding="utf-8")
        print(target / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
