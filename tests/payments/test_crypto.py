"""The providers' cryptography: SHA256withRSA in base64 and WeChat Pay's AEAD_AES_256_GCM, with keys
in PEM or Alipay's bare base64."""

from __future__ import annotations

import pytest

from prepay.payments import crypto


class CryptoTestCase:
    def test_it_signs_and_verifies_sha256_with_rsa(self):
        key = crypto.new_rsa_key()
        signature = crypto.rsa_sign(key, b"hello")
        assert crypto.rsa_verify(key.public_key(), b"hello", signature)
        assert not crypto.rsa_verify(key.public_key(), b"hello!", signature)
        assert not crypto.rsa_verify(key.public_key(), b"hello", "not base64 %%")

    def test_it_reads_bare_base64_keys_and_certificates(self):
        key = crypto.new_rsa_key()
        bare_private = "".join(crypto.private_pem(key).strip().splitlines()[1:-1])
        bare_public = "".join(crypto.public_pem(key).strip().splitlines()[1:-1])
        assert (
            crypto.load_private_key(bare_private).public_key().public_numbers()
            == key.public_key().public_numbers()
        )
        assert crypto.load_public_key(bare_public).public_numbers() == key.public_key().public_numbers()
        cert = crypto.self_signed_certificate(key, "t")
        assert crypto.load_public_key(cert).public_numbers() == key.public_key().public_numbers()
        assert len(crypto.certificate_serial(cert)) > 8

    def test_gcm_round_trip_and_refusals(self):
        sealed = crypto.gcm_encrypt("k" * 32, "n" * 12, b"{}", "transaction")
        assert crypto.gcm_decrypt("k" * 32, "n" * 12, sealed, "transaction") == b"{}"
        with pytest.raises(crypto.CryptoError):
            crypto.gcm_decrypt("k" * 32, "n" * 12, sealed, "other")
        with pytest.raises(crypto.CryptoError):
            crypto.gcm_decrypt("short", "n" * 12, sealed, "transaction")

    def test_bad_pem_is_a_clear_error_without_the_text(self):
        with pytest.raises(crypto.CryptoError) as exc:
            crypto.load_private_key("SECRETSTUFF")
        assert "SECRETSTUFF" not in str(exc.value)
