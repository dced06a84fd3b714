"""Sign C2PA test manifests offline with a test CA made here (cryptography + c2pa-python).

The CA follows the C2PA claim-signing certificate profile that c2pa-rs checks: ECDSA P-256
(ES256), a root and an optional issuing CA, a leaf with ``CA:FALSE``, ``digitalSignature``, an
authority key identifier and an extended key usage that names the C2PA claim-signing purpose
(``1.3.6.1.4.1.62558.2.1``) and nothing else unless asked, as real signers on the official list
do. Nothing is fetched: no time-stamp authority is used.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from dataclasses import dataclass

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from PIL import Image

CLAIM_SIGNING = ObjectIdentifier("1.3.6.1.4.1.62558.2.1")
EMAIL_PROTECTION = ExtendedKeyUsageOID.EMAIL_PROTECTION
IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
C2PA_TYPES = "http://c2pa.org/digitalsourcetype/"
SIGN_SETTINGS = {"verify": {"verify_after_sign": False, "remote_manifest_fetch": False},
                 # actions among the created assertions, not the gathered ones (which the Asset
                 # Rubrics read as ambiguous)
                 "builder": {"thumbnail": {"enabled": False},
                             "created_assertion_labels": ["c2pa.actions"]}}


@dataclass
class SigningCA:
    """A test PKI: the root (the trust anchor) and what the signer embeds."""

    root: x509.Certificate
    chain_pem: bytes  # leaf first, then the issuing CA; never the root
    key_pem: bytes

    @property
    def root_pem(self) -> bytes:
        return self.root.public_bytes(serialization.Encoding.PEM)

    def lote(self, entity: str, next_update: str = "2099-01-01T00:00:00Z") -> str:
        """This CA's root as a trust list in the official list's LoTE JSON form."""
        der = base64.b64encode(self.root.public_bytes(serialization.Encoding.DER)).decode()
        return json.dumps({"LoTE": {
            "ListAndSchemeInformation": {
                "SchemeName": [{"lang": "en", "value": "Test Trust List"}],
                "SchemeOperatorName": [{"lang": "en", "value": "labelcheck tests"}],
                "ListIssueDateTime": "2026-01-01T00:00:00Z", "NextUpdate": next_update},
            "TrustedEntitiesList": [{
                "TrustedEntityInformation": {"TEName": [{"lang": "en", "value": entity}]},
                "TrustedEntityServices": [{"ServiceInformation": {
                    "ServiceName": [{"lang": "en", "value": f"{entity} Root CA"}],
                    "ServiceStatus": "http://c2pa.org/conformance/trust-list/trusted",
                    "ServiceDigitalIdentity": {"X509Certificates": [{"val": der}]}}}]}]}})


def _name(common: str, organisation: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                      x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=False, content_commitment=False,
                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                         key_cert_sign=True, crl_sign=True, encipher_only=False,
                         decipher_only=False)


def make_ca(organisation: str = "Labelcheck Test Signer", ekus=(CLAIM_SIGNING,),
            intermediate: bool = True, valid_for: dt.timedelta = dt.timedelta(days=365)
            ) -> SigningCA:
    """A root, an issuing CA (unless `intermediate` is False) and a leaf signer valid for
    `valid_for` from now, whose EKU lists `ekus`."""
    now = dt.datetime.now(dt.timezone.utc)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = (x509.CertificateBuilder().subject_name(_name("Test Root CA", organisation))
            .issuer_name(_name("Test Root CA", organisation)).public_key(root_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=30))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_ca_usage(), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()),
                           critical=False)
            .sign(root_key, hashes.SHA256()))
    issuer, issuer_key, chain = root, root_key, []
    if intermediate:
        ica_key = ec.generate_private_key(ec.SECP256R1())
        issuer = (x509.CertificateBuilder().subject_name(_name("Test Issuing CA", organisation))
                  .issuer_name(root.subject).public_key(ica_key.public_key())
                  .serial_number(x509.random_serial_number())
                  .not_valid_before(now - dt.timedelta(days=30))
                  .not_valid_after(now + dt.timedelta(days=1825))
                  .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                  .add_extension(_ca_usage(), critical=True)
                  .add_extension(x509.SubjectKeyIdentifier.from_public_key(
                      ica_key.public_key()), critical=False)
                  .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                      root_key.public_key()), critical=False)
                  .sign(root_key, hashes.SHA256()))
        issuer_key, chain = ica_key, [issuer]
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(_name("Test Signer", organisation))
            .issuer_name(issuer.subject).public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + valid_for)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage(list(ekus)), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer_key.public_key()), critical=False)
            .sign(issuer_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return SigningCA(root, b"".join(cert.public_bytes(pem) for cert in [leaf, *chain]),
                  leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()))


def picture(fmt: str = "JPEG", color=(200, 60, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (48, 32), color).save(buffer, fmt)
    return buffer.getvalue()


def manifest(actions: list[dict], extra=(), all_included: bool = True) -> dict:
    """A manifest with one ``c2pa.actions.v2`` assertion and `extra` assertions."""
    return {"claim_generator_info": [{"name": "labelcheck-tests", "version": "1.0"}],
            "title": "test.jpg",
            "assertions": [{"label": "c2pa.actions.v2",
                            "data": {"actions": actions, "allActionsIncluded": all_included}},
                           *extra]}


def created(source_type: str, **fields) -> dict:
    return {"action": "c2pa.created", "digitalSourceType": source_type, **fields}


def sign(definition: dict, ca: SigningCA, fmt: str = "image/jpeg", source: bytes | None = None,
         ingredients=()) -> bytes:
    """`source` (default: a small picture) signed with `definition`; `ingredients` are
    ``(ingredient JSON, media type, bytes)``."""
    source = source or picture("JPEG" if fmt == "image/jpeg" else "PNG")
    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, ca.chain_pem, ca.key_pem, None)
    with c2pa.Context.from_dict(SIGN_SETTINGS) as context, \
            c2pa.Builder(definition, context=context) as builder, \
            c2pa.Signer.from_info(info) as signer:
        for ingredient, media_type, data in ingredients:
            builder.add_ingredient(ingredient, media_type, io.BytesIO(data))
        out = io.BytesIO()
        builder.sign(signer, fmt, io.BytesIO(source), out)
    return out.getvalue()
