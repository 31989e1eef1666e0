//! Russian Post tracking: SOAP 1.2 `getOperationHistory` at `/rtm34` (`parcel-tracking.md`
//! §4.1). Each `historyRecord` is an operation type and attribute (`OperType.Id`,
//! `OperAttr.Id`), crosswalked by [`status_of`]; a pair the table does not know keeps its raw
//! `type.attr` code under the closest main status.

use ozontrack_domain::{EventSource, MainStatus, NormalizedStatus, SubStatus, TrackingEvent};
use ozontrack_http::lenient::{self, Degraded, Notes, Refused};
use quick_xml::Reader;
use quick_xml::events::Event;
use secrecy::{ExposeSecret, SecretString};

use crate::{CarrierError, DecodeError, Tracked, locate, transport};

const FEED: &str = "russian_post";
const KIND: &str = "russianpost-history";

/// Where an operation puts the parcel: the crosswalk from Russian Post's dictionary.
pub fn status_of(oper_type: u32, attr: u32) -> NormalizedStatus {
    use MainStatus as M;
    use SubStatus as S;
    let n = NormalizedStatus::new;
    let raw = || format!("{oper_type}.{attr}");
    match (oper_type, attr) {
        (1, _) => n(M::InTransit, S::PickedUp),
        (2, 2) => n(M::Exception, S::Returned),
        (2, _) | (21, _) => n(M::Delivered, S::Delivered),
        (3, _) => n(M::Exception, S::Returning),
        (4, _) => n(M::InTransit, S::InTransit),
        (5, 1) | (18, _) => n(M::Exception, S::Lost),
        (5, 8) => n(M::Exception, S::CustomsHeld),
        (5, _) => NormalizedStatus::unknown(M::Exception, raw()),
        (6, _) | (8, 2 | 9) => n(M::AvailableForPickup, S::AtPickupPoint),
        (7, _) | (15, _) => n(M::Exception, S::Delayed),
        (8, 0 | 1 | 3 | 4) => n(M::InTransit, S::Sorting),
        (8, 5 | 13) | (9, _) => n(M::InTransit, S::ArrivedDestination),
        (8, 6) => n(M::InTransit, S::DepartedOrigin),
        (8, 7 | 8) => n(M::InTransit, S::InTransit),
        (8, 15 | 18) => n(M::OutForDelivery, S::WithCourier),
        (8, _) => NormalizedStatus::unknown(M::InTransit, raw()),
        (10 | 11 | 19, _) => n(M::InTransit, S::CustomsProcessing),
        (12, 3..=5) => n(M::DeliveryFailed, S::AddressProblem),
        (12, 6) => n(M::DeliveryFailed, S::Refused),
        (12, 1 | 10) | (22, _) => n(M::DeliveryFailed, S::RecipientUnavailable),
        (12, _) => NormalizedStatus::unknown(M::DeliveryFailed, raw()),
        (13, _) => n(M::InfoReceived, S::Registered),
        (14, 1 | 13) => n(M::InTransit, S::CustomsReleased),
        (14, 2) => n(M::Exception, S::Returning),
        (14, 4 | 6 | 7 | 8 | 14) => n(M::Exception, S::CustomsHeld),
        (14, _) => NormalizedStatus::unknown(M::InTransit, raw()),
        (16 | 17, _) => n(M::Exception, S::Destroyed),
        _ => NormalizedStatus::unknown(M::InTransit, raw()),
    }
}

/// The fields of one `historyRecord` we read.
#[derive(Debug, Default)]
struct Record {
    description: String,
    country: String,
    oper_type: String,
    oper_type_name: String,
    attr: String,
    attr_name: String,
    date: String,
    /// The recipient's name as the post recorded it (`UserParameters.Rcpn`).
    recipient: String,
    /// Where the record starts in the payload, for errors.
    position: u64,
}

