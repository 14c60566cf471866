"""The membership service's HTTP API (contract §1, §2), against a real `coop serve` process."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlparse
from uuid import UUID, uuid4, uuid5

import httpx
import pytest

from services.membership.domain import SECTOR_NAMESPACE
from tests.support import NatsServer, ServiceProcess

pytestmark = pytest.mark.e2e

ADMIN = "membership-admin-token"
READER = "membership-reader-token"
WRITER = "membership-writer-only-token"
TOKENS = {
    ADMIN: ["read", "membership:write"],
    READER: ["read"],
    f"sha256:{hashlib.sha256(WRITER.encode()).hexdigest()}": ["membership:write"],
}
NOT_A_UUID = "not-a-uuid"
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """One membership process for the module, with a token table of three tokens."""
    root = tmp_path_factory.mktemp("membership-api")
    nats = NatsServer(root / "nats").start()
    process = ServiceProcess(
        "membership", root / "membership", nats.url, COOP_API_TOKENS=json.dumps(TOKENS)
    )
    try:
        yield process.start()
    finally:
        process.stop()
        nats.stop()


@pytest.fixture(autouse=True)
def no_unhandled_error(service: ServiceProcess) -> Iterator[None]:
    """No request of a test may end in an unhandled error (a 500) in the service."""
    before = service.log_path.stat().st_size
    yield
    with service.log_path.open("rb") as log:
        log.seek(before)
        written = log.read().decode("utf-8", "replace")
    assert "unhandled error" not in written, written[-3000:]
    assert "Exception in ASGI application" not in written, written[-3000:]


@pytest.fixture
def api(service: ServiceProcess) -> Iterator[httpx.Client]:
    with service.client(ADMIN) as client:
        yield client


@pytest.fixture
def anonymous(service: ServiceProcess) -> Iterator[httpx.Client]:
    with service.client(None) as client:
        yield client


def slug(api: httpx.Client) -> str:
    """A sector no other test uses, so that lists can be filtered down to one test's data."""
    sector = f"secteur-{uuid4().hex[:10]}"
    label = {"fr": f"Secteur {sector}", "en": f"Sector {sector}"}
    response = api.put(f"/v1/sectors/{sector}", json={"label": label})
    assert response.status_code == 200, response.text
    return sector


def body(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Coop de travail Exemple",
        "region": "06",
        "sector": "microbrasserie",
        "worker_members": 12,
        "joined_on": "2023-05-14",
        **overrides,
    }


def create(api: httpx.Client, **overrides: Any) -> dict[str, Any]:
    response = api.post("/v1/cooperatives", json=body(**overrides))
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 answer of `status`; return its document."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    document: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= document.keys()
    assert document["status"] == status
    assert urlparse(document["type"]).scheme in ("http", "https")
    assert urlparse(document["type"]).netloc
    assert isinstance(document["title"], str) and document["title"]
    assert isinstance(document["detail"], str) and document["detail"]
    assert "Traceback" not in response.text
    if status == 422:
        assert document["errors"], document
        assert all(set(e) == {"field", "message"} for e in document["errors"])
    return document


def fields_of(document: dict[str, Any]) -> set[str]:
    return {e["field"] for e in document["errors"]}


def listed(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = api.get("/v1/cooperatives", params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def history(api: httpx.Client, cooperative_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/v1/cooperatives/{cooperative_id}/history")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def cursor_of(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# --- the resource and its endpoints (§2) ---------------------------------------------------


def test_creating_a_cooperative_answers_201_with_location_etag_and_the_resource(
    api: httpx.Client,
) -> None:
    response = api.post("/v1/cooperatives", json=body(neq=None))

    assert response.status_code == 201
    document = response.json()
    assert UUID(document["id"])
    assert response.headers["Location"].endswith(f"/v1/cooperatives/{document['id']}")
    assert response.headers["ETag"] == '"1"'
    assert document == {
        "id": document["id"],
        "name": "Coop de travail Exemple",
        "neq": None,
        "region": "06",
        "sector": "microbrasserie",
        "worker_members": 12,
        "joined_on": "2023-05-14",
        "left_on": None,
        "periods": [{"start": "2023-05-14", "end": None}],
        "status": "active",
        "external_ref": None,
        "version": 1,
    }


def test_a_cooperative_reads_back_with_its_etag(api: httpx.Client) -> None:
    created = create(api, neq=f"9{uuid4().int % 10**9:09d}", joined_on="2031-01-01")

    response = api.get(f"/v1/cooperatives/{created['id']}")

    assert response.status_code == 200
    assert response.json() == created
    assert response.headers["ETag"] == '"1"'


def test_an_unknown_cooperative_is_404(api: httpx.Client) -> None:
    unknown = uuid4()

    problem(api.get(f"/v1/cooperatives/{unknown}"), 404)
    problem(api.get(f"/v1/cooperatives/{unknown}/history"), 404)
    problem(api.patch(f"/v1/cooperatives/{unknown}", json={"name": "x"}), 404)
    problem(api.post(f"/v1/cooperatives/{unknown}/departure", json={"left_on": "2024-01-01"}), 404)
    problem(
        api.post(f"/v1/cooperatives/{unknown}/readmission", json={"rejoined_on": "2024-01-01"}),
        404,
    )


def test_lists_filter_by_status_region_and_sector(api: httpx.Client) -> None:
    sector = slug(api)
    a = create(api, sector=sector, region="01")
    b = create(api, sector=sector, region="06")
    c = create(api, sector=sector, region="06")
    left = api.post(f"/v1/cooperatives/{c['id']}/departure", json={"left_on": "2024-01-01"})
    assert left.status_code == 200

    def ids(**params: str) -> list[str]:
        return [item["id"] for item in listed(api, sector=sector, **params)]

    assert ids() == [a["id"], b["id"], c["id"]]
    assert ids(status="active") == [a["id"], b["id"]]
    assert ids(status="left") == [c["id"]]
    assert ids(region="06") == [b["id"], c["id"]]
    assert ids(region="06", status="active") == [b["id"]]
    assert ids(region="17") == []
    assert listed(api, sector=sector, status="left")[0]["left_on"] == "2024-01-01"


def test_an_empty_filter_value_means_no_filter(api: httpx.Client) -> None:
    create(api, sector=slug(api))

    unfiltered = listed(api)

    assert listed(api, status="", region="", sector="") == unfiltered
    assert len(unfiltered) >= 1


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("status", "gone"),
        ("status", "ACTIVE"),
        ("region", "18"),
        ("region", "6"),
        ("sector", "Pas Un Slug"),
    ],
)
def test_an_invalid_filter_value_is_422(api: httpx.Client, name: str, value: str) -> None:
    document = problem(api.get("/v1/cooperatives", params={name: value}), 422)

    assert fields_of(document) == {name}


def test_lists_page_in_creation_order_with_limit_and_cursor(api: httpx.Client) -> None:
    sector = slug(api)
    created = [create(api, sector=sector, name=f"Coop {n}")["id"] for n in range(5)]

    seen: list[str] = []
    pages = 0
    params: dict[str, Any] = {"sector": sector, "limit": 2}
    while True:
        response = api.get("/v1/cooperatives", params=params)
        assert response.status_code == 200
        page = response.json()
        assert set(page) == {"items", "next_cursor"}
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        pages += 1
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]

    assert seen == created
    assert pages == 3


