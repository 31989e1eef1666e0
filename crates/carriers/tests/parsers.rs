//! The carrier parsers on hand-written payloads: codes no table knows are kept (raw code and
//! text on the event, never an error), unreadable items are left out with their place, bodies that are not JSON or XML are located errors, and no input
//! whatsoever makes a parser panic.
#![allow(clippy::unwrap_used)]

use ozontrack_carriers::{CarrierError, cdek, russian_post, seventeen_track};
use ozontrack_domain::{MainStatus, SubStatus};
use proptest::prelude::*;

const TRACKINFO: &str = r#"{"code":0,"data":{"accepted":[{"number":"UG123456789YP","carrier":190012,
 "track_info":{"latest_status":{"status":"InTransit","sub_status":"InTransit_Other"},
  "misc_info":{"local_number":"10204512345678","local_provider":"Почта России","local_key":18031},
  "tracking":{"providers":[{"provider":{"key":190012,"name":"Yanwen"},"latest_sync_status":"Failure",
   "events":[
    {"time_utc":"2026-11-03T10:00:00Z","description":"Teleported","location":"MOSCOW, RU","sub_status":"InTransit_Teleported"},
    {"time_iso":"2026-11-02T12:00:00+08:00","description":"Picked up","location":"SHENZHEN, CN","sub_status":"InTransit_PickedUp"}
   ]}]}}}],"rejected":[{"number":"BAD1","error":{"code":-18019902,"message":"not registered"}}]}}"#;

#[test]
fn a_17track_answer_keeps_unknown_sub_statuses_and_finds_the_hand_over() {
    let (tracked, rejected) = seventeen_track::parse_track_info(TRACKINFO.as_bytes()).unwrap();
    assert_eq!(rejected[0].code, seventeen_track::codes::NOT_REGISTERED);
    let t = &tracked[0];
    assert_eq!(t.carrier.unwrap().code, "yanwen");
    assert_eq!(t.events.len(), 2);
    assert_eq!(t.events[0].status.sub, SubStatus::PickedUp);
    assert_eq!(t.events[0].location.city.as_deref(), Some("Shenzhen"));
    let unknown = &t.events[1];
    assert_eq!(unknown.status.main, MainStatus::InTransit);
    assert_eq!(
        unknown.status.sub,
        SubStatus::Unknown("InTransit_Teleported".into())
    );
    assert_eq!(unknown.raw_text, "Teleported");
    let hand_over = t.hand_over.as_ref().unwrap();
    assert_eq!(hand_over.number, "10204512345678");
    assert_eq!(hand_over.carrier.unwrap().code, "russian_post");
    assert_eq!(t.stale_carriers, ["yanwen"]);
}

#[test]
fn a_17track_envelope_error_is_a_typed_error() {
    let body =
        br#"{"code":-18010012,"data":{"errors":[{"code":-18010012,"message":"slow down"}]}}"#;
    let err = seventeen_track::parse_track_info(body).unwrap_err();
    assert!(matches!(err, CarrierError::RateLimited { .. }), "{err}");
    let err = seventeen_track::parse_track_info(b"{\"code\": 0, \"data\": ").unwrap_err();
    assert!(err.to_string().contains("line 1"), "{err}");
}

