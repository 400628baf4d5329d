"""The cryptography the providers' specifications ask for, on ``cryptography`` only.

* RSA signatures with SHA-256 and PKCS#1 v1.5 ("SHA256withRSA"; WeChat Pay API v3 and Alipay RSA2),
  base64-encoded.
* AES-256-GCM (WeChat Pay's ``AEAD_AES_256_GCM``): the APIv3 key (32 bytes of text), a 12-character
  nonce and the associated data, as text; the ciphertext is base64 with the 16-byte tag at its end.
* Keys and certificates from PEM text; Alipay hands out its public key as bare base64 (no PEM
  header), which is read too.

Nothing here logs or puts key material into an exception message.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID


class CryptoError(ValueError):
    """A key, certificate or ciphertext could not be used (the message names which, never its bytes)."""


def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    """An RSA private key from PEM (PKCS#8 or PKCS#1), or from bare base64 PKCS#8 (Alipay's tool)."""
    text = pem.strip()
    if "-----BEGIN" not in text:
        text = "-----BEGIN PRIVATE KEY-----\n" + text + "\n-----END PRIVATE KEY-----\n"
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError):
        raise CryptoError("not an RSA private key in PEM") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CryptoError("not an RSA private key")
    return key


def load_public_key(pem: str) -> rsa.RSAPublicKey:
    """An RSA public key from a PEM public key, a PEM certificate, or bare base64 (Alipay)."""
    text = pem.strip()
    key: object
    try:
        if "BEGIN CERTIFICATE" in text:
            key = x509.load_pem_x509_certificate(text.encode()).public_key()
        else:
            if "-----BEGIN" not in text:
                text = "-----BEGIN PUBLIC KEY-----\n" + text + "\n-----END PUBLIC KEY-----\n"
            key = serialization.load_pem_public_key(text.encode())
    except (ValueError, TypeError):
        raise CryptoError("not an RSA public key or certificate in PEM") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise CryptoError("not an RSA public key")
    return key


def certificate_serial(pem: str) -> str:
    """The serial number of a PEM certificate as WeChat Pay writes it (upper-case hex)."""
    try:
        cert = x509.load_pem_x509_certificate(pem.strip().encode())
    except ValueError:
        raise CryptoError("not a certificate in PEM") from None
    return format(cert.serial_number, "X")


def certificate_valid_at(pem: str, when: datetime) -> bool:
    """True when ``when`` falls inside the certificate's validity period."""
    cert = x509.load_pem_x509_certificate(pem.strip().encode())
    return bool(cert.not_valid_before_utc <= when <= cert.not_valid_after_utc)


def rsa_sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    """SHA256withRSA (PKCS#1 v1.5) of ``message``, base64."""
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_verify(key: rsa.RSAPublicKey, message: bytes, signature: str) -> bool:
    """True when ``signature`` (base64) is SHA256withRSA of ``message`` under ``key``."""
    try:
        raw = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        key.verify(raw, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def _aes_key(key: str | bytes) -> bytes:
    raw = key.encode() if isinstance(key, str) else key
    if len(raw) != 32:
        raise CryptoError("the APIv3 key must be 32 bytes")
    return raw


def gcm_decrypt(key: str | bytes, nonce: str, ciphertext: str, associated_data: str) -> bytes:
    """Open WeChat Pay's ``AEAD_AES_256_GCM`` resource; :class:`CryptoError` when it does not open."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        data = base64.b64decode(ciphertext, validate=True)
        return AESGCM(_aes_key(key)).decrypt(nonce.encode(), data, associated_data.encode() or None)
    except (binascii.Error, ValueError, InvalidTag):
        raise CryptoError("the encrypted resource does not open with the APIv3 key") from None


def gcm_encrypt(key: str | bytes, nonce: str, plaintext: bytes, associated_data: str) -> str:
    """Seal ``plaintext`` as WeChat Pay does (the simulated provider and tests use it)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    sealed = AESGCM(_aes_key(key)).encrypt(nonce.encode(), plaintext, associated_data.encode() or None)
    return base64.b64encode(sealed).decode()


def nonce_text(length: int = 32) -> str:
    """A random string of letters and digits (WeChat's ``nonce_str``; 12 characters for GCM)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> str:
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def self_signed_certificate(key: rsa.RSAPrivateKey, common_name: str, *, days: int = 3650) -> str:
    """A self-signed certificate for ``key`` (the simulated provider's "platform certificate")."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=days))
        .not_valid_after(now + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()
