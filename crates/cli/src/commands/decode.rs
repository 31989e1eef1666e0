//! `ozontrack decode --kind K FILE`: what ozontrack makes of a raw body — the postings, legs
//! and status event a sync would store, what a push asks for, or the events a carrier payload
//! holds — as JSON; `--kind tracking-number N` shows how a number is detected. A support
//! tool: no database, no network.

use std::io::{Read, Write};

use chrono::{DateTime, Utc};
use ozontrack_carriers::Tracked;
use ozontrack_domain::{
    StoreId, SyncedPosting, SystemClock, TrackingFormat, TrackingNumber, carrier,
};
use ozontrack_http::lenient::Notes;
use ozontrack_ozon::normalize::{self, Normalized};
use ozontrack_ozon::push::{self, PushAction};
use ozontrack_ozon::wire::{self, Envelope, FboPosting, FbsPosting, Page, Readable};
use serde_json::{Value, json};

use crate::cli::{DecodeArgs, DecodeKind};
use crate::errors::InputError;
use crate::output;

fn read_input(args: &DecodeArgs) -> Result<(String, Vec<u8>), InputError> {
    let name = args.input.display().to_string();
    let read = if name == "-" {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes).map(|_| bytes)
    } else {
        std::fs::read(&args.input)
    };
    let bytes = read.map_err(|e| InputError::new(format!("cannot read {name}: {e}")))?;
    Ok((name, bytes))
}

/// Reads `bytes` as `T` under the decoding policy, or says where and what is wrong; what had to
/// be tolerated is added to `notes`.
fn parse<T: Readable>(
    name: &str,
    bytes: &[u8],
    what: &str,
    notes: &mut Notes,
) -> Result<T, InputError> {
    let decoded = wire::decode::<T>(bytes).map_err(|e| {
        InputError::new(match e {
            wire::DecodeError::Json(j) => format!(
                "{name}, line {}, column {}: not {what}: {}",
                j.line, j.column, j.reason
            ),
            wire::DecodeError::Refused(r) => format!("{name}: not {what}: {r}"),
        })
    })?;
    notes.extend(decoded.notes);
    Ok(decoded.value)
}

pub(crate) fn decode(args: &DecodeArgs, out: &mut impl Write) -> anyhow::Result<()> {
    if args.kind == DecodeKind::TrackingNumber {
        return tracking_number(&args.input.display().to_string(), out);
    }
    let (name, bytes) = read_input(args)?;
    if let Some((tracked, notes)) = carrier_payload(args.kind, &name, &bytes)? {
        let mut json = tracked_json(&tracked);
        json["warnings"] = json!(notes.lines());
        output::print_json(out, &json)?;
        return Ok(());
    }
    let mut notes = Notes::default();
    // Decoding shows what a sync would do now; the time only places the status event.
    let now = ozontrack_domain::Clock::now(&SystemClock);
    let store = StoreId(0);
    let normalized: Vec<Result<Normalized, normalize::NormalizeError>> = match args.kind {
        DecodeKind::SeventeenTrackTrackinfo
        | DecodeKind::SeventeenTrackPush
        | DecodeKind::CdekOrder
        | DecodeKind::RussianpostHistory
        | DecodeKind::TrackingNumber => unreachable!("handled above"),
        DecodeKind::OzonFbsGet => {
            let e: Envelope<FbsPosting> =
                parse(&name, &bytes, "a /v3/posting/fbs/get answer", &mut notes)?;
            e.result.iter().map(|p| normalize::fbs(store, p)).collect()
        }
        DecodeKind::OzonFbsList => {
            let page: Page<FbsPosting> =
                parse(&name, &bytes, "a /v4/posting/fbs/list answer", &mut notes)?;
            page.postings
                .iter()
                .map(|p| normalize::fbs(store, p))
                .collect()
        }
        DecodeKind::OzonFboList => {
            let page: Page<FboPosting> =
                parse(&name, &bytes, "a /v3/posting/fbo/list answer", &mut notes)?;
            page.postings
                .iter()
                .map(|p| normalize::fbo(store, p))
                .collect()
        }
        DecodeKind::OzonFboGet => {
            let e: Envelope<FboPosting> =
                parse(&name, &bytes, "a /v2/posting/fbo/get answer", &mut notes)?;
            e.result.iter().map(|p| normalize::fbo(store, p)).collect()
        }
        DecodeKind::OzonPush => {
            let (message, notes) = push::parse_noted(&bytes).map_err(|e| {
                // serde_json locates syntax errors; say where when it can.
                let at = serde_json::from_slice::<Value>(&bytes)
                    .err()
                    .map_or_else(String::new, |j| {
                        format!(", line {}, column {}", j.line(), j.column())
                    });
                InputError::new(format!("{name}{at}: not an Ozon push: {e}"))
            })?;
            let (posting, fbo) = match &message.action {
                PushAction::Refetch {
                    posting_number,
                    fbo,
                } => (Some(posting_number.as_str()), *fbo),
                PushAction::Ping | PushAction::Ignore => (None, false),
            };
            let action = match message.action {
                PushAction::Ping => "ping",
                PushAction::Refetch { .. } => "refetch",
                PushAction::Ignore => "ignore",
            };
            output::print_json(
                out,
                &json!({
                    "message_type": message.message_type,
                    "action": action,
                    "posting_number": posting,
                    "fbo": fbo,
                    "new_state": message.new_state,
                    "changed_at": message.changed_at.map(output::time),
                    "dedupe_key": message.dedupe_key(),
                    "warnings": notes.lines(),
                }),
            )?;
            return Ok(());
        }
    };
    // A posting whose number is not one is left out, as a sync leaves it out.
    let mut postings = Vec::new();
    let mut warnings = notes.lines();
    for n in normalized {
        match n {
            Ok(n) => postings.push(posting_json(n, now)),
            Err(e) => warnings.push(format!("left out: {e}")),
        }
    }
    output::print_json(out, &json!({"postings": postings, "warnings": warnings}))?;
    Ok(())
}

