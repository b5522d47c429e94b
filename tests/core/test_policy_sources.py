"""Every policy file proved against the document it was encoded from: each quote occurs in the
source, and so does each phone number, email address and web address the file holds."""

from __future__ import annotations

import copy
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.cli import main
from bot.phones import PHONE
from bot.policy import PolicyError, bundled_policy_dir, load_policy_file
from bot.policy.sources import EMAIL, URL, normalise, problems, read_source, source_path

POLICY_IDS = ("cambridgeshire-peterborough", "camden", "enfield", "kingston-richmond", "redbridge")
POLICY_DIR = bundled_policy_dir()


def data_of(policy_id: str) -> dict[str, Any]:
    return yaml.safe_load((POLICY_DIR / f"{policy_id}.yaml").read_text(encoding="utf-8"))


def source_of(policy_id: str):
    source = read_source(source_path(POLICY_DIR / f"{policy_id}.yaml", policy_id))
    assert source is not None, f"policies/sources/{policy_id}.txt is missing"
    return source


def strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from strings(item, f"{path}[{i}]")


def set_at(data: dict[str, Any], path: str, text: str) -> None:
    """Replace the string at a field path like 'stages[2].timescale.quote'."""
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    target: Any = data
    for part in parts[:-1]:
        target = target[int(part[1:-1])] if part.startswith("[") else target[part]
    last = parts[-1]
    if last.startswith("["):
        target[int(last[1:-1])] = text
    else:
        target[last] = text


def is_quote(field: str) -> bool:
    # The immediate-risk screen shows the policy's own words, so its guidance is quoted too.
    return field.endswith("quote") or field.startswith("emergency.guidance")


def quotes(policy_id: str) -> list[tuple[str, str]]:
    return [(f, t) for f, t in strings(data_of(policy_id)) if is_quote(f)]


# -- the bundled files pass ------------------------------------------------------------------------


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_every_bundled_policy_is_proved_against_its_source(policy_id: str) -> None:
    assert problems(data_of(policy_id), source_of(policy_id)) == []
    load_policy_file(POLICY_DIR / f"{policy_id}.yaml", require_source=True)


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_each_source_says_who_published_it_and_where(policy_id: str) -> None:
    raw = (POLICY_DIR / "sources" / f"{policy_id}.txt").read_text(encoding="utf-8")
    header, _, text = raw.partition("=" * 100)
    assert "Publisher:" in header and "Published through:" in header and "copyright" in header
    assert len(text) > 5000  # the document itself follows the header


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_every_stage_says_who_it_reaches_in_the_documents_words(policy_id: str) -> None:
    for stage in data_of(policy_id)["stages"]:
        assert stage["people_quote"].strip(), f"stage {stage['number']} has no people_quote"


# -- an altered quote, number or address is caught, by field ---------------------------------------


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_an_altered_quote_fails_naming_its_field(policy_id: str) -> None:
    found = quotes(policy_id)
    assert len(found) >= 5, "each policy quotes its document for every stage"
    source = source_of(policy_id)
    for field, text in found:
        words = text.split()
        # Change one word in the middle: a quote that says what the document does not.
        middle = len(words) // 2
        words[middle] = "never" if words[middle] != "never" else "always"
        altered = copy.deepcopy(data_of(policy_id))
        set_at(altered, field, " ".join(words))
        reported = problems(altered, source)
        assert any(p.startswith(f"{field}: this quote is not in the source document") for p in reported), (
            field
        )


def test_a_quote_may_leave_words_out_with_an_ellipsis_but_not_reorder_them() -> None:
    source = source_of("camden")
    data = data_of("camden")
    set_at(
        data,
        "stages[3].timescale.quote",
        "This process should be followed ... with each step taking no longer than 1 working week",
    )
    assert problems(data, source) == []
    set_at(
        data,
        "stages[3].timescale.quote",
        "with each step taking no longer than 1 working week ... This process should be followed",
    )
    assert [p.split(":")[0] for p in problems(data, source)] == ["stages[3].timescale.quote"]


def test_typesetting_differences_are_not_faults() -> None:
    # Curly quotes, long dashes and line breaks in the document match plain ones in a file.
    assert normalise("Children\u2019s \u201csafe\u201d \u2013 now\n  here") == 'Children\'s "safe" - now here'
    assert normalise("**within 2 working days** of the") == "within 2 working days of the"
    assert normalise("The [LSCB Business Manager](#) should") == "The LSCB Business Manager should"


