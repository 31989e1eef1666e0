//! Each channel's side of a message, without I/O: how a rendered message is marked up and cut
//! to the size the service accepts ([`pieces`]), the JSON each service expects, and what its
//! answer means ([`classify_wecom`] and the others). The services answer HTTP 200 for refused
//! messages, reword their texts and change their limits; every decision here rests on status
//! codes, error codes and structured fields.

use chrono::Duration;
use ozontrack_domain::notify::{ChannelKind, DisableCause, Verdict, split};
use serde_json::{Value, json};

use crate::render::Rendered;

/// One message as a channel sends it: the title (DingTalk and Feishu carry it apart) and the
/// text, already marked up (or plain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub title: String,
    pub text: String,
    /// Whether `text` is markup (markdown or HTML) rather than plain text.
    pub markup: bool,
}

/// Telegram's HTML: only `&`, `<` and `>` need escaping outside tags.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

/// The robots' markdown has no escape character: text from carriers and sellers keeps its
/// meaning with the markup characters swapped for their full-width forms, so a place name can
/// neither bold a line, link somewhere, nor mention a group member (`<@userid>`).
pub fn escape_markdown(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '<' => '＜',
            '>' => '＞',
            '*' => '＊',
            '[' => '［',
            ']' => '］',
            '`' => '｀',
            '_' => '＿',
            '#' => '＃',
            c => c,
        })
        .collect()
}

/// The pieces `rendered` is sent as on `kind`: marked up unless `plain`, each within the size
/// the service accepts (counted its way). Webhooks and e-mail send one piece, built from the
/// rendered message by their own senders.
pub fn pieces(kind: ChannelKind, rendered: &Rendered, plain: bool) -> Vec<Piece> {
    let markup = !plain
        && matches!(
            kind,
            ChannelKind::Wecom
                | ChannelKind::Dingtalk
                | ChannelKind::Feishu
                | ChannelKind::Telegram
        );
    let text = if !markup {
        rendered.plain()
    } else {
        match kind {
            ChannelKind::Wecom => {
                let mut text = format!("**{}**", escape_markdown(&rendered.title));
                for line in &rendered.lines {
                    text.push('\n');
                    text.push_str(&escape_markdown(line));
                }
                text
            }
            ChannelKind::Dingtalk => {
                // DingTalk's markdown joins single newlines; paragraphs need a blank line.
                let mut text = format!("#### {}", escape_markdown(&rendered.title));
                for line in &rendered.lines {
                    text.push_str("\n\n");
                    text.push_str(&escape_markdown(line));
                }
                text
            }
            ChannelKind::Telegram => {
                let mut text = format!("<b>{}</b>", escape_html(&rendered.title));
                for line in &rendered.lines {
                    text.push('\n');
                    text.push_str(&escape_html(line));
                }
                text
            }
            // Feishu's post is structured (one text tag per line): no markup to escape.
            _ => rendered.lines.join("\n"),
        }
    };
    let Some((limit, measure)) = kind.max_text(markup) else {
        return vec![Piece {
            title: rendered.title.clone(),
            text,
            markup,
        }];
    };
    split(&text, limit, measure)
        .into_iter()
        .map(|text| Piece {
            title: rendered.title.clone(),
            text,
            markup,
        })
        .collect()
}

/// The JSON body a robot expects for a piece.
pub fn robot_body(kind: ChannelKind, piece: &Piece) -> Value {
    match (kind, piece.markup) {
        (ChannelKind::Wecom, true) => {
            json!({"msgtype": "markdown", "markdown": {"content": piece.text}})
        }
        (ChannelKind::Wecom, false) => json!({"msgtype": "text", "text": {"content": piece.text}}),
        (ChannelKind::Dingtalk, true) => json!({
            "msgtype": "markdown",
            "markdown": {"title": piece.title, "text": piece.text},
        }),
        (ChannelKind::Dingtalk, false) => {
            json!({"msgtype": "text", "text": {"content": piece.text}})
        }
        (ChannelKind::Feishu, true) => {
            let content: Vec<Value> = piece
                .text
                .split('\n')
                .map(|line| json!([{"tag": "text", "text": line}]))
                .collect();
            json!({
                "msg_type": "post",
                "content": {"post": {"zh_cn": {"title": piece.title, "content": content}}},
            })
        }
        (ChannelKind::Feishu, false) => {
            json!({"msg_type": "text", "content": {"text": piece.text}})
        }
        _ => json!({"text": piece.text}),
    }
}

