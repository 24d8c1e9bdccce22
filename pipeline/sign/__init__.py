"""PAdES signing and offline validation of PDF/A bundles (pyHanko)."""

from pipeline.sign.pki import DevPki, ensure_dev_pki, load_trust_roots
from pipeline.sign.signer import SignMeta, load_signer, sign_file, sign_pdf
from pipeline.sign.verify import SignatureReport, verify_signatures

__all__ = [
    "DevPki",
    "SignMeta",
    "SignatureReport",
    "ensure_dev_pki",
    "load_signer",
    "load_trust_roots",
    "sign_file",
    "sign_pdf",
    "verify_signatures",
]
