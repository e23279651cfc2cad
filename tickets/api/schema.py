"""OpenAPI post-processing: paths as the contract names them, and the errors they answer."""

from __future__ import annotations

from typing import Any

ERROR = {
    "description": "An error; `detail` says what went wrong.",
    "content": {
        "application/json": {
            "schema": {"type": "object", "properties": {"detail": {"type": "string"}}}
        }
    },
}
COMMON_ERRORS = {
    "401": "Not logged in (session or `Authorization: Token <key>`).",
    "403": "Logged in without the permission this needs (or a failed CSRF check).",
    "405": "Method not allowed.",
    "406": "Cannot answer in the media type asked for.",
}
BODY_ERRORS = {"400": "Bad input.", "415": "Unsupported media type."}


def document_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict:
    # Every path answers with and without the slash; the contract (SPEC §9) names them without.
    result["paths"] = {path.rstrip("/"): item for path, item in result.get("paths", {}).items()}
    for path_item in result["paths"].values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            errors = dict(COMMON_ERRORS)
            if operation.get("parameters") or method == "post":
                errors["400"] = BODY_ERRORS["400"]
            if method == "post":
                errors["415"] = BODY_ERRORS["415"]
            for code, description in errors.items():
                responses.setdefault(code, ERROR | {"description": description})
    return result
