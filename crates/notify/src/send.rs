//! Sending one piece to one seller destination, and reading the answer into a [`Verdict`]:
//! the only I/O of this crate. Secrets go into the request and nowhere else: not into errors,
//! logs or verdicts (a verdict's `code` is the service's error code or an HTTP status).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials as SmtpCredentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use ozontrack_domain::notify::{ChannelKind, DisableCause, Verdict};
use serde_json::{Value, json};

use crate::address::{Address, Credentials, SmtpTls};
use crate::channel::{self, Piece};
use crate::render::Rendered;
use crate::sign;

/// What a webhook or e-mail carries besides the rendered text.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    /// The outbox key: the webhook's `webhook-id`, the e-mail's `Message-ID`.
    pub key: &'a str,
    /// `alert.opened`, `daily`…: the webhook payload's `type`.
    pub event_type: String,
    /// The notice's facts (the webhook payload's `data`).
    pub data: &'a Value,
    pub rendered: &'a Rendered,
    /// When the message was created (the webhook payload's `timestamp`).
    pub created_at: DateTime<Utc>,
}

/// Sends to seller destinations over one shared HTTP client, and one pooled SMTP transport
/// per mail server and login (a TLS handshake per message would cost more than the message).
#[derive(Clone)]
pub struct Sender {
    http: reqwest::Client,
    timeout: StdDuration,
    smtp: Arc<Mutex<HashMap<String, AsyncSmtpTransport<Tokio1Executor>>>>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Sender {
    /// `timeout` bounds each request (the webhook spec suggests 15–30 s).
    pub fn new(timeout: StdDuration) -> Result<Self, reqwest::Error> {
        let http = ozontrack_http::client_builder(timeout)
            // A redirect is a failure, never followed: the webhook spec says so, and a robot's
            // redirect would carry its key somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            http,
            timeout,
            smtp: Arc::default(),
        })
    }

    /// Sends one piece (for webhooks and e-mail, the whole message) and says what came of it.
    /// `now` signs the request (webhook timestamp, DingTalk and Feishu signatures).
    pub async fn send(
        &self,
        address: &Address,
        credentials: &Credentials,
        envelope: &Envelope<'_>,
        piece: &Piece,
        now: DateTime<Utc>,
    ) -> Verdict {
        match address {
            Address::Webhook { url } => self.webhook(url, credentials, envelope, now).await,
            Address::Email { .. } => self.email(address, credentials, envelope).await,
            Address::Wecom { endpoint } => {
                let Some(key) = credentials.token() else {
                    return missing_secret();
                };
                let request = self
                    .http
                    .post(endpoint)
                    .query(&[("key", key)])
                    .json(&channel::robot_body(ChannelKind::Wecom, piece));
                let (status, body) = match self.exchange(request).await {
                    Ok(answer) => answer,
                    Err(verdict) => return verdict,
                };
                channel::classify_wecom(status, &body)
            }
            Address::Dingtalk { endpoint } => {
                let Some(token) = credentials.token() else {
                    return missing_secret();
                };
                let mut query: Vec<(&str, String)> = vec![("access_token", token.to_owned())];
                if let Some(secret) = credentials.signing() {
                    let ts = now.timestamp_millis();
                    // The query builder encodes the base64 once, as DingTalk checks it.
                    query.push(("timestamp", ts.to_string()));
                    query.push(("sign", sign::dingtalk_sign(secret, ts)));
                }
                let request = self
                    .http
                    .post(endpoint)
                    .query(&query)
                    .json(&channel::robot_body(ChannelKind::Dingtalk, piece));
                let (status, body) = match self.exchange(request).await {
                    Ok(answer) => answer,
                    Err(verdict) => return verdict,
                };
                channel::classify_dingtalk(status, &body)
            }
            Address::Feishu { endpoint } => {
                let Some(token) = credentials.token() else {
                    return missing_secret();
                };
                let mut body = channel::robot_body(ChannelKind::Feishu, piece);
                if let Some(secret) = credentials.signing() {
                    let ts = now.timestamp();
                    body["timestamp"] = json!(ts.to_string());
                    body["sign"] = json!(sign::feishu_sign(secret, ts));
                }
                let url = format!("{endpoint}{token}");
                let (status, answer) = match self.exchange(self.http.post(url).json(&body)).await {
                    Ok(answer) => answer,
                    Err(verdict) => return verdict,
                };
                channel::classify_feishu(status, &answer)
            }
            Address::Telegram {
                api,
                chat_id,
                thread_id,
            } => {
                let Some(token) = credentials.token() else {
                    return missing_secret();
                };
                let mut body = json!({
                    "chat_id": chat_id,
                    "text": piece.text,
                    "link_preview_options": {"is_disabled": true},
                });
                if piece.markup {
                    body["parse_mode"] = json!("HTML");
                }
                if let Some(thread) = thread_id {
                    body["message_thread_id"] = json!(thread);
                }
                let url = format!("{api}/bot{token}/sendMessage");
                let (status, answer) = match self.exchange(self.http.post(url).json(&body)).await {
                    Ok(answer) => answer,
                    Err(verdict) => return verdict,
                };
                channel::classify_telegram(status, &answer)
            }
            Address::OzonChat { .. } => Verdict::Permanent {
                plain_may_help: false,
                code: "buyer chats go through the store's Ozon client".into(),
            },
        }
    }

    /// Sends a request and reads the answer as JSON; a failure to get one is a retry.
    async fn exchange(&self, request: reqwest::RequestBuilder) -> Result<(u16, Value), Verdict> {
        let response = request.send().await.map_err(|e| transport(&e))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| transport(&e))?;
        Ok((status, channel::json_of(&bytes)))
    }

    async fn webhook(
        &self,
        url: &str,
        credentials: &Credentials,
        envelope: &Envelope<'_>,
        now: DateTime<Utc>,
    ) -> Verdict {
        let Some(key) = credentials
            .signing()
            .and_then(|s| sign::webhook_key(s).ok())
        else {
            return missing_secret();
        };
        let payload = json!({
            "type": envelope.event_type,
            "timestamp": envelope.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "data": envelope.data,
            "text": {"title": envelope.rendered.title, "lines": envelope.rendered.lines},
        });
        // Signed over exactly the bytes sent.
        let body = serde_json::to_vec(&payload).unwrap_or_default();
        let ts = now.timestamp();
        let signature = sign::webhook_signature(&key, envelope.key, ts, &body);
        let request = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", envelope.key)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature)
            .body(body);
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return transport(&e),
        };
        let status = response.status().as_u16();
        let after = retry_after(response.headers());
        channel::classify_webhook(status, after)
    }

    async fn email(
        &self,
        address: &Address,
        credentials: &Credentials,
        envelope: &Envelope<'_>,
    ) -> Verdict {
        let Address::Email {
            host,
            port,
            tls,
            username,
            from,
            to,
            ca_file,
        } = address
        else {
            return missing_secret();
        };
        let message = match email_message(from, to, envelope) {
            Ok(m) => m,
            Err(code) => {
                return Verdict::Permanent {
                    plain_may_help: false,
                    code,
                };
            }
        };
        let password = credentials.token();
        // The pool's key names the server and the login; the password only by its digest.
        let key = format!(
            "{host}:{port}:{tls:?}:{username:?}:{ca_file:?}:{}",
            hex_digest(password.unwrap_or_default())
        );
        let cached = self
            .smtp
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned();
        let transport = match cached {
            Some(t) => t,
            None => {
                let tls = match tls_mode(*tls, host, ca_file.as_deref()) {
                    Ok(t) => t,
                    Err(code) => {
                        return Verdict::Retry {
                            after: None,
                            lockout: false,
                            maybe_sent: false,
                            code,
                        };
                    }
                };
                let mut builder =
                    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
                        .port(*port)
                        .tls(tls)
                        .timeout(Some(self.timeout));
                if let (Some(user), Some(password)) = (username, password) {
                    builder = builder
                        .credentials(SmtpCredentials::new(user.clone(), password.to_owned()));
                }
                let t = builder.build();
                self.smtp
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(key.clone(), t.clone());
                t
            }
        };
        match transport.send(message).await {
            Ok(_) => Verdict::Sent { remote_id: None },
            Err(e) => {
                // A refused login or a broken connection: the next message starts afresh.
                self.smtp
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&key);
                classify_smtp(&e)
            }
        }
    }
}

