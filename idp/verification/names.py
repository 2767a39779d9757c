"""Legal names as the population registry holds them.

Names of many ethnic minorities and of foreigners in Chinese transcription are written with the
middle dot U+00B7 (阿沛·阿旺晋美); input methods and fonts produce a dozen look-alikes for it, which
are all read as U+00B7. Names may be long (at least 50 characters are accepted) and may use rare
characters outside the Basic Multilingual Plane (CJK Extension B and later), so nothing here counts
UTF-16 units or bytes.
"""

from __future__ import annotations

import re
import unicodedata

from flask_babel import lazy_gettext as _l

MIDDLE_DOT = "\u00b7"
#: Characters people type, or fonts show, where U+00B7 is meant.
DOT_LOOKALIKES = (
    "\u2022"  # • bullet
    "\u2027"  # ‧ hyphenation point
    "\u30fb"  # ・ katakana middle dot
    "\uff65"  # ･ half-width katakana middle dot
    "\uff0e"  # ． full-width full stop
    "."       # full stop
    "\u0387"  # · Greek ano teleia
    "\u2219"  # ∙ bullet operator
    "\u22c5"  # ⋅ dot operator
    "\u2e31"  # ⸱ word separator middle dot
    "\u16eb"  # ᛫ runic single punctuation
    "\ua78f"  # ꞏ Latin letter sinological dot
    "\u2024"  # ․ one dot leader
    "\u318d"  # ㆍ Hangul letter araea (a common Korean-IME stand-in)
)
MAX_LENGTH = 100
MIN_SUPPORTED = 50  # the promise: at least this many characters always fit

MESSAGES = {
    "empty": _l("Please enter your name as it is printed on your document."),
    "too_long": _l("The name is longer than %(n)s characters.", n=MAX_LENGTH),
    "characters": _l("The name may contain letters, the middle dot (·), spaces, hyphens and "
                     "apostrophes, but no digits or other symbols."),
    "dots": _l("A middle dot (·) must stand between two parts of the name."),
}


class NameProblem(ValueError):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code

    @property
    def message(self):
        return MESSAGES[self.code]


_DOTS = re.compile("[" + re.escape(DOT_LOOKALIKES) + "]")


def _allowed(ch: str) -> bool:
    if ch in (MIDDLE_DOT, " ", "-", "'"):
        return True
    category = unicodedata.category(ch)
    # Letters (incl. CJK ideographs, category Lo, in every plane) and combining marks.
    return category[0] in ("L", "M")


def normalise(raw: str) -> str:
    """The name in its canonical form, or :class:`NameProblem`."""
    name = unicodedata.normalize("NFC", raw or "")
    name = _DOTS.sub(MIDDLE_DOT, name)
    name = " ".join(name.split())
    name = re.sub(r"\s*\u00b7\s*", MIDDLE_DOT, name)
    if not name:
        raise NameProblem("empty")
    if len(name) > MAX_LENGTH:
        raise NameProblem("too_long")
    if not all(_allowed(ch) for ch in name):
        raise NameProblem("characters")
    if name.startswith(MIDDLE_DOT) or name.endswith(MIDDLE_DOT) or MIDDLE_DOT * 2 in name:
        raise NameProblem("dots")
    return name


def mask(name: str) -> str:
    """张三 → 张*, 阿沛·阿旺晋美 → 阿*·****; the dot and spaces stay so the shape is familiar."""
    out = []
    for i, ch in enumerate(name):
        out.append(ch if i == 0 or ch in (MIDDLE_DOT, " ") else "*")
    return "".join(out)
