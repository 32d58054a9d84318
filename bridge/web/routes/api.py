"""The JSON API under /api/ (OpenAPI at /api/openapi.json): the same services and rules as the pages."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["api"])