fn posting_json(n: Normalized, now: DateTime<Utc>) -> Value {
    let warnings = n.warnings;
    let synced = SyncedPosting::new(n.posting, n.provider_status, now);
    let p = &synced.posting;
    let method = p.delivery_method.as_ref();
    let leg = |l: &ozontrack_domain::Leg| json!({"carrier": l.carrier.as_str(), "tracking_number": l.tracking_number.as_str(), "role": l.role.as_str()});
    let event = synced.status_event(None).map(|e| {
        json!({"source": e.source.as_str(), "status": e.status.main.as_str(), "sub_status": e.status.sub.code(),
               "raw_code": e.raw_code, "raw_text": e.raw_text})
    });
    json!({
        "posting_number": p.number.as_str(),
        "order_number": p.number.order_number().as_str(),
        "order_id": p.order_id,
        "scheme": p.scheme.as_str(),
        "status": p.status.as_str(),
        "status_known": p.status.is_known(),
        "substatus": p.substatus.as_str(),
        "substatus_known": p.substatus.is_known(),
        "tracking_number": p.tracking_number.as_ref().map(ozontrack_domain::TrackingNumber::as_str),
        "delivery_method": method.map(|m| json!({
            "id": m.id, "name": m.name, "tpl_provider_id": m.tpl_provider_id,
            "tpl_provider": m.tpl_provider, "carrier": carrier::from_delivery_method(m).map(|c| c.code),
            "warehouse_id": m.warehouse_id, "warehouse": m.warehouse,
        })),
        "in_process_at": p.in_process_at.map(output::time),
        "ship_by": p.ship_by.map(output::time),
        "delivering_at": p.delivering_at.map(output::time),
        "delivered_at": p.delivered_at.map(output::time),
        "buyer_city": p.buyer_city,
        "buyer_region": p.buyer_region,
        "buyer_point": p.buyer_point.map(|g| json!([g.lat(), g.lon()])),
        "total": p.total.map(|m| json!({"minor": m.minor, "currency": m.currency.code()})),
        "legs": std::iter::once(&synced.ozon_leg).chain(synced.carrier_leg.as_ref()).map(leg).collect::<Vec<_>>(),
        "status_event": event,
        "warnings": warnings,
    })
}

