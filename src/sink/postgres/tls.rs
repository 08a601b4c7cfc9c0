//! TLS by rustls, with libpq's meaning of each `sslmode`: `prefer` and `require` encrypt
//! without checking the certificate, `verify-ca` checks its chain, `verify-full` its chain and
//! host name.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::conninfo::SslMode;
use crate::error::{Error, Result};

/// Accepts any certificate (libpq's `require` and `prefer` encrypt without verifying), but
/// still checks the handshake's signatures against the certificate's public key.
///
/// The key is read from the certificate by x509-parser rather than by webpki, which refuses
/// X.509 v1 certificates outright: self-signed v1 certificates are common on PostgreSQL
/// servers (Citus makes one, as does `openssl x509 -req -signkey`), and libpq connects to
/// them in these modes.
#[derive(Debug)]
struct AnyCert(Arc<rustls::crypto::CryptoProvider>);

impl AnyCert {
    fn verify(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        let bad_cert = || rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding);
        let (_, parsed) = x509_parser::parse_x509_certificate(cert).map_err(|_| bad_cert())?;
        let spki = rustls::pki_types::SubjectPublicKeyInfoDer::from(
            parsed.tbs_certificate.subject_pki.raw,
        );
        let key = webpki::RawPublicKeyEntity::try_from(&spki).map_err(|_| bad_cert())?;
        let algorithms = self
            .0
            .signature_verification_algorithms
            .mapping
            .iter()
            .filter(|(scheme, _)| *scheme == dss.scheme)
            .flat_map(|(_, algs)| algs.iter());
        // TLS 1.2 does not say which of a scheme's algorithms was used: any that verifies.
        for alg in algorithms {
            if key.verify_signature(*alg, message, dss.signature()).is_ok() {
                return Ok(HandshakeSignatureValid::assertion());
            }
        }
        Err(rustls::Error::InvalidCertificate(
            rustls::CertificateError::BadSignature,
        ))
    }
}

impl ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.verify(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.verify(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Whether a driver error is a failed TLS handshake or certificate check: a fault of the
/// settings or of the server's certificate, which no retry can mend.
pub(crate) fn is_tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(e);
    while let Some(s) = source {
        if s.is::<rustls::Error>() {
            return true;
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>())
            {
                return true;
            }
        }
        source = s.source();
    }
    false
}

/// `verify-ca`: the chain must lead to a trusted root; the name is not checked.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

fn roots(root: Option<&str>) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    match root {
        None => {
            return Err(Error::config(
                "sslmode=verify-ca and verify-full need the certificate of the CA that signed the \
                 server's: pass sslrootcert=/path/to/ca.crt (or sslrootcert=system for the \
                 system's roots)",
            ))
        }
        Some("system") => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = store.add(cert);
            }
            if store.is_empty() {
                return Err(Error::config(
                    "sslrootcert=system: no root certificates found on this system",
                ));
            }
        }
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| Error::config(format!("sslrootcert {path}: {e}")))?;
            for cert in certs {
                let cert = cert.map_err(|e| Error::config(format!("sslrootcert {path}: {e}")))?;
                store
                    .add(cert)
                    .map_err(|e| Error::config(format!("sslrootcert {path}: {e}")))?;
            }
            if store.is_empty() {
                return Err(Error::config(format!(
                    "sslrootcert {path} holds no PEM certificate"
                )));
            }
        }
    }
    Ok(store)
}

/// The rustls connector for `mode`, with the trusted roots and the client certificate.
pub(crate) fn tls_connector(
    mode: SslMode,
    root: Option<&str>,
    cert: Option<&str>,
    key: Option<&str>,
) -> Result<MakeRustlsConnect> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::config(format!("TLS setup: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots(root)?), provider)
                    .build()
                    .map_err(|e| Error::config(format!("TLS setup: {e}")))?;
            if mode == SslMode::VerifyFull {
                webpki
            } else {
                Arc::new(ChainOnly(webpki))
            }
        }
        _ => Arc::new(AnyCert(provider)),
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match (cert, key) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
                .map_err(|e| Error::config(format!("sslcert {cert}: {e}")))?;
            // The key's own error never shows the key.
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| Error::config(format!("sslkey {key}: {e}")))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| Error::config(format!("sslcert/sslkey: {e}")))?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(Error::config(
                "a client certificate needs both sslcert and sslkey",
            ))
        }
    };
    Ok(MakeRustlsConnect::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmodes_parse_and_verify_modes_need_a_root() {
        assert_eq!("verify-ca".parse::<SslMode>().unwrap(), SslMode::VerifyCa);
        assert!("bogus".parse::<SslMode>().is_err());
        assert!(tls_connector(SslMode::VerifyFull, None, None, None).is_err());
        assert!(tls_connector(SslMode::Require, None, None, None).is_ok());
        assert!(tls_connector(SslMode::Require, None, Some("/c.pem"), None).is_err());
    }
}
