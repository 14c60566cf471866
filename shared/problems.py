"""RFC 9457 problem details: the one place where errors become HTTP answers."""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://reseau.coop/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"

TITLES: dict[int, tuple[str, str]] = {
    400: ("Requête invalide", "Bad request"),
    401: ("Authentification requise", "Authentication required"),
    403: ("Accès refusé", "Forbidden"),
    404: ("Ressource introuvable", "Not found"),
    405: ("Méthode non permise", "Method not allowed"),
    406: ("Format non disponible", "Not acceptable"),
    409: ("Conflit avec l'état actuel", "Conflict"),
    412: ("Version périmée", "Precondition failed"),
    413: ("Requête trop volumineuse", "Content too large"),
    415: ("Type de contenu non pris en charge", "Unsupported media type"),
    422: ("Requête non valide", "Unprocessable content"),
    429: ("Trop de tentatives", "Too many requests"),
    500: ("Erreur interne", "Internal error"),
    503: ("Service indisponible", "Service unavailable"),
}

SLUGS: dict[int, str] = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    412: "precondition-failed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    429: "too-many-requests",
    500: "internal-error",
    503: "unavailable",
}


class Problem(Exception):
    """An HTTP error answer: status, a type slug, a human detail and, for 422, field errors."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug or SLUGS.get(status, "error")
        self.errors = errors
        self.headers = headers or {}

    def body(self, lang: str = "fr", instance: str | None = None) -> dict[str, Any]:
        """The problem+json document."""
        french, english = TITLES.get(self.status, ("Erreur", "Error"))
        document: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": english if lang == "en" else french,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            document["instance"] = instance
        if self.status == 422:
            document["errors"] = self.errors or [{"field": "", "message": self.detail}]
        return document


def invalid(field: str, message: str, *, slug: str | None = None) -> Problem:
    """A 422 about one field."""
    return Problem(422, message, slug=slug, errors=[{"field": field, "message": message}])