impl Record {
    /// The field a text at `path` (local names, innermost last) belongs to.
    fn field(&mut self, path: &[String]) -> Option<&mut String> {
        let last = path.last()?.as_str();
        let parent = path.len().checked_sub(2).map(|i| path[i].as_str());
        Some(match (parent, last) {
            (Some("OperationAddress"), "Description") => &mut self.description,
            (Some("CountryOper"), "Code2A") => &mut self.country,
            (Some("OperType"), "Id") => &mut self.oper_type,
            (Some("OperType"), "Name") => &mut self.oper_type_name,
            (Some("OperAttr"), "Id") => &mut self.attr,
            (Some("OperAttr"), "Name") => &mut self.attr_name,
            (_, "OperDate") => &mut self.date,
            (Some("UserParameters"), "Rcpn") => &mut self.recipient,
            _ => return None,
        })
    }

    /// The record's event; refused without a readable `OperDate`. An operation code that is
    /// not a number is kept raw under an unknown status (and noted).
    fn event(&self, index: usize, notes: &mut Notes) -> Result<TrackingEvent, Refused> {
        let at = format!("historyRecord[{index}] (byte {})", self.position);
        let occurred_at = lenient::parse_time(&self.date).ok_or_else(|| Refused {
            item: at.clone(),
            reason: format!(
                "OperDate {:?} is not a time with an offset",
                self.date.trim()
            ),
        })?;
        let mut number = |field: &str, text: &str| -> Option<u32> {
            let text = text.trim();
            if text.is_empty() {
                // An operation without an attribute is attribute 0 in the dictionary.
                return Some(0);
            }
            let read = text.parse().ok();
            if read.is_none() {
                notes.degraded.push(Degraded {
                    field: format!("{at}.{field}"),
                    expected: "a number",
                    raw: format!("{text:?}"),
                });
            }
            read
        };
        let oper_type = number("OperType.Id", &self.oper_type);
        let attr = number("OperAttr.Id", &self.attr);
        let (status, raw_code) = match (oper_type, attr) {
            (Some(t), Some(a)) => (status_of(t, a), format!("{t}.{a}")),
            _ => {
                let raw = format!("{}.{}", self.oper_type.trim(), self.attr.trim());
                (
                    NormalizedStatus::unknown(MainStatus::InTransit, raw.clone()),
                    raw,
                )
            }
        };
        let text = match (self.oper_type_name.trim(), self.attr_name.trim()) {
            (t, "") => t.to_owned(),
            (t, a) => format!("{t} / {a}"),
        };
        let country = Some(self.country.trim()).filter(|c| !c.is_empty());
        // A delivery (operation 2, but not attribute 2: a return to the sender) says how it was
        // handed over and, in `Rcpn`, to whom.
        let delivered = oper_type == Some(2) && attr != Some(2);
        let handover = attr
            .filter(|_| delivered)
            .and_then(ozontrack_domain::Handover::of_russian_post);
        let recipient = Some(self.recipient.trim().to_owned()).filter(|_| delivered);
        Ok(TrackingEvent::new(
            EventSource::RussianPost,
            occurred_at,
            status,
            raw_code,
            text,
            locate(Some(&self.description), None, country, None),
        )
        .with_handover(handover, recipient))
    }
}

/// A SOAP fault: which detail element, and its text.
#[derive(Debug, Default)]
struct Fault {
    detail: String,
    text: String,
}

/// Reads a `getOperationHistory` answer for `barcode`. A SOAP fault is returned as the error
/// it stands for; a record without a readable date is left out and counted.
pub fn parse_history(barcode: &str, body: &[u8]) -> Result<Tracked, CarrierError> {
    let (tracked, notes) = parse_history_noted(barcode, body)?;
    notes.count("russian_post");
    Ok(tracked)
}