def test_the_default_page_holds_100_items(api: httpx.Client) -> None:
    for _ in range(max(0, 101 - len(listed(api)))):
        create(api)

    response = api.get("/v1/cooperatives")

    assert response.status_code == 200
    assert len(response.json()["items"]) == 100
    assert response.json()["next_cursor"] is not None


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "abc", "1.5"])
def test_a_limit_outside_1_to_1000_is_422(api: httpx.Client, limit: str) -> None:
    document = problem(api.get("/v1/cooperatives", params={"limit": limit}), 422)

    assert fields_of(document) == {"limit"}


@pytest.mark.parametrize("limit", ["1", "1000"])
def test_limits_of_1_and_1000_are_accepted(api: httpx.Client, limit: str) -> None:
    create(api)

    response = api.get("/v1/cooperatives", params={"limit": limit})

    assert response.status_code == 200
    assert 1 <= len(response.json()["items"]) <= int(limit)


@pytest.mark.parametrize(
    "cursor",
    [
        "zzz",
        "!!!",
        cursor_of(b"not json"),
        cursor_of(b"[1, 2]"),
        cursor_of(b'{"after": "x"}'),
        cursor_of(b'{"after": -1}'),
        cursor_of(b'{"after": 1e400}'),
        cursor_of(json.dumps({"after": 10**30}).encode()),
        cursor_of(b"[" * 5_000),
    ],
)
def test_an_undecodable_cursor_is_422(api: httpx.Client, cursor: str) -> None:
    for path in ("/v1/cooperatives", f"/v1/cooperatives/{create(api)['id']}/history"):
        document = problem(api.get(path, params={"cursor": cursor}), 422)
        assert fields_of(document) == {"cursor"}


def test_a_profile_change_without_if_match_records_only_what_changed(api: httpx.Client) -> None:
    created = create(api, worker_members=12, region="06")

    response = api.patch(
        f"/v1/cooperatives/{created['id']}", json={"worker_members": 14, "region": "06"}
    )

    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'
    assert response.json() == {**created, "worker_members": 14, "version": 2}
    assert history(api, created["id"])[-1]["data"] == {
        "cooperative_id": created["id"],
        "changes": {"worker_members": 14},
    }


def test_a_profile_change_with_the_current_if_match_is_accepted(api: httpx.Client) -> None:
    created = create(api)

    response = api.patch(
        f"/v1/cooperatives/{created['id']}",
        json={"name": "Nouveau nom"},
        headers={"If-Match": '"1"'},
    )

    assert response.status_code == 200
    assert response.json()["name"] == "Nouveau nom"
    assert response.headers["ETag"] == '"2"'


def test_a_profile_change_with_a_stale_if_match_is_412_and_changes_nothing(
    api: httpx.Client,
) -> None:
    created = create(api)
    assert api.patch(f"/v1/cooperatives/{created['id']}", json={"name": "v2"}).status_code == 200

    stale = api.patch(
        f"/v1/cooperatives/{created['id']}", json={"name": "v3"}, headers={"If-Match": '"1"'}
    )
    absurd = api.patch(
        f"/v1/cooperatives/{created['id']}",
        json={"name": "v3"},
        headers={"If-Match": '"' + "9" * 5000 + '"'},
    )

    problem(stale, 412)
    problem(absurd, 412)
    current = api.get(f"/v1/cooperatives/{created['id']}").json()
    assert (current["name"], current["version"]) == ("v2", 2)


def test_a_profile_change_that_changes_nothing_keeps_the_version(api: httpx.Client) -> None:
    created = create(api, name="Même")

    response = api.patch(f"/v1/cooperatives/{created['id']}", json={"name": "Même"})

    assert response.status_code == 200
    assert response.json()["version"] == 1
    assert len(history(api, created["id"])) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"region": "18"}, "region"),
        ({"name": ""}, "name"),
        ({"sector": "Pas Un Slug"}, "sector"),
        ({"worker_members": 0}, "worker_members"),
        ({"neq": "123"}, "neq"),
        ({"joined_on": "2020-01-01"}, "joined_on"),
        ({"status": "left"}, "status"),
    ],
)
def test_an_invalid_profile_change_is_422(
    api: httpx.Client, change: dict[str, Any], field: str
) -> None:
    created = create(api)

    document = problem(api.patch(f"/v1/cooperatives/{created['id']}", json=change), 422)

    assert field in fields_of(document)
    assert api.get(f"/v1/cooperatives/{created['id']}").json()["version"] == 1


def test_a_profile_field_other_than_neq_cannot_be_cleared(api: httpx.Client) -> None:
    created = create(api)

    problem(api.patch(f"/v1/cooperatives/{created['id']}", json={"name": None}), 422)
    cleared = api.patch(f"/v1/cooperatives/{created['id']}", json={"neq": None})

    assert cleared.status_code == 200
    assert cleared.json()["neq"] is None


def test_departure_is_200_then_409_once_left(api: httpx.Client) -> None:
    created = create(api, joined_on="2023-05-14")

    left = api.post(
        f"/v1/cooperatives/{created['id']}/departure",
        json={"left_on": "2024-01-31", "reason": "fusion"},
    )
    again = api.post(f"/v1/cooperatives/{created['id']}/departure", json={"left_on": "2024-02-01"})

    assert left.status_code == 200
    assert left.headers["ETag"] == '"2"'
    assert left.json() == {
        **created,
        "left_on": "2024-01-31",
        "periods": [{"start": "2023-05-14", "end": "2024-01-31"}],
        "status": "left",
        "version": 2,
    }
    problem(again, 409)


@pytest.mark.parametrize("left_on", ["2023-05-14", "2023-05-13"])
def test_departure_not_after_the_current_period_start_is_422(
    api: httpx.Client, left_on: str
) -> None:
    created = create(api, joined_on="2023-05-14")

    problem(api.post(f"/v1/cooperatives/{created['id']}/departure", json={"left_on": left_on}), 422)

    assert api.get(f"/v1/cooperatives/{created['id']}").json()["status"] == "active"


def test_readmission_is_409_while_active_422_before_left_on_and_200_after(
    api: httpx.Client,
) -> None:
    created = create(api, joined_on="2023-05-14")
    path = f"/v1/cooperatives/{created['id']}"

    problem(api.post(f"{path}/readmission", json={"rejoined_on": "2024-06-01"}), 409)
    assert api.post(f"{path}/departure", json={"left_on": "2024-01-31"}).status_code == 200
    problem(api.post(f"{path}/readmission", json={"rejoined_on": "2024-01-30"}), 422)
    back = api.post(f"{path}/readmission", json={"rejoined_on": "2024-01-31"})

    assert back.status_code == 200
    assert back.json()["periods"] == [
        {"start": "2023-05-14", "end": "2024-01-31"},
        {"start": "2024-01-31", "end": None},
    ]
    assert (back.json()["status"], back.json()["left_on"], back.json()["joined_on"]) == (
        "active",
        None,
        "2023-05-14",
    )
    assert back.json()["version"] == 3


