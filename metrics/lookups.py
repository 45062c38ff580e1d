"""The assistant's lookups: plain typed functions on ``(conn, scope, ...)`` returning models.

* :func:`never_logged_in` — invited users with no login on the portal they were invited
  to, overall, per project, per account or per kind of portal;
* :func:`search_entities` — name resolution (exact id, exact name, prefix, substring,
  fuzzy) over projects, accounts, partners, users and team members;
* :func:`project_profile`, :func:`account_profile`, :func:`partner_profile`,
  :func:`user_profile` — everything about one entity in one answer, built from the
  sections (KPI cards, risks) over a scope narrowed to that entity.

Unknown ids, and entities excluded by the scope's other filters, raise the resolver's
:class:`~metrics.semantic.resolve.ResolveError` (``kind`` ``not_found`` or ``out_of_scope``).
"""

from __future__ import annotations

from metrics.lookups_base import narrow, resolve_id
from metrics.lookups_never import (
    AccountCount,
    NeverLoggedIn,
    NeverLoggedInRow,
    ProjectCount,
    never_logged_in,
)
from metrics.lookups_profiles import (
    AccountProfile,
    PartnerProfile,
    ProjectProfile,
    TaskCounts,
    account_profile,
    partner_profile,
    project_profile,
)
from metrics.lookups_search import KINDS, EntityMatch, search_entities
from metrics.lookups_user import UserPortal, UserProfile, UserTasks, user_profile
from metrics.semantic.resolve import ResolveError

__all__ = [
    "KINDS",
    "AccountCount",
    "AccountProfile",
    "EntityMatch",
    "NeverLoggedIn",
    "NeverLoggedInRow",
    "PartnerProfile",
    "ProjectCount",
    "ProjectProfile",
    "ResolveError",
    "TaskCounts",
    "UserPortal",
    "UserProfile",
    "UserTasks",
    "account_profile",
    "narrow",
    "never_logged_in",
    "partner_profile",
    "project_profile",
    "resolve_id",
    "search_entities",
    "user_profile",
]