def every_contact(policy_id: str) -> Iterator[tuple[str, str, str]]:
    """(field, what, the text containing it) for each number, email and web address in a file."""
    for field, text in strings(data_of(policy_id)):
        if is_quote(field) or field.startswith("source.corrections"):
            continue
        for pattern, kind in ((PHONE, "number"), (EMAIL, "address"), (URL, "web address")):
            for match in pattern.findall(text):
                yield field, kind, match


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_every_number_and_address_in_a_file_is_in_its_source(policy_id: str) -> None:
    found = list(every_contact(policy_id))
    source = source_of(policy_id)
    for field, kind, value in found:
        altered = copy.deepcopy(data_of(policy_id))
        original = dict(strings(altered))[field]
        if kind == "number":
            digits = [i for i, ch in enumerate(value) if ch.isdigit()]
            at = digits[-1]
            wrong = value[:at] + str((int(value[at]) + 1) % 10) + value[at + 1 :]
        else:
            wrong = value.replace(".", "-", 1) if kind == "address" else value.replace(".", "x", 2)
        set_at(altered, field, original.replace(value, wrong))
        reported = problems(altered, source)
        assert any(p.startswith(f"{field}: the {kind} {wrong}") for p in reported), (field, wrong, reported)


def test_the_files_numbers_include_every_emergency_number() -> None:
    # The contact check covers what the immediate-risk screen shows: 999 and each policy's numbers
    # (in its guidance, the quote check covers them as the document's words).
    found = {(p, v) for p in POLICY_IDS for _, kind, v in every_contact(p) if kind == "number"}
    assert {("camden", "999"), ("camden", "020 7974 3369")} <= found
    assert {("enfield", "999"), ("enfield", "0208 379 5555"), ("enfield", "020 8379 1000")} <= found
    assert ("kingston-richmond", "07834 386459") in found


def test_a_correction_is_accepted_only_where_the_document_prints_the_original() -> None:
    source = source_of("kingston-richmond")
    data = data_of("kingston-richmond")
    assert problems(data, source) == []  # kr.afcinfo.org.uk, declared as a correction
    data["source"]["corrections"][0]["printed"] = "https://kr.afcinfo.org/pages/enquiries"
    reported = problems(data, source)
    assert (
        "source.corrections[0].printed: 'https://kr.afcinfo.org/pages/enquiries' is not what" in reported[-1]
    )
    assert any(p.startswith("contacts[1].url: the web address https://kr.afcinfo.org.uk") for p in reported)


# -- through the command line and the loader -------------------------------------------------------


def copy_policies(tmp_path: Path) -> Path:
    folder = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, folder, ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))
    return folder


def test_policies_check_names_the_field_of_a_misquote(tmp_path, capsys) -> None:
    folder = copy_policies(tmp_path)
    camden = folder / "camden.yaml"
    camden.write_text(
        camden.read_text(encoding="utf-8").replace(
            "escalation to the next stage should take\n    place within 24 hours.",
            "escalation to the next stage should take\n    place within 48 hours.",
        ),
        encoding="utf-8",
    )
    assert main(["policies", "check", str(camden)]) == 2
    err = capsys.readouterr().err
    assert "camden.yaml: urgent.quote: this quote is not in the source document" in err
    with pytest.raises(PolicyError, match=r"urgent\.quote"):
        load_policy_file(camden)


def test_policies_check_lists_every_fault_not_just_the_first(tmp_path, capsys) -> None:
    folder = copy_policies(tmp_path)
    enfield = folder / "enfield.yaml"
    enfield.write_text(
        enfield.read_text(encoding="utf-8").replace("0208 379 5555", "0208 379 5556"), encoding="utf-8"
    )
    assert main(["policies", "check", str(enfield)]) == 2
    err = capsys.readouterr().err
    assert "emergency.guidance[1]: this quote is not in the source document" in err
    assert "emergency.contacts[1].phone: the number 0208 379 5556 is not in the source document" in err


def test_policies_check_needs_the_source_document(tmp_path, capsys) -> None:
    folder = copy_policies(tmp_path)
    (folder / "sources" / "redbridge.txt").unlink()
    assert main(["policies", "check", str(folder / "redbridge.yaml")]) == 2
    assert "no source document at" in capsys.readouterr().err
    # Loading a folder still works without it (a partnership's own draft policy, say).
    load_policy_file(folder / "redbridge.yaml")


def test_policies_check_says_what_it_proved(capsys) -> None:
    assert main(["policies", "check", str(POLICY_DIR / "kingston-richmond.yaml")]) == 0
    assert "every quote, number and address is in its source" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("urgent_route.phone", "020 7974 336"),  # a digit short: a run of the real number, not it
        ("contacts[0].email", "SCP@camden.gov.uk"),
        ("out_of_scope[0].contact.url", "https://cscp.org.uk/resources/non-engaging"),
        ("emergency.contacts[0].phone", "99"),
    ],
)
def test_a_number_or_address_must_be_one_the_document_prints_whole(field, value) -> None:
    data = data_of("camden")
    set_at(data, field, value)
    reported = problems(data, source_of("camden"))
    assert any(p.startswith(f"{field}: the ") and value in p for p in reported), reported
