"""Phone numbers as UK documents print them, and the `tel:` address a phone can dial."""

from __future__ import annotations

import re
from collections.abc import Iterator

# 020 7974 3369, 0208 379 5555, 07834 386459, 01708779251, 0300 555 1201 x73226, and 999. Not a
# number inside a longer token (a case reference like CS-0208379 or E-0999).
PHONE = re.compile(r"(?<![\w/.@-])(?:0\d{2,4}(?: ?\d{3,4}){1,2}(?: ?x\d{2,5})?|999)(?![\w@-])")


# 999 is dialled only where the words say so ("call 999", "phone 999", "on 999"): a case
# reference or a sum of money that happens to read 999 is not a number to ring.
_DIAL_WORDS = re.compile(r"\b(?:call|phone|dial|ring|on)\s+$", re.IGNORECASE)


def dialable(text: str) -> Iterator[re.Match[str]]:
    """The phone numbers in `text` worth a tap-to-call link: a UK number of 10 or 11 digits, or 999
    after a word like "call"."""
    for match in PHONE.finditer(text):
        number = match.group()
        if number == "999":
            if _DIAL_WORDS.search(text[max(0, match.start() - 12) : match.start()]):
                yield match
            continue
        digits = re.sub(r"\D", "", number.partition("x")[0])
        if len(digits) in (10, 11):
            yield match


def unbreakable(text: str, space: str) -> str:
    """`text` with the spaces inside each phone number replaced by `space`, so that splitting the
    text between words never splits a number."""
    return PHONE.sub(lambda m: m.group().replace(" ", space), text)


def tel_uri(number: str) -> str:
    """'020 7974 3369' -> 'tel:+442079743369'; '999' -> 'tel:999'; an extension becomes ';ext='."""
    main, _, extension = number.partition("x")
    digits = re.sub(r"\D", "", main)
    if digits.startswith("0") and len(digits) > 3:
        digits = "+44" + digits[1:]
    uri = f"tel:{digits}"
    ext = re.sub(r"\D", "", extension)
    return f"{uri};ext={ext}" if ext else uri
