//! Fakes of the notification services on one loopback router: a Standard Webhooks receiver,
//! the WeCom group robot, the DingTalk robot, the Feishu bot and the Telegram Bot API. Each
//! checks what the real service checks, in its own code written from the service's
//! documentation (signatures, timestamps, sizes counted the service's way, markup), answers
//! with the real success and error bodies (HTTP 200 with an error code for the robots), and
//! enforces the real rate limits on real time — counting every request over a limit as a
//! violation, and locking a DingTalk robot out for ten minutes as DingTalk does.
//!
//! Tests and the demo register robots, bots, chats and endpoints, script faults (the next
//! answers of one target), and read what arrived ([`FakeChannels::received`]) and how often a
//! limit was broken ([`FakeChannels::violations`]). `GET /inbox` shows the messages as a page.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};
use ozontrack_domain::{Clock, SystemClock};
use serde_json::{Value, json};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

/// Which service a message reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Webhook,
    Wecom,
    Dingtalk,
    Feishu,
    Telegram,
    Email,
}

impl Service {
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Webhook => "webhook",
            Service::Wecom => "wecom",
            Service::Dingtalk => "dingtalk",
            Service::Feishu => "feishu",
            Service::Telegram => "telegram",
            Service::Email => "email",
        }
    }
}

/// A message a fake accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub service: Service,
    /// The robot's key, the bot's chat, the endpoint's name, the mailbox.
    pub target: String,
    /// When it arrived (the fakes' clock: real time unless a test says otherwise).
    pub at: DateTime<Utc>,
    /// The text as the service would show it (the webhook's JSON body; the mail's body).
    pub text: String,
    /// Markdown, HTML or a post; false for plain text.
    pub markup: bool,
    /// The webhook's `webhook-id`, the mail's `Message-ID`.
    pub id: Option<String>,
    /// The same id arrived before (a receiver would drop it).
    pub repeat: bool,
}

/// An answer a test wants a target to give next, instead of the normal one.
#[derive(Debug, Clone, PartialEq)]
pub enum Scripted {
    /// HTTP status and JSON body, verbatim.
    Answer(u16, Value),
    /// Accept the message, then answer only after this long (longer than the client waits).
    Hang(Duration),
}

#[derive(Debug, Default)]
struct Target {
    /// DingTalk `SEC…` / Feishu signing secret / webhook key bytes (as base64 text).
    secret: Option<String>,
    /// Telegram: chats of the bot, with what is wrong with each.
    chats: HashMap<String, Chat>,
    /// Webhook: answers 410 Gone.
    gone: bool,
}

#[derive(Debug, Default, Clone)]
struct Chat {
    blocked: bool,
    moved_to: Option<String>,
    /// A group (20 a minute) rather than a private chat.
    group: bool,
}

#[derive(Debug, Default)]
struct Inner {
    /// (service, key) → what it is.
    targets: HashMap<(Service, String), Target>,
    /// The latest [`KEPT`] messages, oldest first.
    received: VecDeque<Received>,
    /// Every message ever accepted, kept or not.
    accepted: usize,
    seen_ids: HashSet<(Service, String, String)>,
    /// Per limited thing (robot, bot chat): arrival times within the last minute.
    windows: HashMap<String, VecDeque<Instant>>,
    lockouts: HashMap<String, Instant>,
    violations: HashMap<String, u64>,
    scripted: HashMap<String, VecDeque<Scripted>>,
}

/// How many messages the fakes keep: a demo left running for a day receives tens of
/// thousands; the oldest are forgotten (with their ids) so that memory stays bounded.
pub const KEPT: usize = 10_000;

/// The fakes' shared state.
#[derive(Debug, Clone)]
pub struct FakeChannels {
    inner: Arc<Mutex<Inner>>,
    /// For signatures' freshness and arrival times; the rate limits count on `Instant`s.
    clock: Arc<dyn Clock>,
}

impl Default for FakeChannels {
    fn default() -> Self {
        Self {
            inner: Arc::default(),
            clock: Arc::new(SystemClock),
        }
    }
}