/// [`parse_history`] with what had to be tolerated (for `ozontrack decode`).
pub fn parse_history_noted(barcode: &str, body: &[u8]) -> Result<(Tracked, Notes), CarrierError> {
    let mut notes = Notes::default();
    let mut records = 0usize;
    let mut reader = Reader::from_reader(body);
    let mut buf = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut record: Option<Record> = None;
    let mut fault: Option<Fault> = None;
    let mut out = Tracked::empty(barcode);
    let mut saw_body = false;
    loop {
        let position = reader.buffer_position();
        let event = reader.read_event_into(&mut buf).map_err(|e| DecodeError {
            kind: KIND,
            path: format!("byte {position}"),
            reason: e.to_string(),
        })?;
        match event {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_owned();
                match name.as_str() {
                    "historyRecord" => {
                        record = Some(Record {
                            position,
                            ..Record::default()
                        });
                    }
                    "Fault" => fault = Some(Fault::default()),
                    "Body" => saw_body = true,
                    _ => {}
                }
                if let Some(f) = fault.as_mut()
                    && path.last().is_some_and(|p| p == "Detail")
                {
                    f.detail.clone_from(&name);
                }
                path.push(name);
            }
            Event::End(e) => {
                let name = e.local_name();
                if name.as_ref() == "historyRecord"
                    && let Some(r) = record.take()
                {
                    match r.event(records, &mut notes) {
                        Ok(event) => out.events.push(event),
                        Err(refused) => notes.refused.push(refused),
                    }
                    records += 1;
                }
                path.pop();
            }
            Event::Text(t) => {
                let text: &str = t.as_ref();
                if let Some(field) = record.as_mut().and_then(|r| r.field(&path)) {
                    field.push_str(text);
                } else if let Some(f) = fault.as_mut()
                    && path.last().is_some_and(|p| p == "Text")
                {
                    f.text.push_str(text);
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.as_ref() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    _ => "",
                };
                if let Some(field) = record.as_mut().and_then(|rec| rec.field(&path)) {
                    field.push_str(resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if let Some(f) = fault {
        return Err(match f.detail.as_str() {
            "AuthorizationFaultReason" => CarrierError::Auth {
                feed: FEED,
                message: f.text,
            },
            detail => CarrierError::Rejected {
                feed: FEED,
                code: detail.to_owned(),
                message: f.text,
            },
        });
    }
    if !saw_body {
        return Err(DecodeError {
            kind: KIND,
            path: "Envelope".into(),
            reason: "no SOAP Body".into(),
        }
        .into());
    }
    out.sort_events();
    out.not_found = out.events.is_empty();
    out.carrier = ozontrack_domain::carrier::by_code("russian_post");
    Ok((crate::with_digest(out, &crate::payload_digest(body)), notes))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The SOAP request for one barcode.
pub fn request(barcode: &str, login: &str, password: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\" \
         xmlns:oper=\"http://russianpost.org/operationhistory\" \
         xmlns:data=\"http://russianpost.org/operationhistory/data\">\
         <soap:Header><data:AuthorizationHeader soap:mustUnderstand=\"1\">\
         <data:login>{login}</data:login><data:password>{password}</data:password>\
         </data:AuthorizationHeader></soap:Header>\
         <soap:Body><oper:getOperationHistory><data:OperationHistoryRequest>\
         <data:Barcode>{barcode}</data:Barcode><data:MessageType>0</data:MessageType>\
         <data:Language>RUS</data:Language></data:OperationHistoryRequest>\
         </oper:getOperationHistory></soap:Body></soap:Envelope>",
        login = escape(login),
        password = escape(password),
        barcode = escape(barcode),
    )
}

/// One Russian Post tracking account.
#[derive(Debug, Clone)]
pub struct RussianPostClient {
    http: reqwest::Client,
    base_url: String,
    login: String,
    password: SecretString,
}

impl RussianPostClient {
    /// `base_url` without `/rtm34` (e.g. `https://tracking.russianpost.ru`).
    pub fn new(http: reqwest::Client, base_url: &str, login: &str, password: SecretString) -> Self {
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            login: login.to_owned(),
            password,
        }
    }

    /// The operation history of one barcode.
    pub async fn history(&self, barcode: &str) -> Result<Tracked, CarrierError> {
        let body = request(barcode, &self.login, self.password.expose_secret());
        let response = self
            .http
            .post(format!("{}/rtm34", self.base_url))
            .header("content-type", "application/soap+xml; charset=utf-8")
            .body(body)
            .send()
            .await
            .map_err(|e| transport(FEED, &e))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| transport(FEED, &e))?;
        match status {
            429 => Err(CarrierError::RateLimited {
                feed: FEED,
                retry_after: None,
            }),
            502..=504 => Err(CarrierError::Unavailable {
                feed: FEED,
                reason: format!("HTTP {status}"),
            }),
            // Faults come as 500 with a SOAP body the parser reads.
            _ => parse_history(barcode, &bytes),
        }
    }
}
