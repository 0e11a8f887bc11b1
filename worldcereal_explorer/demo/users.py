"""The demo identities: who owns the private and the restricted demo collections.

The local OIDC provider issues tokens for these subjects, and the catalogue's ``access.json`` files name
them, so a demo login sees exactly the collections its user may see on the live RDM.
"""

from __future__ import annotations

from typing import Any

#: The demo user who owns the private demo collection (the local OIDC provider issues tokens for them).
DEMO_USER_SUB = "demo-user"
DEMO_USER_NAME = "Demo User"
#: Owner of the restricted demo collection, shared with the consortium group.
PARTNER_USER_SUB = "partner-user"
CONSORTIUM_GROUP = "worldcereal-consortium"


def demo_users() -> dict[str, dict[str, Any]]:
    """The demo users for ``catalog.json``: ``{sub: {"name": ..., "groups": [...]}}``."""
    return {
        DEMO_USER_SUB: {"name": DEMO_USER_NAME, "groups": []},
        PARTNER_USER_SUB: {"name": "Partner User", "groups": [CONSORTIUM_GROUP]},
    }
