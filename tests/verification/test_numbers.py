"""Identity numbers: GB 11643 check characters (property tests), region codes incl. historical
ones, birth dates, residence permits and foreign permanent-residence cards."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from idp.verification import numbers
from idp.verification.numbers import (
    FOREIGN_PERMANENT,
    HK_MO_TW_PERMIT,
    RESIDENT_ID,
    NumberProblem,
    check_character,
    validate,
)

TODAY = date(2026, 11, 22)
seventeen = st.text(alphabet="0123456789", min_size=17, max_size=17)


def full(first17: str) -> str:
    return first17 + check_character(first17)


# --- check characters (ISO 7064 MOD 11-2) ---------------------------------------------

@given(seventeen)
def test_check_character_agrees_with_stdnum(first17):
    assert check_character(first17) == ric.calc_check_digit(first17 + "0")


@given(seventeen)
def test_weighted_sum_with_check_character_is_one_mod_11(first17):
    value = check_character(first17)
    total = sum(int(d) * 2 ** (17 - i) for i, d in enumerate(first17))
    total += 10 if value == "X" else int(value)
    assert total % 11 == 1


@given(seventeen, st.integers(0, 16), st.integers(1, 9))
def test_every_single_digit_error_is_detected(first17, position, delta):
    number = full(first17)
    wrong = str((int(number[position]) + delta) % 10)
    changed = number[:position] + wrong + number[position + 1:]
    assert check_character(changed[:17]) != changed[17]


@given(seventeen, st.integers(0, 15))
def test_every_adjacent_transposition_is_detected(first17, position):
    a, b = first17[position], first17[position + 1]
    if a == b:
        return
    swapped = first17[:position] + b + a + first17[position + 2:]
    assert check_character(swapped) != check_character(first17)


@given(seventeen)
def test_a_wrong_check_character_is_refused_with_its_own_code(first17):
    number = "110105" + "19900307" + first17[14:17]
    right = check_character(number)
    for other in "0123456789X":
        if other != right:
            with pytest.raises(NumberProblem) as caught:
                validate(RESIDENT_ID, number + other, TODAY)
            assert caught.value.code == "check_character"


# --- a table of known numbers --------------------------------------------------

VALID = [
    # the example printed in GB 11643-1999 itself
    (RESIDENT_ID, "11010519491231002X", date(1949, 12, 31)),
    (RESIDENT_ID, "110105199003070017", date(1990, 3, 7)),
    (RESIDENT_ID, "11010519491231002x", date(1949, 12, 31)),         # lower-case x
    (RESIDENT_ID, "110105 19900307 0017", date(1990, 3, 7)),         # spaces
    (RESIDENT_ID, "１１０１０５１９９００３０７００１７", date(1990, 3, 7)),  # full-width digits
    (RESIDENT_ID, "31011519920229008X", date(1992, 2, 29)),          # leap day
    # Historical codes still printed on valid cards: 崇文区 and 宣武区 (abolished 2010)
    (RESIDENT_ID, full("11010319800101001"), date(1980, 1, 1)),
    (RESIDENT_ID, full("11010420050101001"), date(2005, 1, 1)),
    # Codes created after the holder's birth (stdnum refuses these: numbers are assigned at
    # registration). 房山区 110111 since 1986, 浦东新区 310115 since 1993.
    (RESIDENT_ID, "110111198001010072", date(1980, 1, 1)),
    (RESIDENT_ID, full("31011519600101001"), date(1960, 1, 1)),
    (HK_MO_TW_PERMIT, "810000198506200059", date(1985, 6, 20)),    # before the 1997 handover
    (HK_MO_TW_PERMIT, full("82000019700101002"), date(1970, 1, 1)),
    (HK_MO_TW_PERMIT, full("83000019900101002"), date(1990, 1, 1)),  # Taiwan: not in stdnum
    (FOREIGN_PERMANENT, "911840197904150063", date(1979, 4, 15)),   # 2023 card
    (FOREIGN_PERMANENT, "USA110090010112", date(1990, 1, 1)),       # 2017 card
    (FOREIGN_PERMANENT, "gbr310005123101", date(2005, 12, 31)),     # 2017 card, 20xx
]

INVALID = [
    (RESIDENT_ID, "", "empty"),
    (RESIDENT_ID, "11010519491231002", "length"),
    (RESIDENT_ID, "11010519491231002XX", "length"),
    (RESIDENT_ID, "1101051949123100X2", "characters"),
    (RESIDENT_ID, "11010519491231002Y", "characters"),
    (RESIDENT_ID, "110105194912310021", "check_character"),
    (RESIDENT_ID, full("11010519900230001"), "birth_date"),          # 30 February
    (RESIDENT_ID, full("11010519900001001"), "birth_date"),          # month 00
    (RESIDENT_ID, full("11010518500101001"), "birth_date"),          # before 1890
    (RESIDENT_ID, full("11010520301231001"), "birth_date_future"),
    (RESIDENT_ID, full("11010520261123001"), "birth_date_future"),   # tomorrow
    (RESIDENT_ID, full("99999919900101001"), "is_foreign"),
    (RESIDENT_ID, full("12345619900101001"), "region"),              # no such county
    (RESIDENT_ID, full("11010320150101001"), "region"),              # 崇文区 gone before birth
    (RESIDENT_ID, full("81000019900101001"), "is_permit"),
    (HK_MO_TW_PERMIT, "110105199003070017", "permit_region"),
    (HK_MO_TW_PERMIT, full("84000019900101001"), "permit_region"),
    (FOREIGN_PERMANENT, "110105199003070017", "foreign_format"),
    (FOREIGN_PERMANENT, full("91184019790415006")[:-1] + "9", "check_character"),
    (FOREIGN_PERMANENT, full("90084019790415006"), "foreign_office"),  # province 00
    (FOREIGN_PERMANENT, "US1110090010112", "foreign_format"),
    (FOREIGN_PERMANENT, "USA990090010112", "foreign_office"),
    (FOREIGN_PERMANENT, "USA110090023012", "birth_date"),
    ("passport", "E12345678", "unknown_type"),
]


@pytest.mark.parametrize(("doc_type", "number", "born"), VALID)
def test_known_valid_numbers(doc_type, number, born):
    found = validate(doc_type, number, TODAY)
    assert found.doc_type == doc_type
    assert found.birthdate == born
    assert " " not in found.number and found.number == found.number.upper()


@pytest.mark.parametrize(("doc_type", "number", "code"), INVALID)
def test_known_invalid_numbers(doc_type, number, code):
    with pytest.raises(NumberProblem) as caught:
        validate(doc_type, number, TODAY)
    assert caught.value.code == code
    assert code in numbers.MESSAGES  # every problem has a message for the person


def test_stdnum_alone_refuses_valid_numbers_we_accept():
    """Why we extend stdnum's validator rather than call it."""
    for number in ("110111198001010072", full("83000019900101002"), "810000198506200059"):
        assert not ric.is_valid(number)
        assert numbers.region_in_use(number[:6], 1980) or number[:6] in numbers.PERMIT_REGIONS


def test_messages_are_translated(app):
    with app.test_request_context("/?lang=zh_CN"):
        from flask_babel import refresh

        refresh()
        text = str(numbers.MESSAGES["check_character"])
    assert "最后一位" in text
