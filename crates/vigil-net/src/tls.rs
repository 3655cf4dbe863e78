//! The TLS side: a self-signed certificate made from the device key, signing with that key,
//! and certificate verifiers that admit peers by device key instead of by CA.

use std::sync::{Arc, Mutex, PoisonError};

use ed25519_dalek::{Signature, Signer as _, SigningKey as DalekSigningKey, VerifyingKey};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ResolvesClientCert, Resumption};
use rustls::crypto::{CryptoProvider, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, NoServerSessionStorage, ResolvesServerCert};
use rustls::sign::{CertifiedKey, Signer, SigningKey};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, Error as TlsError, PeerMisbehaved,
    SignatureAlgorithm, SignatureScheme,
};
use tracing::{debug, info, warn};
use vigil_crypto::{DeviceKey, DevicePublicKey};
use x509_parser::oid_registry::OID_SIG_ED25519;

use crate::{ALPN, Admission, NetError, PeerPolicy};

/// The TLS server name every client asks for: the same for every device and team.
pub(crate) const SERVER_NAME: &str = "vigil";

/// The certificate subject's common name: the same for every device and team.
const CERT_COMMON_NAME: &str = "vigil";

/// Our device key and the self-signed certificate made from it.
pub(crate) fn certified_key(device: &DeviceKey) -> Result<Arc<CertifiedKey>, NetError> {
    let secret = device.to_secret_bytes();
    // ed25519-dalek zeroizes its signing key on drop; `secret` is zeroized too.
    let key = Arc::new(DalekSigningKey::from_bytes(&secret));
    drop(secret);
    let public = key.verifying_key().to_bytes();

    let mut params = rcgen::CertificateParams::default();
    let mut name = rcgen::DistinguishedName::new();
    name.push(rcgen::DnType::CommonName, CERT_COMMON_NAME);
    params.distinguished_name = name;
    // Without rcgen's crypto feature the serial must be given; a constant names nobody.
    params.serial_number = Some(rcgen::SerialNumber::from(vec![1u8]));
    let cert = params
        .self_signed(&CertSigner {
            key: &key,
            public: &public,
        })
        .map_err(|error| NetError::TlsConfig(error.to_string()))?;

    Ok(Arc::new(CertifiedKey::new(
        vec![cert.der().clone()],
        Arc::new(DeviceSigningKey { key }),
    )))
}

/// Lets rcgen sign the certificate with the device key.
struct CertSigner<'a> {
    key: &'a DalekSigningKey,
    public: &'a [u8; 32],
}

impl rcgen::PublicKeyData for CertSigner<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.public
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ED25519
    }
}

impl rcgen::SigningKey for CertSigner<'_> {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        Ok(self.key.sign(msg).to_bytes().to_vec())
    }
}

/// Signs TLS handshakes with the device key (ed25519 only).
struct DeviceSigningKey {
    key: Arc<DalekSigningKey>,
}

impl std::fmt::Debug for DeviceSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceSigningKey(..)")
    }
}

impl SigningKey for DeviceSigningKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        offered
            .contains(&SignatureScheme::ED25519)
            .then(|| Box::new(DeviceSigner(self.key.clone())) as Box<dyn Signer>)
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::ED25519
    }
}

struct DeviceSigner(Arc<DalekSigningKey>);

impl std::fmt::Debug for DeviceSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceSigner(..)")
    }
}

impl Signer for DeviceSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, TlsError> {
        Ok(self.0.sign(message).to_bytes().to_vec())
    }

    fn scheme(&self) -> SignatureScheme {
        SignatureScheme::ED25519
    }
}

/// Presents our certificate, as server and as client.
#[derive(Debug)]
struct OwnCert(Arc<CertifiedKey>);