fn tls_mode(mode: SmtpTls, host: &str, ca_file: Option<&str>) -> Result<Tls, String> {
    if mode == SmtpTls::None {
        return Ok(Tls::None);
    }
    let mut params = TlsParameters::builder(host.to_owned());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("ca_file {path}: {e}"))?;
        let cert = Certificate::from_pem(&pem).map_err(|e| format!("ca_file {path}: {e}"))?;
        params = params.add_root_certificate(cert);
    }
    let params = params.build().map_err(|e| format!("tls: {e}"))?;
    Ok(match mode {
        SmtpTls::Implicit => Tls::Wrapper(params),
        _ => Tls::Required(params),
    })
}

fn email_message(from: &str, to: &[String], envelope: &Envelope<'_>) -> Result<Message, String> {
    let from: Mailbox = from.parse().map_err(|_| "bad sender".to_owned())?;
    let domain = from.email.domain().to_owned();
    let mut builder = Message::builder()
        .from(from)
        // The same outbox key on every retry: receivers may drop repeats, and threads hold.
        .message_id(Some(format!("<{}@{domain}>", envelope.key)))
        .subject(envelope.rendered.title.clone());
    for t in to {
        builder = builder.to(t
            .parse::<Mailbox>()
            .map_err(|_| "bad recipient".to_owned())?);
    }
    let plain = envelope.rendered.plain();
    let mut html = format!(
        "<h3>{}</h3>",
        channel::escape_html(&envelope.rendered.title)
    );
    for line in &envelope.rendered.lines {
        html.push_str(&format!("<p>{}</p>", channel::escape_html(line)));
    }
    builder
        .multipart(MultiPart::alternative_plain_html(plain, html))
        .map_err(|e| format!("message: {e}"))
}

