//! A fake mail submission server: enough ESMTP for a real client (EHLO, STARTTLS, AUTH PLAIN
//! and LOGIN, MAIL, RCPT, DATA, QUIT), in any of three security modes — implicit TLS (465),
//! STARTTLS (587, refusing to go on without it) or plain — with the sandbox's certificate
//! (`certs/`). It refuses a wrong login with 535, as QQ and 163 do, and keeps each accepted
//! message (with its `Message-ID`) among the channels' received messages.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::channels::{FakeChannels, Service};

/// The sandbox CA (PEM): trust it to talk TLS to the fake.
pub const CA_PEM: &str = include_str!("../../certs/ca.pem");
const SERVER_PEM: &str = include_str!("../../certs/server.pem");
const SERVER_KEY: &str = include_str!("../../certs/server.key");

/// How the fake secures its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    Implicit,
    Starttls,
    Plain,
}

/// Mail accounts the fake accepts (user → password); tests change them at will.
#[derive(Debug, Clone, Default)]
pub struct Mailboxes {
    accounts: Arc<Mutex<HashMap<String, String>>>,
}

impl Mailboxes {
    pub fn add(&self, user: &str, password: &str) {
        self.accounts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(user.to_owned(), password.to_owned());
    }

    fn check(&self, user: &str, password: &str) -> bool {
        self.accounts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(user)
            .is_some_and(|p| p == password)
    }
}

fn acceptor() -> std::io::Result<TlsAcceptor> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let bad = |e: &dyn std::fmt::Display| std::io::Error::other(e.to_string());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(SERVER_PEM.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| bad(&e))?;
    let key = PrivateKeyDer::from_pem_slice(SERVER_KEY.as_bytes()).map_err(|e| bad(&e))?;
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| bad(&e))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves SMTP on `listener` until the task is dropped.
pub async fn serve(
    listener: TcpListener,
    security: SmtpSecurity,
    mailboxes: Mailboxes,
    channels: FakeChannels,
) -> std::io::Result<()> {
    let acceptor = acceptor()?;
    loop {
        let (stream, _) = listener.accept().await?;
        let acceptor = acceptor.clone();
        let mailboxes = mailboxes.clone();
        let channels = channels.clone();
        tokio::spawn(async move {
            let result = match security {
                SmtpSecurity::Implicit => match acceptor.accept(stream).await {
                    Ok(tls) => converse(tls, false, true, &mailboxes, &channels)
                        .await
                        .map(|_| ()),
                    Err(e) => Err(e),
                },
                SmtpSecurity::Plain => converse(stream, false, true, &mailboxes, &channels)
                    .await
                    .map(|_| ()),
                SmtpSecurity::Starttls => {
                    match converse(stream, true, true, &mailboxes, &channels).await {
                        Ok(Some(plain)) => match acceptor.accept(plain).await {
                            Ok(tls) => converse(tls, false, false, &mailboxes, &channels)
                                .await
                                .map(|_| ()),
                            Err(e) => Err(e),
                        },
                        Ok(None) => Ok(()),
                        Err(e) => Err(e),
                    }
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "fake SMTP session ended");
            }
        });
    }
}

