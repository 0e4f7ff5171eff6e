//! Sending e-mail, and only that: a plain-text message from the configured
//! sender to one recipient, through `lettre`, by one of two transports:
//!
//! - an **outbox folder** (the default): each message becomes one `.eml`
//!   file under the data folder, so that a newcomer without a mail server
//!   can open the link it holds. The body is written as UTF-8 (`8bit`), so
//!   the link reads as it is in any text editor; the folder is made 0700,
//!   since a reset link is a secret for an hour. lettre writes the file
//!   into `.writing/` inside it, then it is renamed in: whoever watches the
//!   outbox sees only whole messages.
//! - **SMTP**: host, port, optional credentials, and TLS as `none`,
//!   `starttls` or `tls` (rustls on the `ring` provider, the webpki roots).
//!   The body is encoded as 7bit, quoted-printable or base64, whatever
//!   passes any relay.
//!
//! What a message says is the caller's business; a [`Mailer`] is cheap to
//! clone and safe to use from many tasks. Nothing here logs, and neither
//! the password ([`Secret`]) nor a message's text appears in `Debug`.

use lettre::message::header::ContentType;
use lettre::message::{Body, Message};
use lettre::message::{Mailbox, SinglePart, header::ContentTransferEncoding};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How long one SMTP command may take before the send gives up.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// A secret text, such as the SMTP password: never shown by `Debug`, and
/// wiped from memory when dropped. Read it with [`Secret::expose`].
///
/// It deserialises from text only. A value that a configuration layer read
/// as a number, a boolean or a list (an environment variable `123456` or
/// `true`) is refused without being repeated, and the message says to
/// quote it, rather than turned back into text that may differ (`007`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
        deserializer.deserialize_string(SecretVisitor)
    }
}

struct SecretVisitor;

impl SecretVisitor {
    fn refuse<E: serde::de::Error>(found: &str) -> Result<Secret, E> {
        Err(E::custom(format!(
            "a secret must be text, and this value reads as {found}; quote it, \
             e.g. password = \"…\" in a file or MPOS_…='\"…\"' in the environment"
        )))
    }
}

impl<'de> serde::de::Visitor<'de> for SecretVisitor {
    type Value = Secret;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a secret text")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Secret, E> {
        Ok(Secret(text.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Secret, E> {
        Ok(Secret(text))
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Secret, E> {
        SecretVisitor::refuse("a boolean")
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Secret, E> {
        SecretVisitor::refuse("a number")
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Secret, E> {
        SecretVisitor::refuse("a number")
    }

    fn visit_i128<E: serde::de::Error>(self, _: i128) -> Result<Secret, E> {
        SecretVisitor::refuse("a number")
    }

    fn visit_u128<E: serde::de::Error>(self, _: u128) -> Result<Secret, E> {
        SecretVisitor::refuse("a number")
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Secret, E> {
        SecretVisitor::refuse("a number")
    }

    fn visit_bytes<E: serde::de::Error>(self, _: &[u8]) -> Result<Secret, E> {
        SecretVisitor::refuse("bytes")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Secret, E> {
        SecretVisitor::refuse("nothing")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<Secret, A::Error> {
        SecretVisitor::refuse("a list")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, _: A) -> Result<Secret, A::Error> {
        SecretVisitor::refuse("a table")
    }
}

impl Secret {
    /// Wraps a secret text.
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether there is no secret at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "Secret(empty)"
        } else {
            "Secret(***)"
        })
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain text: only for a trusted relay on this machine or network.
    None,
    /// Plain connection upgraded with STARTTLS, which is required (usually port 587).
    Starttls,
    /// TLS from the first byte, "SMTPS" (usually port 465).
    Tls,
}

impl fmt::Display for TlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsMode::None => "no TLS",
            TlsMode::Starttls => "STARTTLS",
            TlsMode::Tls => "TLS",
        })
    }
}

/// An SMTP server and how to log in to it.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// Host name (checked against the certificate with TLS) or IP address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Login; empty for a server that takes mail without one.
    pub username: String,
    /// Password of the login.
    pub password: Secret,
    /// Transport security.
    pub tls: TlsMode,
}

/// Where messages go.
#[derive(Debug, Clone)]
pub enum MailTransport {
    /// One `.eml` file per message in this folder (created if missing).
    Outbox(PathBuf),
    /// An SMTP server.
    Smtp(SmtpSettings),
}

/// What a [`Mailer`] is built from.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// The sender, `Name <address>` or a bare address.
    pub from: String,
    /// Where messages go.
    pub transport: MailTransport,
}