fn retry(code: impl Into<String>, after: Option<Duration>) -> Verdict {
    Verdict::Retry {
        after,
        lockout: false,
        maybe_sent: false,
        code: code.into(),
    }
}

/// A success status with a body that cannot be read (cut on the way): the message probably
/// arrived, but the verdict is unknown, so it is tried again and may arrive twice.
fn unreadable() -> Verdict {
    Verdict::Retry {
        after: None,
        lockout: false,
        maybe_sent: true,
        code: "unreadable answer".into(),
    }
}

fn permanent(code: impl Into<String>, plain_may_help: bool) -> Verdict {
    Verdict::Permanent {
        plain_may_help,
        code: code.into(),
    }
}

fn reconfigure(cause: DisableCause, code: impl Into<String>) -> Verdict {
    Verdict::Reconfigure {
        cause,
        code: code.into(),
    }
}

/// An HTTP status outside 2xx that the service's body did not explain.
fn http_failure(status: u16, retry_after: Option<Duration>) -> Verdict {
    match status {
        408 | 425 | 429 | 500..=599 => retry(format!("http {status}"), retry_after),
        // A redirect is not followed (the spec says so for webhooks; for robots it means the
        // address is wrong): the same request will not fare better, but a fixed one may.
        300..=399 => retry(format!("http {status}"), retry_after),
        410 => reconfigure(DisableCause::Gone, "http 410"),
        401 | 403 => reconfigure(DisableCause::BadSignature, format!("http {status}")),
        404 => reconfigure(DisableCause::NotFound, "http 404"),
        _ => permanent(format!("http {status}"), false),
    }
}

/// A Standard Webhooks receiver: 2xx is delivered, 410 disables, 429/502/504 throttle.
pub fn classify_webhook(status: u16, retry_after: Option<Duration>) -> Verdict {
    if (200..300).contains(&status) {
        Verdict::Sent { remote_id: None }
    } else {
        http_failure(status, retry_after)
    }
}

fn errcode(body: &Value, field: &str) -> Option<i64> {
    body.get(field).and_then(Value::as_i64)
}

/// WeCom: the verdict is `errcode`, in an HTTP 200.
pub fn classify_wecom(status: u16, body: &Value) -> Verdict {
    match errcode(body, "errcode") {
        Some(0) => Verdict::Sent { remote_id: None },
        Some(45009) => retry("errcode 45009", Some(Duration::seconds(60))),
        Some(93000) => reconfigure(DisableCause::NotFound, "errcode 93000"),
        // Too long even after splitting: plain text has a smaller limit, so it cannot help.
        Some(40058) => permanent("errcode 40058", false),
        Some(code) => permanent(format!("errcode {code}"), true),
        None if status == 200 => unreadable(),
        None => http_failure(status, None),
    }
}

/// DingTalk: `errcode` in an HTTP 200; over 20 a minute locks the robot for ten minutes.
pub fn classify_dingtalk(status: u16, body: &Value) -> Verdict {
    match errcode(body, "errcode") {
        Some(0) => Verdict::Sent { remote_id: None },
        Some(130_101) => Verdict::Retry {
            after: Some(Duration::minutes(10)),
            lockout: true,
            maybe_sent: false,
            code: "errcode 130101".into(),
        },
        Some(310_000) => reconfigure(DisableCause::BadSignature, "errcode 310000"),
        Some(code @ (300_001 | 300_005)) => {
            reconfigure(DisableCause::NotFound, format!("errcode {code}"))
        }
        Some(460_101) => permanent("errcode 460101", false),
        Some(code) => permanent(format!("errcode {code}"), true),
        None if status == 200 => unreadable(),
        None => http_failure(status, None),
    }
}

/// Feishu: `code` (or the older `StatusCode`); 9499 is a bad request in a 200 and a rate limit
/// in a 400.
pub fn classify_feishu(status: u16, body: &Value) -> Verdict {
    let code = errcode(body, "code").or_else(|| errcode(body, "StatusCode"));
    match code {
        Some(0) => Verdict::Sent { remote_id: None },
        Some(11232) => retry("code 11232", Some(Duration::seconds(60))),
        Some(9499) if status == 400 => retry("code 9499", Some(Duration::seconds(60))),
        Some(9499) => permanent("code 9499", true),
        Some(19021) => reconfigure(DisableCause::BadSignature, "code 19021"),
        Some(code @ (19022 | 19024)) => {
            reconfigure(DisableCause::NotAllowed, format!("code {code}"))
        }
        Some(19001) => reconfigure(DisableCause::NotFound, "code 19001"),
        Some(code) => permanent(format!("code {code}"), true),
        None if status == 200 => unreadable(),
        None => http_failure(status, None),
    }
}