impl ResolvesServerCert for OwnCert {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

impl ResolvesClientCert for OwnCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        sigschemes
            .contains(&SignatureScheme::ED25519)
            .then(|| self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// The device key in a peer's certificate, after checking that the certificate is a
/// well-formed, self-signed, non-CA ed25519 certificate. Says nothing yet about whether
/// the peer holds the key: that is the handshake signature's job.
pub(crate) fn device_key_of(cert: &CertificateDer<'_>) -> Result<DevicePublicKey, TlsError> {
    let bad = || TlsError::InvalidCertificate(CertificateError::BadEncoding);
    let (rest, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).map_err(|_| bad())?;
    if !rest.is_empty() {
        return Err(bad());
    }
    let spki = parsed.public_key();
    if spki.algorithm.algorithm != OID_SIG_ED25519 || spki.algorithm.parameters.is_some() {
        // Not an ed25519 key: not a Vigil device.
        return Err(bad());
    }
    let key_bytes: [u8; 32] = spki
        .subject_public_key
        .data
        .as_ref()
        .try_into()
        .map_err(|_| bad())?;
    let key = DevicePublicKey::from_bytes(&key_bytes).map_err(|_| bad())?;

    // Self-signed by that same key, and not a CA.
    if parsed.is_ca()
        || parsed.tbs_certificate.issuer.as_raw() != parsed.tbs_certificate.subject.as_raw()
        || parsed.signature_algorithm.algorithm != OID_SIG_ED25519
    {
        return Err(TlsError::InvalidCertificate(
            CertificateError::UnknownIssuer,
        ));
    }
    let verifying = VerifyingKey::from_bytes(&key_bytes).map_err(|_| bad())?;
    let signature =
        Signature::from_slice(parsed.signature_value.data.as_ref()).map_err(|_| bad())?;
    verifying
        .verify_strict(parsed.tbs_certificate.as_ref(), &signature)
        .map_err(|_| TlsError::InvalidCertificate(CertificateError::BadSignature))?;
    Ok(key)
}

/// The only chain we accept: one self-signed certificate.
fn single_cert(intermediates: &[CertificateDer<'_>]) -> Result<(), TlsError> {
    if intermediates.is_empty() {
        Ok(())
    } else {
        Err(TlsError::InvalidCertificate(CertificateError::BadEncoding))
    }
}

fn refused() -> TlsError {
    TlsError::InvalidCertificate(CertificateError::ApplicationVerificationFailure)
}

fn no_tls12() -> TlsError {
    TlsError::General("TLS 1.2 is not supported".into())
}

fn tls13_signature(
    provider: &CryptoProvider,
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, TlsError> {
    if dss.scheme != SignatureScheme::ED25519 {
        return Err(PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme.into());
    }
    verify_tls13_signature(
        message,
        cert,
        dss,
        &provider.signature_verification_algorithms,
    )
}

/// Why our side (as client) turned a server down, for a precise error after the failed
/// handshake.
#[derive(Debug, Clone)]
pub(crate) enum ClientRefusal {
    Refused(DevicePublicKey),
    Unexpected {
        expected: DevicePublicKey,
        found: DevicePublicKey,
    },
}

impl From<ClientRefusal> for NetError {
    fn from(refusal: ClientRefusal) -> Self {
        match refusal {
            ClientRefusal::Refused(peer) => NetError::Refused {
                fingerprint: peer.fingerprint(),
            },
            ClientRefusal::Unexpected { expected, found } => NetError::UnexpectedPeer {
                expected: expected.fingerprint(),
                found: found.fingerprint(),
            },
        }
    }
}

/// Client side: the server must be the pinned key, or else a member.
pub(crate) struct ServerVerifier {
    provider: Arc<CryptoProvider>,
    policy: Arc<dyn PeerPolicy>,
    expected: Option<DevicePublicKey>,
    refusal: Arc<Mutex<Option<ClientRefusal>>>,
}

impl std::fmt::Debug for ServerVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerVerifier")
            .field("expected", &self.expected)
            .finish_non_exhaustive()
    }
}

impl ServerCertVerifier for ServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        single_cert(intermediates)?;
        let peer = device_key_of(end_entity)?;
        let refusal = match self.expected {
            Some(expected) if expected == peer => None,
            Some(expected) => Some(ClientRefusal::Unexpected {
                expected,
                found: peer,
            }),
            None if self.policy.admit(&peer) == Admission::Member => None,
            None => Some(ClientRefusal::Refused(peer)),
        };
        match refusal {
            None => {
                debug!(peer = %peer.fingerprint(), "server key accepted");
                Ok(ServerCertVerified::assertion())
            }
            Some(refusal) => {
                warn!(
                    peer = %peer.fingerprint(),
                    pinned = self.expected.map(|key| key.fingerprint()),
                    "refusing server"
                );
                *self.refusal.lock().unwrap_or_else(PoisonError::into_inner) = Some(refusal);
                Err(refused())
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        Err(no_tls12())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        tls13_signature(&self.provider, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}

/// Server side: a client certificate is mandatory, and the policy decides, live.
pub(crate) struct ClientVerifier {
    provider: Arc<CryptoProvider>,
    policy: Arc<dyn PeerPolicy>,
}

impl std::fmt::Debug for ClientVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientVerifier").finish_non_exhaustive()
    }
}

impl ClientCertVerifier for ClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, TlsError> {
        single_cert(intermediates)?;
        let peer = device_key_of(end_entity)?;
        match self.policy.admit(&peer) {
            Admission::Refused => {
                // Not a warning: anyone can provoke this at will.
                info!(peer = %peer.fingerprint(), "refusing client");
                Err(refused())
            }
            admission => {
                debug!(peer = %peer.fingerprint(), ?admission, "client key admitted");
                Ok(ClientCertVerified::assertion())
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        Err(no_tls12())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        tls13_signature(&self.provider, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}

/// The crypto provider: ring.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn config_error(error: impl std::fmt::Display) -> NetError {
    NetError::TlsConfig(error.to_string())
}

/// TLS 1.3 server configuration: mandatory client certificates judged by `policy`, no
/// session tickets (so every connection runs the full handshake and meets the policy).
pub(crate) fn server_config(
    provider: Arc<CryptoProvider>,
    own: Arc<CertifiedKey>,
    policy: Arc<dyn PeerPolicy>,
) -> Result<rustls::ServerConfig, NetError> {
    let verifier = Arc::new(ClientVerifier {
        provider: provider.clone(),
        policy,
    });
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(config_error)?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(OwnCert(own)));
    config.alpn_protocols = vec![ALPN.to_vec()];
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    config.max_early_data_size = 0;
    Ok(config)
}

/// TLS 1.3 client configuration for one dial: the server must be `expected`, or else a
/// member according to `policy`. No resumption, so the server key is checked every time.
pub(crate) fn client_config(
    provider: Arc<CryptoProvider>,
    own: Arc<CertifiedKey>,
    policy: Arc<dyn PeerPolicy>,
    expected: Option<DevicePublicKey>,
    refusal: Arc<Mutex<Option<ClientRefusal>>>,
) -> Result<rustls::ClientConfig, NetError> {
    let verifier = Arc::new(ServerVerifier {
        provider: provider.clone(),
        policy,
        expected,
        refusal,
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(config_error)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(Arc::new(OwnCert(own)));
    config.alpn_protocols = vec![ALPN.to_vec()];
    config.resumption = Resumption::disabled();
    config.enable_sni = false;
    config.enable_early_data = false;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert_of(device: &DeviceKey) -> CertificateDer<'static> {
        certified_key(device).unwrap().cert[0].clone()
    }

    #[test]
    fn the_certificate_carries_the_device_key_and_no_names() {
        let device = DeviceKey::generate();
        let cert = cert_of(&device);
        assert_eq!(device_key_of(&cert).unwrap(), device.public());

        let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).unwrap();
        assert_eq!(parsed.subject().to_string(), "CN=vigil");
        assert_eq!(parsed.issuer().to_string(), "CN=vigil");
        assert_eq!(parsed.extensions().len(), 0);
        // Two devices' certificates differ only in key and signature.
        let other = cert_of(&DeviceKey::generate());
        assert_eq!(cert.len(), other.len());
    }

    #[test]
    fn damaged_certificates_are_rejected_without_panicking() {
        let device = DeviceKey::generate();
        let cert = cert_of(&device);
        let mut rejected = 0;
        for at in 0..cert.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bytes = cert.to_vec();
                bytes[at] ^= flip;
                // The signed part is covered by the self-signature; a few bytes of the
                // outer envelope are not (x509-parser is lenient about some tags), but
                // no damage may ever yield a different key.
                match device_key_of(&CertificateDer::from(bytes)) {
                    Ok(key) => assert_eq!(key, device.public(), "flip at byte {at}"),
                    Err(_) => rejected += 1,
                }
            }
        }
        assert!(
            rejected > cert.len() * 3 - 20,
            "only {rejected} flips rejected"
        );
        for len in 0..cert.len() {
            assert!(device_key_of(&CertificateDer::from(&cert[..len])).is_err());
        }
        assert!(device_key_of(&CertificateDer::from(vec![0x30; 64])).is_err());
    }

    struct Everyone;

    impl PeerPolicy for Everyone {
        fn admit(&self, _peer: &DevicePublicKey) -> Admission {
            Admission::Member
        }
    }

    #[tokio::test]
    async fn a_client_without_a_certificate_never_gets_in() {
        let local = "127.0.0.1:0".parse().unwrap();
        let server =
            crate::Endpoint::bind(local, &DeviceKey::generate(), Arc::new(Everyone), 1 << 20)
                .unwrap();
        let provider = provider();
        let verifier = Arc::new(ServerVerifier {
            provider: provider.clone(),
            policy: Arc::new(Everyone),
            expected: None,
            refusal: Arc::default(),
        });
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        config.alpn_protocols = vec![ALPN.to_vec()];
        let config = quinn::crypto::rustls::QuicClientConfig::try_from(config).unwrap();
        let client = quinn::Endpoint::client(local).unwrap();
        let outcome = async {
            let connection = client
                .connect_with(
                    quinn::ClientConfig::new(Arc::new(config)),
                    server.local_addr().unwrap(),
                    SERVER_NAME,
                )
                .unwrap()
                .await?;
            connection.accept_uni().await.map(|_| ())
        };
        let outcome = tokio::time::timeout(std::time::Duration::from_secs(10), outcome)
            .await
            .unwrap();
        assert!(outcome.is_err(), "a client without a certificate got in");
        let surfaced =
            tokio::time::timeout(std::time::Duration::from_millis(300), server.accept()).await;
        assert!(surfaced.is_err(), "nothing may surface on the server");
    }

    #[test]
    fn a_certificate_signed_by_another_key_is_rejected() {
        // Re-sign one device's certificate contents with another key.
        let device = DeviceKey::generate();
        let impostor = DalekSigningKey::from_bytes(&DeviceKey::generate().to_secret_bytes());
        let public = device.public().to_bytes();
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, CERT_COMMON_NAME);
        params.serial_number = Some(rcgen::SerialNumber::from(vec![1u8]));
        let forged = params
            .self_signed(&CertSigner {
                key: &impostor,
                public: &public,
            })
            .unwrap();
        assert!(matches!(
            device_key_of(forged.der()),
            Err(TlsError::InvalidCertificate(CertificateError::BadSignature))
        ));
    }
}