def test_a_neq_is_unique_among_active_members_on_create_patch_and_readmission(
    api: httpx.Client,
) -> None:
    neq = f"8{uuid4().int % 10**9:09d}"
    holder = create(api, neq=neq)
    other = create(api, neq=None)

    problem(api.post("/v1/cooperatives", json=body(neq=neq)), 409)
    problem(api.patch(f"/v1/cooperatives/{other['id']}", json={"neq": neq}), 409)

    assert (
        api.post(
            f"/v1/cooperatives/{holder['id']}/departure", json={"left_on": "2024-01-01"}
        ).status_code
        == 200
    )
    successor = create(api, neq=neq)
    problem(
        api.post(
            f"/v1/cooperatives/{holder['id']}/readmission", json={"rejoined_on": "2024-06-01"}
        ),
        409,
    )
    assert successor["neq"] == neq


def test_history_is_a_page_of_type_version_recorded_at_and_data(api: httpx.Client) -> None:
    created = create(api, joined_on="2023-05-14")
    path = f"/v1/cooperatives/{created['id']}"
    api.patch(path, json={"sector": "fabrication"})
    api.post(f"{path}/departure", json={"left_on": "2024-01-31"})
    api.post(f"{path}/readmission", json={"rejoined_on": "2024-03-01"})

    items = history(api, created["id"])

    assert [(i["type"], i["version"]) for i in items] == [
        ("CoopJoined", 1),
        ("CoopProfileUpdated", 2),
        ("CoopLeft", 3),
        ("CoopRejoined", 4),
    ]
    assert all(set(i) == {"type", "version", "recorded_at", "data"} for i in items)
    assert all(RFC3339_UTC.match(i["recorded_at"]) for i in items)
    assert items[0]["data"] == {
        "cooperative_id": created["id"],
        "name": "Coop de travail Exemple",
        "region": "06",
        "sector": "microbrasserie",
        "worker_members": 12,
        "joined_on": "2023-05-14",
        "neq": None,
    }
    assert items[1]["data"] == {
        "cooperative_id": created["id"],
        "changes": {"sector": "fabrication"},
    }
    assert items[2]["data"] == {
        "cooperative_id": created["id"],
        "left_on": "2024-01-31",
        "reason": None,
    }
    assert items[3]["data"] == {"cooperative_id": created["id"], "rejoined_on": "2024-03-01"}

    first = api.get(f"{path}/history", params={"limit": 3}).json()
    rest = api.get(f"{path}/history", params={"limit": 3, "cursor": first["next_cursor"]}).json()
    assert [i["version"] for i in first["items"]] == [1, 2, 3]
    assert [i["version"] for i in rest["items"]] == [4]
    assert rest["next_cursor"] is None
    problem(api.get(f"{path}/history", params={"limit": 0}), 422)


# --- bad input (§1) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b"{bad json", b'{"name": "x",}', b"\xff\xfe\x00", b"[" * 200_000, b""],
    ids=["truncated", "trailing-comma", "not-utf8", "nested-too-deep", "empty"],
)
def test_a_body_that_is_not_json_is_422(api: httpx.Client, raw: bytes) -> None:
    response = api.post(
        "/v1/cooperatives", content=raw, headers={"Content-Type": "application/json"}
    )

    problem(response, 422)


@pytest.mark.parametrize("raw", [b"[]", b'"a string"', b"42", b"null", b"true"])
def test_a_body_that_is_not_an_object_is_422(api: httpx.Client, raw: bytes) -> None:
    response = api.post(
        "/v1/cooperatives", content=raw, headers={"Content-Type": "application/json"}
    )

    problem(response, 422)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"colour": "rouge"}, "colour"),
        ({"id": str(uuid4())}, "id"),
        ({"worker_members": "12"}, "worker_members"),
        ({"worker_members": 12.0}, "worker_members"),
        ({"worker_members": True}, "worker_members"),
        ({"worker_members": 0}, "worker_members"),
        ({"name": 5}, "name"),
        ({"name": ""}, "name"),
        ({"neq": 1170000000}, "neq"),
        ({"neq": "117000000"}, "neq"),
        ({"region": "18"}, "region"),
        ({"region": 6}, "region"),
        ({"region": "6"}, "region"),
        ({"sector": "Micro Brasserie"}, "sector"),
        ({"joined_on": "2023-02-30"}, "joined_on"),
        ({"joined_on": "2023-13-01"}, "joined_on"),
        ({"joined_on": "2023-5-14"}, "joined_on"),
        ({"joined_on": "14/05/2023"}, "joined_on"),
        ({"joined_on": 20230514}, "joined_on"),
        ({"joined_on": None}, "joined_on"),
    ],
)
def test_a_wrong_field_is_422_naming_it(
    api: httpx.Client, overrides: dict[str, Any], field: str
) -> None:
    document = problem(api.post("/v1/cooperatives", json=body(**overrides)), 422)

    assert field in fields_of(document)


def test_a_missing_field_is_422_naming_it(api: httpx.Client) -> None:
    incomplete = body()
    del incomplete["joined_on"], incomplete["sector"]

    document = problem(api.post("/v1/cooperatives", json=incomplete), 422)

    assert {"joined_on", "sector"} <= fields_of(document)


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("departure", {"left_on": "2024-02-30"}),
        ("departure", {"left_on": "2024-01-01", "why": "x"}),
        ("departure", {"left_on": "2024-01-01", "reason": 5}),
        ("departure", {}),
        ("readmission", {"rejoined_on": "demain"}),
        ("readmission", {"rejoined_on": "2024-01-01", "left_on": "2023-01-01"}),
    ],
)
def test_bad_departure_and_readmission_bodies_are_422(
    api: httpx.Client, path: str, payload: dict[str, Any]
) -> None:
    created = create(api)

    problem(api.post(f"/v1/cooperatives/{created['id']}/{path}", json=payload), 422)


def test_a_body_over_1_mib_is_413(api: httpx.Client, anonymous: httpx.Client) -> None:
    oversize = json.dumps(body(name="x" * (1024 * 1024))).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(oversize), 64 * 1024):
            yield oversize[start : start + 64 * 1024]

    problem(api.post("/v1/cooperatives", content=oversize), 413)
    problem(anonymous.post("/v1/cooperatives", content=oversize), 413)  # 413 before 401
    problem(api.post("/v1/cooperatives", content=chunks()), 413)  # no Content-Length


