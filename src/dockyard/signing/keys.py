"""Key pairs in cosign's formats: ``cosign.key`` (encrypted PKCS#8) and ``cosign.pub`` (PKIX PEM).

cosign (pkg/cosign/keys.go) encrypts the PKCS#8 DER of the private key with
go-securesystemslib's ``encrypted`` package: a JSON document holding the scrypt parameters and
salt, the secretbox nonce and the ciphertext (Go's []byte fields are standard base64), wrapped
in PEM as ``ENCRYPTED SIGSTORE PRIVATE KEY`` (older cosign: ``ENCRYPTED COSIGN PRIVATE KEY``).
Plain PEM private keys (``PRIVATE KEY``, ``EC PRIVATE KEY``) are read too, as cosign reads them.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from dockyard.errors import SigningKeyError, UsageError

SIGSTORE_PEM = "ENCRYPTED SIGSTORE PRIVATE KEY"
COSIGN_PEM = "ENCRYPTED COSIGN PRIVATE KEY"
PASSWORD_ENV = "COSIGN_PASSWORD"
# go-securesystemslib's defaults (encrypted.go): scrypt N=2^15, r=8, p=1; 32-byte salt and key; 24-byte nonce
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 1 << 15, 8, 1
_SALT, _KEY, _NONCE = 32, 32, 24


@dataclass(frozen=True)
class KeyPair:
    private_pem: bytes  # encrypted (cosign) or plain PEM
    public_pem: bytes


def _derive(password: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=_KEY, n=n, r=r, p=p).derive(password)


def _pem(kind: str, der: bytes) -> bytes:
    body = base64.encodebytes(der).decode().replace("\n", "")
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return (f"-----BEGIN {kind}-----\n" + "\n".join(lines) + f"\n-----END {kind}-----\n").encode()


def _unpem(data: bytes, *, where: str) -> tuple[str, bytes]:
    text = data.decode("ascii", "replace")
    start = text.find("-----BEGIN ")
    if start < 0:
        raise SigningKeyError(f"{where}: not a PEM file", hint="use a key made by dockyard/cosign generate-key-pair")
    kind = text[start + 11:text.find("-----", start + 11)]
    end = text.find(f"-----END {kind}-----", start)
    body = text[text.find("\n", start) + 1:end]
    try:
        return kind, base64.b64decode("".join(body.split()), validate=True)
    except ValueError:
        raise SigningKeyError(f"{where}: damaged PEM body") from None


def encrypt_private_key(key: ec.EllipticCurvePrivateKey, password: bytes) -> bytes:
    """cosign's encrypted private key PEM for ``key`` under ``password`` (may be empty, as cosign allows)."""
    from nacl.secret import SecretBox

    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    salt, nonce = os.urandom(_SALT), os.urandom(_NONCE)
    box = SecretBox(_derive(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P))
    sealed = box.encrypt(der, nonce).ciphertext
    doc = {"kdf": {"name": "scrypt", "params": {"N": _SCRYPT_N, "r": _SCRYPT_R, "p": _SCRYPT_P},
                   "salt": base64.b64encode(salt).decode()},
           "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
           "ciphertext": base64.b64encode(sealed).decode()}
    return _pem(SIGSTORE_PEM, json.dumps(doc, separators=(",", ":")).encode())


def _decrypt(blob: bytes, password: bytes, *, where: str) -> bytes:
    from nacl.exceptions import CryptoError
    from nacl.secret import SecretBox

    try:
        doc = json.loads(blob)
        kdf, cipher = doc["kdf"], doc["cipher"]
        if kdf["name"] != "scrypt" or cipher["name"] != "nacl/secretbox":
            raise SigningKeyError(f"{where}: unsupported key encryption {kdf['name']}/{cipher['name']}")
        params = kdf["params"]
        key = _derive(password, base64.b64decode(kdf["salt"]), int(params["N"]), int(params["r"]), int(params["p"]))
        return SecretBox(key).decrypt(base64.b64decode(doc["ciphertext"]), base64.b64decode(cipher["nonce"]))
    except CryptoError:
        raise SigningKeyError(f"{where}: wrong password for the encrypted private key",
                        hint=f"set {PASSWORD_ENV} to the key's password") from None
    except (ValueError, KeyError, TypeError):
        raise SigningKeyError(f"{where}: damaged encrypted private key") from None


def generate(password: bytes) -> KeyPair:
    """A new ECDSA P-256 key pair, the private key encrypted as ``cosign generate-key-pair`` writes it."""
    key = ec.generate_private_key(ec.SECP256R1())
    return KeyPair(private_pem=encrypt_private_key(key, password), public_pem=public_pem(key.public_key()))


def public_pem(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_private(path: Path, password: bytes | None) -> ec.EllipticCurvePrivateKey:
    """A signing key from ``path``: cosign's encrypted PEM (``password`` needed) or a plain PEM key."""
    where = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"cannot read key {where}: {exc.strerror}") from None
    kind, der = _unpem(data, where=where)
    try:
        if kind in (SIGSTORE_PEM, COSIGN_PEM):
            if password is None:
                raise SigningKeyError(f"{where} is encrypted and no password was given",
                                hint=f"set {PASSWORD_ENV} (an empty value for a key made without one)")
            key = serialization.load_der_private_key(_decrypt(der, password, where=where), password=None)
        else:
            key = serialization.load_pem_private_key(data, password=password or None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{where}: unreadable private key ({exc})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise SigningKeyError(f"{where}: not an ECDSA P-256 key",
                              hint="dockyard signs with ECDSA P-256, as cosign does")
    return key


def load_public(path: Path) -> ec.EllipticCurvePublicKey:
    where = str(path)
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise SigningKeyError(f"cannot read key {where}: {exc.strerror}") from None
    except ValueError:
        raise SigningKeyError(f"{where}: not a PEM public key",
                              hint="use the cosign.pub written with the key pair") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise SigningKeyError(f"{where}: not an ECDSA public key")
    return key


def sign(key: ec.EllipticCurvePrivateKey, payload: bytes) -> bytes:
    """ASN.1 DER ECDSA signature over SHA-256(payload), what cosign stores (base64) in the annotation."""
    return key.sign(payload, ec.ECDSA(hashes.SHA256()))


def verifies(key: ec.EllipticCurvePublicKey, payload: bytes, signature: bytes) -> bool:
    try:
        key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def environment_password() -> bytes | None:
    """``COSIGN_PASSWORD`` as cosign reads it (set but empty: an empty password), else None."""
    value = os.environ.get(PASSWORD_ENV)
    return value.encode() if value is not None else None


def key_files(prefix: str | os.PathLike[str]) -> tuple[Path, Path]:
    """``PREFIX.key`` and ``PREFIX.pub``; a UsageError when either exists (a key is never overwritten)."""
    private, public = Path(f"{os.fspath(prefix)}.key"), Path(f"{os.fspath(prefix)}.pub")
    for path in (private, public):
        if path.exists():
            raise UsageError(f"{path} already exists", hint="remove it or choose --output-key-prefix")
    return private, public


def write_pair(prefix: str | os.PathLike[str], password: bytes) -> tuple[Path, Path]:
    """A new pair (:func:`generate`) written to :func:`key_files`: the private key created
    exclusively with mode 0600 (never readable by others, even for a moment)."""
    private, public = key_files(prefix)
    pair = generate(password)
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pair.private_pem)
    public.write_bytes(pair.public_pem)
    return private, public