/// One SMTP conversation. With `offer_tls` it offers STARTTLS and refuses everything else
/// until the client asks for it, then returns the stream for the caller to upgrade. `greet`:
/// say hello first (once per connection: not again after STARTTLS).
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    offer_tls: bool,
    greet: bool,
    mailboxes: &Mailboxes,
    channels: &FakeChannels,
) -> std::io::Result<Option<S>> {
    let mut io = BufReader::new(stream);
    if greet {
        io.get_mut()
            .write_all(b"220 smtp.sandbox ESMTP ozontrack fake\r\n")
            .await?;
    }
    let mut user: Option<String> = None;
    let mut from: Option<String> = None;
    let mut to: Vec<String> = Vec::new();
    let must_tls = offer_tls;
    loop {
        let mut line = String::new();
        if io.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            let mut r = String::from("250-smtp.sandbox\r\n");
            if offer_tls {
                r.push_str("250-STARTTLS\r\n");
            }
            if !must_tls {
                r.push_str("250-AUTH PLAIN LOGIN\r\n");
            }
            r.push_str("250 8BITMIME\r\n");
            r
        } else if upper == "STARTTLS" && offer_tls {
            io.get_mut()
                .write_all(b"220 2.0.0 Ready to start TLS\r\n")
                .await?;
            return Ok(Some(io.into_inner()));
        } else if must_tls && !upper.starts_with("QUIT") && !upper.starts_with("NOOP") {
            "530 5.7.0 Must issue a STARTTLS command first\r\n".to_owned()
        } else if let Some(rest) = upper.strip_prefix("AUTH PLAIN") {
            let encoded = if rest.trim().is_empty() {
                io.get_mut().write_all(b"334 \r\n").await?;
                let mut l = String::new();
                io.read_line(&mut l).await?;
                l.trim().to_owned()
            } else {
                command["AUTH PLAIN".len()..].trim().to_owned()
            };
            let decoded = STANDARD.decode(encoded).unwrap_or_default();
            let parts: Vec<&[u8]> = decoded.split(|b| *b == 0).collect();
            let (u, p) = match parts.as_slice() {
                [_, u, p] => (
                    String::from_utf8_lossy(u).into_owned(),
                    String::from_utf8_lossy(p).into_owned(),
                ),
                _ => (String::new(), String::new()),
            };
            auth_reply(mailboxes, &mut user, &u, &p)
        } else if upper.starts_with("AUTH LOGIN") {
            io.get_mut().write_all(b"334 VXNlcm5hbWU6\r\n").await?;
            let mut l = String::new();
            io.read_line(&mut l).await?;
            let u = String::from_utf8_lossy(&STANDARD.decode(l.trim()).unwrap_or_default())
                .into_owned();
            io.get_mut().write_all(b"334 UGFzc3dvcmQ6\r\n").await?;
            let mut l = String::new();
            io.read_line(&mut l).await?;
            let p = String::from_utf8_lossy(&STANDARD.decode(l.trim()).unwrap_or_default())
                .into_owned();
            auth_reply(mailboxes, &mut user, &u, &p)
        } else if upper.starts_with("MAIL FROM:") {
            if user.is_none() {
                "530 5.7.0 Authentication required\r\n".to_owned()
            } else {
                from = Some(address(&command));
                to.clear();
                "250 2.1.0 OK\r\n".to_owned()
            }
        } else if upper.starts_with("RCPT TO:") {
            if from.is_none() {
                "503 5.5.1 MAIL first\r\n".to_owned()
            } else {
                to.push(address(&command));
                "250 2.1.5 OK\r\n".to_owned()
            }
        } else if upper == "DATA" {
            if to.is_empty() {
                "503 5.5.1 RCPT first\r\n".to_owned()
            } else {
                io.get_mut()
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut data = String::new();
                loop {
                    let mut l = String::new();
                    if io.read_line(&mut l).await? == 0 {
                        return Ok(None);
                    }
                    if l == ".\r\n" || l == ".\n" {
                        break;
                    }
                    // Dot-stuffing: a leading dot was doubled by the client.
                    data.push_str(l.strip_prefix('.').unwrap_or(&l));
                }
                let id = header(&data, "message-id");
                for rcpt in &to {
                    channels.accept(Service::Email, rcpt, data.clone(), false, id.clone());
                }
                from = None;
                to.clear();
                "250 2.0.0 OK queued\r\n".to_owned()
            }
        } else if upper == "RSET" {
            from = None;
            to.clear();
            "250 2.0.0 OK\r\n".to_owned()
        } else if upper == "NOOP" {
            "250 2.0.0 OK\r\n".to_owned()
        } else if upper == "QUIT" {
            io.get_mut().write_all(b"221 2.0.0 Bye\r\n").await?;
            return Ok(None);
        } else {
            "502 5.5.2 Command not recognized\r\n".to_owned()
        };
        io.get_mut().write_all(reply.as_bytes()).await?;
    }
}

fn auth_reply(mailboxes: &Mailboxes, user: &mut Option<String>, u: &str, p: &str) -> String {
    if mailboxes.check(u, p) {
        *user = Some(u.to_owned());
        "235 2.7.0 Authentication successful\r\n".to_owned()
    } else {
        // QQ's wording: its users must use an authorization code, not the password.
        "535 Login Fail. Please enter your authorization code to login.\r\n".to_owned()
    }
}

fn address(command: &str) -> String {
    command
        .split_once(':')
        .map(|(_, a)| a.trim())
        .unwrap_or_default()
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A header's value from a message's head.
pub fn header(data: &str, name: &str) -> Option<String> {
    data.split("\r\n\r\n")
        .next()
        .unwrap_or(data)
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
}
