"""Authenticator-app codes (RFC 6238): enrolment, the ±1 step window, single use of each step
(also under two parallel requests), secrets sealed at rest. The clock is injected."""

from __future__ import annotations

import threading

import pyotp
import pytest
from sqlalchemy import select

from idp.authn import secretbox, totp
from idp.extensions import db
from idp.models import Person, TotpFactor

from ..factors import code_at, enrol_totp


def _verify(app, person, code) -> bool:
    with app.app_context():
        ok = totp.verify(person.id, code, now=app.extensions["tongban.clock"].now(),
                         settings=app.extensions["tongban.settings"])
        db.session.commit()
        return ok


def test_code_of_current_and_adjacent_steps_accepted_once(app, make_person, frozen_clock):
    person = make_person()
    secret = enrol_totp(app, person)
    now = frozen_clock.now()
    assert _verify(app, person, code_at(secret, now, -1))
    assert _verify(app, person, code_at(secret, now))
    assert not _verify(app, person, code_at(secret, now)), "same step replayed"
    assert _verify(app, person, code_at(secret, now, +1))
    # Once a newer step is used, an older one is refused too.
    assert not _verify(app, person, code_at(secret, now, -1))


@pytest.mark.parametrize("steps", [-2, 2, 10])
def test_code_outside_the_window_refused(app, make_person, frozen_clock, steps):
    person = make_person()
    secret = enrol_totp(app, person)
    assert not _verify(app, person, code_at(secret, frozen_clock.now(), steps))


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_malformed_codes_refused(app, make_person, frozen_clock, bad):
    person = make_person()
    enrol_totp(app, person)
    assert not _verify(app, person, bad)


def test_replay_in_a_later_request_of_the_same_step(app, make_person, frozen_clock):
    person = make_person()
    secret = enrol_totp(app, person)
    code = code_at(secret, frozen_clock.now())
    assert _verify(app, person, code)
    frozen_clock.advance(20)  # still within the window of that step
    assert not _verify(app, person, code)
    frozen_clock.advance(40)
    assert _verify(app, person, code_at(secret, frozen_clock.now()))


def test_two_parallel_requests_with_the_same_code_one_success(app, make_person, frozen_clock):
    person = make_person()
    secret = enrol_totp(app, person)
    code = code_at(secret, frozen_clock.now())
    barrier = threading.Barrier(2)
    results: list[bool] = []
    lock = threading.Lock()

    def attempt():
        with app.app_context():
            barrier.wait()
            ok = totp.verify(person.id, code, now=frozen_clock.now(),
                             settings=app.extensions["tongban.settings"])
            db.session.commit()
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [False, True]


def test_secret_is_sealed_at_rest_and_bound_to_its_row(app, make_person):
    person, other = make_person(), make_person()
    secret = enrol_totp(app, person)
    enrol_totp(app, other)
    settings = app.extensions["tongban.settings"]
    with app.app_context():
        row = db.session.scalar(select(TotpFactor).where(TotpFactor.person_id == person.id))
        assert secret not in row.secret_encrypted
        assert secret.lower() not in row.secret_encrypted.lower()
        assert totp.secret_of(row, settings) == secret
        # Copied onto another person's row, it does not open.
        with pytest.raises(secretbox.SealError):
            secretbox.unseal(settings, row.secret_encrypted, context=f"totp:{other.id}")


def test_the_data_key_is_the_key(app, make_person, migrated, keys_dir, tmp_path):
    """TOTP secrets are sealed under TONGBAN_DATA_KEY: another key cannot open them (and the
    cookie secret is not involved, so it can rotate freely)."""
    from idp import create_app

    from ..conftest import _settings

    person = make_person()
    enrol_totp(app, person)
    other = create_app(_settings(migrated, keys_dir, tmp_path,
                                 data_key="b3RoZXItZGF0YS1rZXktMDEyMzQ1Njc4OWFiY2RlZjA=",
                                 secret_key=app.extensions["tongban.settings"].secret_key))
    with other.app_context():
        row = db.session.scalar(select(TotpFactor).where(TotpFactor.person_id == person.id))
        with pytest.raises(secretbox.SealError):
            totp.secret_of(row, other.extensions["tongban.settings"])


def test_enrolment_needs_a_right_first_code(app, make_person, frozen_clock):
    person = make_person()
    settings = app.extensions["tongban.settings"]
    with app.app_context():
        row = db.session.get(Person, person.id)
        secret = totp.start_enrolment(row, now=frozen_clock.now(), settings=settings)
        db.session.commit()
        assert totp.factor_of(person.id) is None, "not usable before it is confirmed"
        wrong = "000000" if pyotp.TOTP(secret).at(frozen_clock.timestamp()) != "000000" \
            else "111111"
        assert not totp.confirm_enrolment(row, wrong, now=frozen_clock.now(), settings=settings)
        code = code_at(secret, frozen_clock.now())
        assert totp.confirm_enrolment(row, code, now=frozen_clock.now(), settings=settings)
        db.session.commit()
        # The confirming code is burned: it cannot also log in.
        assert not totp.verify(person.id, code, now=frozen_clock.now(), settings=settings)
        assert totp.factor_of(person.id) is not None


def test_qr_code_is_an_svg_drawn_here():
    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "citizen1", type("S", (), {
        "site_name": "通办"})())
    assert uri.startswith("otpauth://totp/")
    assert "issuer=%E9%80%9A%E5%8A%9E" in uri
    data = totp.qr_data_uri(uri)
    assert data.startswith("data:image/svg+xml")
