//! Handshakes in memory between this crate's server and client
//! configurations, with certificates made for the test.

use crate::files::Problem;
use crate::{
    ClientIdentity, ClientTls, HandshakeFailure, ReloadableServerTls, ServerTlsFiles, TlsMetrics,
};
use rustls::HandshakeKind;
use rustls::pki_types::ServerName;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A CA and what it signs, written as PEM files in a folder.
struct Pki {
    dir: tempfile::TempDir,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl Pki {
    fn new() -> Self {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "test CA");
        let ca = params.self_signed(&ca_key).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        Pki {
            dir,
            issuer: rcgen::Issuer::new(params, ca_key),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `<name>.pem` and `<name>.key` for a leaf with `common_name`.
    fn leaf(&self, name: &str, common_name: &str, dns: &[&str]) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params =
            rcgen::CertificateParams::new(dns.iter().map(|d| (*d).to_owned()).collect::<Vec<_>>())
                .unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, common_name);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        std::fs::write(self.path(&format!("{name}.pem")), cert.pem()).unwrap();
        std::fs::write(self.path(&format!("{name}.key")), key.serialize_pem()).unwrap();
    }

    fn server_files(&self, mutual: bool) -> ServerTlsFiles {
        ServerTlsFiles {
            cert: self.path("server.pem"),
            key: self.path("server.key"),
            client_ca: mutual.then(|| self.path("ca.pem")),
        }
    }
}

/// One handshake over an in-memory pipe, then a byte each way: the
/// server's view (or why it failed) and the client's handshake kind.
async fn handshake(
    server: &ReloadableServerTls,
    client: Arc<rustls::ClientConfig>,
    metrics: &Arc<TlsMetrics>,
) -> (
    Result<Option<String>, HandshakeFailure>,
    Option<HandshakeKind>,
) {
    let (near, far) = tokio::io::duplex(64 * 1024);
    let acceptor = server.acceptor();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let metrics = Arc::clone(metrics);
    let server_side = tokio::spawn(async move {
        let mut accepted = crate::accept(&acceptor, far, deadline, &metrics).await?;
        let mut byte = [0u8; 1];
        let _ = accepted.stream.read_exact(&mut byte).await;
        let _ = accepted.stream.write_all(&byte).await;
        let _ = accepted.stream.flush().await;
        Ok(accepted.client_name)
    });
    let connector = tokio_rustls::TlsConnector::from(client);
    let name = ServerName::try_from("localhost").unwrap();
    let kind = match connector.connect(name, near).await {
        Ok(mut stream) => {
            let kind = stream.get_ref().1.handshake_kind();
            let _ = stream.write_all(b"x").await;
            let mut byte = [0u8; 1];
            let _ = stream.read_exact(&mut byte).await;
            kind
        }
        Err(_) => None,
    };
    (server_side.await.unwrap(), kind)
}

#[tokio::test]
async fn a_client_certificate_names_the_reader_and_a_second_connection_resumes() {
    let pki = Pki::new();
    pki.leaf("server", "localhost", &["localhost"]);
    pki.leaf("MPOS-0001", "MPOS-0001", &[]);
    let server = ReloadableServerTls::load(pki.server_files(true), &[]).unwrap();
    let trust = ClientTls::trusting(&pki.path("ca.pem")).unwrap();
    let identity =
        ClientIdentity::load(&pki.path("MPOS-0001.pem"), &pki.path("MPOS-0001.key")).unwrap();
    let client = trust.config(Some(&identity), true).unwrap();
    let metrics = Arc::new(TlsMetrics::default());
    let (first, kind) = handshake(&server, Arc::clone(&client), &metrics).await;
    assert_eq!(first, Ok(Some("MPOS-0001".to_owned())));
    assert_eq!(kind, Some(HandshakeKind::Full));
    // Resumed: the reader's name comes back with the session.
    let (second, kind) = handshake(&server, client, &metrics).await;
    assert_eq!(second, Ok(Some("MPOS-0001".to_owned())));
    assert_eq!(kind, Some(HandshakeKind::Resumed));
    assert_eq!(metrics.handshakes(), (1, 1));
}