def test_a_body_of_just_under_1_mib_is_read(api: httpx.Client) -> None:
    padding = 1024 * 1024 - len(json.dumps(body(name=""))) - 10
    almost = json.dumps(body(name="x" * padding)).encode()
    assert len(almost) <= 1024 * 1024

    response = api.post("/v1/cooperatives", content=almost)

    problem(response, 422)  # the name is over 500 characters: read and refused, not 413


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-known-token"}, {"Authorization": f"Basic {ADMIN}"}],
    ids=["missing", "unknown", "not-bearer"],
)
def test_a_missing_or_unknown_token_is_401(
    anonymous: httpx.Client, headers: dict[str, str]
) -> None:
    created = anonymous.post("/v1/cooperatives", json=body(), headers=headers)
    read = anonymous.get("/v1/cooperatives", headers=headers)

    problem(created, 401)
    problem(read, 401)
    assert created.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_without_the_scope_is_403(service: ServiceProcess, api: httpx.Client) -> None:
    created = create(api)
    with service.client(READER) as reader, service.client(WRITER) as writer:
        problem(reader.post("/v1/cooperatives", json=body()), 403)
        problem(reader.patch(f"/v1/cooperatives/{created['id']}", json={"name": "x"}), 403)
        problem(
            reader.post(
                f"/v1/cooperatives/{created['id']}/departure", json={"left_on": "2024-01-01"}
            ),
            403,
        )
        assert reader.get(f"/v1/cooperatives/{created['id']}").status_code == 200

        problem(writer.get(f"/v1/cooperatives/{created['id']}"), 403)  # write does not grant read
        problem(writer.get("/v1/cooperatives"), 403)
        assert writer.post("/v1/cooperatives", json=body()).status_code == 201  # a sha256: key


def test_health_readiness_and_metrics_need_no_token(anonymous: httpx.Client) -> None:
    assert anonymous.get("/healthz").status_code == 200
    assert anonymous.get("/readyz").status_code == 200
    metrics = anonymous.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("application/openmetrics-text")
    assert "coop_relay_published_events" in metrics.text


@pytest.mark.parametrize(
    ("method", "suffix", "payload"),
    [
        ("GET", "", None),
        ("PATCH", "", {"name": "x"}),
        ("POST", "/departure", {"left_on": "2024-01-01"}),
        ("POST", "/readmission", {"rejoined_on": "2024-01-01"}),
        ("GET", "/history", None),
    ],
)
def test_a_path_id_that_is_not_a_uuid_is_422(
    api: httpx.Client, method: str, suffix: str, payload: dict[str, Any] | None
) -> None:
    response = api.request(method, f"/v1/cooperatives/{NOT_A_UUID}{suffix}", json=payload)

    document = problem(response, 422)
    assert "cooperative_id" in fields_of(document)


# --- order of checks (§1) ------------------------------------------------------------------


def test_401_comes_before_422(anonymous: httpx.Client) -> None:
    problem(anonymous.post("/v1/cooperatives", content=b"{bad json"), 401)
    problem(anonymous.get(f"/v1/cooperatives/{NOT_A_UUID}"), 401)
    problem(anonymous.get("/v1/cooperatives", params={"limit": 0}), 401)


def test_403_comes_before_422(service: ServiceProcess) -> None:
    with service.client(READER) as reader:
        problem(reader.post("/v1/cooperatives", content=b"{bad json"), 403)


def test_a_malformed_request_is_422_before_404(api: httpx.Client) -> None:
    unknown = uuid4()

    problem(api.post(f"/v1/cooperatives/{unknown}/departure", json={"left_on": "x"}), 422)
    problem(api.patch(f"/v1/cooperatives/{unknown}", json={"region": "18"}), 422)


def test_404_comes_before_412_and_412_before_409(api: httpx.Client) -> None:
    neq = f"7{uuid4().int % 10**9:09d}"
    create(api, neq=neq)
    other = create(api)
    path = f"/v1/cooperatives/{other['id']}"

    problem(
        api.patch(f"/v1/cooperatives/{uuid4()}", json={"name": "x"}, headers={"If-Match": '"9"'}),
        404,
    )
    problem(api.patch(path, json={"neq": neq}, headers={"If-Match": '"9"'}), 412)
    problem(api.patch(path, json={"neq": neq}, headers={"If-Match": '"1"'}), 409)


def test_409_comes_before_a_business_rule_422(api: httpx.Client) -> None:
    neq = f"6{uuid4().int % 10**9:09d}"
    departed = create(api, neq=neq, joined_on="2020-01-01")
    path = f"/v1/cooperatives/{departed['id']}"
    assert api.post(f"{path}/departure", json={"left_on": "2023-01-01"}).status_code == 200
    create(api, neq=neq)

    problem(api.post(f"{path}/readmission", json={"rejoined_on": "2022-01-01"}), 409)


# --- idempotency (§1) ----------------------------------------------------------------------


def test_the_same_key_and_body_replays_the_answer_and_records_nothing(api: httpx.Client) -> None:
    sector = slug(api)
    key = {"Idempotency-Key": f"create-{uuid4()}"}

    first = api.post("/v1/cooperatives", json=body(sector=sector), headers=key)
    again = api.post("/v1/cooperatives", json=body(sector=sector), headers=key)
    # The same JSON written differently is the same request.
    reordered = json.dumps(dict(reversed(list(body(sector=sector).items()))), indent=2)
    third = api.post("/v1/cooperatives", content=reordered.encode(), headers=key)

    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    for replay in (again, third):
        assert replay.status_code == 201
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert replay.headers["Location"] == first.headers["Location"]
        assert replay.json() == first.json()
    assert [c["id"] for c in listed(api, sector=sector)] == [first.json()["id"]]
    assert len(history(api, first.json()["id"])) == 1


def test_a_replay_answers_with_the_resource_as_it_is_now(api: httpx.Client) -> None:
    key = {"Idempotency-Key": f"leave-{uuid4()}"}
    created = create(api)
    path = f"/v1/cooperatives/{created['id']}"

    left = api.post(f"{path}/departure", json={"left_on": "2024-01-31"}, headers=key)
    api.patch(path, json={"name": "Renommée"})
    replay = api.post(f"{path}/departure", json={"left_on": "2024-01-31"}, headers=key)

    assert (left.status_code, replay.status_code) == (200, 200)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["name"] == "Renommée"
    assert replay.json()["version"] == 3
    assert [i["type"] for i in history(api, created["id"])] == [
        "CoopJoined",
        "CoopLeft",
        "CoopProfileUpdated",
    ]


def test_concurrent_twins_with_one_key_record_one_cooperative(
    service: ServiceProcess, api: httpx.Client
) -> None:
    sector = slug(api)
    key = {"Idempotency-Key": f"twins-{uuid4()}"}

    def send(_: int) -> httpx.Response:
        with service.client(ADMIN) as client:
            return client.post("/v1/cooperatives", json=body(sector=sector), headers=key)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))

    assert [a.status_code for a in answers] == [201] * 8
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum("Idempotent-Replayed" not in a.headers for a in answers) == 1
    with service.client(ADMIN) as client:
        assert len(listed(client, sector=sector)) == 1


def test_a_key_reused_with_another_request_is_422(api: httpx.Client) -> None:
    key = {"Idempotency-Key": f"reuse-{uuid4()}"}
    sector = slug(api)
    first = api.post("/v1/cooperatives", json=body(sector=sector), headers=key)

    other_body = api.post("/v1/cooperatives", json=body(sector=sector, name="Autre"), headers=key)
    other_path = api.post(
        f"/v1/cooperatives/{first.json()['id']}/departure",
        json={"left_on": "2024-01-01"},
        headers=key,
    )

    assert first.status_code == 201
    assert "Idempotency-Key" in fields_of(problem(other_body, 422))
    problem(other_path, 422)
    assert len(listed(api, sector=sector)) == 1
    assert api.get(f"/v1/cooperatives/{first.json()['id']}").json()["status"] == "active"


