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
