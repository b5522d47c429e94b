"""What a policy file says: the typed model, and loading and validating the files.

`bot.policy.text` renders a policy in plain English; `bot.policy.sources` checks a file against the
document it was encoded from.
"""

from bot.policy.loader import PolicyError, PolicyLibrary, bundled_policy_dir, load_policy_file, parse_policy
from bot.policy.model import (
    Alternative,
    Anchor,
    Category,
    Contact,
    CopyRole,
    Milestone,
    OutOfScope,
    People,
    Policy,
    Stage,
    UrgentRoute,
)

__all__ = [
    "Alternative",
    "Anchor",
    "Category",
    "Contact",
    "CopyRole",
    "Milestone",
    "OutOfScope",
    "People",
    "Policy",
    "PolicyError",
    "PolicyLibrary",
    "Stage",
    "UrgentRoute",
    "bundled_policy_dir",
    "load_policy_file",
    "parse_policy",
]