def test_an_error_answer_is_not_kept_so_a_retry_runs_again(api: httpx.Client) -> None:
    key = {"Idempotency-Key": f"retry-{uuid4()}"}
    created = create(api)
    path = f"/v1/cooperatives/{created['id']}"

    refused = api.post(f"{path}/readmission", json={"rejoined_on": "2024-06-01"}, headers=key)
    api.post(f"{path}/departure", json={"left_on": "2024-01-31"})
    retried = api.post(f"{path}/readmission", json={"rejoined_on": "2024-06-01"}, headers=key)

    problem(refused, 409)
    assert retried.status_code == 200
    assert "Idempotent-Replayed" not in retried.headers
    assert retried.json()["status"] == "active"


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_an_idempotency_key_outside_1_to_255_characters_is_422(api: httpx.Client, key: str) -> None:
    response = api.post("/v1/cooperatives", json=body(), headers={"Idempotency-Key": key})

    assert "Idempotency-Key" in fields_of(problem(response, 422))


def test_a_255_character_key_is_accepted(api: httpx.Client) -> None:
    key = {"Idempotency-Key": uuid4().hex + "k" * 223}

    first = api.post("/v1/cooperatives", json=body(), headers=key)
    again = api.post("/v1/cooperatives", json=body(), headers=key)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"


def test_unknown_routes_and_methods_answer_problems(api: httpx.Client) -> None:
    problem(api.get("/v1/nowhere"), 404)
    problem(api.delete(f"/v1/cooperatives/{uuid4()}"), 405)


def test_titles_are_french_by_default_and_english_on_request(api: httpx.Client) -> None:
    unknown = f"/v1/cooperatives/{uuid4()}"

    assert problem(api.get(unknown), 404)["title"] == "Ressource introuvable"
    english = api.get(unknown, headers={"Accept-Language": "en-CA,en;q=0.9"})
    assert problem(english, 404)["title"] == "Not found"


# --- membership corrections (§10, §16.3) ---------------------------------------------------


def correction_path(cooperative_id: str) -> str:
    return f"/v1/cooperatives/{cooperative_id}/membership-correction"


def test_a_membership_correction_replaces_the_periods_and_the_dates_follow(
    api: httpx.Client,
) -> None:
    created = create(api, joined_on="2023-05-14")
    periods = [
        {"start": "2021-02-01", "end": "2022-03-01"},
        {"start": "2022-03-01", "end": "2024-01-15"},
    ]

    response = api.post(
        correction_path(created["id"]), json={"periods": periods, "reason": "dates saisies"}
    )

    assert response.status_code == 200, response.text
    document = response.json()
    assert document["periods"] == periods
    assert (document["joined_on"], document["left_on"]) == ("2021-02-01", "2024-01-15")
    assert document["status"] == "left"
    assert document["version"] == 2
    assert response.headers["ETag"] == '"2"'
    assert api.get(f"/v1/cooperatives/{created['id']}").json() == document
    assert created["id"] in [c["id"] for c in listed(api, status="left")]
    last = history(api, created["id"])[-1]
    assert last["type"] == "CoopMembershipCorrected"
    assert last["data"] == {
        "cooperative_id": created["id"],
        "periods": periods,
        "reason": "dates saisies",
    }


def test_a_correction_reopening_membership_makes_it_active(api: httpx.Client) -> None:
    created = create(api, joined_on="2020-01-01")
    path = f"/v1/cooperatives/{created['id']}"
    assert api.post(f"{path}/departure", json={"left_on": "2022-01-01"}).status_code == 200

    response = api.post(correction_path(created["id"]), json={"periods": [{"start": "2020-01-01"}]})

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "active"
    assert response.json()["left_on"] is None


def test_a_correction_that_changes_nothing_answers_200_and_records_nothing(
    api: httpx.Client,
) -> None:
    created = create(api, joined_on="2023-05-14")

    response = api.post(
        correction_path(created["id"]),
        json={"periods": [{"start": "2023-05-14", "end": None}], "reason": "vérifié"},
    )

    assert response.status_code == 200, response.text
    assert response.json() == created
    assert [i["type"] for i in history(api, created["id"])] == ["CoopJoined"]


@pytest.mark.parametrize(
    ("periods", "field"),
    [
        ([], "periods"),
        ([{"start": "2022-01-01", "end": "2021-01-01"}], "periods[0].end"),
        ([{"start": "2022-01-01", "end": "2022-01-01"}], "periods[0].end"),
        ([{"start": "2020-01-01", "end": None}, {"start": "2022-01-01"}], "periods[0].end"),
        (
            [{"start": "2022-01-01", "end": "2023-01-01"}, {"start": "2020-01-01"}],
            "periods[1].start",
        ),
        (
            [{"start": "2020-01-01", "end": "2021-06-01"}, {"start": "2021-01-01"}],
            "periods[1].start",
        ),
    ],
)
def test_a_list_that_breaks_a_rule_is_422_naming_the_offending_period(
    api: httpx.Client, periods: list[dict[str, Any]], field: str
) -> None:
    created = create(api)

    response = api.post(correction_path(created["id"]), json={"periods": periods})

    assert field in fields_of(problem(response, 422))
    assert api.get(f"/v1/cooperatives/{created['id']}").json()["version"] == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"periods": [{"start": "2020-01-01", "end": "bad"}]}, "periods[0].end"),
        ({"periods": [{"start": "2020-01-01"}, {"end": "2021-01-01"}]}, "periods[1].start"),
        ({"periods": [{"start": "2020-01-01", "other": 1}]}, "periods[0].other"),
        ({"periods": "2020-01-01"}, "periods"),
        ({}, "periods"),
        ({"periods": [{"start": "2020-01-01"}], "reason": "x" * 501}, "reason"),
    ],
)
def test_a_malformed_correction_is_422_before_404(
    api: httpx.Client, payload: dict[str, Any], field: str
) -> None:
    response = api.post(correction_path(str(uuid4())), json=payload)

    assert field in fields_of(problem(response, 422))


def test_a_correction_of_an_unknown_cooperative_is_404(api: httpx.Client) -> None:
    response = api.post(correction_path(str(uuid4())), json={"periods": []})

    problem(response, 404)


def test_a_correction_with_a_stale_if_match_is_412_before_the_rules(api: httpx.Client) -> None:
    created = create(api)
    path = correction_path(created["id"])

    stale = api.post(path, json={"periods": []}, headers={"If-Match": '"7"'})
    current = api.post(
        path, json={"periods": [{"start": "2019-01-01"}]}, headers={"If-Match": '"1"'}
    )

    assert problem(stale, 412)
    assert stale.headers["ETag"] == '"1"'
    assert current.status_code == 200, current.text
    assert current.headers["ETag"] == '"2"'


