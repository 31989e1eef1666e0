//! The Ozon methods that act rather than list: label barcodes, the rFBS status moves, the
//! asynchronous postings report, and the buyer chat.

use std::sync::PoisonError;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{App, OzonError, Reply, Seller, amount, bad_request, error, parse};
use crate::fakes::{Pruning, Window, time};
use crate::world::{Mode, OzonStep, Parcel};

/// What the fake remembers of the seller's actions.
#[derive(Debug, Default)]
pub(super) struct Actions {
    /// Report code → (seller, times `info` was asked).
    reports: std::collections::HashMap<String, (usize, u32)>,
    /// Chat id → (seller, posting number).
    chats: std::collections::HashMap<String, (usize, String)>,
    /// Chats of postings an endless world has dropped are forgotten with them.
    chats_pruned: Pruning,
}

fn seller_parcel<'a>(
    window: &'a Window,
    seller: Seller,
    number: &str,
    now: DateTime<Utc>,
) -> Option<&'a Parcel> {
    window.parcel(number, now).filter(|p| p.store == seller.0)
}

#[derive(Debug, Deserialize)]
struct BarcodeRequest {
    barcode: Option<String>,
}

/// `/v2/posting/fbs/get-by-barcode`: the lower label barcode is `2` + the parcel index.
pub(super) async fn get_by_barcode(
    State(app): State<App>,
    Extension(seller): Extension<Seller>,
    body: Bytes,
) -> Reply {
    let request: BarcodeRequest = parse(&body)?;
    let barcode = request.barcode.unwrap_or_default();
    let now = app.sim.now();
    let window = app.sim.window();
    let parcel = window.parcels().iter().find(|p| {
        p.store == seller.0
            && p.mode != Mode::Fbo
            && p.appears_at <= now
            && (format!("2{:014}", p.index) == barcode || format!("%101%{}", p.order_id) == barcode)
    });
    let Some(p) = parcel else {
        return Err(error(StatusCode::NOT_FOUND, 5, "POSTING_NOT_FOUND"));
    };
    let step = app.sim.ozon_at(p, now);
    let products: Vec<Value> = p
        .products
        .iter()
        .map(|pr| {
            json!({"sku": pr.sku, "name": pr.name, "quantity": pr.quantity, "offer_id": pr.offer_id,
                         "price": format!("{}.0000", amount(pr.price_minor))})
        })
        .collect();
    Ok(Json(json!({"result": {
        "order_id": p.order_id,
        "order_number": p.order_number(),
        "posting_number": p.posting_number,
        "status": step.status,
        "cancel_reason_id": if step.status == "cancelled" { 352 } else { 0 },
        "created_at": time(p.ordered_at),
        "in_process_at": time(p.ordered_at),
        "shipment_date": time(p.ship_by),
        "products": products,
        "barcodes": {"upper_barcode": format!("%101%{}", p.order_id), "lower_barcode": format!("2{:014}", p.index)},
    }})))
}

#[derive(Debug, Deserialize)]
struct PostingNumbers {
    posting_number: Option<Vec<String>>,
}

/// The rFBS status moves: which status a posting must be in, and where it goes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Move {
    Delivering,
    LastMile,
    Delivered,
}

impl Move {
    fn from(self) -> &'static [&'static str] {
        match self {
            Move::Delivering => &["awaiting_deliver"],
            Move::LastMile | Move::Delivered => &["delivering"],
        }
    }

    fn to(self) -> (&'static str, &'static str) {
        match self {
            Move::Delivering => ("delivering", "posting_on_way_to_city"),
            Move::LastMile => ("delivering", "posting_in_courier_service"),
            Move::Delivered => ("delivered", "posting_conditionally_delivered"),
        }
    }
}

pub(super) async fn move_delivering(
    app: State<App>,
    seller: Extension<Seller>,
    body: Bytes,
) -> Reply {
    move_status(app, seller, &body, Move::Delivering)
}

pub(super) async fn move_last_mile(
    app: State<App>,
    seller: Extension<Seller>,
    body: Bytes,
) -> Reply {
    move_status(app, seller, &body, Move::LastMile)
}

pub(super) async fn move_delivered(
    app: State<App>,
    seller: Extension<Seller>,
    body: Bytes,
) -> Reply {
    move_status(app, seller, &body, Move::Delivered)
}

