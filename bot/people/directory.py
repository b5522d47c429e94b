"""The people directory: who each person is, their agency and role, their line manager, and the
safeguarding roles they hold in their agency."""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.people.roles import Role, UnknownRole, parse_roles

COLUMNS = ("id", "name", "agency", "role", "manager_id", "email", "slack_id", "teams_id", "admin", "roles",
           "teams_tenant")  # fmt: skip
REQUIRED = ("id", "name", "agency", "role")
# Longer than any real value: a longer one is a column out of place or pasted text.
LIMITS = {"id": 64, "name": 200, "agency": 200, "role": 200, "manager_id": 64, "email": 254,
          "slack_id": 64, "teams_id": 200, "teams_tenant": 100}  # fmt: skip
EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")
_TRUE = {"yes", "y", "true", "1"}
_FALSE = {"", "no", "n", "false", "0"}


@dataclass(frozen=True)
class Person:
    """One practitioner, manager or partnership admin. Ids are opaque to the core."""

    id: str
    name: str
    agency: str
    role: str
    manager_id: str | None = None
    email: str | None = None
    slack_id: str | None = None
    teams_id: str | None = None
    admin: bool = False
    # The policies (partnerships) this admin is named for; empty means every policy.
    admin_policies: tuple[str, ...] = ()
    # Safeguarding roles held within `agency` (a partnership admin is marked by `admin`).
    roles: tuple[Role, ...] = ()
    # Where each platform id is valid: a Slack user id belongs to one workspace, a Teams account to
    # one Microsoft 365 tenant. Recorded when the account is linked; a claim from elsewhere is not them.
    slack_team: str | None = None
    teams_tenant: str | None = None
    # A leaver is deactivated, not deleted: the record still names them, but they act no more.
    active: bool = True
    # False for someone a practitioner named who is not yet in the directory an admin keeps: they
    # are reached by email until linked to a platform; a directory import confirms them.
    confirmed: bool = True

    def describe(self) -> str:
        """Name with role and agency, as messages show a person."""
        return f"{self.name} ({self.role}, {self.agency})"

    def has_role(self, role: Role) -> bool:
        """True when the person holds `role` in their agency (partnership admin: `admin`)."""
        return self.admin if role is Role.PARTNERSHIP_ADMIN else role in self.roles

    def is_admin_for(self, policy_id: str) -> bool:
        """True for a partnership admin named for this policy (or for every policy)."""
        return self.admin and (not self.admin_policies or policy_id in self.admin_policies)


class DirectoryError(Exception):
    """A directory file that cannot be imported; the message names the line and the problem."""


def parse_directory_csv(
    text: str,
    *,
    source: str,
    known_ids: Iterable[str] = (),
    known_policies: Iterable[str] | None = None,
    known_platform_ids: dict[tuple[str, str], tuple[str, int]] | None = None,
) -> list[Person]:
    """Read people from CSV text; every problem names `source`, the line and the column.
    `known_platform_ids` maps (column, lower-case value) to the person already holding it."""
    known_platform_ids = known_platform_ids or {}
    reader = csv.DictReader(io.StringIO(text))
    # Headers in any case and spacing ("ID", " Name "), as a spreadsheet saves them.
    header = [(h or "").strip().lower().replace(" ", "_") for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise DirectoryError(
            f"{source}: header is missing column(s) {', '.join(missing)}; the first line must name the "
            f"columns, e.g. {','.join(COLUMNS[:6])}"
        )
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        near = difflib.get_close_matches(unknown[0], COLUMNS, n=1)
        hint = f" (did you mean {near[0]}?)" if near else ""
        raise DirectoryError(
            f"{source}: unknown column(s) {', '.join(unknown)}{hint}; columns are {', '.join(COLUMNS)}"
        )
    platform_ids: dict[tuple[str, str], tuple[str, int]] = {}
    people: list[Person] = []
    lines: dict[str, int] = {}
    seen: set[str] = set()
    for row in reader:
        line = reader.line_num
        values = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        for column in REQUIRED:
            if not values.get(column):
                raise DirectoryError(f"{source}: line {line}: {column} is empty")
        if values["id"] in seen:
            raise DirectoryError(f"{source}: line {line}: id {values['id']!r} appears twice")
        for column, limit in LIMITS.items():
            if len(values.get(column, "")) > limit:
                raise DirectoryError(
                    f"{source}: line {line}: {column} is {len(values[column])} characters long; "
                    f"at most {limit}. Is a column out of place?"
                )
        email = values.get("email", "")
        if email and not EMAIL.fullmatch(email):
            raise DirectoryError(
                f"{source}: line {line}: email {email[:60]!r} is not an email address; give a work "
                "address like name@agency.org.uk, or leave it empty"
            )
        for column in ("slack_id", "teams_id", "email"):
            value = values.get(column, "").lower()
            if not value:
                continue
            owner = platform_ids.get((column, value)) or known_platform_ids.get((column, value))
            if owner and owner[0] != values["id"]:
                where = f"line {owner[1]}" if owner[1] else "the directory already"
                raise DirectoryError(
                    f"{source}: line {line}: {column} {values[column][:60]!r} is also {owner[0]}'s "
                    f"({where}); one account belongs to one person"
                )
            platform_ids[(column, value)] = (values["id"], line)
        admin_text = values.get("admin", "").lower()
        admin_for = tuple(p for p in re.split(r"[;,\s]+", admin_text) if p)
        policies = set(known_policies) if known_policies is not None else None
        unknown_policies = [p for p in admin_for if policies is not None and p not in policies]
        if admin_text not in _TRUE | _FALSE and unknown_policies:
            raise DirectoryError(
                f"{source}: line {line}: admin must be yes, no, or the policy ids the person is admin "
                f"for; {unknown_policies[0]!r} is not a policy ({', '.join(sorted(policies or ()))})"
            )
        if admin_text not in _TRUE | _FALSE and not all(re.fullmatch(r"[a-z0-9-]+", p) for p in admin_for):
            raise DirectoryError(
                f"{source}: line {line}: admin must be yes, no, or the policy ids the person is admin "
                f"for (e.g. camden;enfield), not {admin_text!r}"
            )
        try:
            roles = parse_roles(values.get("roles", ""))
        except UnknownRole as exc:
            raise DirectoryError(f"{source}: line {line}: roles: {exc}") from None
        is_admin = admin_text not in _FALSE or Role.PARTNERSHIP_ADMIN in roles
        seen.add(values["id"])
        lines[values["id"]] = line
        people.append(
            Person(
                id=values["id"],
                name=values["name"],
                agency=values["agency"],
                role=values["role"],
                manager_id=values.get("manager_id") or None,
                email=values.get("email") or None,
                slack_id=values.get("slack_id") or None,
                teams_id=values.get("teams_id") or None,
                # The Microsoft 365 tenant (agency) the Teams account is in, where the file says.
                teams_tenant=values.get("teams_tenant", "").lower() or None,
                admin=is_admin,
                admin_policies=() if admin_text in _TRUE | _FALSE else admin_for,
                roles=tuple(r for r in roles if r is not Role.PARTNERSHIP_ADMIN),
            )
        )
    if not people:
        raise DirectoryError(f"{source}: no people found")
    valid = seen | set(known_ids)
    for person in people:
        where = f"{source}: line {lines[person.id]}"
        if person.manager_id and person.manager_id not in valid:
            raise DirectoryError(f"{where}: manager_id {person.manager_id!r} is not in the directory")
        if person.manager_id == person.id:
            raise DirectoryError(f"{where}: {person.id} cannot be their own manager")
    return people
