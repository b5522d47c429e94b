"""Loading policy files: schema validation with errors that name the file, the field and the fault."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from bot.policy.model import Policy
from bot.policy.sources import problems, read_source, source_path


class PolicyError(Exception):
    """A policy file that cannot be used; the message names the file, the field and what is wrong.

    `problems` holds every fault found, one line each, where a check finds more than one.
    """

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems or (message,)


class _DuplicateKey(yaml.YAMLError):
    pass


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice, which PyYAML would silently overwrite."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise _DuplicateKey(f"{key!r} is given twice (line {key_node.start_mark.line + 1})")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _StrictLoader.construct_mapping)


def bundled_policy_dir() -> Path:
    """The `policies/` folder shipped with the bot."""
    return Path(str(resources.files("policies")))


def _schema() -> Mapping[str, Any]:
    return json.loads((bundled_policy_dir() / "schema.json").read_text(encoding="utf-8"))


def _field_path(parts: Iterator[Any] | Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _describe(error: jsonschema.ValidationError) -> str:
    where = _field_path(error.absolute_path)
    if error.validator == "additionalProperties":
        return f"{where}: {error.message.replace('Additional properties', 'unknown field(s)')}"
    if error.validator == "required":
        return f"{where}: {error.message.replace('is a required property', 'is missing')}"
    if error.validator == "pattern" and "working" in str(error.validator_value):
        return (
            f"{where}: {error.instance!r} is not a timescale; use e.g. '5 working days', "
            "'1 working week', 'same working day', 'next working day', '24 hours' or 'none'"
        )
    return f"{where}: {error.message}"


def parse_policy(data: Any, *, source: str) -> Policy:
    """Validate a mapping read from `source` and build the Policy, or raise PolicyError."""
    if not isinstance(data, Mapping):
        raise PolicyError(f"{source}: expected a mapping of policy fields at the top level")
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: (list(e.absolute_path), e.message))
    if errors:
        raise PolicyError(f"{source}: {_describe(errors[0])}")
    problems = list(_semantic_problems(data))
    if problems:
        raise PolicyError(f"{source}: {problems[0]}")
    return Policy.from_dict(data)


def _semantic_problems(data: Mapping[str, Any]) -> Iterator[str]:
    numbers = [stage["number"] for stage in data["stages"]]
    expected = list(range(1, len(numbers) + 1))
    if numbers != expected:
        yield f"stages: stage numbers must run 1, 2, 3 … in order, found {numbers}"
    if data["stages"][0]["people"] == "partnership":
        yield "stages[0].people: the first stage cannot go straight to the partnership"
    seen: set[str] = set()
    for i, category in enumerate(data["categories"]):
        if category["id"] in seen:
            yield f"categories[{i}].id: {category['id']!r} is used twice"
        seen.add(category["id"])
    for i, stage in enumerate(data["stages"]):
        ids = [m["id"] for m in stage.get("milestones", ())]
        for dup in {m for m in ids if ids.count(m) > 1}:
            yield f"stages[{i}].milestones: id {dup!r} is used twice"
        if stage["timescale"].get("urgent") and stage["timescale"]["standard"] == "none":
            yield f"stages[{i}].timescale.urgent: an urgent timescale needs a standard one too"


def load_policy_file(path: Path, *, require_source: bool = False) -> Policy:
    """Read, validate and build one policy file; PolicyError says exactly what is wrong.

    Where its source document is beside it (`sources/ID.txt`) the file is proved against it; with
    `require_source` a missing source is itself an error.
    """
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"{name}: no such file") from None
    except UnicodeDecodeError as exc:
        raise PolicyError(
            f"{name}: not UTF-8 text (byte {exc.object[exc.start]:#x} at position {exc.start}); "
            "save it as UTF-8"
        ) from None
    except OSError as exc:
        raise PolicyError(f"{name}: cannot be read ({exc.strerror})") from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except _DuplicateKey as exc:
        raise PolicyError(f"{name}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise PolicyError(f"{name}: not valid YAML{where}: {problem}") from None
    policy = parse_policy(data, source=name)
    if path.suffix in {".yaml", ".yml"} and path.stem != policy.id:
        raise PolicyError(f"{name}: id: {policy.id!r} must match the file name {path.stem!r}")
    source = read_source(source_path(path, policy.id))
    if source is None:
        if require_source:
            raise PolicyError(
                f"{name}: no source document at {source_path(path, policy.id)}; copy the text of the "
                "published policy there so its quotes, numbers and addresses can be checked"
            )
        return policy
    found = [f"{name}: {problem}" for problem in problems(data, source)]
    if found:
        more = f" (and {len(found) - 1} more: policies check {name} lists them)" if len(found) > 1 else ""
        raise PolicyError(found[0] + more, tuple(found))
    return policy


@dataclass
class PolicyLibrary:
    """All the partnership policies the bot knows, by id."""

    policies: dict[str, Policy] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: Path | None = None) -> PolicyLibrary:
        """Load every `*.yaml` in `directory` (default: the bundled policies); any bad file refuses all."""
        folder = directory or bundled_policy_dir()
        if not folder.is_dir():
            raise PolicyError(f"{folder}: no such policy folder")
        library = cls()
        for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
            policy = load_policy_file(path)
            library.policies[policy.id] = policy
        if not library.policies:
            raise PolicyError(f"{folder}: no policy files (*.yaml) found")
        if len(library.policies) < len([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
            raise PolicyError(f"{folder}: two policy files have the same id")
        return library

    def get(self, policy_id: str) -> Policy:
        """The policy with this id; KeyError with the known ids when there is none."""
        try:
            return self.policies[policy_id]
        except KeyError:
            known = ", ".join(sorted(self.policies))
            raise KeyError(f"unknown policy {str(policy_id)[:40]!r}; known policies: {known}") from None

    def ids(self) -> list[str]:
        return sorted(self.policies)
