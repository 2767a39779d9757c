"""Legal names: the middle dot, its look-alikes, long names and characters outside the BMP."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idp.verification.names import DOT_LOOKALIKES, MIDDLE_DOT, NameProblem, mask, normalise


@pytest.mark.parametrize("dot", [*list(DOT_LOOKALIKES), MIDDLE_DOT])
def test_every_look_alike_dot_becomes_u00b7(dot):
    assert normalise(f"阿沛{dot}阿旺晋美") == "阿沛·阿旺晋美"


def test_spaces_around_the_dot_go_and_inner_spaces_collapse():
    assert normalise("  阿依古丽 · 买买提 ") == "阿依古丽·买买提"
    assert normalise("JOHN   SMITH") == "JOHN SMITH"


def test_fifty_characters_and_more_fit():
    name = "·".join(["阿卜杜热合曼"] * 14)  # 6 * 14 + 13 = 97 characters
    assert len(name) >= 50
    assert normalise(name) == name


def test_too_long():
    with pytest.raises(NameProblem) as caught:
        normalise("张" * 101)
    assert caught.value.code == "too_long"


def test_characters_outside_the_bmp_are_letters():
    name = "𠮷野花子"  # U+20BB7, CJK Extension B
    assert normalise(name) == name
    assert len(normalise("𪚥" * 60)) == 60  # 60 code points, 120 UTF-16 units


@pytest.mark.parametrize(("raw", "code"), [
    ("", "empty"), ("   ", "empty"), ("张三3", "characters"), ("张三!", "characters"),
    ("<script>", "characters"), ("·张三", "dots"), ("张三·", "dots"), ("张··三", "dots"),
    ("张.•三", "dots"),
])
def test_refused_names(raw, code):
    with pytest.raises(NameProblem) as caught:
        normalise(raw)
    assert caught.value.code == code


def test_decomposed_and_composed_forms_agree():
    assert normalise("Jose\u0301") == normalise("Jos\u00e9")


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.text(alphabet="阿沛旺晋美张三𠮷", min_size=1, max_size=6), min_size=1,
                max_size=5), st.sampled_from([*list(DOT_LOOKALIKES), MIDDLE_DOT]))
def test_normalising_is_idempotent_and_keeps_the_parts(parts, dot):
    once = normalise(dot.join(parts))
    assert normalise(once) == once
    assert once.split(MIDDLE_DOT) == parts


def test_mask_keeps_the_first_character_and_the_dots():
    assert mask("张三") == "张*"
    assert mask("阿沛·阿旺晋美") == "阿*·****"
    assert mask("𠮷野") == "𠮷*"
