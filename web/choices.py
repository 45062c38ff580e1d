"""What the dashboard's filter menus offer: owners, accounts, playbooks and partner types.

These are lists of names, not metrics: they only say which values the
``owner``, ``account``, ``playbook`` and ``partner_type`` filters can take in
one workspace, so the page can offer menus instead of free text.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from metrics.ingest.contract import PARTNER_TYPES
from metrics.models import Account, Project, TeamMember


def filter_choices(conn: Connection, workspace_id: int) -> dict[str, Any]:
    """Every value each page filter can take in ``workspace_id``, sorted by name."""
    owners = conn.execute(
        select(TeamMember.member_id, TeamMember.name)
        .where(TeamMember.workspace_id == workspace_id)
        .order_by(TeamMember.name, TeamMember.member_id)
    ).all()
    accounts = conn.execute(
        select(Account.account_id, Account.name, Account.kind, Account.partner_type)
        .where(Account.workspace_id == workspace_id)
        .order_by(Account.name, Account.account_id)
    ).all()
    playbooks = conn.scalars(
        select(Project.playbook)
        .where(Project.workspace_id == workspace_id, Project.playbook.is_not(None))
        .where(Project.playbook != "")
        .distinct()
        .order_by(Project.playbook)
    ).all()
    return {
        "owners": [{"id": i, "name": n} for i, n in owners],
        "accounts": [{"id": i, "name": n, "kind": k, "partner_type": t} for i, n, k, t in accounts],
        "playbooks": list(playbooks),
        "partner_types": list(PARTNER_TYPES),
    }
