"""A5: production mode refuses to start with the development secret or without keys."""

from cryptography.fernet import Fernet

from tests.support.server import environment, tocsin


def test_serve_refuses_development_secret_and_missing_keys(tmp_path):
    env = environment(tmp_path, TOCSIN_ENV="production")
    result = tocsin(env, "serve", "--port", "0", check=False)
    assert result.returncode == 2
    assert "development secret" in result.stderr
    assert "TOCSIN_ENCRYPTION_KEYS is not set" in result.stderr
    assert not (tmp_path / "tocsin.db").exists()  # refused before touching anything


def test_serve_refuses_missing_encryption_key_even_with_a_real_secret(tmp_path):
    env = environment(
        tmp_path, TOCSIN_ENV="production", TOCSIN_SECRET_KEY="x" * 50, TOCSIN_AUDIT_KEY="a" * 40,
        TOCSIN_BLIND_INDEX_KEY="b" * 40,
    )
    result = tocsin(env, "serve", "--port", "0", check=False)
    assert result.returncode == 2
    assert "TOCSIN_ENCRYPTION_KEYS" in result.stderr and "development secret" not in result.stderr


def test_check_passes_a_complete_production_configuration(tmp_path):
    env = environment(
        tmp_path, TOCSIN_ENV="production", TOCSIN_SECRET_KEY="x" * 50, TOCSIN_AUDIT_KEY="a" * 40,
        TOCSIN_BLIND_INDEX_KEY="b" * 40, TOCSIN_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
    )
    tocsin(env, "migrate")
    result = tocsin(env, "check", check=False)
    assert result.returncode == 0, result.stdout
    assert "FAIL" not in result.stdout


def test_check_flags_an_invalid_key(tmp_path):
    env = environment(tmp_path, TOCSIN_ENCRYPTION_KEYS="not-a-key")
    result = tocsin(env, "check", check=False)
    assert result.returncode == 1
    assert "not a valid Fernet key" in result.stdout