def test_a_correction_leaving_it_active_with_a_taken_neq_is_409_before_422(
    api: httpx.Client,
) -> None:
    neq = f"5{uuid4().int % 10**9:09d}"
    departed = create(api, neq=neq, joined_on="2020-01-01")
    path = f"/v1/cooperatives/{departed['id']}"
    assert api.post(f"{path}/departure", json={"left_on": "2021-01-01"}).status_code == 200
    create(api, neq=neq)

    reopened = api.post(
        correction_path(departed["id"]), json={"periods": [{"start": "2020-01-01"}]}
    )
    broken = [{"start": "2020-01-01", "end": None}, {"start": "2019-01-01"}]
    both = api.post(correction_path(departed["id"]), json={"periods": broken})
    still_left = api.post(
        correction_path(departed["id"]),
        json={"periods": [{"start": "2019-01-01", "end": "2021-01-01"}]},
    )

    assert problem(reopened, 409)["type"].endswith("/neq-taken")
    assert problem(both, 409)["type"].endswith("/neq-taken")
    assert still_left.status_code == 200, still_left.text


def test_a_correction_ending_membership_frees_the_neq(api: httpx.Client) -> None:
    neq = f"4{uuid4().int % 10**9:09d}"
    first = create(api, neq=neq, joined_on="2020-01-01")

    ended = api.post(
        correction_path(first["id"]),
        json={"periods": [{"start": "2020-01-01", "end": "2020-06-01"}]},
    )

    assert ended.status_code == 200, ended.text
    assert create(api, neq=neq)["neq"] == neq


def test_a_correction_replays_with_its_idempotency_key_whatever_its_if_match(
    api: httpx.Client,
) -> None:
    created = create(api)
    key = {"Idempotency-Key": f"correct-{uuid4()}", "If-Match": '"1"'}
    payload = {"periods": [{"start": "2019-09-01"}], "reason": "date d'adhésion"}

    first = api.post(correction_path(created["id"]), json=payload, headers=key)
    again = api.post(correction_path(created["id"]), json=payload, headers=key)

    assert first.status_code == 200, first.text
    assert again.status_code == 200, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert len(history(api, created["id"])) == 2


def test_a_no_op_correction_replays_with_its_idempotency_key(api: httpx.Client) -> None:
    created = create(api, joined_on="2023-05-14")
    key = {"Idempotency-Key": f"noop-{uuid4()}"}
    payload = {"periods": [{"start": "2023-05-14"}]}

    first = api.post(correction_path(created["id"]), json=payload, headers=key)
    again = api.post(correction_path(created["id"]), json=payload, headers=key)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(history(api, created["id"])) == 1


def test_a_correction_needs_the_write_scope(service: ServiceProcess, api: httpx.Client) -> None:
    created = create(api)
    with service.client(READER) as reader:
        problem(reader.post(correction_path(created["id"]), json={"periods": []}), 403)


# --- void and restoration (§10) ------------------------------------------------------------


def test_voiding_answers_200_with_status_voided_and_lists_leave_it_out(api: httpx.Client) -> None:
    created = create(api, name=f"Doublon {uuid4().hex}")
    path = f"/v1/cooperatives/{created['id']}"

    response = api.post(f"{path}/void", json={"reason": "doublon"})

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "voided"
    assert response.json()["periods"] == created["periods"]
    assert response.headers["ETag"] == '"2"'
    assert created["id"] not in [c["id"] for c in listed(api)]
    assert created["id"] not in [c["id"] for c in listed(api, status="active")]
    assert created["id"] in [c["id"] for c in listed(api, status="voided")]
    assert history(api, created["id"])[-1] == {
        **history(api, created["id"])[-1],
        "type": "CoopVoided",
        "data": {"cooperative_id": created["id"], "reason": "doublon"},
    }


def test_voiding_twice_is_409(api: httpx.Client) -> None:
    created = create(api)
    path = f"/v1/cooperatives/{created['id']}/void"
    assert api.post(path, json={"reason": "doublon"}).status_code == 200

    assert problem(api.post(path, json={"reason": "encore"}), 409)["type"].endswith(
        "/already-voided"
    )


@pytest.mark.parametrize("payload", [{}, {"reason": ""}, {"reason": "x" * 501}, {"reason": 3}])
def test_a_void_needs_a_reason_of_1_to_500_characters(
    api: httpx.Client, payload: dict[str, Any]
) -> None:
    created = create(api)
    response = api.post(f"/v1/cooperatives/{created['id']}/void", json=payload)

    assert fields_of(problem(response, 422)) == {"reason"}


def test_a_voided_cooperative_takes_no_change_but_its_restoration(api: httpx.Client) -> None:
    created = create(api, joined_on="2020-01-01")
    path = f"/v1/cooperatives/{created['id']}"
    assert api.post(f"{path}/void", json={"reason": "doublon"}).status_code == 200

    refused = [
        api.patch(path, json={"name": "Autre"}),
        api.patch(path, json={"name": created["name"]}),
        api.post(f"{path}/departure", json={"left_on": "2021-01-01"}),
        api.post(f"{path}/readmission", json={"rejoined_on": "2021-01-01"}),
        api.post(correction_path(created["id"]), json={"periods": [{"start": "2020-01-01"}]}),
        api.post(correction_path(created["id"]), json={"periods": []}),
    ]

    for response in refused:
        assert problem(response, 409)["type"].endswith("/voided")
    assert api.get(path).json()["version"] == 2


def test_restoration_brings_the_cooperative_back_on_its_periods(api: httpx.Client) -> None:
    created = create(api, joined_on="2020-01-01")
    path = f"/v1/cooperatives/{created['id']}"
    assert api.post(f"{path}/void", json={"reason": "doublon"}).status_code == 200

    restored = api.post(f"{path}/restoration", json={"reason": "pas un doublon"})
    empty_body = api.post(f"{path}/restoration")

    assert restored.status_code == 200, restored.text
    assert restored.json()["status"] == "active"
    assert restored.json()["periods"] == created["periods"]
    assert created["id"] in [c["id"] for c in listed(api, status="active")]
    assert problem(empty_body, 409)["type"].endswith("/not-voided")
    assert [i["type"] for i in history(api, created["id"])] == [
        "CoopJoined",
        "CoopVoided",
        "CoopRestored",
    ]
    assert history(api, created["id"])[-1]["data"] == {
        "cooperative_id": created["id"],
        "reason": "pas un doublon",
    }


def test_voiding_frees_the_neq_and_restoration_is_409_while_another_holds_it(
    api: httpx.Client,
) -> None:
    neq = f"3{uuid4().int % 10**9:09d}"
    first = create(api, neq=neq)
    path = f"/v1/cooperatives/{first['id']}"
    assert api.post(f"{path}/void", json={"reason": "doublon"}).status_code == 200
    second = create(api, neq=neq)

    refused = api.post(f"{path}/restoration", json={})
    assert problem(refused, 409)["type"].endswith("/neq-taken")

    other = f"/v1/cooperatives/{second['id']}"
    assert api.post(f"{other}/departure", json={"left_on": "2024-01-01"}).status_code == 200
    assert api.post(f"{path}/restoration", json={}).status_code == 200
    problem(api.post("/v1/cooperatives", json=body(neq=neq)), 409)


