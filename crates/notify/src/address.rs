//! Where a destination's messages go, split once into what may be shown (the [`Address`]: an
//! endpoint without its key, a chat id, a mailbox) and what may not (the [`Credentials`]: robot
//! keys, bot tokens, signing secrets, SMTP passwords), which are stored encrypted and never
//! printed. A seller pastes the robot's whole webhook URL; [`Setup::parse`] takes it apart.

use std::fmt;

use ozontrack_domain::StoreId;
use ozontrack_domain::notify::ChannelKind;
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::sign;

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// TLS from the first byte (port 465, `smtps://`).
    Implicit,
    /// Plain, upgraded with STARTTLS before anything is sent (port 587); refuses to go on
    /// without it.
    Starttls,
    /// No TLS at all: only for a relay on the same machine (`smtp://…?tls=none`).
    None,
}

/// The shown half of a destination: enough to say where it goes, nothing that lets anyone
/// send there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Address {
    Webhook {
        url: String,
    },
    Email {
        host: String,
        port: u16,
        tls: SmtpTls,
        username: Option<String>,
        from: String,
        to: Vec<String>,
        /// A PEM file of the certificate authority to trust besides the public ones (a
        /// company relay with its own CA).
        ca_file: Option<String>,
    },
    /// `endpoint` is the robot's URL without its key (`…/cgi-bin/webhook/send`).
    Wecom {
        endpoint: String,
    },
    Dingtalk {
        endpoint: String,
    },
    /// The hook URL without its token (`…/open-apis/bot/v2/hook/`).
    Feishu {
        endpoint: String,
    },
    Telegram {
        /// The Bot API's base (`https://api.telegram.org`).
        api: String,
        chat_id: String,
        /// A forum topic of the chat.
        thread_id: Option<i64>,
    },
    /// The buyer of each posting of `store`, through Ozon with the store's own API key.
    OzonChat {
        store: StoreId,
    },
}

impl Address {
    pub fn kind(&self) -> ChannelKind {
        match self {
            Address::Webhook { .. } => ChannelKind::Webhook,
            Address::Email { .. } => ChannelKind::Email,
            Address::Wecom { .. } => ChannelKind::Wecom,
            Address::Dingtalk { .. } => ChannelKind::Dingtalk,
            Address::Feishu { .. } => ChannelKind::Feishu,
            Address::Telegram { .. } => ChannelKind::Telegram,
            Address::OzonChat { .. } => ChannelKind::OzonChat,
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Webhook { url } => f.write_str(url),
            Address::Email { host, port, to, .. } => {
                write!(f, "{} via {host}:{port}", to.join(", "))
            }
            Address::Wecom { endpoint }
            | Address::Dingtalk { endpoint }
            | Address::Feishu { endpoint } => write!(f, "{endpoint}…"),
            Address::Telegram { chat_id, .. } => write!(f, "chat {chat_id}"),
            Address::OzonChat { store } => write!(f, "store {store}"),
        }
    }
}

/// The hidden half: the key or token that lets us send, and the secret we sign with.
#[derive(Clone, Default, Deserialize)]
pub struct Credentials {
    /// WeCom key, DingTalk access token, Feishu hook token, Telegram bot token, SMTP password.
    #[serde(default)]
    token: Option<SecretString>,
    /// Webhook `whsec_` secret, DingTalk `SEC…` secret, Feishu signing secret.
    #[serde(default)]
    signing: Option<SecretString>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(***)")
    }
}

impl Credentials {
    pub fn new(token: Option<String>, signing: Option<String>) -> Self {
        Self {
            token: token.map(SecretString::from),
            signing: signing.map(SecretString::from),
        }
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_ref().map(ExposeSecret::expose_secret)
    }

    pub fn signing(&self) -> Option<&str> {
        self.signing.as_ref().map(ExposeSecret::expose_secret)
    }

    /// The JSON that is encrypted at rest.
    pub fn to_sealable(&self) -> SecretString {
        #[derive(Serialize)]
        struct Plain<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            token: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            signing: Option<&'a str>,
        }
        let plain = Plain {
            token: self.token(),
            signing: self.signing(),
        };
        // Two optional strings always serialize.
        SecretString::from(serde_json::to_string(&plain).unwrap_or_default())
    }

    pub fn from_unsealed(text: &str) -> Result<Self, SetupError> {
        serde_json::from_str(text).map_err(|_| SetupError::Corrupt)
    }
}

