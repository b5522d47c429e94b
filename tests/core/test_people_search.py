"""Anyone in the partnership can be chosen: the directory searched as a person types, and someone
not in it named with their details and added as unconfirmed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.errors import InvalidInput, Refused
from bot.people import Newcomer, Person
from bot.people.search import choice_label, choice_value, chosen
from support import raise_difference

GP = Newcomer(name="Dr Ann Lowe", agency="Brecknock Surgery", role="GP", email="ann.lowe@nhs.net")


def names(people: list[Person]) -> list[str]:
    return [p.name for p in people]


def test_a_name_is_found_by_its_first_letters_before_a_role_that_matches(bot):
    # Chris Doyle is a Designated *Sa*feguarding Lead: found, but after the name.
    assert names(bot.find_people("sa")) == ["Sam Patel", "Chris Doyle"]


def test_an_agency_or_role_finds_its_people_by_name(bot):
    assert names(bot.find_people("whittington")) == ["Priya Nair", "Sam Patel"]
    assert names(bot.find_people("health visit")) == ["Priya Nair", "Sam Patel"]


def test_every_word_typed_must_match(bot):
    assert names(bot.find_people("camden social")) == ["Alex Morgan", "Eve Stone"]
    assert bot.find_people("camden school") == []


def test_a_name_start_ranks_before_a_match_inside_another_field(bot, store):
    store.upsert_people([Person("joe", "Joe Hart", "Hillside Primary School", "Teacher")])
    # "jo" starts Jo Bennett's and Joe Hart's names; no-one else is matched by name.
    assert names(bot.find_people("jo"))[:2] == ["Jo Bennett", "Joe Hart"]


def test_email_is_searched(bot, store):
    store.upsert_people([replace(store.person("kim"), email="k.lee@hillside.sch.uk")])
    assert names(bot.find_people("k.lee@")) == ["Kim Lee"]


def test_one_letter_or_wildcards_find_nobody(bot):
    assert bot.find_people("s") == []
    assert bot.find_people("%%") == []
    assert bot.find_people("__") == []


def test_a_leaver_is_not_offered(bot, store):
    store.deactivate("sam")
    assert bot.find_people("sam") == []


def test_a_choice_names_a_directory_person_and_nothing_else(bot, store):
    sam = store.person("sam")
    assert choice_label(sam) == "Sam Patel, Health Visitor, Whittington Health"
    assert chosen(store, choice_value(sam)) == sam
    assert chosen(store, "U0SAM") is None  # a platform's own user id is not a directory choice
    assert chosen(store, "dir:nobody") is None


def test_a_long_label_is_cut_to_the_platform_limit(store):
    person = Person("x", "A" * 50, "Agency " * 10, "Role")
    assert len(choice_label(person)) == 75 and choice_label(person).endswith("…")


def test_a_newcomer_is_added_unconfirmed_and_the_admins_asked_to_check(bot, store, inbox):
    person = bot.add_newcomer("alex", GP)
    assert (person.name, person.agency, person.role, person.email) == (
        "Dr Ann Lowe",
        "Brecknock Surgery",
        "GP",
        "ann.lowe@nhs.net",
    )
    assert person.confirmed is False and person.slack_id is None and person.teams_id is None
    assert store.person(person.id) == person
    assert choice_label(person).endswith("(not yet confirmed)")
    (note,) = inbox.to(inbox.collect(), "dee")
    assert note.text.startswith("Alex Morgan (Social Worker, Camden Children's Services) named someone")
    assert "Dr Ann Lowe (GP, Brecknock Surgery), ann.lowe@nhs.net" in note.text
    assert "reach them by email" in note.text


def test_naming_the_same_email_twice_is_one_person_and_one_notice(bot, inbox):
    first = bot.add_newcomer("alex", GP)
    again = bot.add_newcomer("eve", replace(GP, name="Ann Lowe", email="ANN.LOWE@nhs.net"))
    assert again.id == first.id
    assert len(inbox.to(inbox.collect(), "dee")) == 1


def test_a_newcomer_whose_email_is_in_the_directory_is_that_person(bot, store):
    store.upsert_people([replace(store.person("sam"), email="sam.patel@whittington.nhs.uk")])
    person = bot.add_newcomer("alex", replace(GP, email="sam.patel@whittington.nhs.uk"))
    assert person.id == "sam"


def test_a_leavers_email_is_refused(bot, store):
    store.upsert_people([replace(store.person("sam"), email="sam.patel@whittington.nhs.uk")])
    store.deactivate("sam")
    with pytest.raises(Refused, match=r"Sam Patel .* has left"):
        bot.add_newcomer("alex", replace(GP, email="sam.patel@whittington.nhs.uk"))


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"name": " "}, "name", "Please give their name"),
        ({"agency": ""}, "agency", "Please give their agency"),
        ({"role": ""}, "role", "Please give their role"),
        ({"email": ""}, "email", "Please give their work email"),
        ({"email": "ann at nhs"}, "email", "not an email address"),
        ({"name": "A" * 201}, "name", "at most 200"),
    ],
)
def test_a_newcomer_needs_all_four_details(bot, store, change, field, problem):
    with pytest.raises(InvalidInput) as info:
        bot.add_newcomer("alex", replace(GP, **change))
    assert problem in info.value.errors[field]
    assert store.person_by(email="ann.lowe@nhs.net") is None


def test_a_difference_can_be_raised_with_a_newcomer(bot, store):
    person = bot.add_newcomer("alex", GP)
    messages = raise_difference(bot, counterpart=person.id)
    assert any(m.to == person.id for m in messages)


def test_a_directory_import_confirms_a_newcomer(bot, store):
    person = bot.add_newcomer("alex", GP)
    store.upsert_people([replace(person, confirmed=True, slack_id="U0ANN")])
    assert store.person(person.id).confirmed is True


def test_a_raise_can_name_someone_new_and_they_are_told(bot, store, inbox):
    messages = raise_difference(bot, counterpart="", newcomer=GP)
    added = store.person_by(email="ann.lowe@nhs.net")
    assert added is not None and added.confirmed is False
    esc = bot.load(messages[0].escalation_id)
    assert esc.counterpart == added.id
    received = inbox.collect()
    assert inbox.to(received, added.id)[0].text.startswith("Alex Morgan")
    assert "named someone not in the directory" in inbox.to(received, "dee")[0].text


def test_a_raise_with_bad_newcomer_details_adds_nobody(bot, store):
    with pytest.raises(InvalidInput) as info:
        raise_difference(bot, counterpart="", newcomer=replace(GP, email="not-an-email"))
    assert "not an email address" in info.value.errors["counterpart_email"]
    assert store.person_by(email="not-an-email") is None


def test_a_raise_that_fails_elsewhere_adds_no_newcomer(bot, store, inbox):
    with pytest.raises(InvalidInput):
        raise_difference(bot, counterpart="", newcomer=GP, case_reference="Baby Smith")
    assert store.person_by(email="ann.lowe@nhs.net") is None
    assert inbox.collect() == []


def test_a_raise_naming_your_own_email_is_refused(bot, store):
    store.upsert_people([replace(store.person("alex"), email="alex.morgan@camden.gov.uk")])
    with pytest.raises(InvalidInput) as info:
        raise_difference(bot, counterpart="", newcomer=replace(GP, email="alex.morgan@camden.gov.uk"))
    assert info.value.errors["counterpart_email"] == "That is your own email: give the other professional's."
