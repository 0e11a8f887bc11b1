"""The RDM layer: HTTP client, models, auth, downloads and sample reading."""

from .client import RdmClient, RdmInteraction
from .models import Collection, CollectionId
from .query import RdmQuery

__all__ = ["RdmClient", "RdmInteraction", "RdmQuery", "Collection", "CollectionId"]