/// Telegram: `ok`, else `error_code` (the HTTP status) with `parameters`.
pub fn classify_telegram(status: u16, body: &Value) -> Verdict {
    if body.get("ok").and_then(Value::as_bool) == Some(true) {
        let id = body
            .pointer("/result/message_id")
            .and_then(Value::as_i64)
            .map(|id| id.to_string());
        return Verdict::Sent { remote_id: id };
    }
    if (200..300).contains(&status) {
        // A success status whose body says otherwise does not happen; one that cannot be read
        // was cut on its way back.
        return unreadable();
    }
    let code = errcode(body, "error_code").map_or(status, |c| u16::try_from(c).unwrap_or(status));
    let parameters = body.get("parameters");
    if let Some(chat) = parameters.and_then(|p| p.get("migrate_to_chat_id")) {
        let chat_id = chat
            .as_i64()
            .map(|c| c.to_string())
            .or_else(|| chat.as_str().map(str::to_owned));
        if let Some(chat_id) = chat_id {
            return Verdict::Migrate {
                chat_id,
                code: format!("error_code {code}"),
            };
        }
    }
    match code {
        429 => {
            // Old answers carry the wait only in the description ("retry after 3").
            let after = parameters
                .and_then(|p| p.get("retry_after"))
                .and_then(Value::as_i64)
                .or_else(|| {
                    body.get("description")
                        .and_then(Value::as_str)
                        .and_then(|d| d.rsplit(' ').next())
                        .and_then(|n| n.parse().ok())
                });
            retry("error_code 429", after.map(Duration::seconds))
        }
        400 => permanent("error_code 400", true),
        401 | 404 => reconfigure(DisableCause::NotFound, format!("error_code {code}")),
        403 => reconfigure(DisableCause::Blocked, "error_code 403"),
        _ => http_failure(code, None),
    }
}