/// How each service counts: (most, within).
const WECOM: &[(usize, Duration)] = &[(20, Duration::from_secs(60))];
const DINGTALK: &[(usize, Duration)] = &[(20, Duration::from_secs(60))];
const FEISHU: &[(usize, Duration)] = &[(5, Duration::from_secs(1)), (100, Duration::from_secs(60))];
const TELEGRAM_CHAT: &[(usize, Duration)] = &[(1, Duration::from_secs(1))];
const TELEGRAM_GROUP: &[(usize, Duration)] =
    &[(1, Duration::from_secs(1)), (20, Duration::from_secs(60))];

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

impl FakeChannels {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A WeCom robot with this key.
    pub fn add_wecom(&self, key: &str) {
        self.lock()
            .targets
            .insert((Service::Wecom, key.to_owned()), Target::default());
    }

    /// A DingTalk robot; with `secret` (`SEC…`) it checks the 加签 signature.
    pub fn add_dingtalk(&self, token: &str, secret: Option<&str>) {
        self.lock().targets.insert(
            (Service::Dingtalk, token.to_owned()),
            Target {
                secret: secret.map(str::to_owned),
                ..Target::default()
            },
        );
    }

    /// A Feishu bot; with `secret` it checks the signature.
    pub fn add_feishu(&self, token: &str, secret: Option<&str>) {
        self.lock().targets.insert(
            (Service::Feishu, token.to_owned()),
            Target {
                secret: secret.map(str::to_owned),
                ..Target::default()
            },
        );
    }

    /// A Telegram bot with a chat (a group when `group`).
    pub fn add_telegram_chat(&self, token: &str, chat_id: &str, group: bool) {
        let mut inner = self.lock();
        let bot = inner
            .targets
            .entry((Service::Telegram, token.to_owned()))
            .or_default();
        bot.chats.insert(
            chat_id.to_owned(),
            Chat {
                group,
                ..Chat::default()
            },
        );
    }

    /// The bot is blocked in (or removed from) the chat.
    pub fn block_telegram_chat(&self, token: &str, chat_id: &str) {
        let mut inner = self.lock();
        if let Some(chat) = inner
            .targets
            .get_mut(&(Service::Telegram, token.to_owned()))
            .and_then(|b| b.chats.get_mut(chat_id))
        {
            chat.blocked = true;
        }
    }

    /// The group was upgraded to a supergroup with a new id.
    pub fn migrate_telegram_chat(&self, token: &str, chat_id: &str, new_id: &str) {
        let mut inner = self.lock();
        if let Some(bot) = inner
            .targets
            .get_mut(&(Service::Telegram, token.to_owned()))
        {
            let group = bot.chats.get(chat_id).is_some_and(|c| c.group);
            if let Some(chat) = bot.chats.get_mut(chat_id) {
                chat.moved_to = Some(new_id.to_owned());
            }
            bot.chats.insert(
                new_id.to_owned(),
                Chat {
                    group,
                    ..Chat::default()
                },
            );
        }
    }

    /// A Standard Webhooks endpoint at `/hooks/{name}` checking `secret` (`whsec_…`).
    pub fn add_webhook(&self, name: &str, secret: &str) {
        let key = secret.strip_prefix("whsec_").unwrap_or(secret).to_owned();
        self.lock().targets.insert(
            (Service::Webhook, name.to_owned()),
            Target {
                secret: Some(key),
                ..Target::default()
            },
        );
    }

    /// The endpoint answers 410 Gone from now on.
    pub fn retire_webhook(&self, name: &str) {
        if let Some(t) = self
            .lock()
            .targets
            .get_mut(&(Service::Webhook, name.to_owned()))
        {
            t.gone = true;
        }
    }

    /// The next answers of `target` (a robot key or token, a bot chat id, an endpoint name).
    pub fn script(&self, target: &str, answers: impl IntoIterator<Item = Scripted>) {
        self.lock()
            .scripted
            .entry(target.to_owned())
            .or_default()
            .extend(answers);
    }

