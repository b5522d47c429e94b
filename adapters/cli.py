"""The `escalation-bot` command line: policies, timeline, list, export, directory import, demo."""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import NoReturn

from adapters.system_clock import SystemClock
from bot.calendar import LONDON, WorkingCalendar
from bot.listing import (
    EVERY,
    STATUSES,
    ListFilter,
    list_line,
    overdue_words,
    overdue_working_days,
)
from bot.people import COLUMNS, DirectoryError, Role, UnknownRole, parse_directory_csv, parse_role
from bot.policy import PolicyError, PolicyLibrary, load_policy_file
from bot.policy.text import describe_policy, describe_stage_timescale
from bot.record import export_markdown
from bot.settings import Settings, SettingsError
from bot.storage import Storage, StorageError
from bot.timeline import plan_timeline
from bot.wording import when


class UsageError(Exception):
    """Bad input on the command line: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        where = self.prog.removeprefix("escalation-bot").strip()
        raise UsageError(f"{where}: {message}" if where else message)


def parse_start(text: str) -> datetime:
    """An ISO date-time; without an offset it is Europe/London local time."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"--start: {text!r} is not an ISO date-time (e.g. 2026-12-23T10:00 or 2026-12-23T10:00+00:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LONDON)
    return moment.astimezone(LONDON)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(LONDON).isoformat() if moment else None


def _library(settings: Settings) -> PolicyLibrary:
    try:
        return PolicyLibrary.load(settings.policies_dir)
    except PolicyError as exc:
        raise UsageError(str(exc)) from None


def _policy(settings: Settings, policy_id: str):
    library = _library(settings)
    try:
        return library.get(policy_id)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None


def _store(settings: Settings, *, create: bool = False) -> Storage:
    try:
        return Storage.open(settings.database_url, create=create)
    except StorageError as exc:
        raise UsageError(str(exc)) from None