def test_void_and_restoration_check_404_then_412_and_replay_their_key(api: httpx.Client) -> None:
    created = create(api)
    path = f"/v1/cooperatives/{created['id']}"
    key = {"Idempotency-Key": f"void-{uuid4()}"}

    problem(api.post(f"/v1/cooperatives/{uuid4()}/void", json={"reason": "x"}), 404)
    problem(api.post(f"/v1/cooperatives/{uuid4()}/restoration", json={}), 404)
    stale = api.post(f"{path}/void", json={"reason": "x"}, headers={"If-Match": '"5"'})
    first = api.post(f"{path}/void", json={"reason": "x"}, headers={**key, "If-Match": '"1"'})
    again = api.post(f"{path}/void", json={"reason": "x"}, headers={**key, "If-Match": '"1"'})
    stale_restoration = api.post(f"{path}/restoration", json={}, headers={"If-Match": '"1"'})

    problem(stale, 412)
    assert first.status_code == 200, first.text
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    problem(stale_restoration, 412)
    assert len(history(api, created["id"])) == 2


# --- the sector list (§2, §16.14) ----------------------------------------------------------

BUILT_IN_SECTORS = [
    "alimentation",
    "arts_culture",
    "communications",
    "construction",
    "design",
    "education",
    "environnement",
    "fabrication",
    "informatique",
    "microbrasserie",
    "restauration",
    "sante_services_sociaux",
    "services_conseils",
    "transport",
    "autre",
]


def sector_list(client: httpx.Client) -> list[dict[str, Any]]:
    response = client.get("/v1/sectors", params={"limit": 1000})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_the_sector_list_is_public_and_starts_with_the_built_in_sectors(
    anonymous: httpx.Client,
) -> None:
    items = sector_list(anonymous)

    assert [i["slug"] for i in items[:15]] == BUILT_IN_SECTORS
    assert items[9] == {
        "slug": "microbrasserie",
        "label": {"fr": "Microbrasseries", "en": "Microbreweries"},
    }
    assert next(i for i in items if i["slug"] == "education")["label"]["fr"] == "Éducation"
    assert all(set(i) == {"slug", "label"} and set(i["label"]) == {"fr", "en"} for i in items)


def test_putting_a_sector_adds_it_then_renames_it_and_the_same_labels_change_nothing(
    api: httpx.Client, anonymous: httpx.Client
) -> None:
    sector = f"imprimerie-{uuid4().hex[:8]}"
    path = f"/v1/sectors/{sector}"
    label = {"fr": "Imprimeries", "en": "Printers"}

    added = api.put(path, json={"label": label})
    renamed = api.put(path, json={"label": {"fr": "Imprimerie", "en": "Printing"}})
    unchanged = api.put(path, json={"label": {"fr": "Imprimerie", "en": "Printing"}})

    assert added.status_code == 200, added.text
    assert added.json() == {"slug": sector, "label": label}
    assert renamed.json() == {"slug": sector, "label": {"fr": "Imprimerie", "en": "Printing"}}
    assert unchanged.status_code == 200
    listed_sectors = [i for i in sector_list(anonymous) if i["slug"] == sector]
    assert listed_sectors == [renamed.json()]
    created = create(api, sector=sector)
    assert created["sector"] == sector


def test_a_built_in_sector_may_be_renamed_and_keeps_its_place(
    api: httpx.Client, anonymous: httpx.Client
) -> None:
    original = {"fr": "Transport", "en": "Transportation"}
    renamed = {"fr": "Transport et logistique", "en": "Transportation"}

    assert api.put("/v1/sectors/transport", json={"label": renamed}).status_code == 200
    assert sector_list(anonymous)[13] == {"slug": "transport", "label": renamed}
    assert api.put("/v1/sectors/transport", json={"label": original}).status_code == 200


def test_putting_a_sector_needs_a_token_with_the_write_scope(
    service: ServiceProcess, anonymous: httpx.Client
) -> None:
    payload = {"label": {"fr": "X", "en": "X"}}
    problem(anonymous.put("/v1/sectors/nouveau", json=payload), 401)
    problem(anonymous.put("/v1/sectors/Pas Un Slug", content=b"{bad"), 401)
    with service.client(READER) as reader:
        problem(reader.put("/v1/sectors/nouveau", json=payload), 403)


@pytest.mark.parametrize(
    ("sector", "payload", "field"),
    [
        ("Majuscules", {"label": {"fr": "X", "en": "X"}}, "slug"),
        ("tiret-", {"label": {"fr": "X", "en": "X"}}, "slug"),
        ("valide", {"label": {"fr": "X"}}, "label.en"),
        ("valide", {"label": {"fr": "", "en": "X"}}, "label.fr"),
        ("valide", {"label": {"fr": "X", "en": "X", "es": "X"}}, "label.es"),
        ("valide", {"label": "X"}, "label"),
        ("valide", {}, "label"),
    ],
)
def test_a_malformed_sector_definition_is_422_naming_the_field(
    api: httpx.Client, sector: str, payload: dict[str, Any], field: str
) -> None:
    response = api.put(f"/v1/sectors/{sector}", json=payload)

    assert field in fields_of(problem(response, 422))


def test_a_sector_off_the_list_is_422_on_create_and_profile_change(api: httpx.Client) -> None:
    created = create(api)

    refused_create = api.post("/v1/cooperatives", json=body(sector="hors-liste"))
    refused_change = api.patch(f"/v1/cooperatives/{created['id']}", json={"sector": "hors-liste"})

    for response in (refused_create, refused_change):
        document = problem(response, 422)
        assert fields_of(document) == {"sector"}
        assert document["type"].endswith("/unknown-sector")
    assert api.get(f"/v1/cooperatives/{created['id']}").json()["version"] == 1


def test_a_taken_neq_is_409_before_a_sector_off_the_list(api: httpx.Client) -> None:
    neq = f"2{uuid4().int % 10**9:09d}"
    create(api, neq=neq)

    problem(api.post("/v1/cooperatives", json=body(neq=neq, sector="hors-liste")), 409)


# --- worker_members may be unknown (§2 v2, §16.15) -----------------------------------------


def test_worker_members_is_optional_on_create_and_null_when_absent(api: httpx.Client) -> None:
    payload = body()
    del payload["worker_members"]

    response = api.post("/v1/cooperatives", json=payload)
    explicit_null = api.post("/v1/cooperatives", json=body(worker_members=None))

    assert response.status_code == 201, response.text
    assert response.json()["worker_members"] is None
    assert explicit_null.json()["worker_members"] is None
    assert history(api, response.json()["id"])[0]["data"]["worker_members"] is None


def test_a_profile_change_may_clear_worker_members_but_not_the_other_fields(
    api: httpx.Client,
) -> None:
    created = create(api, worker_members=12)
    path = f"/v1/cooperatives/{created['id']}"

    cleared = api.patch(path, json={"worker_members": None})
    refused = [api.patch(path, json={name: None}) for name in ("name", "region", "sector")]

    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["worker_members"] is None
    assert history(api, created["id"])[-1]["data"]["changes"] == {"worker_members": None}
    for name, response in zip(("name", "region", "sector"), refused, strict=True):
        assert fields_of(problem(response, 422)) == {name}


# --- list filters q=, neq=, external_ref= and external references (§1, §2 v2, §16.5) --------