#[tokio::test]
async fn mutual_tls_refuses_no_certificate_and_another_cas() {
    let pki = Pki::new();
    pki.leaf("server", "localhost", &["localhost"]);
    let other = Pki::new();
    other.leaf("MPOS-0001", "MPOS-0001", &[]);
    let server = ReloadableServerTls::load(pki.server_files(true), &[]).unwrap();
    let trust = ClientTls::trusting(&pki.path("ca.pem")).unwrap();
    let metrics = Arc::new(TlsMetrics::default());
    let (outcome, _) = handshake(&server, trust.config(None, false).unwrap(), &metrics).await;
    assert_eq!(outcome, Err(HandshakeFailure::NoClientCertificate));
    let stranger =
        ClientIdentity::load(&other.path("MPOS-0001.pem"), &other.path("MPOS-0001.key")).unwrap();
    let (outcome, _) = handshake(
        &server,
        trust.config(Some(&stranger), false).unwrap(),
        &metrics,
    )
    .await;
    assert_eq!(outcome, Err(HandshakeFailure::BadClientCertificate));
    assert_eq!(metrics.failures(HandshakeFailure::NoClientCertificate), 1);
}

#[test]
fn a_key_that_is_not_the_certificates_is_named() {
    let pki = Pki::new();
    pki.leaf("server", "localhost", &["localhost"]);
    pki.leaf("other", "localhost", &["localhost"]);
    let files = ServerTlsFiles {
        key: pki.path("other.key"),
        ..pki.server_files(false)
    };
    let error = ReloadableServerTls::load(files, &[]).unwrap_err();
    assert!(matches!(error.problem, Problem::KeyMismatch(_)), "{error}");
    let line = error.to_string();
    assert!(line.starts_with("private key file "), "{line}");
    assert!(line.contains("other.key"), "{line}");
    assert!(line.contains("server.pem"), "{line}");
}

#[tokio::test]
async fn a_reload_with_bad_files_keeps_the_old_ones_and_a_good_one_takes_over() {
    let pki = Pki::new();
    pki.leaf("server", "localhost", &["localhost"]);
    let server = ReloadableServerTls::load(pki.server_files(false), &[]).unwrap();
    let served = |server: &ReloadableServerTls| {
        let config = server.acceptor().config().clone();
        Arc::as_ptr(&config)
    };
    let before = served(&server);
    std::fs::write(pki.path("server.key"), "not a key").unwrap();
    assert!(server.reload().is_err());
    assert_eq!(
        served(&server),
        before,
        "a bad file must not replace the configuration"
    );
    let trust = ClientTls::trusting(&pki.path("ca.pem")).unwrap();
    let metrics = Arc::new(TlsMetrics::default());
    let (outcome, _) = handshake(&server, trust.config(None, false).unwrap(), &metrics).await;
    assert_eq!(outcome, Ok(None), "the old configuration still serves");
    pki.leaf("server", "localhost", &["localhost"]);
    server.reload().unwrap();
    assert_ne!(served(&server), before);
    let (outcome, _) = handshake(&server, trust.config(None, false).unwrap(), &metrics).await;
    assert_eq!(outcome, Ok(None));
}

#[tokio::test]
async fn with_ticket_keys_on_disk_a_session_resumes_on_a_restarted_server_but_not_past_a_new_client_ca()
 {
    let pki = Pki::new();
    pki.leaf("server", "localhost", &["localhost"]);
    pki.leaf("MPOS-0001", "MPOS-0001", &[]);
    let keys_file = pki.path("tls-tickets.key");
    let start = || {
        let keys = crate::TicketKeys::open(&keys_file).unwrap();
        ReloadableServerTls::load_with_tickets(pki.server_files(true), &[], Some(keys)).unwrap()
    };
    let trust = ClientTls::trusting(&pki.path("ca.pem")).unwrap();
    let identity =
        ClientIdentity::load(&pki.path("MPOS-0001.pem"), &pki.path("MPOS-0001.key")).unwrap();
    let client = trust.config(Some(&identity), true).unwrap();
    let metrics = Arc::new(TlsMetrics::default());
    let (_, kind) = handshake(&start(), Arc::clone(&client), &metrics).await;
    assert_eq!(kind, Some(HandshakeKind::Full));
    // A new server (a restarted process) over the same key file.
    let (outcome, kind) = handshake(&start(), Arc::clone(&client), &metrics).await;
    assert_eq!(kind, Some(HandshakeKind::Resumed));
    assert_eq!(outcome, Ok(Some("MPOS-0001".to_owned())));
    // Another client CA file (the same CA appended twice): the old session
    // is not resumed past it.
    let ca = std::fs::read_to_string(pki.path("ca.pem")).unwrap();
    std::fs::write(pki.path("ca.pem"), format!("{ca}{ca}")).unwrap();
    let (outcome, kind) = handshake(&start(), client, &metrics).await;
    assert_eq!(kind, Some(HandshakeKind::Full));
    assert_eq!(outcome, Ok(Some("MPOS-0001".to_owned())));
}