    /// What was accepted, in order of arrival: everything, up to the latest [`KEPT`].
    pub fn received(&self) -> Vec<Received> {
        self.lock().received.iter().cloned().collect()
    }

    /// How many messages were accepted in all, kept or not.
    pub fn accepted(&self) -> usize {
        self.lock().accepted
    }

    /// Requests over a published limit, per limited thing; all zero when clients behave.
    pub fn violations(&self) -> HashMap<String, u64> {
        self.lock().violations.clone()
    }

    pub fn total_violations(&self) -> u64 {
        self.lock().violations.values().sum()
    }

    /// Records an accepted message; also used by the SMTP fake.
    pub(crate) fn accept(
        &self,
        service: Service,
        target: &str,
        text: String,
        markup: bool,
        id: Option<String>,
    ) {
        let mut inner = self.lock();
        let repeat = id.as_ref().is_some_and(|id| {
            !inner
                .seen_ids
                .insert((service, target.to_owned(), id.clone()))
        });
        inner.received.push_back(Received {
            service,
            target: target.to_owned(),
            at: self.clock.now(),
            text,
            markup,
            id,
            repeat,
        });
        inner.accepted += 1;
        while inner.received.len() > KEPT {
            if let Some(Received {
                service,
                target,
                id: Some(id),
                ..
            }) = inner.received.pop_front()
            {
                inner.seen_ids.remove(&(service, target, id));
            }
        }
    }

    fn next_scripted(&self, target: &str) -> Option<Scripted> {
        self.lock().scripted.get_mut(target)?.pop_front()
    }

    /// Counts an arrival against `limits`; false (and a violation) when over one of them, or
    /// while locked out. `lockout`: how long a breach locks the thing out.
    fn admit(&self, key: &str, limits: &[(usize, Duration)], lockout: Option<Duration>) -> bool {
        let now = Instant::now();
        let mut inner = self.lock();
        if let Some(until) = inner.lockouts.get(key)
            && *until > now
        {
            *inner.violations.entry(key.to_owned()).or_default() += 1;
            return false;
        }
        let longest = limits.iter().map(|(_, d)| *d).max().unwrap_or_default();
        let window = inner.windows.entry(key.to_owned()).or_default();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= longest)
        {
            window.pop_front();
        }
        let over = limits.iter().any(|(max, span)| {
            window
                .iter()
                .filter(|t| now.duration_since(**t) < *span)
                .count()
                >= *max
        });
        // Refused requests count too: the services count arrivals.
        window.push_back(now);
        if over {
            *inner.violations.entry(key.to_owned()).or_default() += 1;
            if let Some(lockout) = lockout {
                inner.lockouts.insert(key.to_owned(), now + lockout);
            }
        }
        !over
    }

    fn target_secret(&self, service: Service, key: &str) -> Option<Option<String>> {
        self.lock()
            .targets
            .get(&(service, key.to_owned()))
            .map(|t| t.secret.clone())
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/cgi-bin/webhook/send", post(wecom))
            .route("/robot/send", post(dingtalk))
            .route("/open-apis/bot/v2/hook/{token}", post(feishu))
            .route("/{bot}/sendMessage", post(telegram))
            .route("/hooks/{name}", post(webhook))
            .route("/inbox", get(inbox))
            .with_state(self.clone())
    }
}

/// What a scripted answer turns into.
async fn scripted(fake: &FakeChannels, target: &str) -> Option<Response> {
    match fake.next_scripted(target)? {
        Scripted::Answer(status, body) => Some(
            (
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                Json(body),
            )
                .into_response(),
        ),
        Scripted::Hang(d) => {
            tokio::time::sleep(d).await;
            Some(Json(json!({"errcode": 0, "errmsg": "ok"})).into_response())
        }
    }
}

fn robot_error(code: i64, message: &str) -> Response {
    // The robots answer HTTP 200 with the verdict in the body.
    Json(json!({"errcode": code, "errmsg": message})).into_response()
}

