"""Phone numbers as UK documents print them, and the `tel:` address a phone can dial."""

from __future__ import annotations

import re

# 020 7974 3369, 0208 379 5555, 07834 386459, 01708779251, 0300 555 1201 x73226, and 999. Not a
# number inside a longer token (a case reference like CS-0208379 or E-0999).
PHONE = re.compile(r"(?<![\w/.@-])(?:0\d{2,4}(?: ?\d{3,4}){1,2}(?: ?x\d{2,5})?|999)(?![\w@-])")


def tel_uri(number: str) -> str:
    """'020 7974 3369' -> 'tel:+442079743369'; '999' -> 'tel:999'; an extension becomes ';ext='."""
    main, _, extension = number.partition("x")
    digits = re.sub(r"\D", "", main)
    if digits.startswith("0") and len(digits) > 3:
        digits = "+44" + digits[1:]
    uri = f"tel:{digits}"
    ext = re.sub(r"\D", "", extension)
    return f"{uri};ext={ext}" if ext else uri
