//! The Russian Post tracking fake: SOAP 1.2 `getOperationHistory` at `/rtm34`, answering with
//! `historyRecord`s whose `OperType`/`OperAttr` codes follow the official dictionary
//! (`parcel-tracking.md` §4.1), and SOAP faults for bad credentials and outages.
//!
//! It tracks Russian Post's own 14-digit numbers (rFBS last mile) and S10 numbers of direct
//! mail, for which it also shows the international part Russian Post learns through UPU.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, SecondsFormat, Utc};
use quick_xml::Reader;
use quick_xml::events::Event;

use super::{SimState, Window};
use crate::carriers::Carrier;
use crate::world::{CarrierEvent, EventKind, Mode, Parcel};

/// The routes: `POST /rtm34`.
pub fn router(sim: Arc<SimState>) -> Router {
    Router::new()
        .route("/rtm34", post(operation_history))
        .with_state(sim)
}

/// (OperType id, name, OperAttr id, name) for what happened.
pub(crate) fn operation(kind: EventKind) -> Option<(u32, &'static str, u32, &'static str)> {
    Some(match kind {
        EventKind::Registered => return None,
        EventKind::PickedUp => (1, "Приём", 1, "Единичный"),
        EventKind::ArrivedHub => (8, "Обработка", 0, "Сортировка"),
        EventKind::DepartedHub => (8, "Обработка", 1, "Покинуло место приёма"),
        EventKind::ExportCustoms => (10, "Экспорт международной почты", 0, ""),
        EventKind::DepartedOrigin => (8, "Обработка", 6, "Покинуло место международного обмена"),
        EventKind::ArrivedDestination => (9, "Импорт международной почты", 0, ""),
        EventKind::CustomsProcessing => (11, "Приём на таможню", 0, ""),
        EventKind::CustomsHeld => (14, "Таможенное оформление", 8, "Выпуск приостановлен"),
        EventKind::CustomsReleased => (14, "Таможенное оформление", 1, "Выпущено таможней"),
        EventKind::HandedToLastMile => (8, "Обработка", 13, "Прибыло в Россию"),
        EventKind::ArrivedSortCenter => (8, "Обработка", 3, "Прибыло в сортировочный центр"),
        EventKind::DepartedSortCenter => (8, "Обработка", 4, "Покинуло сортировочный центр"),
        EventKind::AtPickupPoint => (8, "Обработка", 2, "Прибыло в место вручения"),
        EventKind::OutForDelivery => (8, "Обработка", 18, "Передано почтальону"),
        EventKind::Delivered => (2, "Вручение", 1, "Вручение адресату"),
        EventKind::DeliveryFailed => (
            12,
            "Неудачная попытка вручения",
            1,
            "Временное отсутствие адресата",
        ),
        EventKind::Returning => (3, "Возврат", 4, "Отказ адресата"),
        EventKind::Returned => (2, "Вручение", 2, "Вручение отправителю"),
        EventKind::Lost => (5, "Невручение", 1, "Утрачено"),
    })
}

/// The events Russian Post shows for a number at `now`, each with its parcel.
fn history<'a>(
    window: &'a Window,
    barcode: &str,
    now: DateTime<Utc>,
) -> Vec<(&'a Parcel, &'a CarrierEvent)> {
    let mut events: Vec<(&Parcel, &CarrierEvent)> = Vec::new();
    for (parcel, leg) in window.legs_of(barcode) {
        let ours = leg.carrier == Carrier::RussianPost;
        let direct_mail_abroad =
            parcel.mode == Mode::DirectMail && leg.carrier == Carrier::ChinaPost;
        if ours || direct_mail_abroad {
            events.extend(
                leg.events
                    .iter()
                    .filter(|e| e.visible_at <= now && operation(e.kind).is_some())
                    .map(|e| (parcel, e)),
            );
        }
    }
    events.sort_by_key(|(_, e)| e.at);
    events
}

/// The text of the first element named `local` (any namespace prefix), entities resolved.
fn element_text(xml: &[u8], local: &str) -> Option<String> {
    let mut reader = Reader::from_reader(xml);
    let mut text: Option<String> = None;
    let mut buf = Vec::new();
    loop {
        match (reader.read_event_into(&mut buf), text.as_mut()) {
            (Ok(Event::Start(e)), None) if e.local_name().as_ref() == local => {
                text = Some(String::new());
            }
            (Ok(Event::Text(t)), Some(text)) => text.push_str(t.as_ref()),
            (Ok(Event::GeneralRef(r)), Some(text)) => text.push_str(match r.as_ref() {
                "amp" => "&",
                "lt" => "<",
                "gt" => ">",
                "quot" => "\"",
                "apos" => "'",
                _ => "",
            }),
            (Ok(Event::End(e)), Some(_)) if e.local_name().as_ref() == local => {
                return text.map(|t| t.trim().to_owned());
            }
            (Ok(Event::Eof) | Err(_), _) => return None,
            _ => {}
        }
        buf.clear();
    }
}

const SOAP_NS: &str = "http://www.w3.org/2003/05/soap-envelope";

fn soap(status: StatusCode, body: &str) -> Response {
    let envelope = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><S:Envelope xmlns:S=\"{SOAP_NS}\"><S:Body>{body}</S:Body></S:Envelope>"
    );
    (
        status,
        [(header::CONTENT_TYPE, "application/soap+xml; charset=utf-8")],
        envelope,
    )
        .into_response()
}