/// An SMTP failure: 535 means the login is wrong; other 5xx refuse this message; 4xx, timeouts
/// and broken connections are worth another try.
pub fn classify_smtp(e: &lettre::transport::smtp::Error) -> Verdict {
    let code = e.status().map(u16::from);
    match code {
        Some(535) => Verdict::Reconfigure {
            cause: DisableCause::LoginRefused,
            code: "smtp 535".into(),
        },
        Some(c) if e.is_permanent() => Verdict::Permanent {
            plain_may_help: false,
            code: format!("smtp {c}"),
        },
        Some(c) => Verdict::Retry {
            after: None,
            lockout: false,
            maybe_sent: false,
            code: format!("smtp {c}"),
        },
        None => Verdict::Retry {
            after: None,
            lockout: false,
            // A connection lost after DATA may have delivered.
            maybe_sent: e.is_timeout(),
            code: if e.is_tls() {
                "smtp tls".into()
            } else if e.is_timeout() {
                "smtp timeout".into()
            } else {
                "smtp connection".into()
            },
        },
    }
}

fn hex_digest(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn missing_secret() -> Verdict {
    Verdict::Reconfigure {
        cause: DisableCause::BadSignature,
        code: "no secret stored".into(),
    }
}

/// A request that got no answer: not sent when the connection failed, maybe sent otherwise.
fn transport(e: &reqwest::Error) -> Verdict {
    Verdict::Retry {
        after: None,
        lockout: false,
        maybe_sent: !e.is_connect(),
        code: if e.is_timeout() {
            "timeout".into()
        } else if e.is_connect() {
            "connection refused".into()
        } else {
            "transport".into()
        },
    }
}

/// `Retry-After` in seconds (a date is rare from the receivers we talk to), at most a day.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map(|s| Duration::seconds(s.clamp(0, 86_400)))
}
