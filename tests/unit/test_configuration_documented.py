"""Every environment variable the code reads is in the README's configuration (§1, §8).

The variables are found where the code reads them — `env.get("COOP_…")`, `environ[…]`, the
f-strings of per-service names (`COOP_{name}_PORT` is documented as `COOP_<SERVICE>_PORT`) —
and from the console's pydantic-settings class, whose fields are its variables.
"""

from __future__ import annotations

import re
from pathlib import Path

from services.console.settings import ConsoleSettings

ROOT = Path(__file__).resolve().parents[2]
READS = re.compile(r"""(?:environ|env)(?:\.get\(|\[|,)\s*f?["'](COOP_[A-Za-z0-9_{}.()]+)["']""")
PER_SERVICE = re.compile(r"\{[^}]*\}")


def variables_read_by_the_code() -> set[str]:
    found: set[str] = set()
    for source in [*ROOT.glob("services/**/*.py"), *ROOT.glob("shared/**/*.py")]:
        for name in READS.findall(source.read_text(encoding="utf-8")):
            found.add(PER_SERVICE.sub("<SERVICE>", name))
    prefix = ConsoleSettings.model_config.get("env_prefix", "")
    for field in ConsoleSettings.model_fields:
        found.add(f"{prefix}{field}".upper())
    return found


def test_the_code_reads_the_variables_of_the_contract() -> None:
    found = variables_read_by_the_code()

    assert {"COOP_DATA_DIR", "COOP_NATS_URL", "COOP_API_TOKENS", "COOP_ENV"} <= found
    assert {"COOP_<SERVICE>_PORT", "COOP_<SERVICE>_DATABASE_URL", "COOP_<SERVICE>_URL"} <= found


def test_every_variable_the_code_reads_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    per_service = re.compile(r"COOP_(MEMBERSHIP|EVENTS|AMBASSADORS|REPORTING|PARTNERSHIPS)_")

    missing = sorted(
        name
        for name in variables_read_by_the_code()
        if f"`{name}`" not in readme
        and not (
            per_service.match(name) and f"`{per_service.sub('COOP_<SERVICE>_', name)}`" in readme
        )
    )

    assert missing == []