fn fault(status: StatusCode, detail_element: &str, text: &str) -> Response {
    soap(
        status,
        &format!(
            "<S:Fault><S:Code><S:Value>S:Receiver</S:Value></S:Code><S:Reason><S:Text xml:lang=\"ru\">{text}</S:Text></S:Reason>\
             <S:Detail><ns3:{detail_element} xmlns:ns3=\"http://russianpost.org/operationhistory/data\">{text}</ns3:{detail_element}></S:Detail></S:Fault>"
        ),
    )
}

/// How Russian Post names the office: the city's post office at home, the city abroad.
fn place(city: &ozontrack_domain::gazetteer::City) -> String {
    if city.country == "RU" {
        format!("{} ПОЧТАМТ", city.name_ru)
    } else {
        city.name_ru.to_owned()
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Russian Post writes operation times in the office's local zone, with milliseconds.
fn local_time(t: DateTime<Utc>, city: &ozontrack_domain::gazetteer::City) -> String {
    t.with_timezone(&city.utc_offset())
        .to_rfc3339_opts(SecondsFormat::Millis, false)
}

async fn operation_history(State(sim): State<Arc<SimState>>, body: Bytes) -> Response {
    let login = element_text(&body, "login");
    let password = element_text(&body, "password");
    let credentials = &sim.world.credentials;
    if login.as_deref() != Some(credentials.russian_post_login.as_str())
        || password.as_deref() != Some(credentials.russian_post_password.as_str())
    {
        return fault(
            StatusCode::INTERNAL_SERVER_ERROR,
            "AuthorizationFaultReason",
            "Ошибка авторизации",
        );
    }
    let Some(barcode) = element_text(&body, "Barcode").filter(|b| !b.is_empty()) else {
        return fault(
            StatusCode::INTERNAL_SERVER_ERROR,
            "OperationHistoryFaultReason",
            "Неверный формат ШПИ",
        );
    };
    let barcode = barcode.to_ascii_uppercase();
    let valid = barcode.len() == 14 && barcode.bytes().all(|b| b.is_ascii_digit())
        || barcode.len() == 13 && barcode.is_ascii();
    if !valid {
        return fault(
            StatusCode::INTERNAL_SERVER_ERROR,
            "OperationHistoryFaultReason",
            "Неверный формат ШПИ",
        );
    }
    let now = sim.now();
    let window = sim.window();
    if window.is_down(Carrier::RussianPost, now) {
        return fault(
            StatusCode::SERVICE_UNAVAILABLE,
            "OperationHistoryFaultReason",
            "Сервис временно недоступен",
        );
    }
    let mut records = String::new();
    for (parcel, e) in history(&window, &barcode, now) {
        let Some((oper_type, type_name, mut attr, mut attr_name)) = operation(e.kind) else {
            continue;
        };
        // A delivery says how it was handed over and to whom, as the real service does.
        let mut user = String::new();
        if e.kind == EventKind::Delivered {
            (attr, attr_name) = parcel.russian_post_handover();
            user = format!(
                "<ns3:UserParameters><ns3:SendCtg><ns3:Id>1</ns3:Id></ns3:SendCtg>\
                 <ns3:Sndr>OZON GLOBAL</ns3:Sndr><ns3:Rcpn>{}</ns3:Rcpn></ns3:UserParameters>",
                escape(parcel.recipient())
            );
        }
        let country_id = if e.city.country == "CN" { 156 } else { 643 };
        // Writing to a String cannot fail.
        let _ = write!(
            records,
            "<ns3:historyRecord><ns3:AddressParameters><ns3:OperationAddress><ns3:Index>{index}</ns3:Index>\
             <ns3:Description>{place}</ns3:Description></ns3:OperationAddress>\
             <ns3:CountryOper><ns3:Id>{country_id}</ns3:Id><ns3:Code2A>{cc}</ns3:Code2A></ns3:CountryOper></ns3:AddressParameters>\
             <ns3:ItemParameters><ns3:Barcode>{barcode}</ns3:Barcode><ns3:Mass>450</ns3:Mass></ns3:ItemParameters>\
             <ns3:OperationParameters><ns3:OperType><ns3:Id>{oper_type}</ns3:Id><ns3:Name>{type_name}</ns3:Name></ns3:OperType>\
             <ns3:OperAttr><ns3:Id>{attr}</ns3:Id><ns3:Name>{attr_name}</ns3:Name></ns3:OperAttr>\
             <ns3:OperDate>{date}</ns3:OperDate></ns3:OperationParameters>{user}</ns3:historyRecord>",
            index = if e.city.country == "RU" { "101000" } else { "" },
            place = escape(&place(e.city)),
            cc = e.city.country,
            date = local_time(e.at, e.city),
        );
    }
    soap(
        StatusCode::OK,
        &format!(
            "<ns7:getOperationHistoryResponse xmlns:ns3=\"http://russianpost.org/operationhistory/data\" \
             xmlns:ns7=\"http://russianpost.org/operationhistory\"><ns3:OperationHistoryData>{records}</ns3:OperationHistoryData>\
             </ns7:getOperationHistoryResponse>"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_text_ignores_namespace_prefixes() {
        let xml = br#"<soap:Envelope xmlns:soap="x"><soap:Body><data:Barcode>RA644000001RU</data:Barcode></soap:Body></soap:Envelope>"#;
        assert_eq!(
            element_text(xml, "Barcode").as_deref(),
            Some("RA644000001RU")
        );
        assert_eq!(element_text(xml, "login"), None);
        let escaped = br#"<a:password>p&amp;ss&lt;1</a:password>"#;
        assert_eq!(element_text(escaped, "password").as_deref(), Some("p&ss<1"));
    }
}
