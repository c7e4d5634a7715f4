//! The client-certificate verifier the TLS server runs during the handshake.
//!
//! It asks for a certificate (naming the trusted CAs, so browsers offer the right smart
//! card) without requiring one, and checks the client's proof of possession of the key
//! (the handshake signature) as rustls always does. It does *not* end the handshake when
//! the chain is untrusted, expired or revoked: that would leave a browser with a bare TLS
//! alert instead of a page, and lock out a password user whose browser offers a stale
//! card. The chain is checked, with the same `WebPkiClientVerifier` and the revocation
//! lists in force at that moment, before anything is read from it
//! ([`super::CertificateAuth::verify`]); no other code reads the peer certificate.
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

/// Asks for a client certificate, verifies the handshake signature, defers the chain.
#[derive(Debug)]
pub struct AskingVerifier {
    hints: Vec<DistinguishedName>,
    provider: Arc<CryptoProvider>,
}

impl AskingVerifier {
    /// A verifier naming `hints` (the trust anchors' subjects) to the client.
    pub fn new(hints: Vec<DistinguishedName>, provider: Arc<CryptoProvider>) -> Self {
        AskingVerifier { hints, provider }
    }
}

impl ClientCertVerifier for AskingVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // checked at sign-in, see the module documentation
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