/// What a person gives to add a destination (from the CLI, the API or the dashboard form).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Setup {
    /// Webhook URL; the robot's whole webhook URL as the group settings show it; the Bot API
    /// base for Telegram (optional); `smtp://user@host:587` or `smtps://user@host:465`.
    pub url: Option<String>,
    /// WeCom key, DingTalk access token or Feishu hook token when not inside `url`; Telegram
    /// bot token; SMTP password.
    pub token: Option<String>,
    /// Webhook secret (`whsec_…`; one is made when none is given), DingTalk `SEC…` secret,
    /// Feishu signing secret.
    pub signing_secret: Option<String>,
    /// Telegram chat id (`-100…` for a supergroup) and optional forum topic.
    pub chat_id: Option<String>,
    pub thread_id: Option<i64>,
    /// E-mail sender and recipients (comma-separated).
    pub from: Option<String>,
    pub to: Option<String>,
    pub ca_file: Option<String>,
}

/// Why a destination's setup was refused; each names the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    #[error("{field}: {expected}")]
    Field {
        field: &'static str,
        expected: Expected,
    },
    #[error("the stored credentials cannot be read")]
    Corrupt,
}

/// What a setup field needs and did not get, as a fact: English here (the console, the API),
/// the reader's language on the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Expected {
    #[error("an http:// or https:// URL")]
    HttpUrl,
    /// A WeCom or DingTalk robot's URL with its key (the query parameter named here).
    #[error("the robot's whole webhook URL (with {0}=…)")]
    RobotUrl(&'static str),
    #[error("the bot's whole webhook URL (…/hook/TOKEN)")]
    FeishuHook,
    #[error("a DingTalk signing secret starts with SEC")]
    DingtalkSecret,
    #[error("a signing secret is 24 to 64 bytes in base64 (whsec_…), or leave it empty")]
    SigningSecret,
    #[error("the bot token from @BotFather, like 123456:ABC…")]
    BotToken,
    #[error("the chat's id: a number (-100… for a group) or @channelname")]
    ChatId,
    #[error("smtp://user@host:587 or smtps://user@host:465")]
    SmtpUrl,
    #[error("the sender's address")]
    Sender,
    #[error("at least one recipient")]
    Recipients,
    #[error("{0:?} is not an e-mail address")]
    Mailbox(String),
    #[error("the store whose buyers to tell")]
    Store,
}

fn field(field: &'static str, expected: Expected) -> SetupError {
    SetupError::Field { field, expected }
}

fn http_url(text: &str, name: &'static str) -> Result<Url, SetupError> {
    let url = Url::parse(text.trim()).map_err(|_| field(name, Expected::HttpUrl))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(field(name, Expected::HttpUrl));
    }
    Ok(url)
}

/// The URL without its query and fragment, for showing and for building requests.
fn without_query(url: &Url) -> String {
    let mut bare = url.clone();
    bare.set_query(None);
    bare.set_fragment(None);
    bare.to_string()
}

