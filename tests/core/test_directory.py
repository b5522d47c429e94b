"""The people directory: CSV import with errors that name the line."""

from __future__ import annotations

import pytest

from bot.people import DirectoryError, parse_directory_csv
from support import REPO

HEADER = "id,name,agency,role,manager_id\n"


def test_the_example_directory_imports_with_its_line_management():
    text = (REPO / "examples" / "directory.csv").read_text(encoding="utf-8")
    people = {p.id: p for p in parse_directory_csv(text, source="directory.csv")}
    assert people["alex"].manager_id == "jo"
    assert people["dee"].admin is True
    assert people["sam"].describe() == "Sam Patel (Health Visitor, Whittington Health)"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("id,name,agency\nx,X,Y\n", "missing column(s) role"),
        (HEADER + "a,,Agency,Role,\n", "line 2: name is empty"),
        (HEADER + "a,A,Agency,Role,\na,B,Agency,Role,\n", "line 3: id 'a' appears twice"),
        (HEADER + "a,A,Agency,Role,zed\n", "manager_id 'zed' is not in the directory"),
        (HEADER + "a,A,Agency,Role,a\n", "cannot be their own manager"),
        ("id,name,agency,role,colour\na,A,B,C,red\n", "unknown column(s) colour"),
        (HEADER, "no people found"),
        ("id,name,agency,role,admin\na,A,B,C,maybe\n", "'maybe' is not a policy"),
    ],
)
def test_bad_rows_are_refused_with_the_line_and_the_problem(text, problem):
    with pytest.raises(DirectoryError) as info:
        parse_directory_csv(text, source="people.csv", known_policies=["camden", "enfield"])
    assert str(info.value).startswith("people.csv: ")
    assert problem in str(info.value)


def test_a_manager_already_in_the_directory_is_accepted():
    (person,) = parse_directory_csv(HEADER + "a,A,B,C,boss\n", source="x", known_ids=["boss"])
    assert person.manager_id == "boss"


def test_remembered_managers_survive_in_storage(store):
    store.set_manager("chris", "kim")
    assert store.person("chris").manager_id == "kim"


def test_an_admin_can_be_named_for_some_policies_only():
    text = "id,name,agency,role,admin\nd,Dee,P,Business Manager,camden;enfield\ne,Ed,P,Chair,yes\n"
    dee, ed = parse_directory_csv(text, source="x", known_policies=["camden", "enfield", "redbridge"])
    assert dee.is_admin_for("camden") and dee.is_admin_for("enfield") and not dee.is_admin_for("redbridge")
    assert ed.is_admin_for("redbridge")


# -- safeguarding roles --------------------------------------------------------------------------

ROLES_HEADER = "id,name,agency,role,manager_id,roles\n"


def test_roles_are_read_by_name_or_id_in_any_case():
    from bot.people import Role

    text = ROLES_HEADER + (
        "n,Nina,Camden CS,Named Safeguarding Lead Officer,,Named Safeguarding Lead\n"
        "h,Hana,Camden CS,Head of Service,,head_of_service; senior-manager\n"
        "d,Des,NCL ICB,Designated Nurse,,designated professional\n"
        "b,Bea,Partnership,Business Manager,,partnership admin\n"
        "s,Sam,Whittington Health,Health Visitor,,\n"
    )
    people = {p.id: p for p in parse_directory_csv(text, source="x")}
    assert people["n"].roles == (Role.NAMED_LEAD,)
    assert people["h"].roles == (Role.HEAD_OF_SERVICE, Role.SENIOR_MANAGER)
    assert people["d"].has_role(Role.DESIGNATED_PROFESSIONAL)
    assert people["b"].admin and people["b"].has_role(Role.PARTNERSHIP_ADMIN)
    assert people["s"].roles == () and not people["s"].admin


def test_an_unknown_role_is_refused_with_the_line_and_the_roles_there_are():
    with pytest.raises(DirectoryError) as info:
        parse_directory_csv(ROLES_HEADER + "a,A,B,C,,caretaker\n", source="people.csv")
    message = str(info.value)
    assert message.startswith("people.csv: line 2: roles: 'caretaker' is not a role; roles are: ")
    assert "named safeguarding lead; designated safeguarding professional; head of service" in message


def test_role_holders_are_found_by_role_and_agency_whatever_the_case(store):
    from bot.people import Person, Role

    store.upsert_people([Person("nina", "Nina", "Camden CS", "NSLO", roles=(Role.NAMED_LEAD,))])
    assert [p.id for p in store.role_holders(Role.NAMED_LEAD, "camden  cs")] == ["nina"]
    assert store.role_holders(Role.NAMED_LEAD, "Whittington Health") == []
    assert store.role_holders(Role.HEAD_OF_SERVICE, "Camden CS") == []
    assert store.person("nina").roles == (Role.NAMED_LEAD,)


def test_reimporting_replaces_directory_roles_but_keeps_what_people_named_in_chat(store):
    from bot.people import Person, Role

    store.upsert_people([Person("nina", "Nina", "Camden CS", "NSLO", roles=(Role.NAMED_LEAD,))])
    store.name_role_holder(Role.HEAD_OF_SERVICE, "Camden CS", "nina")
    store.upsert_people([Person("nina", "Nina", "Camden CS", "NSLO", roles=())])
    assert store.person("nina").roles == (Role.HEAD_OF_SERVICE,)
    # Linking an account (no roles in hand) leaves roles alone.
    store.upsert_people([Person("nina", "Nina", "Camden CS", "NSLO", slack_id="UN")], with_roles=False)
    assert store.person("nina").roles == (Role.HEAD_OF_SERVICE,)


def test_a_csv_without_a_roles_column_leaves_roles_as_they_are(tmp_path, monkeypatch):
    from adapters.cli import main
    from bot.people import Role
    from bot.storage import Storage

    url = f"sqlite:///{tmp_path / 'x.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    with_roles = tmp_path / "a.csv"
    with_roles.write_text(
        ROLES_HEADER + "nina,Nina,Camden CS,NSLO,,named safeguarding lead\n", encoding="utf-8"
    )
    without = tmp_path / "b.csv"
    without.write_text("id,name,agency,role\nnina,Nina Park,Camden CS,NSLO\n", encoding="utf-8")
    assert main(["directory", "import", str(with_roles)]) == 0
    assert main(["directory", "import", str(without)]) == 0
    store = Storage.open(url)
    assert store.person("nina").name == "Nina Park"
    assert store.person("nina").roles == (Role.NAMED_LEAD,)


def test_the_readmes_roles_example_imports_as_it_says():
    from bot.people import Role

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("```csv\n", 1)[1].split("```", 1)[0]
    people = {p.id: p for p in parse_directory_csv(block, source="README.md", known_policies=["camden"])}
    assert people["nina"].roles == (Role.NAMED_LEAD,) and people["nora"].roles == (Role.NAMED_LEAD,)
    assert people["hana"].roles == (Role.HEAD_OF_SERVICE, Role.SENIOR_MANAGER)
    assert people["dee"].is_admin_for("camden") and not people["dee"].is_admin_for("enfield")


def test_the_directory_can_say_which_microsoft_365_tenant_a_teams_account_is_in():
    text = (
        HEADER.strip() + ",teams_id,teams_tenant\na,A,Whittington Health,Nurse,,aad-a,Tenant-B\nb,B,C,D,,,\n"
    )
    a, b = parse_directory_csv(text, source="people.csv")
    assert (a.teams_id, a.teams_tenant) == ("aad-a", "tenant-b")
    assert b.teams_tenant is None