async fn wecom(
    State(fake): State<FakeChannels>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let key = query.get("key").cloned().unwrap_or_default();
    if fake.target_secret(Service::Wecom, &key).is_none() {
        return robot_error(
            93000,
            "invalid webhook url, hint: [1755605200056773468916791], from ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e=93000",
        );
    }
    if !fake.admit(&format!("wecom:{key}"), WECOM, None) {
        return robot_error(45009, "api freq out of limit");
    }
    if let Some(r) = scripted(&fake, &key).await {
        return r;
    }
    let Ok(message) = serde_json::from_slice::<Value>(&body) else {
        return robot_error(40035, "invalid Request Parameter");
    };
    let (text, markup, limit) = match message["msgtype"].as_str() {
        Some("text") => (message["text"]["content"].as_str(), false, 2048),
        Some("markdown") => (message["markdown"]["content"].as_str(), true, 4096),
        _ => return robot_error(40008, "invalid message type"),
    };
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return robot_error(44004, "empty content");
    };
    if text.len() > limit {
        let field = if markup { "markdown" } else { "text" };
        return robot_error(
            40058,
            &format!("{field}.content exceed max length {limit}. invalid Request Parameter"),
        );
    }
    fake.accept(Service::Wecom, &key, text.to_owned(), markup, None);
    robot_error(0, "ok")
}

async fn dingtalk(
    State(fake): State<FakeChannels>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let token = query.get("access_token").cloned().unwrap_or_default();
    let Some(secret) = fake.target_secret(Service::Dingtalk, &token) else {
        return robot_error(300_001, "token is not exist");
    };
    if let Some(secret) = secret {
        // The query parser has decoded the sign once, as DingTalk does.
        let ts: i64 = query
            .get("timestamp")
            .and_then(|t| t.parse().ok())
            .unwrap_or_default();
        let fresh = (fake.clock.now().timestamp_millis() - ts).abs() <= 3_600_000;
        let expected = STANDARD.encode(hmac(
            secret.as_bytes(),
            format!("{ts}\n{secret}").as_bytes(),
        ));
        if !fresh || query.get("sign") != Some(&expected) {
            return robot_error(
                310_000,
                "description:机器人发送签名不匹配;solution:请确认签名和生成签名的时间戳必须都放在调用的网址中，请确认机器人的密钥加密和填写正确;",
            );
        }
    }
    if !fake.admit(
        &format!("dingtalk:{token}"),
        DINGTALK,
        Some(Duration::from_secs(600)),
    ) {
        return Json(json!({
            "status": 1111, "wait": 5, "source": "x5", "punish": "deny",
            "errcode": 130_101, "errmsg": "send too fast, exceed 20 times per minute",
        }))
        .into_response();
    }
    if let Some(r) = scripted(&fake, &token).await {
        return r;
    }
    if body.len() > 20_000 {
        return robot_error(
            460_101,
            "description: body 大小不合法;solution:请保持大小在 20000bytes 以内;",
        );
    }
    let Ok(message) = serde_json::from_slice::<Value>(&body) else {
        return robot_error(400_001, "invalid json");
    };
    let (text, markup) = match message["msgtype"].as_str() {
        Some("text") => (message["text"]["content"].as_str(), false),
        Some("markdown") => {
            if message["markdown"]["title"]
                .as_str()
                .is_none_or(str::is_empty)
            {
                return robot_error(400_402, "title 缺失");
            }
            (message["markdown"]["text"].as_str(), true)
        }
        _ => return robot_error(400_004, "msgtype 不合法"),
    };
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return robot_error(400_002, "content 缺失");
    };
    fake.accept(Service::Dingtalk, &token, text.to_owned(), markup, None);
    robot_error(0, "ok")
}

fn feishu_answer(http: StatusCode, code: i64, msg: &str) -> Response {
    (http, Json(json!({"code": code, "msg": msg, "data": {}}))).into_response()
}