/// One message to send: plain text, UTF-8. Its `Debug` leaves out the
/// recipient and the text, which may hold a secret link.
pub struct Email {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The body, plain text.
    pub text: String,
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Email")
            .field("subject", &self.subject)
            .field("text_len", &self.text.len())
            .finish_non_exhaustive()
    }
}

/// Why a message could not be built or sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The configured sender is not an address.
    #[error("mail.from {from:?} is not an e-mail address: {source}")]
    From {
        /// The configured value.
        from: String,
        /// What is wrong with it.
        source: lettre::address::AddressError,
    },
    /// The recipient is not an address (the address itself is left out of
    /// the message, which ends up in logs).
    #[error("the recipient's e-mail address is not valid: {0}")]
    Recipient(lettre::address::AddressError),
    /// The outbox folder could not be made.
    #[error("cannot create the mail outbox {path}: {source}")]
    Outbox {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// TLS could not be set up for the SMTP server.
    #[error("cannot set up TLS for the SMTP server {server}: {source}")]
    Tls {
        /// `host:port`.
        server: String,
        /// lettre's reason.
        source: lettre::transport::smtp::Error,
    },
    /// The message could not be put together.
    #[error("cannot build the e-mail: {0}")]
    Build(#[from] lettre::error::Error),
    /// Writing into the outbox failed.
    #[error("cannot write the e-mail into the outbox {path}: {source}")]
    Write {
        /// The folder.
        path: PathBuf,
        /// lettre's reason.
        source: lettre::transport::file::Error,
    },
    /// The written message could not be moved from staging into the outbox.
    #[error("cannot move the e-mail into the outbox {path}: {source}")]
    MoveIn {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The SMTP server could not be reached or refused the message.
    #[error("the SMTP server {server} did not take the e-mail: {source}")]
    Smtp {
        /// `host:port`.
        server: String,
        /// lettre's reason (the server's answer, or the connection's error).
        source: lettre::transport::smtp::Error,
    },
}

/// Sends e-mail by the configured transport; cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    from: Mailbox,
    transport: Transport,
}

/// The outbox's staging folder, where lettre writes before the rename.
const STAGING: &str = ".writing";

enum Transport {
    Outbox {
        path: PathBuf,
        /// Writes into `path/.writing`.
        files: AsyncFileTransport<Tokio1Executor>,
    },
    Smtp {
        server: String,
        tls: TlsMode,
        smtp: AsyncSmtpTransport<Tokio1Executor>,
    },
}

impl Mailer {
    /// A mailer for `settings`. An outbox folder is created now (mode
    /// 0700), so a folder that cannot be made stops the start, not the
    /// first reset; an SMTP server is first contacted by the first send.
    pub fn new(settings: MailSettings) -> Result<Mailer, MailError> {
        let from: Mailbox = settings.from.parse().map_err(|source| MailError::From {
            from: settings.from.clone(),
            source,
        })?;
        let transport = match settings.transport {
            MailTransport::Outbox(path) => {
                make_outbox(&path)?;
                Transport::Outbox {
                    files: AsyncFileTransport::new(path.join(STAGING)),
                    path,
                }
            }
            MailTransport::Smtp(smtp) => {
                let server = format!("{}:{}", smtp.host, smtp.port);
                let tls = match smtp.tls {
                    TlsMode::None => Tls::None,
                    TlsMode::Starttls | TlsMode::Tls => {
                        let parameters =
                            TlsParameters::new(smtp.host.clone()).map_err(|source| {
                                MailError::Tls {
                                    server: server.clone(),
                                    source,
                                }
                            })?;
                        if smtp.tls == TlsMode::Tls {
                            Tls::Wrapper(parameters)
                        } else {
                            Tls::Required(parameters)
                        }
                    }
                };
                let mut builder =
                    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.as_str())
                        .port(smtp.port)
                        .tls(tls)
                        .timeout(Some(SMTP_TIMEOUT));
                if !smtp.username.is_empty() {
                    builder = builder.credentials(Credentials::new(
                        smtp.username.clone(),
                        smtp.password.expose().to_owned(),
                    ));
                }
                Transport::Smtp {
                    server,
                    tls: smtp.tls,
                    smtp: builder.build(),
                }
            }
        };
        Ok(Mailer {
            inner: Arc::new(Inner { from, transport }),
        })
    }

    /// Where mail goes, for the start-up banner: `outbox /path` or
    /// `SMTP host:port (STARTTLS)`. No credentials.
    pub fn describe(&self) -> String {
        match &self.inner.transport {
            Transport::Outbox { path, .. } => {
                format!("outbox {}  (one .eml file per message)", path.display())
            }
            Transport::Smtp { server, tls, .. } => format!("SMTP {server} ({tls})"),
        }
    }

    /// The outbox folder, if mail goes there.
    pub fn outbox(&self) -> Option<&Path> {
        match &self.inner.transport {
            Transport::Outbox { path, .. } => Some(path),
            Transport::Smtp { .. } => None,
        }
    }

    /// Sends `email`; resolves once the outbox file is written or the SMTP
    /// server has accepted it.
    pub async fn send(&self, email: Email) -> Result<(), MailError> {
        let to: Mailbox = email.to.parse().map_err(MailError::Recipient)?;
        let headers = Message::builder()
            .message_id(self.message_id())
            .from(self.inner.from.clone())
            .to(to)
            .subject(email.subject);
        match &self.inner.transport {
            Transport::Outbox { path, files } => {
                let message = headers.singlepart(text_part(readable_body(email.text)))?;
                make_outbox(path)?;
                let id = files
                    .send(message)
                    .await
                    .map_err(|source| MailError::Write {
                        path: path.clone(),
                        source,
                    })?;
                let name = format!("{id}.eml");
                tokio::fs::rename(path.join(STAGING).join(&name), path.join(&name))
                    .await
                    .map_err(|source| MailError::MoveIn {
                        path: path.clone(),
                        source,
                    })
            }
            Transport::Smtp { server, smtp, .. } => {
                let message = headers.singlepart(text_part(Body::new(email.text)))?;
                smtp.send(message)
                    .await
                    .map(drop)
                    .map_err(|source| MailError::Smtp {
                        server: server.clone(),
                        source,
                    })
            }
        }
    }
}