def cmd_policies(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "list":
        for policy in _library(settings).policies.values():
            print(f"{policy.id:<30} {len(policy.stages)} stages  {policy.name} ({policy.source_date})")
    elif args.action == "show":
        print(describe_policy(_policy(settings, args.id)))
    else:
        try:
            policy = load_policy_file(Path(args.file), require_source=True)
        except PolicyError as exc:
            for problem in exc.problems[:-1]:
                print(f"escalation-bot: error: {problem}", file=sys.stderr)
            raise UsageError(exc.problems[-1]) from None
        print(
            f"{args.file}: OK ({policy.id}, {len(policy.stages)} stages; every quote, number and "
            "address is in its source)"
        )
    return 0


def cmd_timeline(args: argparse.Namespace, settings: Settings) -> int:
    policy = _policy(settings, args.policy)
    start = parse_start(args.start)
    try:
        stages = plan_timeline(policy, start, urgent=args.urgent, calendar=WorkingCalendar())
    except OverflowError:
        raise UsageError(f"--start: {args.start!r} is too far in the future to plan a timeline") from None
    if args.json:
        doc = {
            "policy": policy.id,
            "urgent": args.urgent,
            "stages": [
                {
                    "stage": s.number,
                    "title": s.title,
                    "starts": _iso(s.starts),
                    "due": _iso(s.due),
                    "milestones": [{"name": m.name, "due": _iso(m.due)} for m in s.milestones],
                }
                for s in stages
            ],
        }
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return 0
    print(f"{policy.name}: timeline from {when(start)}{' (urgent)' if args.urgent else ''}")
    for s in stages:
        starts = when(s.starts) if s.starts else "not known (an earlier stage has no timescale)"
        due = when(s.due) if s.due else "no timescale in the policy: agree a target locally"
        print(f"Stage {s.number}: {s.title}")
        print(f"  starts {starts}; due {due} [{describe_stage_timescale(policy, s.number)}]")
        for m in s.milestones:
            print(f"  • {m.name}: by {when(m.due)}")
    if args.urgent and not policy.has_urgent_timescales:
        print("This policy gives no separate urgent timescale: agree an earlier due time.")
    return 0


def _positive(text: str) -> int:
    if not (text.isascii() and text.isdigit() and int(text) > 0):
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a whole number above 0")
    return int(text)


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    """Escalations, overdue first (by how long), then newest; filtered; capped with how many more."""
    from bot.core import EscalationBot

    library = _library(settings)
    filters = _list_filter(args, library)
    store = _store(settings)
    bot = EscalationBot(store=store, policies=library, clock=SystemClock())
    if args.json:
        _print_json_rows(bot, filters, library)
        return 0
    shown = bot.list_all(filters, limit=args.limit)
    if not shown.total:
        print("No escalations match." if filters != EVERY else "No escalations yet.")
    for row in shown.rows:
        print(list_line(row, shown.now, bot.calendar, viewer=None))
    if shown.more:
        print(
            f"…and {shown.more} more: raise --limit, or narrow with --overdue, --policy, --agency, "
            "--status or --since"
        )
    return 0


def _list_filter(args: argparse.Namespace, library: PolicyLibrary) -> ListFilter:
    if args.policy and args.policy not in library.policies:
        raise UsageError(f"list: no policy {args.policy!r}; known: {', '.join(library.ids())}")
    since = None
    if args.since:
        try:
            since = date.fromisoformat(args.since)
        except ValueError:
            raise UsageError(
                f"list: --since {args.since[:20]!r} is not a date; give it as 2026-12-01"
            ) from None
    return ListFilter(
        overdue=args.overdue, policy=args.policy, agency=args.agency, status=args.status, since=since
    )


def _print_json_rows(bot, filters: ListFilter, library: PolicyLibrary) -> None:
    """Every matching escalation with what a report needs, a page at a time (flat memory)."""
    first = True
    print("[")
    for page in json_pages(bot, filters, library):
        print(("" if first else ",\n") + page, end="")
        first = False
    print("\n]" if not first else "]")


def json_pages(bot, filters: ListFilter, library: PolicyLibrary, *, size: int = 200) -> Iterator[str]:
    """`list --json`'s rows as text, a page of at most `size` at a time, so the whole list is never
    held and the first rows come at once (the scaling benchmark times the first page)."""
    now = bot.clock.now()
    for rows in bot.list_every(filters, now=now, page=size):
        yield ",\n".join(_row_text(_row_json(row, now, bot.calendar, library)) for row in rows)


# One row as `json.dumps(row, indent=2)` lays it out, indented a level for the list, by the C
# encoder (Python's own encoder does indented output, several times slower): a row's values are
# never lists or objects, so the item separator only ever falls between its fields.
_ROW_ENCODER = json.JSONEncoder(separators=(",\n    ", ": "))


def _row_text(row: dict) -> str:
    return "  {\n    " + _ROW_ENCODER.encode(row)[1:-1] + "\n  }"


def _row_json(row, now: datetime, calendar, library: PolicyLibrary) -> dict:
    policy = library.policies.get(row.policy_id)
    late = row.status == "open" and row.due is not None and row.due < now
    days = overdue_working_days(row.due, now, calendar) if late else 0
    return {
        "id": row.id,
        "policy": row.policy_id,
        "case_reference": row.case_reference,
        "category": row.category,
        "urgent": row.urgent,
        "immediate_risk": row.immediate_risk,
        "stage": row.stage,
        "stage_title": policy.stage(row.stage).title if policy else None,
        "status": row.status,
        "opened": _iso(row.opened_at),
        "due": _iso(row.due),
        "overdue": late,
        "overdue_working_days": days,
        "overdue_by": overdue_words(days) if late else None,
        "raiser_agency": row.raiser_agency,
        "counterpart_agency": row.counterpart_agency,
        "highest_stage": row.highest_stage,
        "ended_at": _iso(row.ended_at),
        "outcome_kind": row.outcome_kind,
    }


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.escalation import Escalation

    store = _store(settings)
    events = store.events(args.id.strip().upper())
    if not events:
        raise UsageError(f"export: no escalation {args.id!r} in {settings.database_url}")
    esc = Escalation.from_events(events)
    print(export_markdown(esc, store.person, exported_by=None, exported_at=SystemClock().now()))
    return 0


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.report import RENDERERS
    from bot.errors import InvalidInput
    from bot.report import build_report, parse_date, period_of

    try:
        period = period_of(parse_date(args.start, "--from"), parse_date(args.end, "--to"))
    except InvalidInput as exc:
        raise UsageError(f"report: {exc}") from None
    policy = _policy(settings, args.policy)
    out = Path(args.out) if args.out else None
    if out is not None and (out.is_dir() or not out.parent.is_dir()):
        raise UsageError(f"report: --out: cannot write {args.out!r}: no such folder, or it is a folder")
    store = _store(settings)
    report = build_report(
        store,
        policy,
        period,
        now=SystemClock().now(),
        calendar=WorkingCalendar(),
        case_references=not args.no_case_references,
    )
    text = RENDERERS[args.format](report)
    if out is None:
        sys.stdout.write(text)
        return 0
    try:
        out.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise UsageError(f"report: --out: cannot write {args.out!r}: {exc.strerror or exc}") from None
    print(
        f"Wrote the {policy.short_name} report for {period.first} to {period.last} ({report.raised} "
        f"differences) to {out}",
        file=sys.stderr,
    )
    return 0


def _known_ids(settings: Settings) -> list[str]:
    """People already in the database (none if it doesn't exist yet), for manager references."""
    try:
        store = Storage.open(settings.database_url, create=False)
    except StorageError:
        return []
    return [p.id for p in store.people()]


def _keep_learned(store: Storage, person):
    """A blank cell keeps what the bot learned in chat (a named manager, a linked Slack or Teams id)."""
    known = store.person(person.id)
    if known is None:
        return person
    slack_id = person.slack_id or known.slack_id
    teams_id = person.teams_id or known.teams_id
    return replace(
        person,
        manager_id=person.manager_id or known.manager_id,
        email=person.email or known.email,
        slack_id=slack_id,
        teams_id=teams_id,
        # The workspace or tenant learned for the same account stays; a new account's does not.
        slack_team=person.slack_team or (known.slack_team if slack_id == known.slack_id else None),
        teams_tenant=person.teams_tenant or (known.teams_tenant if teams_id == known.teams_id else None),
    )


def cmd_directory(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "roles":
        return _list_roles(settings)
    if args.action == "remove-role":
        return _remove_role(settings, args.person, args.role)
    if args.action == "list":
        return _list_people(settings, args.agency, args.json)
    if args.action == "show":
        return _show_person(settings, args.person)
    if args.action == "export":
        return _export_people(settings, args.file)
    if args.action == "deactivate":
        return _deactivate(settings, args.person)
    path = Path(args.file)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"directory import: {args.file}: no such file") from None
    except OSError as exc:
        raise UsageError(f"directory import: {args.file}: cannot be read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Windows saves "CSV" in Windows-1252: read it as that, and say so.
        text = raw.decode("cp1252", errors="replace")
        print(f"{args.file}: not UTF-8, so read as Windows-1252 (as Excel saves it); check accented names.")
    try:
        people = parse_directory_csv(
            text,
            source=args.file,
            known_ids=_known_ids(settings),
            known_policies=_library(settings).ids(),
            known_platform_ids=_known_platform_ids(settings),
        )
    except DirectoryError as exc:
        raise UsageError(str(exc)) from None
    store = _store(settings, create=True)
    # A file without a roles column (an older export, say) leaves everyone's roles as they are.
    header = next(csv.reader(io.StringIO(text)), [])
    with_roles = "roles" in {h.strip() for h in header}
    count = store.upsert_people([_keep_learned(store, p) for p in people], with_roles=with_roles)
    print(f"Imported {count} {'person' if count == 1 else 'people'} into {settings.database_url}.")
    return 0


def _known_platform_ids(settings: Settings) -> dict[tuple[str, str], tuple[str, int]]:
    try:
        store = Storage.open(settings.database_url, create=False)
    except StorageError:
        return {}
    try:
        return {
            (column, value.lower()): (person.id, 0)
            for person in store.people()
            for column, value in (
                ("slack_id", person.slack_id),
                ("teams_id", person.teams_id),
                ("email", person.email),
            )
            if value
        }
    finally:
        store.close()


def _list_people(settings: Settings, agency: str | None, as_json: bool) -> int:
    """Everyone in the directory (or one agency's people), by name."""
    store = _store(settings)
    people = [p for p in store.people() if agency is None or p.agency.lower() == agency.lower()]
    if as_json:
        print(json.dumps([_person_json(p) for p in people], indent=2))
        return 0
    if not people:
        print("No one in the directory" + (f" for {agency}." if agency else "."))
    for p in people:
        reach = ", ".join(
            k for k, v in (("Slack", p.slack_id), ("Teams", p.teams_id), ("email", p.email)) if v
        )
        status = "" if p.active else "  (left)"
        status += "" if p.confirmed else "  (unconfirmed: named in a raise; import them to confirm)"
        print(
            f"{p.id:<14} {p.name:<28} {p.role:<30} {p.agency:<36} {reach or 'no way to reach them'}{status}"
        )
    return 0


def _show_person(settings: Settings, person_id: str) -> int:
    store = _store(settings)
    person = store.person(person_id)
    if person is None:
        raise UsageError(
            f"directory show: no one with id {person_id!r} in the directory (see directory list)"
        )
    manager = store.person(person.manager_id) if person.manager_id else None
    for label, value in (
        ("id", person.id),
        ("name", person.name),
        ("agency", person.agency),
        ("role", person.role),
        ("line manager", manager.describe() if manager else person.manager_id or "not known"),
        ("email", person.email or "-"),
        (
            "Slack",
            f"{person.slack_id} ({person.slack_team or 'workspace not yet seen'})"
            if person.slack_id
            else "-",
        ),
        (
            "Teams",
            f"{person.teams_id} ({person.teams_tenant or 'tenant not yet seen'})" if person.teams_id else "-",
        ),
        ("safeguarding roles", ", ".join(r.label for r in person.roles) or "-"),
        ("status", _status(person)),
        (
            "partnership admin",
            ("for " + ", ".join(person.admin_policies))
            if person.admin_policies
            else "yes"
            if person.admin
            else "no",
        ),
    ):
        print(f"{label + ':':<20} {value}")
    return 0


def _status(person) -> str:
    if not person.active:
        return "left: can no longer use the bot"
    if not person.confirmed:
        return "unconfirmed: named in a raise, reached by email; import them to confirm"
    return "active"


def _deactivate(settings: Settings, person_id: str) -> int:
    """A leaver loses access at once; each open escalation they handled asks who takes over."""
    from bot.core import EscalationBot

    store = _store(settings)
    person = store.person(person_id)
    if person is None:
        raise UsageError(
            f"directory deactivate: no one with id {person_id!r} in the directory (see directory list)"
        )
    if not person.active:
        print(f"{person.name} was already deactivated.")
        return 0
    bot = EscalationBot(store=store, policies=_library(settings), clock=SystemClock())
    asked = bot.deactivate(person_id)
    print(f"{person.name} can no longer use the bot.")
    for message in asked:
        whom = store.person(message.to)
        print(f"{message.escalation_id}: asked {whom.describe() if whom else message.to} who takes over.")
    if not asked:
        print("They handled no open escalation.")
    return 0


def _export_people(settings: Settings, file: str) -> int:
    """The directory as a CSV that `directory import` reads back."""
    store = _store(settings)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for p in store.people():
        admin = ";".join(p.admin_policies) if p.admin_policies else "yes" if p.admin else "no"
        roles = ";".join(r.value for r in p.roles)
        writer.writerow([p.id, p.name, p.agency, p.role, p.manager_id or "", p.email or "", p.slack_id or "",
                         p.teams_id or "", admin, roles, p.teams_tenant or ""])  # fmt: skip
    try:
        Path(file).write_text(out.getvalue(), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"directory export: {file}: cannot be written ({exc.strerror})") from None
    count = len(store.people())
    print(f"Wrote {count} {'person' if count == 1 else 'people'} to {file}.")
    return 0


def _person_json(p) -> dict:
    return {
        "id": p.id,
        "name": p.name,
        "agency": p.agency,
        "role": p.role,
        "manager_id": p.manager_id,
        "email": p.email,
        "slack_id": p.slack_id,
        "teams_id": p.teams_id,
        "admin": p.admin,
        "admin_policies": list(p.admin_policies),
        "roles": [r.value for r in p.roles],
        "active": p.active,
        "confirmed": p.confirmed,
    }


def _list_roles(settings: Settings) -> int:
    """Who holds which role for which agency, and whether the directory or someone in chat said so."""
    store = _store(settings)
    rows = store.role_assignments()
    if not rows:
        print("No roles recorded.")
    for role, agency, person_id, source in rows:
        person = store.person(person_id)
        name = person.describe() if person else person_id
        how = "directory" if source == "directory" else "named in chat"
        print(f"{Role(role).label:<36} {agency:<40} {person_id:<12} {name} [{how}]")
    return 0


def _remove_role(settings: Settings, person_id: str, role_text: str) -> int:
    try:
        role = parse_role(role_text)
    except UnknownRole as exc:
        raise UsageError(f"directory remove-role: {exc}") from None
    store = _store(settings)
    if store.person(person_id) is None:
        raise UsageError(f"directory remove-role: no one with id {person_id!r} in the directory")
    removed = store.remove_role(person_id, role)
    print(
        f"{person_id} no longer holds the role {role.label}." if removed else f"{person_id} did not hold it."
    )
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.server import run

    try:
        return run(settings)
    except (SettingsError, PolicyError) as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot listen on port {settings.port}: {exc.strerror or exc}") from None


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    """A consistent copy of the live database (SQLite's online backup API), checked."""
    from adapters.backup import backup

    snapshot = backup(settings.database_url, Path(args.file).expanduser())
    print(f"Backed up {settings.database_url} to {snapshot.path}: {_holds(snapshot)}.")
    return 0


def _holds(snapshot) -> str:
    return (
        f"schema version {snapshot.schema_version}, {snapshot.escalations} escalations, "
        f"{snapshot.people} people, last change {snapshot.last_change or 'none'}"
    )


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    """Put a backup back, refusing while a server runs on the database."""
    from adapters.backup import restore

    snapshot, kept = restore(Path(args.file).expanduser(), settings.database_url, now=SystemClock().now())
    print(f"Restored {settings.database_url} from {snapshot.path}: {_holds(snapshot)}.")
    if kept is not None:
        print(f"The database it replaced is kept in {kept}.")
    return 0


def _retention(settings: Settings, library: PolicyLibrary):
    from bot.retention import RetentionError, parse_retention

    try:
        return parse_retention(settings.retention, library.ids())
    except RetentionError as exc:
        raise UsageError(str(exc)) from None


def cmd_retention(args: argparse.Namespace, settings: Settings) -> int:
    """Closed escalations whose retention period has run out: listed (--dry-run) or erased now."""
    from bot import retention

    rules = _retention(settings, _library(settings))
    store = _store(settings)
    now = SystemClock().now()
    if args.log:
        for at, subject, rule, _ in store.erasures():
            print(f"{when(at)}  {subject:<12} {rule}")
        return 0
    own = "".join(f"; {p}: {k.describe()}" for p, k in sorted(rules.by_policy.items()))
    print(f"Kept after closing: {rules.default.describe()}{own} (RETENTION).")
    if args.dry_run:
        items = retention.due(store, rules, now, limit=10**9)
        for item in items:
            print(f"{item.escalation_id:<8} {item.policy_id:<28} closed {when(item.ended_at)}  {item.rule}")
        count = f"{len(items)} {'escalation' if len(items) == 1 else 'escalations'}"
        print(f"{count} would be erased now. Dry run: nothing was changed.")
        return 0
    erased = retention.run(store, rules, now)
    print(f"Erased {erased} {'escalation' if erased == 1 else 'escalations'}; see retention --log.")
    return 0


def cmd_person(args: argparse.Namespace, settings: Settings) -> int:
    """The data protection officer's commands: a person's data (subject access), or erasing them."""
    from bot.subject_access import NoSuchPerson, erase_person, erasure_plan, subject_access

    store = _store(settings)
    now = SystemClock().now()
    try:
        if args.action == "export":
            text = json.dumps(subject_access(store, args.person, now=now), indent=2, ensure_ascii=False)
            if not args.out:
                print(text)
                return 0
            try:
                Path(args.out).write_text(text + "\n", encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"person export: {args.out}: cannot be written ({exc.strerror})") from None
            print(f"Wrote everything held about {args.person} to {args.out}.", file=sys.stderr)
            return 0
        escalations, mentions = erasure_plan(store, args.person)
        if args.dry_run:
            print(f"Erasing {args.person} would change {len(escalations)} escalation histories.")
        else:
            done = erase_person(store, args.person, now=now)
            print(
                f"Erased {args.person}: now {done.new_id}, shown by their role in "
                f"{len(done.escalations)} escalation histories."
            )
    except NoSuchPerson:
        raise UsageError(f"person {args.action}: no one with id {args.person!r} in the directory") from None
    for m in mentions:
        print(f"  {m.escalation_id}: named in words by {m.author} ({m.kind}, {when(m.at)}); review it")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.console import run_demo

    try:
        return run_demo(
            auto=args.auto,
            policies_dir=settings.policies_dir,
            default_policy=settings.default_policy,
            keep=_keep_path(args.keep) if args.keep else None,
        )
    except PolicyError as exc:
        raise UsageError(str(exc)) from None


def _keep_path(text: str) -> Path:
    path = Path(text).expanduser()
    if path.exists():
        raise UsageError(f"demo: --keep: {text!r} already exists; name a new file")
    if not path.parent.is_dir():
        raise UsageError(f"demo: --keep: folder {str(path.parent)!r} does not exist")
    return path


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="escalation-bot",
        description="Runs a safeguarding partnership's escalation policy in chat.",
    )
    parser.add_argument("--database-url", help="overrides DATABASE_URL")
    parser.add_argument("--policies-dir", help="overrides POLICIES_DIR (default: bundled policies)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    policies = sub.add_parser("policies", help="list, show or check policy files")
    psub = policies.add_subparsers(dest="action", required=True, parser_class=_Parser)
    psub.add_parser("list", help="the policies the bot knows")
    psub.add_parser("show", help="one policy in plain English").add_argument("id")
    psub.add_parser("check", help="validate a policy file").add_argument("file")
    policies.set_defaults(run=cmd_policies)

    timeline = sub.add_parser("timeline", help="each stage's start and due time")
    timeline.add_argument("--policy", required=True)
    timeline.add_argument("--start", required=True, help="ISO date-time; no offset = London time")
    timeline.add_argument("--urgent", action="store_true")
    timeline.add_argument("--json", action="store_true")
    timeline.set_defaults(run=cmd_timeline)

    listing = sub.add_parser("list", help="escalations, overdue first; filters narrow it")
    listing.add_argument("--json", action="store_true", help="every match, with what a report needs")
    listing.add_argument("--overdue", action="store_true", help="only those past their due time")
    listing.add_argument("--policy", help="one policy's")
    listing.add_argument("--agency", help="those involving this agency, on either side")
    listing.add_argument("--status", choices=STATUSES)
    listing.add_argument("--since", help="opened on or after this date (2026-12-01)")
    listing.add_argument("--limit", type=_positive, default=50, help="how many to show (50)")
    listing.set_defaults(run=cmd_list)

    export = sub.add_parser("export", help="the case record, as Markdown")
    export.add_argument("id")
    export.set_defaults(run=cmd_export)

    report = sub.add_parser("report", help="the partnership's learning report for a policy and a period")
    report.add_argument("--policy", required=True)
    report.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD (London)")
    report.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD (included)")
    report.add_argument("--format", choices=("html", "csv", "summary-csv", "md"), default="html")
    report.add_argument("--out", help="write to this file (default: standard output)")
    report.add_argument(
        "--no-case-references", action="store_true", help="leave case references out, for wider circulation"
    )
    report.set_defaults(run=cmd_report)

    directory = sub.add_parser("directory", help="the people directory")
    dsub = directory.add_subparsers(dest="action", required=True, parser_class=_Parser)
    dsub.add_parser("import", help="add or update people from a CSV file").add_argument("file")
    dsub.add_parser("roles", help="who holds which safeguarding role, and who said so")
    people = dsub.add_parser("list", help="everyone in the directory, or one agency's people")
    people.add_argument("--agency")
    people.add_argument("--json", action="store_true")
    dsub.add_parser("show", help="one person: agency, role, manager, accounts, roles").add_argument("person")
    dsub.add_parser("export", help="the directory as a CSV that import reads back").add_argument("file")
    dsub.add_parser(
        "deactivate", help="a leaver: no more access; their open escalations ask who takes over"
    ).add_argument("person")
    remove = dsub.add_parser("remove-role", help="stop someone holding a role (a leaver, a wrong answer)")
    remove.add_argument("person")
    remove.add_argument("role")
    directory.set_defaults(run=cmd_directory)

    serve = sub.add_parser("serve", help="run the bot for Slack and Teams on $PORT")
    serve.set_defaults(run=cmd_serve)

    backup = sub.add_parser("backup", help="a consistent copy of the live database, safe while serving")
    backup.add_argument("file", help="the new file to write")
    backup.set_defaults(run=cmd_backup)

    restore = sub.add_parser("restore", help="put a backup back (not while a server runs on it)")
    restore.add_argument("file", help="a file `backup` wrote")
    restore.set_defaults(run=cmd_restore)

    keeping = sub.add_parser("retention", help="erase closed escalations kept past their retention period")
    keeping.add_argument("--dry-run", action="store_true", help="list what would be erased; change nothing")
    keeping.add_argument("--log", action="store_true", help="every erasure so far: when, what, which rule")
    keeping.set_defaults(run=cmd_retention)

    person = sub.add_parser("person", help="a person's data: export it (subject access) or erase it")
    personal = person.add_subparsers(dest="action", required=True, parser_class=_Parser)
    exporting = personal.add_parser("export", help="everything held about them, as JSON")
    exporting.add_argument("person")
    exporting.add_argument("--out", help="write to this file (default: standard output)")
    erasing = personal.add_parser("erase", help="erase them, keeping the records others are entitled to")
    erasing.add_argument("person")
    erasing.add_argument("--dry-run", action="store_true", help="say what would change; change nothing")
    person.set_defaults(run=cmd_person)

    demo = sub.add_parser("demo", help="an interactive walkthrough on a throwaway database")
    demo.add_argument("--auto", action="store_true", help="play a scripted walkthrough")
    demo.add_argument(
        "--keep", metavar="FILE", help="keep the database in FILE, with a year of sample history added"
    )
    demo.set_defaults(run=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `escalation-bot` console script."""
    try:
        code = _run(argv)
        sys.stdout.flush()  # here, not at exit, where a closed pipe could only print a traceback
        return code
    except BrokenPipeError:
        # Whoever read the output stopped early (`| head`): stop quietly, as Unix tools do, with
        # the status a shell shows for one stopped by SIGPIPE.
        _quieten_output()
        return 141


def _quieten_output() -> None:
    """Point stdout and stderr at /dev/null, so flushing them at exit cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # not a real file (tests capture it)
            os.dup2(devnull, stream.fileno())
    os.close(devnull)


def _run(argv: Sequence[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
        try:
            settings = Settings.from_env(
                database_url=args.database_url,
                policies_dir=Path(args.policies_dir) if args.policies_dir else None,
            )
        except SettingsError as exc:
            raise UsageError(str(exc)) from None
        return int(args.run(args, settings))
    except UsageError as exc:
        print(
            f"escalation-bot: error: {exc}".replace("error: escalation-bot", "error:"),
            file=sys.stderr,
        )
        return 2
    except StorageError as exc:
        print(f"escalation-bot: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