async fn feishu(
    State(fake): State<FakeChannels>,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let Some(secret) = fake.target_secret(Service::Feishu, &token) else {
        return feishu_answer(
            StatusCode::OK,
            19001,
            "param invalid: incoming webhook access token invalid",
        );
    };
    if body.len() > 20 * 1024 {
        return feishu_answer(StatusCode::OK, 9499, "Bad Request");
    }
    let Ok(message) = serde_json::from_slice::<Value>(&body) else {
        return feishu_answer(StatusCode::OK, 9499, "Bad Request");
    };
    if let Some(secret) = secret {
        let ts: i64 = message["timestamp"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .unwrap_or_default();
        let expected = STANDARD.encode(hmac(format!("{ts}\n{secret}").as_bytes(), b""));
        if (fake.clock.now().timestamp() - ts).abs() > 3600
            || message["sign"].as_str() != Some(&expected)
        {
            return feishu_answer(
                StatusCode::OK,
                19021,
                "sign match fail or timestamp is not within one hour from current time",
            );
        }
    }
    if !fake.admit(&format!("feishu:{token}"), FEISHU, None) {
        return feishu_answer(StatusCode::BAD_REQUEST, 9499, "too many request");
    }
    if let Some(r) = scripted(&fake, &token).await {
        return r;
    }
    let (text, markup) = match message["msg_type"].as_str() {
        Some("text") => (
            message["content"]["text"].as_str().map(str::to_owned),
            false,
        ),
        Some("post") => {
            let post = &message["content"]["post"];
            let lang = post
                .as_object()
                .and_then(|o| o.values().next())
                .cloned()
                .unwrap_or(Value::Null);
            let title = lang["title"].as_str().unwrap_or_default().to_owned();
            let mut lines = vec![title];
            for paragraph in lang["content"].as_array().into_iter().flatten() {
                let line: String = paragraph
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|tag| tag["text"].as_str())
                    .collect();
                lines.push(line);
            }
            (Some(lines.join("\n")), true)
        }
        _ => return feishu_answer(StatusCode::OK, 9499, "Bad Request"),
    };
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return feishu_answer(StatusCode::OK, 9499, "Bad Request");
    };
    fake.accept(Service::Feishu, &token, text, markup, None);
    (
        StatusCode::OK,
        Json(json!({"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"})),
    )
        .into_response()
}

fn telegram_error(code: u16, description: &str, parameters: Option<Value>) -> Response {
    let mut body = json!({"ok": false, "error_code": code, "description": description});
    if let Some(p) = parameters {
        body["parameters"] = p;
    }
    (
        StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST),
        Json(body),
    )
        .into_response()
}

/// The text Telegram shows for HTML: tags from its list, balanced, and the four named
/// entities (or numeric ones); anything else is "can't parse entities".
fn telegram_html(text: &str) -> Result<String, String> {
    const TAGS: &[&str] = &[
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "code",
        "pre",
        "a",
        "blockquote",
        "tg-spoiler",
        "span",
    ];
    let mut out = String::new();
    let mut open: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                let end = rest
                    .find('>')
                    .ok_or_else(|| "Can't find end of the tag".to_owned())?;
                let tag = &rest[1..end];
                let (closing, name) = match tag.strip_prefix('/') {
                    Some(n) => (true, n.trim()),
                    None => (false, tag.split_whitespace().next().unwrap_or_default()),
                };
                if !TAGS.contains(&name) {
                    return Err(format!("Unsupported start tag \"{name}\""));
                }
                if closing {
                    if open.pop().as_deref() != Some(name) {
                        return Err(format!(
                            "Can't find end tag corresponding to start tag \"{name}\""
                        ));
                    }
                } else {
                    open.push(name.to_owned());
                }
                rest = &rest[end + 1..];
            }
            '&' => {
                let end = rest
                    .find(';')
                    .filter(|e| *e <= 10)
                    .ok_or_else(|| "Character entity expected".to_owned())?;
                let entity = &rest[1..end];
                let decoded = match entity {
                    "lt" => '<',
                    "gt" => '>',
                    "amp" => '&',
                    "quot" => '"',
                    e if e.starts_with('#') => e[1..]
                        .parse::<u32>()
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or_else(|| "Unsupported HTML entity".to_owned())?,
                    _ => return Err("Unsupported HTML entity".to_owned()),
                };
                out.push(decoded);
                rest = &rest[end + 1..];
            }
            c => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    match open.pop() {
        Some(tag) => Err(format!(
            "Can't find end of the entity starting with \"{tag}\""
        )),
        None => Ok(out),
    }
}

