"""Routing document versions: validated whole, stored, the newest one active (see ``shared.versioned``)."""

from __future__ import annotations

from lead_router import tables
from lead_router.domain.config import RoutingConfig, parse_document
from shared.versioned import Version, VersionedDocuments

ActiveConfig = Version[RoutingConfig]


def routing_documents() -> VersionedDocuments[RoutingConfig]:
    """The store of routing documents; it also caches the active version in memory."""
    return VersionedDocuments(tables.routing_configs, parse_document)
