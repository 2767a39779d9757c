"""Signing keys, the JWKS (RFC 7517) and key rotation (oidcc-server-rotate-keys): a new key is
published before it signs, and a retired key stays published until the last token it signed has
expired, so no live token ever fails verification against /jwks."""

import json
import logging
import shutil
import stat
import time

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from ..helpers import Flow, signed_in

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
AHEAD = 3600


@pytest.fixture
def own_keys_dir(tmp_path, keys_dir):
    """Rotation writes to the keys directory: every test here gets its own copy."""
    copy = tmp_path / "keys"
    shutil.copytree(keys_dir, copy)
    return copy


@pytest.fixture
def app(migrated, own_keys_dir, tmp_path):
    # conftest's `app` passes its session-wide keys_dir positionally, so keys_dir cannot come
    # through settings_overrides; build the app on the copy here instead.
    from idp import create_app

    from ..conftest import _empty_all_tables, _settings

    app = create_app(_settings(migrated, own_keys_dir, tmp_path, key_publish_ahead=AHEAD))
    app.config["TESTING"] = True
    yield app
    with app.app_context():
        _empty_all_tables(app)


@pytest.fixture
def store(app):
    return app.extensions["tongban.provider"].keys


@pytest.fixture
def ttl(app):
    return app.extensions["tongban.settings"].max_token_ttl


def kid_of(token: str) -> str:
    from joserfc.jws import extract_compact

    return extract_compact(token.encode()).headers()["kid"]


def jwks(http) -> dict:
    response = http.get("/jwks")
    assert response.status_code == 200
    return response.get_json()


def published_kids(http) -> set[str]:
    return {k["kid"] for k in jwks(http)["keys"]}


def test_jwks_members(client):
    keys = jwks(client)["keys"]
    kids = [k["kid"] for k in keys]
    assert len(kids) == len(set(kids)) >= 3
    assert {k["alg"] for k in keys} == {"RS256", "PS256", "ES256"}
    for key in keys:
        assert key["use"] == "sig"
        assert not PRIVATE_MEMBERS & set(key), key["kid"]


def test_key_files_are_private(store, own_keys_dir):
    files = list(own_keys_dir.glob("*.json"))
    assert files
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    new = store.rotate("ES256", publish_ahead=AHEAD, token_ttl=600)
    path = own_keys_dir / f"{new.kid}.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


class Issued:
    """Tokens minted during the test, each with the clock time at which it expires."""

    def __init__(self, http, rp):
        self.http, self.rp = http, rp
        self.tokens: list[dict] = []

    def issue(self) -> dict:
        tokens = Flow(self.http, self.rp).tokens()
        exp = jwt.decode(tokens["id_token"], KeySet.import_key_set(jwks(self.http))).claims["exp"]
        tokens["exp"] = exp
        self.tokens.append(tokens)
        return tokens

    def assert_live_ones_verify(self, now: int) -> int:
        keyset = KeySet.import_key_set(jwks(self.http))
        live = [t for t in self.tokens if t["exp"] > now]
        for tokens in live:
            jwt.decode(tokens["id_token"], keyset, algorithms=["RS256"])
            jwt.decode(tokens["access_token"], keyset, algorithms=["ES256"])
            info = self.http.get("/userinfo", headers={
                "Authorization": f"Bearer {tokens['access_token']}"})
            assert info.status_code == 200, info.get_json()
        return len(live)


def test_oidcc_server_rotate_keys(app, client, make_person, make_client, frozen_clock, store,
                                  ttl):
    rp = make_client(first_party=True)
    signed_in(client, make_person)
    issued = Issued(client, rp)
    before = issued.issue()
    old_rs, old_es = kid_of(before["id_token"]), kid_of(before["access_token"])
    start = frozen_clock.timestamp()

    with app.app_context():
        new_rs = store.rotate("RS256", publish_ahead=AHEAD, token_ttl=ttl)
        new_es = store.rotate("ES256", publish_ahead=AHEAD, token_ttl=ttl)
    assert new_rs.activates_at == new_es.activates_at == start + AHEAD

    # Published at once, so relying parties that cache the JWKS have it before it signs...
    assert {old_rs, old_es, new_rs.kid, new_es.kid} <= published_kids(client)
    # ...but the old keys keep signing until activation.
    tokens = issued.issue()
    assert (kid_of(tokens["id_token"]), kid_of(tokens["access_token"])) == (old_rs, old_es)
    assert issued.assert_live_ones_verify(frozen_clock.timestamp()) == 2

    frozen_clock.advance(AHEAD - 1)
    last_old = issued.issue()
    assert kid_of(last_old["id_token"]) == old_rs
    assert issued.assert_live_ones_verify(frozen_clock.timestamp()) == 1

    frozen_clock.advance(1)  # activation
    tokens = issued.issue()
    assert (kid_of(tokens["id_token"]), kid_of(tokens["access_token"])) == (new_rs.kid,
                                                                            new_es.kid)
    assert {old_rs, old_es} <= published_kids(client)
    assert issued.assert_live_ones_verify(frozen_clock.timestamp()) == 2

    # Until the last token the old keys signed has expired, they stay published.
    frozen_clock.advance(ttl - 2)
    assert frozen_clock.timestamp() < last_old["exp"]
    assert {old_rs, old_es} <= published_kids(client)
    assert issued.assert_live_ones_verify(frozen_clock.timestamp()) == 2

    frozen_clock.advance(2)  # activation + max token TTL
    kids = published_kids(client)
    assert old_rs not in kids and old_es not in kids
    assert {new_rs.kid, new_es.kid} <= kids
    assert issued.assert_live_ones_verify(frozen_clock.timestamp()) == 0
    assert kid_of(issued.issue()["id_token"]) == new_rs.kid
    assert issued.assert_live_ones_verify(frozen_clock.timestamp()) == 1