async fn telegram(
    State(fake): State<FakeChannels>,
    Path(bot): Path<String>,
    body: Bytes,
) -> Response {
    let token = bot.strip_prefix("bot").unwrap_or_default().to_owned();
    let Ok(message) = serde_json::from_slice::<Value>(&body) else {
        return telegram_error(400, "Bad Request: message text is empty", None);
    };
    let chat_id = match &message["chat_id"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return telegram_error(400, "Bad Request: chat_id is empty", None),
    };
    let chat = {
        let inner = fake.lock();
        let Some(bot) = inner.targets.get(&(Service::Telegram, token.clone())) else {
            return telegram_error(401, "Unauthorized", None);
        };
        bot.chats.get(&chat_id).cloned()
    };
    let Some(chat) = chat else {
        return telegram_error(400, "Bad Request: chat not found", None);
    };
    if chat.blocked {
        return telegram_error(403, "Forbidden: bot was blocked by the user", None);
    }
    if let Some(moved) = &chat.moved_to {
        let id: Value = moved.parse::<i64>().map_or(json!(moved), |n| json!(n));
        return telegram_error(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            Some(json!({"migrate_to_chat_id": id})),
        );
    }
    let limits = if chat.group {
        TELEGRAM_GROUP
    } else {
        TELEGRAM_CHAT
    };
    if !fake.admit(&format!("telegram:{token}:{chat_id}"), limits, None) {
        return telegram_error(
            429,
            "Too Many Requests: retry after 3",
            Some(json!({"retry_after": 3})),
        );
    }
    if let Some(r) = scripted(&fake, &chat_id).await {
        return r;
    }
    let text = message["text"].as_str().unwrap_or_default();
    let html = message["parse_mode"].as_str() == Some("HTML");
    let shown = if html {
        match telegram_html(text) {
            Ok(t) => t,
            Err(e) => {
                return telegram_error(
                    400,
                    &format!("Bad Request: can't parse entities: {e}"),
                    None,
                );
            }
        }
    } else {
        text.to_owned()
    };
    if shown.trim().is_empty() {
        return telegram_error(400, "Bad Request: message text is empty", None);
    }
    if shown.chars().count() > 4096 {
        return telegram_error(400, "Bad Request: message is too long", None);
    }
    let id = {
        let inner = fake.lock();
        inner.accepted + 1
    };
    fake.accept(Service::Telegram, &chat_id, shown, html, None);
    Json(json!({"ok": true, "result": {"message_id": id, "chat": {"id": chat_id}, "text": text}}))
        .into_response()
}