/// A carrier payload read into what ozontrack would store, with what had to be tolerated;
/// `None` for Ozon kinds.
fn carrier_payload(
    kind: DecodeKind,
    name: &str,
    bytes: &[u8],
) -> Result<Option<(Tracked, Notes)>, InputError> {
    use ozontrack_carriers::{cdek, russian_post, seventeen_track};
    let located = |e: &dyn std::fmt::Display| InputError::new(format!("{name}: {e}"));
    Ok(Some(match kind {
        DecodeKind::SeventeenTrackTrackinfo => {
            let (mut tracked, rejected, notes) =
                seventeen_track::parse_track_info_noted(bytes).map_err(|e| located(&e))?;
            if tracked.len() != 1 {
                let numbers: Vec<&str> = tracked.iter().map(|t| t.number.as_str()).collect();
                let refused: Vec<&str> = rejected.iter().map(|r| r.number.as_str()).collect();
                return Err(located(&format!(
                    "data.accepted holds {} numbers ({}; refused: {}): give one number's answer",
                    tracked.len(),
                    numbers.join(", "),
                    refused.join(", ")
                )));
            }
            (tracked.remove(0), notes)
        }
        DecodeKind::SeventeenTrackPush => {
            let (push, notes) =
                seventeen_track::parse_push_noted(bytes).map_err(|e| located(&e))?;
            (push.tracked, notes)
        }
        DecodeKind::CdekOrder => cdek::parse_order_noted("", bytes).map_err(|e| located(&e))?,
        DecodeKind::RussianpostHistory => {
            russian_post::parse_history_noted("", bytes).map_err(|e| located(&e))?
        }
        _ => return Ok(None),
    }))
}

fn tracked_json(t: &Tracked) -> Value {
    let events: Vec<Value> = t
        .events
        .iter()
        .map(|e| {
            json!({
                "occurred_at": output::time(e.occurred_at),
                "status": e.status.main.as_str(),
                "sub_status": e.status.sub.code(),
                "raw_code": e.raw_code,
                "raw_text": e.raw_text,
                "location": {
                    "text": e.location.text, "city": e.location.city, "country": e.location.country,
                    "lat": e.location.point.map(ozontrack_domain::GeoPoint::lat), "lon": e.location.point.map(ozontrack_domain::GeoPoint::lon),
                },
                "source": e.source.as_str(),
                "fingerprint": e.fingerprint.as_str(),
            })
        })
        .collect();
    json!({
        "number": t.number,
        "carrier": t.carrier.map(|c| c.code),
        "not_found": t.not_found,
        "stale_carriers": t.stale_carriers,
        "hand_over": t.hand_over.as_ref().map(|h| json!({
            "number": h.number, "carrier": h.carrier.map(|c| c.code), "provider_name": h.provider_name,
        })),
        "events": events,
    })
}

/// `--kind tracking-number NUMBER`: the format, the check-digit verdict and the carrier
/// candidates, in the order detection tries them.
fn tracking_number(text: &str, out: &mut impl Write) -> anyhow::Result<()> {
    let number = TrackingNumber::parse(text).map_err(|e| InputError::new(e.to_string()))?;
    let (format, check_digit) = match number.format() {
        TrackingFormat::S10 { service, country } => (
            json!({"kind": "s10", "service": service, "country": country}),
            "valid",
        ),
        TrackingFormat::RussianPostDomestic => (json!({"kind": "russian_post_domestic"}), "valid"),
        TrackingFormat::Other => (json!({"kind": "other"}), "none"),
    };
    let problem = carrier::check_plausible(None, &number).err();
    let warning = carrier::plausibility_warning(&number);
    let check_digit = if problem.is_some() || warning.is_some() {
        "invalid"
    } else {
        check_digit
    };
    let mut candidates: Vec<Value> = carrier::from_number(&number)
        .map(|c| json!({"carrier": c.code, "name": c.name_en, "by": "number format"}))
        .into_iter()
        .collect();
    candidates.push(json!({"carrier": null, "by": "17TRACK auto-detection when registered"}));
    output::print_json(
        out,
        &json!({
            "number": number.as_str(),
            "format": format,
            "check_digit": check_digit,
            "problem": problem,
            "warning": warning,
            "candidates": candidates,
        }),
    )?;
    Ok(())
}