def test_q_matches_a_normalized_substring_of_the_name(api: httpx.Client) -> None:
    marker = uuid4().hex[:8]
    apostrophe = create(api, name=f"Coop L’Atelier—{marker} de Québec")
    spaces = create(api, name=f"Brasserie  {marker}\u00a0DU  Coin")
    create(api, name=f"Autre {uuid4().hex[:8]}")

    def ids(q: str) -> list[str]:
        return [c["id"] for c in listed(api, q=q)]

    assert ids(f"l'atelier-{marker}") == [apostrophe["id"]]
    assert ids(f"L`ATELIER–{marker} DE QUÉBEC") == [apostrophe["id"]]
    assert ids(f"{marker} du coin") == [spaces["id"]]
    assert ids(marker) == [apostrophe["id"], spaces["id"]]
    assert ids(f"{marker}%") == []
    assert ids(f"{marker}_") == []


def test_neq_filters_the_list_and_a_malformed_neq_is_422(api: httpx.Client) -> None:
    neq = f"1{uuid4().int % 10**9:09d}"
    created = create(api, neq=neq)

    assert [c["id"] for c in listed(api, neq=neq)] == [created["id"]]
    assert fields_of(problem(api.get("/v1/cooperatives", params={"neq": "12345"}), 422)) == {"neq"}


def test_a_create_with_a_known_external_ref_answers_200_with_the_existing_cooperative(
    api: httpx.Client,
) -> None:
    ref = f"crm-{uuid4()}"
    first = api.post("/v1/cooperatives", json=body(external_ref=ref))
    assert first.status_code == 201, first.text
    path = f"/v1/cooperatives/{first.json()['id']}"
    api.patch(path, json={"name": "Renommée"})

    again = api.post("/v1/cooperatives", json=body(external_ref=ref, name="Autre chose"))

    assert first.json()["external_ref"] == ref
    assert again.status_code == 200, again.text
    assert again.json() == api.get(path).json()
    assert again.json()["name"] == "Renommée"
    assert again.headers["ETag"] == '"2"'
    assert [c["id"] for c in listed(api, external_ref=ref)] == [first.json()["id"]]
    assert len(history(api, first.json()["id"])) == 2


def test_a_known_external_ref_is_answered_before_the_409_and_the_business_422(
    api: httpx.Client,
) -> None:
    neq = f"8{uuid4().int % 10**9:09d}"
    ref = f"crm-{uuid4()}"
    first = create(api, neq=neq, external_ref=ref)

    again = api.post("/v1/cooperatives", json=body(neq=neq, external_ref=ref, sector="hors-liste"))
    malformed = api.post("/v1/cooperatives", json=body(external_ref=ref, region="18"))

    assert again.status_code == 200, again.text
    assert again.json()["id"] == first["id"]
    assert fields_of(problem(malformed, 422)) == {"region"}


def test_external_ref_is_null_when_absent_and_finds_a_voided_cooperative(
    api: httpx.Client,
) -> None:
    ref = f"crm-{uuid4()}"
    plain = create(api)
    referenced = create(api, external_ref=ref)
    path = f"/v1/cooperatives/{referenced['id']}"
    assert api.post(f"{path}/void", json={"reason": "doublon"}).status_code == 200

    assert plain["external_ref"] is None
    assert [c["id"] for c in listed(api, external_ref=ref)] == [referenced["id"]]
    assert listed(api, external_ref=ref, status="active") == []
    again = api.post("/v1/cooperatives", json=body(external_ref=ref))
    assert again.status_code == 200
    assert again.json()["status"] == "voided"


@pytest.mark.parametrize("ref", ["", "x" * 201, 5])
def test_an_external_ref_outside_1_to_200_characters_is_422(api: httpx.Client, ref: Any) -> None:
    response = api.post("/v1/cooperatives", json=body(external_ref=ref))

    assert fields_of(problem(response, 422)) == {"external_ref"}


def test_a_create_with_a_known_external_ref_and_an_idempotency_key_replays(
    api: httpx.Client,
) -> None:
    ref = f"crm-{uuid4()}"
    first = create(api, external_ref=ref)
    key = {"Idempotency-Key": f"ref-{uuid4()}"}

    found = api.post("/v1/cooperatives", json=body(external_ref=ref), headers=key)
    replay = api.post("/v1/cooperatives", json=body(external_ref=ref), headers=key)

    assert found.status_code == 200
    assert replay.status_code == 200
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first["id"]


def test_concurrent_creates_with_one_external_ref_record_one_cooperative(
    service: ServiceProcess,
) -> None:
    ref = f"crm-{uuid4()}"

    def send(_: int) -> httpx.Response:
        with service.client(ADMIN) as client:
            return client.post("/v1/cooperatives", json=body(external_ref=ref))

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))

    assert sorted(a.status_code for a in answers) == [200] * 7 + [201]
    assert len({a.json()["id"] for a in answers}) == 1


def test_a_sector_id_is_no_cooperative(api: httpx.Client) -> None:
    microbrasserie = uuid5(SECTOR_NAMESPACE, "microbrasserie")

    problem(api.get(f"/v1/cooperatives/{microbrasserie}"), 404)
    problem(api.get(f"/v1/cooperatives/{microbrasserie}/history"), 404)
    problem(api.patch(f"/v1/cooperatives/{microbrasserie}", json={"name": "x"}), 404)


def test_history_shows_every_correction_with_its_data_oldest_first(api: httpx.Client) -> None:
    created = create(api, joined_on="2020-01-01")
    path = f"/v1/cooperatives/{created['id']}"
    corrected = [{"start": "2019-01-01", "end": None}]
    api.post(correction_path(created["id"]), json={"periods": corrected})
    api.post(f"{path}/void", json={"reason": "doublon"})
    api.post(f"{path}/restoration")

    items = history(api, created["id"])

    assert [(i["type"], i["version"]) for i in items] == [
        ("CoopJoined", 1),
        ("CoopMembershipCorrected", 2),
        ("CoopVoided", 3),
        ("CoopRestored", 4),
    ]
    assert [i["data"] for i in items[1:]] == [
        {"cooperative_id": created["id"], "periods": corrected, "reason": None},
        {"cooperative_id": created["id"], "reason": "doublon"},
        {"cooperative_id": created["id"], "reason": None},
    ]
    assert all(RFC3339_UTC.match(i["recorded_at"]) for i in items)


# --- who am I (§1 v2) ----------------------------------------------------------------------


def test_whoami_answers_the_scopes_of_any_valid_token(
    service: ServiceProcess, api: httpx.Client, anonymous: httpx.Client
) -> None:
    assert api.get("/v1/whoami").json() == {"scopes": ["membership:write", "read"]}
    with service.client(READER) as reader:
        assert reader.get("/v1/whoami").json() == {"scopes": ["read"]}
    with service.client(WRITER) as writer:
        response = writer.get("/v1/whoami")
    assert response.status_code == 200
    assert response.json() == {"scopes": ["membership:write"]}
    problem(anonymous.get("/v1/whoami"), 401)
    with service.client("not-a-token") as unknown:
        problem(unknown.get("/v1/whoami"), 401)