async fn webhook(
    State(fake): State<FakeChannels>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (secret, gone) = {
        let inner = fake.lock();
        match inner.targets.get(&(Service::Webhook, name.clone())) {
            Some(t) => (t.secret.clone(), t.gone),
            None => return StatusCode::NOT_FOUND.into_response(),
        }
    };
    if gone {
        return StatusCode::GONE.into_response();
    }
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (Some(id), Some(ts), Some(signatures)) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    ) else {
        return (StatusCode::BAD_REQUEST, "missing webhook headers").into_response();
    };
    let Ok(ts_value) = ts.parse::<i64>() else {
        return (StatusCode::BAD_REQUEST, "bad timestamp").into_response();
    };
    if (fake.clock.now().timestamp() - ts_value).abs() > 300 {
        return (StatusCode::UNAUTHORIZED, "timestamp outside the tolerance").into_response();
    }
    let key = secret
        .and_then(|s| STANDARD.decode(s).ok())
        .unwrap_or_default();
    let mut signed = format!("{id}.{ts}.").into_bytes();
    signed.extend_from_slice(&body);
    let valid = signatures.split(' ').any(|entry| {
        entry
            .strip_prefix("v1,")
            .and_then(|sig| STANDARD.decode(sig).ok())
            .is_some_and(|sig| {
                let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&key)
                    .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
                mac.update(&signed);
                mac.verify_slice(&sig).is_ok()
            })
    });
    if !valid {
        return (StatusCode::UNAUTHORIZED, "no matching signature").into_response();
    }
    if let Some(r) = scripted(&fake, &name).await {
        return r;
    }
    fake.accept(
        Service::Webhook,
        &name,
        String::from_utf8_lossy(&body).into_owned(),
        false,
        Some(id),
    );
    StatusCode::NO_CONTENT.into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The messages as a chat window, newest first: what the demo's group "sees".
async fn inbox(State(fake): State<FakeChannels>) -> Html<String> {
    let received = fake.received();
    let mut page = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>sandbox inbox</title>\
         <meta http-equiv=\"refresh\" content=\"5\"><style>body{font-family:sans-serif;\
         max-width:48rem;margin:2rem auto;background:#f3f4f6}.m{background:#fff;border-radius:8px;\
         padding:.75rem 1rem;margin:.5rem 0;white-space:pre-wrap}.h{color:#6b7280;font-size:.8rem}\
         </style></head><body><h1>Sandbox inbox</h1>",
    );
    page.push_str(&format!(
        "<p>{} messages; what the fake robots, bots and endpoints received.</p>",
        fake.lock().accepted
    ));
    for r in received.iter().rev().take(200) {
        let at = r.at.format("%H:%M:%S");
        page.push_str(&format!(
            "<div class=\"m\"><div class=\"h\">{} · {} · {at}{}</div>{}</div>",
            r.service.as_str(),
            escape(&r.target),
            if r.repeat { " · repeat" } else { "" },
            escape(&r.text)
        ));
    }
    page.push_str("</body></html>");
    Html(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telegram_html_accepts_its_tags_and_entities_and_refuses_the_rest() {
        assert_eq!(
            telegram_html("<b>72h</b> &lt;ok&gt; &amp; &#1071;").unwrap(),
            "72h <ok> & Я"
        );
        assert!(telegram_html("<b>open").is_err());
        assert!(telegram_html("<img src=x>").is_err());
        assert!(telegram_html("a & b").is_err());
    }

    #[test]
    fn a_limit_admits_exactly_its_count_and_counts_the_rest_as_violations() {
        let fake = FakeChannels::new();
        let admitted = (0..25).filter(|_| fake.admit("r", WECOM, None)).count();
        assert_eq!(admitted, 20);
        assert_eq!(fake.total_violations(), 5);
    }

    #[test]
    fn a_dingtalk_breach_locks_the_robot_out() {
        let fake = FakeChannels::new();
        for _ in 0..21 {
            fake.admit("d", DINGTALK, Some(Duration::from_secs(600)));
        }
        assert!(!fake.admit("d", DINGTALK, Some(Duration::from_secs(600))));
        assert_eq!(fake.total_violations(), 2);
    }

    #[test]
    fn the_fakes_own_signatures_match_the_published_vectors() {
        let ding = STANDARD.encode(hmac(
            b"this is a secret",
            "1601187240000\nthis is a secret".as_bytes(),
        ));
        assert_eq!(ding, "7gmCSzcAc2XzfB14K9+cRSM1hqBng7kT+N5k61qXXz0=");
        let feishu = STANDARD.encode(hmac(b"100\ndemo", b""));
        assert_eq!(feishu, "jquNHnVOwmDRfw+vqTIrY5dooJAgi5EcRtLsQE4wfXg=");
    }
}