/// Only postings the seller delivers (non-integrated carriers) may be moved by the seller.
fn move_status(
    State(app): State<App>,
    Extension(seller): Extension<Seller>,
    body: &Bytes,
    to: Move,
) -> Reply {
    let request: PostingNumbers = parse(body)?;
    let numbers = request.posting_number.unwrap_or_default();
    if numbers.is_empty() || numbers.len() > 20 {
        return Err(bad_request("posting_number must hold 1 to 20 items"));
    }
    let now = app.sim.now();
    let window = app.sim.window();
    let results: Vec<Value> = numbers
        .into_iter()
        .map(|number| {
            let outcome = match seller_parcel(&window, seller, &number, now) {
                None => Err("POSTING_NOT_FOUND"),
                Some(p) if p.mode == Mode::Fbo => Err("POSTING_NOT_FOUND"),
                Some(p)
                    if !matches!(
                        app.sim.world.delivery_methods[p.delivery_method].integration,
                        "non_integrated"
                    ) =>
                {
                    Err("HAS_INCORRECT_TPL_INTEGRATION_TYPE")
                }
                Some(p) if !to.from().contains(&app.sim.ozon_at(p, now).status) => {
                    Err("TRANSITION_IS_NOT_POSSIBLE")
                }
                Some(_) => {
                    let (status, substatus) = to.to();
                    let mut steps = app
                        .sim
                        .seller_steps
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    steps.entry(number.clone()).or_default().push(OzonStep {
                        at: now,
                        status,
                        substatus,
                    });
                    Ok(())
                }
            };
            match outcome {
                // Official examples show `"error": []` for these methods.
                Ok(()) => json!({"posting_number": number, "result": true, "error": []}),
                Err(e) => json!({"posting_number": number, "result": false, "error": e}),
            }
        })
        .collect();
    Ok(Json(json!({"result": results})))
}