fn query_value(url: &Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

fn nonempty(value: Option<&String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// A new destination's two halves, and the webhook secret made for it (shown once).
#[derive(Debug)]
pub struct Parsed {
    pub address: Address,
    pub credentials: Credentials,
    pub new_secret: Option<SecretString>,
}

impl Setup {
    /// Takes a setup apart into address and credentials, refusing what cannot work.
    pub fn parse(&self, kind: ChannelKind, store: Option<StoreId>) -> Result<Parsed, SetupError> {
        let token = nonempty(self.token.as_ref());
        let signing = nonempty(self.signing_secret.as_ref());
        let mut new_secret = None;
        let (address, credentials) = match kind {
            ChannelKind::Webhook => {
                let url = http_url(self.url.as_deref().unwrap_or_default(), "url")?;
                let secret = match signing {
                    Some(s) => {
                        sign::webhook_key(&s)
                            .map_err(|_| field("signing_secret", Expected::SigningSecret))?;
                        s
                    }
                    None => {
                        let s = sign::new_webhook_secret();
                        new_secret = Some(SecretString::from(s.clone()));
                        s
                    }
                };
                (
                    Address::Webhook {
                        url: url.to_string(),
                    },
                    Credentials::new(None, Some(secret)),
                )
            }
            ChannelKind::Wecom | ChannelKind::Dingtalk => {
                let (default, key_name) = if kind == ChannelKind::Wecom {
                    ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send", "key")
                } else {
                    ("https://oapi.dingtalk.com/robot/send", "access_token")
                };
                let url = http_url(self.url.as_deref().unwrap_or(default), "url")?;
                let key = query_value(&url, key_name)
                    .or(token)
                    .ok_or_else(|| field("url", Expected::RobotUrl(key_name)))?;
                if kind == ChannelKind::Dingtalk
                    && let Some(s) = &signing
                    && !s.starts_with("SEC")
                {
                    return Err(field("signing_secret", Expected::DingtalkSecret));
                }
                let endpoint = without_query(&url);
                let address = if kind == ChannelKind::Wecom {
                    Address::Wecom { endpoint }
                } else {
                    Address::Dingtalk { endpoint }
                };
                (address, Credentials::new(Some(key), signing))
            }
            ChannelKind::Feishu => {
                let url = http_url(
                    self.url
                        .as_deref()
                        .unwrap_or("https://open.feishu.cn/open-apis/bot/v2/hook/"),
                    "url",
                )?;
                let path = url.path();
                let (base, hook) = match path.rfind("/hook/") {
                    Some(at) => (&path[..at + "/hook/".len()], &path[at + "/hook/".len()..]),
                    None => return Err(field("url", Expected::FeishuHook)),
                };
                let hook = Some(hook.to_owned()).filter(|h| !h.is_empty()).or(token);
                let Some(hook) = hook else {
                    return Err(field("url", Expected::FeishuHook));
                };
                let mut endpoint = url.clone();
                endpoint.set_path(base);
                endpoint.set_query(None);
                (
                    Address::Feishu {
                        endpoint: endpoint.to_string(),
                    },
                    Credentials::new(Some(hook), signing),
                )
            }
            ChannelKind::Telegram => {
                let api = http_url(
                    self.url.as_deref().unwrap_or("https://api.telegram.org"),
                    "url",
                )?;
                let token = token.ok_or_else(|| field("token", Expected::BotToken))?;
                if !token.contains(':') {
                    return Err(field("token", Expected::BotToken));
                }
                let chat_id = nonempty(self.chat_id.as_ref())
                    .ok_or_else(|| field("chat_id", Expected::ChatId))?;
                if chat_id.parse::<i64>().is_err() && !chat_id.starts_with('@') {
                    return Err(field("chat_id", Expected::ChatId));
                }
                (
                    Address::Telegram {
                        api: without_query(&api).trim_end_matches('/').to_owned(),
                        chat_id,
                        thread_id: self.thread_id,
                    },
                    Credentials::new(Some(token), None),
                )
            }
            ChannelKind::Email => {
                let text = self.url.as_deref().unwrap_or_default().trim();
                let url = Url::parse(text).map_err(|_| field("url", Expected::SmtpUrl))?;
                let host = url
                    .host_str()
                    .filter(|h| !h.is_empty())
                    .ok_or_else(|| field("url", Expected::SmtpUrl))?
                    .to_owned();
                let none = query_value(&url, "tls").as_deref() == Some("none");
                let (tls, default_port) = match url.scheme() {
                    "smtps" => (SmtpTls::Implicit, 465),
                    "smtp" if none => (SmtpTls::None, 25),
                    "smtp" => (SmtpTls::Starttls, 587),
                    _ => return Err(field("url", Expected::SmtpUrl)),
                };
                let username = Some(url.username().to_owned()).filter(|u| !u.is_empty());
                let username = username.map(|u| percent_decode(&u));
                let from = nonempty(self.from.as_ref())
                    .or_else(|| username.clone().filter(|u| u.contains('@')))
                    .ok_or_else(|| field("from", Expected::Sender))?;
                check_mailbox(&from, "from")?;
                let to: Vec<String> = self
                    .to
                    .as_deref()
                    .unwrap_or_default()
                    .split([',', ';'])
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect();
                if to.is_empty() {
                    return Err(field("to", Expected::Recipients));
                }
                for t in &to {
                    check_mailbox(t, "to")?;
                }
                (
                    Address::Email {
                        host,
                        port: url.port().unwrap_or(default_port),
                        tls,
                        username,
                        from,
                        to,
                        ca_file: nonempty(self.ca_file.as_ref()),
                    },
                    Credentials::new(token, None),
                )
            }
            ChannelKind::OzonChat => {
                let store = store.ok_or_else(|| field("store", Expected::Store))?;
                (Address::OzonChat { store }, Credentials::default())
            }
        };
        Ok(Parsed {
            address,
            credentials,
            new_secret,
        })
    }
}

fn percent_decode(text: &str) -> String {
    // `user%40example.com` in an SMTP URL is `user@example.com`.
    fn hex(b: u8) -> Option<u8> {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(hi * 16 + lo);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn check_mailbox(text: &str, name: &'static str) -> Result<(), SetupError> {
    text.parse::<lettre::Address>()
        .map(|_| ())
        .map_err(|_| field(name, Expected::Mailbox(text.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(url: &str) -> Setup {
        Setup {
            url: Some(url.into()),
            ..Setup::default()
        }
    }

    #[test]
    fn a_pasted_robot_url_splits_into_an_endpoint_to_show_and_a_key_to_hide() {
        let p = setup("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7x")
            .parse(ChannelKind::Wecom, None)
            .unwrap();
        assert_eq!(
            p.address,
            Address::Wecom {
                endpoint: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send".into()
            }
        );
        assert_eq!(p.credentials.token(), Some("693a91f6-7x"));
        assert!(!p.address.to_string().contains("693a91f6"));
        assert!(!format!("{:?}", p.credentials).contains("693a91f6"));

        let p = Setup {
            signing_secret: Some("SEC1bec4c64".into()),
            ..setup("https://oapi.dingtalk.com/robot/send?access_token=abc123")
        }
        .parse(ChannelKind::Dingtalk, None)
        .unwrap();
        assert_eq!(p.credentials.token(), Some("abc123"));
        assert_eq!(p.credentials.signing(), Some("SEC1bec4c64"));

        let p = setup("https://open.feishu.cn/open-apis/bot/v2/hook/0f1e-token")
            .parse(ChannelKind::Feishu, None)
            .unwrap();
        assert_eq!(
            p.address,
            Address::Feishu {
                endpoint: "https://open.feishu.cn/open-apis/bot/v2/hook/".into()
            }
        );
        assert_eq!(p.credentials.token(), Some("0f1e-token"));
    }

    #[test]
    fn a_setup_that_cannot_work_names_its_field() {
        let e = setup("https://qyapi.weixin.qq.com/cgi-bin/webhook/send")
            .parse(ChannelKind::Wecom, None)
            .unwrap_err();
        assert!(matches!(e, SetupError::Field { field: "url", .. }), "{e}");
        let e = Setup {
            token: Some("123:abc".into()),
            chat_id: Some("my group".into()),
            ..Setup::default()
        }
        .parse(ChannelKind::Telegram, None)
        .unwrap_err();
        assert!(
            matches!(
                e,
                SetupError::Field {
                    field: "chat_id",
                    ..
                }
            ),
            "{e}"
        );
        let e = Setup {
            to: Some("ops@example".into()),
            from: Some("not an address".into()),
            ..setup("smtps://bot%40example.com@smtp.163.com")
        }
        .parse(ChannelKind::Email, None)
        .unwrap_err();
        assert!(matches!(e, SetupError::Field { field: "from", .. }), "{e}");
        let e = Setup {
            signing_secret: Some("whsec_c2hvcnQ=".into()),
            ..setup("https://erp.example.com/hooks/ozon")
        }
        .parse(ChannelKind::Webhook, None)
        .unwrap_err();
        assert!(
            matches!(
                e,
                SetupError::Field {
                    field: "signing_secret",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn a_webhook_without_a_secret_gets_a_new_one_shown_once() {
        let p = setup("https://erp.example.com/hooks/ozon")
            .parse(ChannelKind::Webhook, None)
            .unwrap();
        let shown = p.new_secret.unwrap();
        assert!(shown.expose_secret().starts_with("whsec_"));
        assert_eq!(p.credentials.signing(), Some(shown.expose_secret()));
    }

    #[test]
    fn smtp_urls_choose_the_tls_mode_and_port() {
        let p = Setup {
            to: Some("ops@example.com; boss@example.com".into()),
            ..setup("smtps://bot%40example.com@smtp.163.com")
        }
        .parse(ChannelKind::Email, None)
        .unwrap();
        let Address::Email {
            port,
            tls,
            from,
            to,
            username,
            ..
        } = p.address
        else {
            panic!("not e-mail")
        };
        assert_eq!((port, tls), (465, SmtpTls::Implicit));
        assert_eq!(from, "bot@example.com");
        assert_eq!(username.as_deref(), Some("bot@example.com"));
        assert_eq!(to, ["ops@example.com", "boss@example.com"]);
        let p = Setup {
            to: Some("ops@example.com".into()),
            from: Some("bot@qq.com".into()),
            ..setup("smtp://bot@smtp.qq.com")
        }
        .parse(ChannelKind::Email, None)
        .unwrap();
        assert!(matches!(
            p.address,
            Address::Email {
                port: 587,
                tls: SmtpTls::Starttls,
                ..
            }
        ));
    }

    #[test]
    fn credentials_survive_sealing_and_their_debug_shows_nothing() {
        let c = Credentials::new(Some("k".into()), Some("s".into()));
        let text = c.to_sealable();
        let back = Credentials::from_unsealed(text.expose_secret()).unwrap();
        assert_eq!((back.token(), back.signing()), (Some("k"), Some("s")));
        assert_eq!(format!("{back:?}"), "Credentials(***)");
    }
}
