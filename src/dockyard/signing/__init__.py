"""Signing and verifying images the way cosign does, with keys cosign can read and write.

A signature is ECDSA P-256 over SHA-256 of a *simple signing* payload that names the signed
manifest's digest (:mod:`dockyard.signing.payload`); it is stored as cosign's classic layout
does, in an image tagged ``sha256-HEX.sig`` next to the signed manifest
(:mod:`dockyard.signing.cosign`), so ``cosign verify --key`` and registries that check cosign
signatures (Harbor) accept it; or, with ``--format bundle``, as a sigstore bundle (a DSSE
envelope around cosign's sign statement) stored as an OCI 1.1 referrer, as
``cosign sign --new-bundle-format`` does (:mod:`dockyard.signing.bundle`). Keys are cosign's
encrypted PEM (scrypt + NaCl secretbox) or plain PEM (:mod:`dockyard.signing.keys`). All
cryptography is the ``cryptography`` package's (and PyNaCl's secretbox for cosign's key
encryption); none is written here.
"""