#[test]
fn the_push_signature_is_checked_over_the_raw_body() {
    let body = br#"{"event":"TRACKING_UPDATED","data":{"number":"UG123456789YP"}}"#;
    let sign = seventeen_track::sign(body, "key");
    assert!(seventeen_track::verify(body, &sign, "key"));
    assert!(seventeen_track::verify(body, &sign.to_uppercase(), "key"));
    assert!(!seventeen_track::verify(body, &sign, "other"));
    assert!(!seventeen_track::verify(b"{}", &sign, "key"));
    assert!(!seventeen_track::verify(body, "", "key"));
    let push = seventeen_track::parse_push(body).unwrap();
    assert_eq!(push.tracked.number, "UG123456789YP");
    let err =
        seventeen_track::parse_push(br#"{"event":"TRACKING_UPDATED","data":{}}"#).unwrap_err();
    assert_eq!(err.path, "data.number");
}

const HISTORY: &str = r#"<S:Envelope xmlns:S="http://www.w3.org/2003/05/soap-envelope"><S:Body>
<ns7:getOperationHistoryResponse xmlns:ns3="d" xmlns:ns7="o"><ns3:OperationHistoryData>
<ns3:historyRecord><ns3:AddressParameters><ns3:OperationAddress><ns3:Index>420000</ns3:Index>
<ns3:Description>КАЗАНЬ ПОЧТАМТ</ns3:Description></ns3:OperationAddress>
<ns3:CountryOper><ns3:Code2A>RU</ns3:Code2A></ns3:CountryOper></ns3:AddressParameters>
<ns3:OperationParameters><ns3:OperType><ns3:Id>8</ns3:Id><ns3:Name>Обработка</ns3:Name></ns3:OperType>
<ns3:OperAttr><ns3:Id>99</ns3:Id><ns3:Name>Новая &amp; странная</ns3:Name></ns3:OperAttr>
<ns3:OperDate>2026-11-05T10:00:00.000+03:00</ns3:OperDate></ns3:OperationParameters></ns3:historyRecord>
<ns3:historyRecord><ns3:OperationParameters><ns3:OperType><ns3:Id>2</ns3:Id><ns3:Name>Вручение</ns3:Name></ns3:OperType>
<ns3:OperAttr><ns3:Id>1</ns3:Id><ns3:Name>Вручение адресату</ns3:Name></ns3:OperAttr>
<ns3:OperDate>2026-11-06T10:00:00.000+03:00</ns3:OperDate></ns3:OperationParameters></ns3:historyRecord>
</ns3:OperationHistoryData></ns7:getOperationHistoryResponse></S:Body></S:Envelope>"#;

#[test]
fn a_russian_post_history_keeps_unknown_operations_and_reads_faults() {
    let t = russian_post::parse_history("10204512345678", HISTORY.as_bytes()).unwrap();
    assert_eq!(t.events.len(), 2);
    let odd = &t.events[0];
    assert_eq!(odd.raw_code, "8.99");
    assert_eq!(odd.raw_text, "Обработка / Новая & странная");
    assert_eq!(odd.status.sub, SubStatus::Unknown("8.99".into()));
    assert_eq!(odd.location.city.as_deref(), Some("Kazan"));
    assert_eq!(t.events[1].status.main, MainStatus::Delivered);
    let fault = r#"<S:Envelope xmlns:S="s"><S:Body><S:Fault><S:Reason><S:Text>Ошибка авторизации</S:Text></S:Reason>
<S:Detail><ns3:AuthorizationFaultReason>x</ns3:AuthorizationFaultReason></S:Detail></S:Fault></S:Body></S:Envelope>"#;
    let err = russian_post::parse_history("1", fault.as_bytes()).unwrap_err();
    assert!(matches!(err, CarrierError::Auth { .. }), "{err}");
    // A record without a readable date is left out alone, and named.
    let bad_date = HISTORY.replace("2026-11-05T10:00:00.000+03:00", "yesterday");
    let (t, notes) = russian_post::parse_history_noted("1", bad_date.as_bytes()).unwrap();
    assert_eq!(t.events.len(), 1);
    assert!(
        notes.refused[0].reason.contains("OperDate"),
        "{:?}",
        notes.refused
    );
}

#[test]
fn a_cdek_order_keeps_unknown_codes_and_orders_statuses_oldest_first() {
    let body = r#"{"entity":{"cdek_number":"1234567890","statuses":[
        {"code":"SOMETHING_NEW","name":"Новый статус","date_time":"2026-11-04T10:00:00+0300","city":"Москва"},
        {"code":"ACCEPTED_AT_PICK_UP_POINT","name":"Принят в ПВЗ","date_time":"2026-11-03T10:00:00+0300","city":"Казань"},
        {"code":"CREATED","name":"Создан","date_time":"2026-11-01T10:00:00+0300","city":"Москва"}]}}"#;
    let t = cdek::parse_order("1234567890", body.as_bytes()).unwrap();
    let codes: Vec<&str> = t.events.iter().map(|e| e.raw_code.as_str()).collect();
    assert_eq!(
        codes,
        ["CREATED", "ACCEPTED_AT_PICK_UP_POINT", "SOMETHING_NEW"]
    );
    assert_eq!(
        t.events[2].status.sub,
        SubStatus::Unknown("SOMETHING_NEW".into())
    );
    let missing = r#"{"requests":[{"state":"INVALID","errors":[{"code":"v2_entity_not_found","message":"no"}]}]}"#;
    assert!(
        cdek::parse_order("1", missing.as_bytes())
            .unwrap()
            .not_found
    );
    // A status without a readable time is left out alone, and named.
    let bad = body.replace("2026-11-03T10:00:00+0300", "soon");
    let (t, notes) = cdek::parse_order_noted("1", bad.as_bytes()).unwrap();
    assert_eq!(t.events.len(), 2);
    assert!(
        notes.refused[0].item == "entity.statuses[1]"
            && notes.refused[0].reason.contains("date_time"),
        "{:?}",
        notes.refused
    );
}

proptest! {
    /// Whatever bytes arrive, each parser answers with a value or an error, never a panic.
    #[test]
    fn no_payload_makes_a_parser_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = seventeen_track::parse_track_info(&bytes);
        let _ = seventeen_track::parse_push(&bytes);
        let _ = russian_post::parse_history("1", &bytes);
        let _ = cdek::parse_order("1", &bytes);
    }

    /// Mutating a real payload a little (the likely real-world breakage) never panics either.
    #[test]
    fn a_damaged_payload_makes_no_parser_panic(cut in 0usize..2000, byte in any::<u8>()) {
        for text in [TRACKINFO, HISTORY] {
            let mut bytes = text.as_bytes().to_vec();
            let at = cut % bytes.len();
            bytes[at] = byte;
            let _ = seventeen_track::parse_track_info(&bytes);
            let _ = russian_post::parse_history("1", &bytes);
            bytes.truncate(at);
            let _ = seventeen_track::parse_track_info(&bytes);
            let _ = russian_post::parse_history("1", &bytes);
        }
    }
}