def test_rotation_of_one_algorithm_leaves_the_others(store, ttl):
    before = {k.alg: k.kid for k in store.published() if k.retires_at is None}
    now = int(time.time())
    store.rotate("PS256", publish_ahead=0, token_ttl=ttl, now=now)
    assert store.signing_key("RS256", now).kid == before["RS256"]
    assert store.signing_key("ES256", now).kid == before["ES256"]
    assert store.signing_key("PS256", now).kid != before["PS256"]


def test_rotate_refuses_unknown_algorithms(store):
    for alg in ("none", "HS256", "RS512"):
        with pytest.raises(ValueError, match="unsupported algorithm"):
            store.rotate(alg, publish_ahead=0, token_ttl=600)


def test_prune_removes_only_unpublished_keys(store, own_keys_dir, ttl):
    directory = own_keys_dir
    now = int(time.time())
    old = store.signing_key("ES256", now)
    new = store.rotate("ES256", publish_ahead=AHEAD, token_ttl=ttl, now=now)
    # While the old key is still published, prune keeps everything.
    assert store.prune(now + AHEAD + ttl - 1) == []
    assert (directory / f"{old.kid}.json").exists()
    assert store.prune(now + AHEAD + ttl) == [old.kid]
    assert not (directory / f"{old.kid}.json").exists()
    assert (directory / f"{new.kid}.json").exists()
    assert len(list(directory.glob("*.json"))) == 3
    assert store.missing_algs(now + AHEAD + ttl) == []


@pytest.mark.parametrize("content", [
    "{not json",
    json.dumps({"jwk": {"kty": "EC"}}),
    json.dumps({"jwk": {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "kid": "k",
                        "alg": "ES256"}, "created_at": 1, "activates_at": 1}),
    json.dumps({"created_at": 1}),
    json.dumps([1, 2]),
])
def test_damaged_key_file_is_ignored_with_a_log_line(client, store, own_keys_dir, caplog,
                                                     content, monkeypatch):
    from idp.oidc.keys import KeyStore

    monkeypatch.setattr(KeyStore, "RECHECK_SECONDS", 0.0)  # see the file at once
    before = published_kids(client)
    (own_keys_dir / "damaged.json").write_text(content)
    with caplog.at_level(logging.ERROR, logger="idp.oidc.keys"):
        assert published_kids(client) == before
    assert any("damaged.json" in r.getMessage() for r in caplog.records
               if r.name == "idp.oidc.keys" and r.levelno == logging.ERROR)


def test_another_nodes_rotation_is_seen_within_the_recheck_interval(own_keys_dir, monkeypatch):
    """The keys directory is shared by every node; a node looks at it at most once per
    RECHECK_SECONDS (a stat() per token verification is measurable), so a key another node
    wrote appears within that interval."""
    from idp.oidc import keys as keys_mod
    from idp.oidc.keys import KeyStore

    clock = [1000.0]
    monkeypatch.setattr(keys_mod.time, "monotonic", lambda: clock[0])
    this_node, other_node = KeyStore(own_keys_dir), KeyStore(own_keys_dir)
    before = {k.kid for k in this_node.published()}
    new = other_node.rotate("ES256", publish_ahead=0, token_ttl=600)
    assert {k.kid for k in this_node.published()} == before          # not looked again yet
    clock[0] += KeyStore.RECHECK_SECONDS
    assert new.kid in {k.kid for k in this_node.published()}


# --- the operator CLI ----------------------------------------------------------------------------

def test_cli_keys_list_and_rotate(app, store, frozen_clock):
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["keys", "list"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.strip().splitlines()
    assert len(lines) == 3
    assert all(" signing " in line for line in lines)

    rotated = runner.invoke(args=["keys", "rotate", "--alg", "ES256", "--publish-ahead", "60"])
    assert rotated.exit_code == 0, rotated.output
    assert rotated.output.startswith("ES256: new key ")
    new_kid = rotated.output.split()[3]
    assert f"signs from {frozen_clock.timestamp() + 60}" in rotated.output

    listed = runner.invoke(args=["keys", "list"]).output
    assert f"{new_kid}  pending" in listed
    frozen_clock.advance(60)
    listed = runner.invoke(args=["keys", "list"]).output
    assert f"{new_kid}  signing" in listed
    assert "  retired  " in listed


def test_cli_keys_rotate_all_and_prune(app, store, frozen_clock, ttl):
    runner = app.test_cli_runner()
    rotated = runner.invoke(args=["keys", "rotate", "--publish-ahead", "0"])
    assert rotated.exit_code == 0, rotated.output
    assert [line.split(":")[0] for line in rotated.output.splitlines()] == [
        "RS256", "PS256", "ES256"]
    assert runner.invoke(args=["keys", "prune"]).output.strip() == "removed: nothing"
    frozen_clock.advance(ttl)
    pruned = runner.invoke(args=["keys", "prune"]).output
    assert pruned.startswith("removed: ") and pruned.count(",") == 2
    assert len(store.keys()) == 3


def test_cli_keys_rotate_rejects_unknown_alg(app):
    result = app.test_cli_runner().invoke(args=["keys", "rotate", "--alg", "none"])
    assert result.exit_code != 0