/// Parses a body that should be JSON; a cut or garbled one is `Null`.
pub fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn a_robots_http_200_with_an_error_code_is_not_a_success() {
        let refused = body(
            r#"{"errcode":93000,"errmsg":"invalid webhook url, hint: [1755605200056773468916791]"}"#,
        );
        assert!(matches!(
            classify_wecom(200, &refused),
            Verdict::Reconfigure {
                cause: DisableCause::NotFound,
                ..
            }
        ));
        assert_eq!(
            classify_wecom(200, &body(r#"{"errcode":0,"errmsg":"ok"}"#)),
            Verdict::Sent { remote_id: None }
        );
        let signature = body(r#"{"errcode":310000,"errmsg":"错误描述:关键词不匹配;"}"#);
        assert!(matches!(
            classify_dingtalk(200, &signature),
            Verdict::Reconfigure {
                cause: DisableCause::BadSignature,
                ..
            }
        ));
        let sign = body(
            r#"{"code":19021,"data":{},"msg":"sign match fail or timestamp is not within one hour from current time"}"#,
        );
        assert!(matches!(
            classify_feishu(200, &sign),
            Verdict::Reconfigure {
                cause: DisableCause::BadSignature,
                ..
            }
        ));
    }

    #[test]
    fn dingtalks_rate_limit_locks_the_robot_out_for_ten_minutes() {
        let v = classify_dingtalk(
            200,
            &body(
                r#"{"status":1111,"wait":5,"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}"#,
            ),
        );
        assert_eq!(
            v,
            Verdict::Retry {
                after: Some(Duration::minutes(10)),
                lockout: true,
                maybe_sent: false,
                code: "errcode 130101".into()
            }
        );
    }

    #[test]
    fn feishu_9499_is_a_rate_limit_in_a_400_and_a_bad_request_in_a_200() {
        assert!(matches!(
            classify_feishu(
                400,
                &body(r#"{"code":9499,"msg":"too many request","data":{}}"#)
            ),
            Verdict::Retry { .. }
        ));
        assert!(matches!(
            classify_feishu(
                200,
                &body(r#"{"code": 9499, "msg": "Bad Request", "data": {}}"#)
            ),
            Verdict::Permanent {
                plain_may_help: true,
                ..
            }
        ));
        assert_eq!(
            classify_feishu(
                200,
                &body(
                    r#"{"StatusCode":0,"StatusMessage":"success","code":0,"data":{},"msg":"success"}"#
                )
            ),
            Verdict::Sent { remote_id: None }
        );
    }

    #[test]
    fn telegram_answers_lead_to_wait_migrate_plain_text_or_disable() {
        let wait = body(
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 2282","parameters":{"retry_after":2282}}"#,
        );
        assert!(matches!(
            classify_telegram(429, &wait),
            Verdict::Retry { after: Some(a), .. } if a == Duration::seconds(2282)
        ));
        let old = body(
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3"}"#,
        );
        assert!(matches!(
            classify_telegram(429, &old),
            Verdict::Retry { after: Some(a), .. } if a == Duration::seconds(3)
        ));
        let moved = body(
            r#"{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1001557912345}}"#,
        );
        assert_eq!(
            classify_telegram(400, &moved),
            Verdict::Migrate {
                chat_id: "-1001557912345".into(),
                code: "error_code 400".into()
            }
        );
        let entities = body(
            r#"{"ok":false,"error_code":400,"description":"Bad Request: can't parse entities: Can't find end of the entity starting at byte offset 8"}"#,
        );
        assert!(matches!(
            classify_telegram(400, &entities),
            Verdict::Permanent {
                plain_may_help: true,
                ..
            }
        ));
        let blocked = body(
            r#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#,
        );
        assert!(matches!(
            classify_telegram(403, &blocked),
            Verdict::Reconfigure {
                cause: DisableCause::Blocked,
                ..
            }
        ));
        let sent = body(r#"{"ok":true,"result":{"message_id":42}}"#);
        assert_eq!(
            classify_telegram(200, &sent),
            Verdict::Sent {
                remote_id: Some("42".into())
            }
        );
        assert!(
            matches!(
                classify_telegram(200, &Value::Null),
                Verdict::Retry {
                    maybe_sent: true,
                    ..
                }
            ),
            "a cut answer may have been delivered"
        );
    }

    #[test]
    fn a_webhook_receiver_that_says_gone_disables_and_a_503_waits() {
        assert!(matches!(
            classify_webhook(410, None),
            Verdict::Reconfigure {
                cause: DisableCause::Gone,
                ..
            }
        ));
        assert!(matches!(
            classify_webhook(503, Some(Duration::seconds(30))),
            Verdict::Retry { after: Some(a), .. } if a == Duration::seconds(30)
        ));
        assert!(matches!(classify_webhook(204, None), Verdict::Sent { .. }));
    }

    #[test]
    fn carrier_text_cannot_inject_markup_or_mentions() {
        let r = Rendered {
            title: "<b>hi</b> & *bold*".into(),
            lines: vec!["[click](http://evil) <@all>".into()],
        };
        let telegram = pieces(ChannelKind::Telegram, &r, false);
        assert_eq!(
            telegram[0].text,
            "<b>&lt;b&gt;hi&lt;/b&gt; &amp; *bold*</b>\n[click](http://evil) &lt;@all&gt;"
        );
        let wecom = pieces(ChannelKind::Wecom, &r, false);
        assert_eq!(
            wecom[0].text,
            "**＜b＞hi＜/b＞ & ＊bold＊**\n［click］(http://evil) ＜@all＞"
        );
        let plain = pieces(ChannelKind::Telegram, &r, true);
        assert!(!plain[0].markup);
        assert_eq!(plain[0].text, r.plain());
    }

    #[test]
    fn long_messages_are_cut_the_way_each_service_counts() {
        let r = Rendered {
            title: "摘要".into(),
            lines: (0..1000).map(|i| format!("第{i}条：包裹无更新")).collect(),
        };
        for kind in [
            ChannelKind::Wecom,
            ChannelKind::Dingtalk,
            ChannelKind::Telegram,
            ChannelKind::OzonChat,
        ] {
            let parts = pieces(kind, &r, false);
            let (limit, measure) = kind.max_text(parts[0].markup).unwrap();
            assert!(parts.len() > 1, "{kind}");
            for p in &parts {
                assert!(measure.of(&p.text) <= limit, "{kind}");
            }
        }
    }
}