impl Mailer {
    /// A Message-ID on the sender's domain (relays and spam filters expect
    /// one); lettre's own, on `localhost`, if there is no randomness.
    fn message_id(&self) -> Option<String> {
        use ring::rand::SecureRandom;
        let mut bytes = [0u8; 16];
        ring::rand::SystemRandom::new().fill(&mut bytes).ok()?;
        let unique: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Some(format!("<{unique}@{}>", self.inner.from.email.domain()))
    }
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.inner.from.to_string())
            .field("transport", &self.describe())
            .finish()
    }
}

fn text_part(body: Body) -> SinglePart {
    SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(body)
}

/// The body as it is (`8bit`, CRLF line ends) when RFC 5322 allows it: no
/// NUL, no bare CR, no line over 998 bytes. lettre's own choice refuses
/// 8bit past 76 bytes a line, which a link or a line of Cyrillic exceeds,
/// and base64 would hide the link from a reader of the file. Anything else
/// gets lettre's encoding.
fn readable_body(text: String) -> Body {
    let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
    let fits = !crlf.contains('\0')
        && crlf
            .split("\r\n")
            .all(|line| line.len() <= 998 && !line.contains('\r'));
    if fits {
        Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::EightBit)
    } else {
        Body::new(text)
    }
}

/// Creates the outbox folder and its staging folder (0700: its links are
/// secrets) if missing.
fn make_outbox(path: &Path) -> Result<(), MailError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(path.join(STAGING))
        .map_err(|source| MailError::Outbox {
            path: path.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox_mailer(dir: &Path) -> Mailer {
        Mailer::new(MailSettings {
            from: "МТБанк mPOS <no-reply@mpos.test>".into(),
            transport: MailTransport::Outbox(dir.join("outbox")),
        })
        .unwrap()
    }

    #[test]
    fn secrets_and_texts_stay_out_of_debug() {
        let settings = SmtpSettings {
            host: "smtp.bank.test".into(),
            port: 587,
            username: "mpos".into(),
            password: Secret::new("hunter2-password"),
            tls: TlsMode::Starttls,
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("Secret(***)"), "{shown}");
        let mailer = Mailer::new(MailSettings {
            from: "no-reply@mpos.test".into(),
            transport: MailTransport::Smtp(settings),
        })
        .unwrap();
        let shown = format!("{mailer:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("mpos\""),
            "{shown}"
        );
        assert_eq!(mailer.describe(), "SMTP smtp.bank.test:587 (STARTTLS)");
        let email = Email {
            to: "demo@merchant.test".into(),
            subject: "Subject".into(),
            text: "token=secret".into(),
        };
        let shown = format!("{email:?}");
        assert!(
            !shown.contains("secret") && !shown.contains("demo@"),
            "{shown}"
        );
    }

    #[test]
    fn the_outbox_body_stays_readable_unless_a_line_is_too_long() {
        let body = readable_body("Здравствуйте!\nСсылка: http://x/?token=ab\n".into());
        assert_eq!(body.encoding(), ContentTransferEncoding::EightBit);
        assert_eq!(
            body.as_ref(),
            "Здравствуйте!\r\nСсылка: http://x/?token=ab\r\n".as_bytes()
        );
        let long = readable_body("я".repeat(500));
        assert_ne!(long.encoding(), ContentTransferEncoding::EightBit);
        let bare_cr = readable_body("a\rb".into());
        assert_ne!(bare_cr.encoding(), ContentTransferEncoding::EightBit);
    }

    #[test]
    fn a_wrong_sender_is_refused_with_the_key() {
        let error = Mailer::new(MailSettings {
            from: "not an address".into(),
            transport: MailTransport::Outbox(PathBuf::from("/nonexistent/outbox")),
        })
        .unwrap_err();
        assert!(error.to_string().starts_with("mail.from"), "{error}");
    }

    #[tokio::test]
    async fn the_outbox_gets_one_readable_eml_per_message() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = outbox_mailer(dir.path());
        let outbox = dir.path().join("outbox");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&outbox).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        assert!(mailer.describe().contains(&outbox.display().to_string()));
        assert_eq!(mailer.outbox(), Some(outbox.as_path()));
        let link = format!(
            "http://127.0.0.1:8080/password/reset?token={}",
            "ab".repeat(32)
        );
        for n in 0..2 {
            mailer
                .send(Email {
                    to: "Demo <demo@merchant.test>".into(),
                    subject: format!("Восстановление пароля {n}"),
                    text: format!("Здравствуйте!\n\nСсылка: {link}\n"),
                })
                .await
                .unwrap();
        }
        let files: Vec<_> = std::fs::read_dir(&outbox)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        assert_eq!(files.len(), 2);
        let staged = std::fs::read_dir(outbox.join(STAGING)).unwrap().count();
        assert_eq!(staged, 0, "every message was moved in whole");
        let eml = std::fs::read_to_string(&files[0]).unwrap();
        assert!(files[0].extension().is_some_and(|e| e == "eml"));
        assert!(eml.contains("To: Demo <demo@merchant.test>"), "{eml}");
        assert!(eml.contains("Content-Transfer-Encoding: 8bit"), "{eml}");
        assert!(eml.contains("charset=utf-8"), "{eml}");
        assert!(
            eml.contains("Message-ID: <") && eml.contains("@mpos.test>"),
            "{eml}"
        );
        assert!(eml.contains(&link), "the link reads as it is: {eml}");
        assert!(eml.contains("Здравствуйте!"), "{eml}");
    }

    #[tokio::test]
    async fn a_bad_recipient_or_an_unreachable_server_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = outbox_mailer(dir.path());
        let bad = mailer
            .send(Email {
                to: "nobody".into(),
                subject: "s".into(),
                text: "t".into(),
            })
            .await
            .unwrap_err();
        assert!(matches!(bad, MailError::Recipient(_)), "{bad}");
        assert!(!bad.to_string().contains("nobody"), "{bad}");

        // A port nothing listens on: bind one, note it, close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let smtp = Mailer::new(MailSettings {
            from: "no-reply@mpos.test".into(),
            transport: MailTransport::Smtp(SmtpSettings {
                host: "127.0.0.1".into(),
                port,
                username: String::new(),
                password: Secret::default(),
                tls: TlsMode::None,
            }),
        })
        .unwrap();
        let error = smtp
            .send(Email {
                to: "demo@merchant.test".into(),
                subject: "s".into(),
                text: "t".into(),
            })
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains(&format!("127.0.0.1:{port}")),
            "{error}"
        );
    }
}
