"""Identity numbers, checked before any outside service is asked about them.

* Mainland resident identity number (GB 11643-1999): 6-digit GB/T 2260 region code, 8-digit birth
  date, 3-digit sequence, ISO 7064 MOD 11-2 check character (``0``-``9`` or ``X``).
* Residence permits for Hong Kong, Macao and Taiwan residents (2018): the same shape with the
  region codes 810000, 820000 and 830000.
* Foreign permanent-residence ID card: the 2023 card (18 characters, leading ``9``, 2-digit
  province of the issuing office, 3-digit nationality, birth date, sequence, MOD 11-2 check
  character) and the 2017 card (3 letters of nationality and 12 digits: 4-digit issuing office,
  YYMMDD birth date, 2 digits). The 2017 card's last digit uses an algorithm that was never
  published, so for it only the structure and the birth date are checked.

Region codes come from python-stdnum's GB/T 2260 table (``stdnum.cn.loc``), which records when each
historical code was in use. Its own validator (``stdnum.cn.ric``) refuses a code that was created
after the holder's birth year, but numbers are assigned (or re-assigned) at registration, long after
birth: someone born in 1980 and registered in 房山区 (code 110111, created 1986) holds a valid
110111-1980… number. A code is therefore accepted unless it was abolished before the holder was
born. stdnum also lacks the Taiwan residents' permit code 830000 and dates 810000/820000 from the
handovers; those three are only accepted as residence permits, for anyone born at any time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l

RESIDENT_ID = "cn_resident_id"
HK_MO_TW_PERMIT = "hk_mo_tw_permit"
FOREIGN_PERMANENT = "foreign_permanent_residence"
DOC_TYPES = (RESIDENT_ID, HK_MO_TW_PERMIT, FOREIGN_PERMANENT)
#: residence-permit region codes: Hong Kong, Macao, Taiwan
PERMIT_REGIONS = ("810000", "820000", "830000")
EARLIEST_BIRTH_YEAR = 1890
WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))

MESSAGES = {
    "empty": _l("Please enter the document number."),
    "unknown_type": _l("Please choose the type of your document."),
    "length": _l("The number has the wrong length. A resident ID or residence permit number "
                 "has 18 characters."),
    "characters": _l("The number may only contain digits, with X as the last character."),
    "check_character": _l("The last character does not match the rest of the number. Please "
                          "check every digit."),
    "birth_date": _l("The birth date in the number (characters 7–14) is not a real date."),
    "birth_date_future": _l("The birth date in the number lies in the future."),
    "region": _l("The first six digits are not a region code used on identity cards."),
    "permit_region": _l("A residence permit number for Hong Kong, Macao or Taiwan residents "
                        "starts with 810000, 820000 or 830000."),
    "is_permit": _l("This is a residence permit number: please choose “Hong Kong, Macao or "
                    "Taiwan residence permit”."),
    "is_foreign": _l("This is a foreign permanent-residence card number: please choose that "
                     "document type."),
    "foreign_format": _l("A foreign permanent-residence card number has 18 digits starting "
                         "with 9 (2023 card), or 3 letters followed by 12 digits (2017 card)."),
    "foreign_office": _l("The issuing-office digits of the number do not name a province."),
}


class NumberProblem(ValueError):
    """The number cannot be right; `code` is stable, `message` is for the person."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code

    @property
    def message(self):
        return MESSAGES[self.code]


@dataclass(frozen=True)
class IdentityNumber:
    doc_type: str
    #: normalised: upper case, no spaces
    number: str
    birthdate: date
    #: "2017" or "2023" for foreign permanent-residence cards, else None
    variant: str | None = None


def normalise(raw: str) -> str:
    """Remove spaces (also full-width ones) and hyphens; upper-case the letters; full-width digits
    and letters, as Chinese input methods produce them, become ASCII."""
    import unicodedata

    value = unicodedata.normalize("NFKC", raw or "")
    return re.sub(r"[\s\-]", "", value).upper()


def check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 over 17 digits: the character that makes the weighted sum ≡ 1 (mod 11)."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def _birth_date(digits: str, today: date) -> date:
    try:
        born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError as exc:
        raise NumberProblem("birth_date") from exc
    if born.year < EARLIEST_BIRTH_YEAR:
        raise NumberProblem("birth_date")
    if born > today:
        raise NumberProblem("birth_date_future")
    return born


def _region_table():
    from stdnum import numdb

    return numdb.get("cn/loc")


def province_known(code2: str) -> bool:
    parts = _region_table().info(code2 + "0000")
    return bool(parts and parts[0][1].get("province"))


def region_in_use(code6: str, birth_year: int) -> bool:
    """Whether `code6` is a county-level GB/T 2260 code that still existed in `birth_year` (it
    may have been created later: numbers are assigned at registration, not at birth)."""
    parts = _region_table().info(code6)
    counties = [props["county"] for _, props in parts if "county" in props]
    for county in ",".join(counties).split(","):
        if not county:
            continue
        if not county.startswith("["):
            return True
        span = county[1:].split("]", 1)[0]
        _, _, end = span.partition("-")
        if not end or int(end) >= birth_year:
            return True
    return False


def _eighteen(number: str, today: date) -> date:
    """The checks every 18-character number shares: digits, check character, birth date."""
    if len(number) != 18:
        raise NumberProblem("length")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise NumberProblem("characters")
    if check_character(number[:17]) != number[17]:
        raise NumberProblem("check_character")
    return _birth_date(number[6:14], today)


def resident_id(number: str, today: date) -> IdentityNumber:
    if number.startswith("9") and len(number) == 18:
        raise NumberProblem("is_foreign")
    born = _eighteen(number, today)
    if number[:6] in PERMIT_REGIONS:
        raise NumberProblem("is_permit")
    if not region_in_use(number[:6], born.year):
        raise NumberProblem("region")
    return IdentityNumber(RESIDENT_ID, number, born)


def hk_mo_tw_permit(number: str, today: date) -> IdentityNumber:
    born = _eighteen(number, today)
    if number[:6] not in PERMIT_REGIONS:
        raise NumberProblem("permit_region")
    return IdentityNumber(HK_MO_TW_PERMIT, number, born)


def foreign_permanent(number: str, today: date) -> IdentityNumber:
    if re.fullmatch(r"9\d{16}[\dX]", number):
        born = _eighteen(number, today)
        if not province_known(number[1:3]):
            raise NumberProblem("foreign_office")
        return IdentityNumber(FOREIGN_PERMANENT, number, born, "2023")
    if re.fullmatch(r"[A-Z]{3}\d{12}", number):
        if not province_known(number[3:5]):
            raise NumberProblem("foreign_office")
        yymmdd = number[7:13]
        # Two-digit years: the latest century that does not put the birth in the future.
        century = "20" if yymmdd[:2] <= f"{today.year % 100:02d}" else "19"
        born = _birth_date(century + yymmdd, today)
        return IdentityNumber(FOREIGN_PERMANENT, number, born, "2017")
    raise NumberProblem("foreign_format")


VALIDATORS = {RESIDENT_ID: resident_id, HK_MO_TW_PERMIT: hk_mo_tw_permit,
              FOREIGN_PERMANENT: foreign_permanent}


def validate(doc_type: str, raw: str, today: date) -> IdentityNumber:
    """The normalised, validated number, or :class:`NumberProblem` naming the first failure."""
    if doc_type not in VALIDATORS:
        raise NumberProblem("unknown_type")
    number = normalise(raw)
    if not number:
        raise NumberProblem("empty")
    return VALIDATORS[doc_type](number, today)