#[derive(Debug, Deserialize)]
struct ReportFilter {
    processed_at_from: Option<chrono::DateTime<chrono::Utc>>,
    processed_at_to: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    delivery_schema: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct ReportCreate {
    filter: Option<ReportFilter>,
}

/// Report codes carry their parameters, so that the download needs no other state.
fn report_code(
    schema: &str,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> String {
    format!(
        "REPORT_seller_postings_{schema}_{}_{}",
        from.timestamp(),
        to.timestamp()
    )
}

pub(super) async fn report_create(
    State(app): State<App>,
    Extension(seller): Extension<Seller>,
    body: Bytes,
) -> Reply {
    let request: ReportCreate = parse(&body)?;
    let Some(filter) = request.filter else {
        return Err(bad_request("filter is required"));
    };
    let (Some(from), Some(to)) = (filter.processed_at_from, filter.processed_at_to) else {
        return Err(bad_request(
            "filter.processed_at_from and filter.processed_at_to are required",
        ));
    };
    let [schema] = filter.delivery_schema.as_slice() else {
        return Err(bad_request(
            "filter.delivery_schema must hold exactly one of fbo, fbs",
        ));
    };
    if !matches!(schema.as_str(), "fbo" | "fbs") {
        return Err(bad_request(
            "filter.delivery_schema must hold exactly one of fbo, fbs",
        ));
    }
    let code = report_code(schema, from, to);
    app.actions
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .reports
        .insert(code.clone(), (seller.0, 0));
    Ok(Json(json!({"result": {"code": code}})))
}

#[derive(Debug, Deserialize)]
struct ReportInfo {
    code: Option<String>,
}

/// The first `info` says `processing`, later ones `success` with the file's URL.
pub(super) async fn report_info(
    State(app): State<App>,
    Extension(seller): Extension<Seller>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Reply {
    let request: ReportInfo = parse(&body)?;
    let code = request.code.unwrap_or_default();
    let asked = {
        let mut actions = app.actions.lock().unwrap_or_else(PoisonError::into_inner);
        match actions.reports.get_mut(&code) {
            Some((owner, asked)) if *owner == seller.0 => {
                *asked += 1;
                *asked
            }
            _ => return Err(error(StatusCode::NOT_FOUND, 5, "report not found")),
        }
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let now = app.sim.now();
    let status = if asked > 1 { "success" } else { "processing" };
    Ok(Json(json!({"result": {
        "code": code,
        "status": status,
        "error": "",
        "file": if asked > 1 { format!("http://{host}/reports/{code}.csv") } else { String::new() },
        "report_type": "SELLER_POSTINGS",
        "params": {},
        "created_at": time(now),
        "expires_at": time(now + Duration::days(3)),
        "additional_data": [],
    }})))
}

/// The report file: the seller office's postings export, `;`-separated with a BOM.
pub(super) async fn report_file(State(app): State<App>, Path(file): Path<String>) -> Response {
    let code = file.trim_end_matches(".csv");
    let seller = app
        .actions
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .reports
        .get(code)
        .map(|(s, _)| *s);
    let parts: Vec<&str> = code.rsplitn(3, '_').collect();
    let (Some(seller), [to, from, rest]) = (seller, parts.as_slice()) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let parse_ts = |s: &str| {
        s.parse::<i64>()
            .ok()
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
    };
    let (Some(from), Some(to)) = (parse_ts(from), parse_ts(to)) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let fbo = rest.ends_with("_fbo");
    let now = app.sim.now();
    let window = app.sim.window();
    // The real column sets: the seller office's FBS export (39 columns) and the API's FBO
    // report (36), UTF-8 with a BOM, `;`, every non-empty field quoted, LF, one row per
    // product line, times in Moscow time.
    let header: &[&str] = if fbo { &FBO_REPORT } else { &FBS_REPORT };
    let mut csv = format!(
        "\u{feff}{}\n",
        quoted_row(header.iter().map(|h| (*h).to_owned()))
    );
    let moscow = |t: DateTime<Utc>| {
        t.with_timezone(&chrono_tz::Europe::Moscow)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    for p in window.parcels().iter().filter(|p| {
        p.store == seller
            && (p.mode == Mode::Fbo) == fbo
            && p.appears_at <= now
            && from <= p.ordered_at
            && p.ordered_at <= to
    }) {
        let step = app.sim.ozon_at(p, now);
        let status = ozontrack_domain::OzonStatus::parse(step.status);
        let delivered = p.delivered_at.filter(|d| *d <= now).map(moscow);
        let handed_over = p
            .ozon
            .iter()
            .find(|s| s.status == "delivering" && s.at <= now)
            .map(|s| moscow(s.at));
        let cancelled = (step.status == "cancelled").then(|| moscow(step.at));
        for product in &p.products {
            let cell = |name: &str| -> Option<String> {
                Some(match name {
                    "Номер заказа" => p.order_number().to_owned(),
                    "Номер отправления" => p.posting_number.clone(),
                    "Принят в обработку" => moscow(p.ordered_at),
                    "Дата отгрузки" => moscow(p.ship_by),
                    "Дата отгрузки без просрочки" => {
                        moscow(p.ship_by - Duration::minutes(1))
                    }
                    "Статус" => status.office_name().to_owned(),
                    "Дата доставки" => delivered.clone()?,
                    "Фактическая дата передачи в доставку" => {
                        handed_over.clone()?
                    }
                    "Дата отмены" => cancelled.clone()?,
                    "Сумма отправления" => money(p.total_minor()),
                    "Код валюты отправления" | "Код валюты товара" | "Код валюты покупателя" => {
                        "RUB".to_owned()
                    }
                    "Наименование товара" | "Название товара" => {
                        product.name.to_owned()
                    }
                    "OZON id" | "SKU" => product.sku.to_string(),
                    "Артикул" => product.offer_id.to_owned(),
                    "Ваша цена" | "Оплачено покупателем" | "Цена товара до скидок" => {
                        money(product.price_minor)
                    }
                    "Количество" => product.quantity.to_string(),
                    "Город доставки" => p.buyer_city.name_ru.to_owned(),
                    "Способ доставки" => "ПВЗ".to_owned(),
                    "Перевозчик" if !fbo => "Доставка Ozon".to_owned(),
                    _ => return None,
                })
            };
            csv.push_str(&quoted_row(
                header.iter().map(|h| cell(h).unwrap_or_default()),
            ));
            csv.push('\n');
        }
    }
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response()
}

/// The seller office's FBS postings export, header as it is (reference A.2.1).
const FBS_REPORT: [&str; 39] = [
    "Номер заказа",
    "Номер отправления",
    "Принят в обработку",
    "Дата отгрузки",
    "Дата отгрузки без просрочки",
    "Статус",
    "Дата доставки",
    "Фактическая дата передачи в доставку",
    "Дата отмены",
    "Сумма отправления",
    "Код валюты отправления",
    "Наименование товара",
    "OZON id",
    "Артикул",
    "Ваша цена",
    "Код валюты товара",
    "Оплачено покупателем",
    "Код валюты покупателя",
    "Количество",
    "Стоимость доставки",
    "Связанные отправления",
    "Выкуп товара",
    "Цена товара до скидок",
    "Скидка %",
    "Скидка руб",
    "Акции",
    "Кластер отгрузки",
    "Кластер доставки",
    "Норм. время доставки до покупателя",
    "Оценка отгрузки",
    "Регион доставки",
    "Город доставки",
    "Способ доставки",
    "Сегмент клиента",
    "Способ оплаты",
    "Склад отгрузки",
    "Способ отгрузки",
    "Перевозчик",
    "Название метода",
];

/// The API's FBO postings report with analytics and customer data (reference A.2.3).
const FBO_REPORT: [&str; 36] = [
    "Номер заказа",
    "Номер отправления",
    "Принят в обработку",
    "Дата отгрузки",
    "Статус",
    "Дата доставки",
    "Фактическая дата передачи в доставку",
    "Сумма отправления",
    "Код валюты отправления",
    "Название товара",
    "SKU",
    "Артикул",
    "Ваша цена",
    "Код валюты товара",
    "Оплачено покупателем",
    "Код валюты покупателя",
    "Количество",
    "Стоимость доставки",
    "Связанные отправления",
    "Выкуп товара",
    "Цена товара до скидок",
    "Скидка %",
    "Скидка руб",
    "Акции",
    "Объемный вес товаров, кг",
    "Кластер отгрузки",
    "Кластер доставки",
    "Склад отгрузки",
    "Регион доставки",
    "Город доставки",
    "Способ доставки",
    "Сегмент клиента",
    "Юридическое лицо",
    "Способ оплаты",
    "Адрес покупателя",
    "Имя покупателя",
];

/// A row as Ozon writes it: every non-empty field quoted (quotes doubled), empty ones bare.
fn quoted_row(cells: impl Iterator<Item = String>) -> String {
    cells
        .map(|c| {
            if c.is_empty() {
                c
            } else {
                format!("\"{}\"", c.replace('"', "\"\""))
            }
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// An amount as the report writes it: always two decimals.
fn money(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

#[derive(Debug, Deserialize)]
struct ChatStart {
    posting_number: Option<String>,
}

/// Ozon's Premium gate, as observed on Premium-only methods.
fn plan_refusal() -> OzonError {
    OzonError {
        status: StatusCode::FORBIDDEN,
        code: 7,
        message: "Implementation.ChatStart: rpc error: code = PermissionDenied desc = not available with existing subscription".into(),
        details: true,
    }
}

fn chat_refused(app: &App, seller: Seller) -> bool {
    app.sim
        .chat_refused
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .contains(&seller.0)
}

/// A chat may be started while Ozon lists `can_create_chat` for the posting; Premium Plus or
/// Pro only.
pub(super) async fn chat_start(
    State(app): State<App>,
    Extension(seller): Extension<Seller>,
    body: Bytes,
) -> Reply {
    let request: ChatStart = parse(&body)?;
    let number = request.posting_number.unwrap_or_default();
    if chat_refused(&app, seller) {
        return Err(plan_refusal());
    }
    let now = app.sim.now();
    let window = app.sim.window();
    let Some(p) = seller_parcel(&window, seller, &number, now) else {
        return Err(error(StatusCode::NOT_FOUND, 5, "POSTING_NOT_FOUND"));
    };
    let step = app.sim.ozon_at(p, now);
    if !super::render::chat_allowed(p, step.status, now) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            9,
            "chat can not be started for this posting",
        ));
    }
    let chat_id = format!(
        "{:08x}-{:04x}-4{:03x}-8000-{:012x}",
        p.index,
        p.store,
        p.index % 0xfff,
        p.order_id
    );
    let mut actions = app.actions.lock().unwrap_or_else(PoisonError::into_inner);
    if actions.chats_pruned.due(&window) {
        actions
            .chats
            .retain(|_, (_, posting)| window.holds(posting));
    }
    actions.chats.insert(chat_id.clone(), (seller.0, number));
    Ok(Json(json!({"result": {"chat_id": chat_id}})))
}

#[derive(Debug, Deserialize)]
struct ChatSend {
    chat_id: Option<String>,
    text: Option<String>,
}

pub(super) async fn chat_send(
    State(app): State<App>,
    Extension(seller): Extension<Seller>,
    body: Bytes,
) -> Reply {
    let request: ChatSend = parse(&body)?;
    let chat_id = request.chat_id.unwrap_or_default();
    let text = request.text.unwrap_or_default();
    if chat_refused(&app, seller) {
        return Err(plan_refusal());
    }
    if !(1..=1000).contains(&text.chars().count()) {
        return Err(bad_request("text must be 1 to 1000 characters"));
    }
    let posting = {
        let actions = app.actions.lock().unwrap_or_else(PoisonError::into_inner);
        match actions.chats.get(&chat_id) {
            Some((owner, number)) if *owner == seller.0 => number.clone(),
            _ => return Err(error(StatusCode::NOT_FOUND, 5, "chat not found")),
        }
    };
    app.sim
        .buyer_messages
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(crate::fakes::BuyerMessage {
            posting_number: posting,
            chat_id,
            text,
            at: app.sim.now(),
        });
    Ok(Json(json!({"result": "success"})))
}
