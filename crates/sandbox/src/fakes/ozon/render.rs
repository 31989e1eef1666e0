//! Postings as the Ozon list methods render them, as typed structs borrowing from the world.
//! Lists are the hot path (a sync reads every posting through them), so they are serialized
//! straight from these structs rather than built as `serde_json::Value` maps.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{App, With, amount, promise_at, tracking_number};
use crate::fakes::time;
use crate::world::{Mode, OzonStep, Parcel};

/// Empty arrays and nulls with their place in the documented shape.
type Empty = [u8; 0];
type Null = Option<()>;

#[derive(Debug, Serialize)]
pub(super) struct ListPage<T> {
    pub(super) cursor: String,
    pub(super) has_next: bool,
    pub(super) postings: Vec<T>,
}

#[derive(Debug, Serialize)]
pub(super) struct DeliveryMethodRef<'a> {
    id: i64,
    name: &'a str,
    warehouse_id: i64,
    warehouse: &'a str,
    tpl_provider_id: i64,
    tpl_provider: &'static str,
}

#[derive(Debug, Serialize)]
pub(super) struct Cancellation {
    cancel_reason_id: i64,
    cancel_reason: &'static str,
    cancellation_type: &'static str,
    cancelled_after_ship: bool,
    affect_cancellation_rating: bool,
    cancellation_initiator: &'static str,
}

pub(super) fn cancellation(step: OzonStep) -> Cancellation {
    if step.status == "cancelled" {
        Cancellation {
            cancel_reason_id: 352,
            cancel_reason: "Покупатель отказался от заказа",
            cancellation_type: "client",
            cancelled_after_ship: true,
            affect_cancellation_rating: false,
            cancellation_initiator: "Покупатель",
        }
    } else {
        Cancellation {
            cancel_reason_id: 0,
            cancel_reason: "",
            cancellation_type: "",
            cancelled_after_ship: false,
            affect_cancellation_rating: false,
            cancellation_initiator: "",
        }
    }
}

#[derive(Debug, Serialize)]
pub(super) struct Address<'a> {
    address_tail: String,
    city: &'a str,
    region: &'a str,
    district: &'static str,
    country: &'static str,
    zip_code: &'static str,
    comment: &'static str,
    latitude: f64,
    longitude: f64,
    pvz_code: i64,
    provider_pvz_code: &'static str,
}

#[derive(Debug, Serialize)]
pub(super) struct Customer<'a> {
    customer_id: i64,
    name: &'static str,
    phone: String,
    customer_email: &'static str,
    address: Address<'a>,
}

pub(super) fn buyer_name(p: &Parcel) -> &'static str {
    ["Ирина", "Алексей", "Мария", "Дмитрий", "Ольга", "Сергей"][(p.index % 6) as usize]
}

pub(super) fn buyer_phone(p: &Parcel) -> String {
    format!("+7900{:07}", p.index % 10_000_000)
}

/// The rFBS buyer; list methods leave the phone empty (`detail` gives it).
pub(super) fn customer(p: &Parcel, detail: bool) -> Customer<'static> {
    Customer {
        customer_id: 70_000_000 + i64::from(p.index),
        name: buyer_name(p),
        phone: if detail {
            buyer_phone(p)
        } else {
            String::new()
        },
        customer_email: "",
        address: Address {
            address_tail: format!(
                "г. {}, ул. Ленина, д. {}",
                p.buyer_city.name_ru,
                1 + p.index % 120
            ),
            city: p.buyer_city.name_ru,
            region: p.buyer_city.region,
            district: "",
            country: "Россия",
            zip_code: "",
            comment: "",
            latitude: p.buyer_city.lat,
            longitude: p.buyer_city.lon,
            pvz_code: 0,
            provider_pvz_code: "",
        },
    }
}

#[derive(Debug, Serialize)]
pub(super) struct Addressee {
    name: &'static str,
}

#[derive(Debug, Serialize)]
pub(super) struct AmountCurrency {
    amount: String,
    currency: &'static str,
}

fn rub(minor: i64) -> AmountCurrency {
    AmountCurrency {
        amount: amount(minor),
        currency: "RUB",
    }
}

#[derive(Debug, Serialize)]
pub(super) struct V4Product<'a> {
    sku: i64,
    offer_id: &'a str,
    name: &'a str,
    quantity: i32,
    price: AmountCurrency,
    product_color: &'static str,
    weight: f64,
    imei: Empty,
    is_blr_traceable: bool,
    is_marketplace_buyout: bool,
}

#[derive(Debug, Serialize)]
pub(super) struct Barcodes {
    upper_barcode: String,
    lower_barcode: String,
}

#[derive(Debug, Serialize)]
pub(super) struct FbsAnalytics<'a> {
    region: &'a str,
    city: &'a str,
    delivery_type: &'static str,
    is_premium: bool,
    payment_type_group_name: &'static str,
    warehouse_id: i64,
    warehouse: &'a str,
    tpl_provider_id: i64,
    tpl_provider: &'static str,
    delivery_date_begin: String,
    delivery_date_end: String,
    is_legal: bool,
    client_delivery_date_begin: Null,
    client_delivery_date_end: Null,
}

#[derive(Debug, Serialize)]
pub(super) struct FboAnalytics<'a> {
    city: &'a str,
    delivery_type: &'static str,
    is_premium: bool,
    is_legal: bool,
    payment_type_group_name: &'static str,
    warehouse_id: i64,
    warehouse_name: &'a str,
    client_delivery_date_begin: Null,
    client_delivery_date_end: Null,
}

fn delivery_type(p: &Parcel) -> &'static str {
    if p.index.is_multiple_of(3) {
        "Courier"
    } else {
        "PVZ"
    }
}

#[derive(Debug, Serialize)]
pub(super) struct Percent {
    amount: String,
    currency: &'static str,
    percent: u8,
}

#[derive(Debug, Serialize)]
pub(super) struct FinancialProduct {
    commission: Percent,
    customer_price: AmountCurrency,
    payout: String,
    product_id: i64,
    quantity: i32,
}

#[derive(Debug, Serialize)]
pub(super) struct Financial<'a> {
    cluster_from: &'static str,
    cluster_to: &'a str,
    products: Vec<FinancialProduct>,
}

pub(super) fn financial(p: &Parcel) -> Financial<'static> {
    Financial {
        cluster_from: "Китай",
        cluster_to: p.buyer_city.name_ru,
        products: p
            .products
            .iter()
            .map(|pr| FinancialProduct {
                commission: Percent {
                    amount: amount(pr.price_minor * 15 / 100),
                    currency: "RUB",
                    percent: 15,
                },
                customer_price: rub(pr.price_minor),
                payout: amount(pr.price_minor * 85 / 100),
                product_id: pr.sku,
                quantity: pr.quantity,
            })
            .collect(),
    }
}

#[derive(Debug, Serialize)]
pub(super) struct LegalInfo {
    company_name: &'static str,
    inn: &'static str,
    kpp: &'static str,
}

const LEGAL: LegalInfo = LegalInfo {
    company_name: "",
    inn: "",
    kpp: "",
};

#[derive(Debug, Serialize)]
pub(super) struct Requirements {
    products_requiring_gtd: Empty,
    products_requiring_country: Empty,
    products_requiring_mandatory_mark: Empty,
    products_requiring_rnpt: Empty,
    products_requiring_jw_uin: Empty,
    products_requiring_change_country: Empty,
    products_requiring_imei: Empty,
    products_requiring_weight: Empty,
}

const REQUIREMENTS: Requirements = Requirements {
    products_requiring_gtd: [],
    products_requiring_country: [],
    products_requiring_mandatory_mark: [],
    products_requiring_rnpt: [],
    products_requiring_jw_uin: [],
    products_requiring_change_country: [],
    products_requiring_imei: [],
    products_requiring_weight: [],
};

#[derive(Debug, Serialize)]
pub(super) struct Optional {
    products_with_possible_mandatory_mark: Empty,
}

#[derive(Debug, Serialize)]
pub(super) struct Tariffication {
    current_tariff_rate: u8,
    current_tariff_type: &'static str,
    current_tariff_charge: AmountCurrency,
    current_tariff_min_charge: Null,
    next_tariff_rate: u8,
    next_tariff_type: &'static str,
    next_tariff_charge: Null,
    next_tariff_min_charge: Null,
    next_tariff_starts_at: Null,
}

#[derive(Debug, Serialize)]
pub(super) struct ExternalOrder {
    is_external: bool,
    platform_name: &'static str,
}

const NOT_EXTERNAL: ExternalOrder = ExternalOrder {
    is_external: false,
    platform_name: "",
};

/// A posting as the v4 FBS list methods show it (`ozon-seller-api.md` §2, column L4).
#[derive(Debug, Serialize)]
pub(super) struct V4Posting<'a> {
    posting_number: &'a str,
    order_id: i64,
    order_number: &'a str,
    parent_posting_number: &'static str,
    status: &'static str,
    substatus: &'static str,
    delivery_schema: &'static str,
    integration_type_flow: &'static str,
    tpl_integration_type: &'static str,
    tracking_number: String,
    delivery_method: DeliveryMethodRef<'a>,
    in_process_at: String,
    shipment_date: String,
    shipment_date_without_delay: String,
    delivering_date: Option<String>,
    pickup_code_verified_at: Null,
    is_express: bool,
    is_click_and_collect: bool,
    is_multibox: bool,
    multi_box_qty: u8,
    is_presortable: bool,
    quantum_id: u8,
    destination_place_id: u8,
    destination_place_name: &'static str,
    sorting_center: Null,
    cancellation: Cancellation,
    customer: Option<Customer<'a>>,
    addressee: Option<Addressee>,
    products: Vec<V4Product<'a>>,
    barcodes: Option<Barcodes>,
    analytics_data: Option<FbsAnalytics<'a>>,
    financial_data: Option<Financial<'a>>,
    legal_info: Option<LegalInfo>,
    requirements: Requirements,
    optional: Optional,
    available_actions: Vec<&'static str>,
    prr_option: &'static str,
    tariffication: Tariffication,
    tariffication_steps: Empty,
    external_order: ExternalOrder,
    require_blr_traceable_attrs: bool,
    volume_weight: f64,
}

fn delivering_date(p: &Parcel, now: DateTime<Utc>) -> Option<String> {
    p.ozon
        .iter()
        .find(|s| s.status == "delivering" && s.at <= now)
        .map(|s| time(s.at))
}

pub(super) fn fbs_posting<'a>(
    app: &'a App,
    p: &'a Parcel,
    now: DateTime<Utc>,
    with: &With,
) -> V4Posting<'a> {
    let world = &app.sim.world;
    let method = &world.delivery_methods[p.delivery_method];
    let warehouse = &world.warehouses[p.warehouse];
    let step = app.sim.ozon_at(p, now);
    let rfbs = p.mode == Mode::Rfbs;
    let tracking = tracking_number(app, p, now);
    let mut available_actions = Vec::new();
    if step.status == "awaiting_deliver"
        && tracking.is_empty()
        && method.carrier != crate::Carrier::Ozon
    {
        available_actions.push("set_track_number");
    }
    if chat_allowed(p, step.status, now) {
        available_actions.push("can_create_chat");
    }
    let analytics = with.analytics_data.then(|| {
        let (begin, end) = promise_at(p, now);
        FbsAnalytics {
            region: if rfbs { p.buyer_city.region } else { "" },
            city: if rfbs { p.buyer_city.name_ru } else { "" },
            delivery_type: delivery_type(p),
            is_premium: false,
            payment_type_group_name: "картой онлайн",
            warehouse_id: warehouse.id,
            warehouse: &warehouse.name,
            tpl_provider_id: method.carrier.tpl_provider_id(),
            tpl_provider: method.carrier.display_name(),
            delivery_date_begin: time(begin),
            delivery_date_end: time(end),
            is_legal: false,
            client_delivery_date_begin: None,
            client_delivery_date_end: None,
        }
    });
    V4Posting {
        posting_number: &p.posting_number,
        order_id: p.order_id,
        order_number: p.order_number(),
        parent_posting_number: "",
        status: step.status,
        substatus: step.substatus,
        delivery_schema: "fbs",
        // The delivery-method list spells it `hybrid`; postings say `hybryd` (sic).
        integration_type_flow: if method.integration == "hybryd" {
            "hybrid"
        } else {
            method.integration
        },
        tpl_integration_type: method.integration,
        tracking_number: tracking,
        delivery_method: DeliveryMethodRef {
            id: method.id,
            name: &method.name,
            warehouse_id: warehouse.id,
            warehouse: &warehouse.name,
            tpl_provider_id: method.carrier.tpl_provider_id(),
            tpl_provider: method.carrier.display_name(),
        },
        in_process_at: time(p.ordered_at),
        shipment_date: time(p.ship_by),
        shipment_date_without_delay: time(p.ship_by),
        delivering_date: delivering_date(p, now),
        pickup_code_verified_at: None,
        is_express: false,
        is_click_and_collect: false,
        is_multibox: false,
        multi_box_qty: 1,
        is_presortable: false,
        quantum_id: 0,
        destination_place_id: 0,
        destination_place_name: "",
        sorting_center: None,
        cancellation: cancellation(step),
        customer: rfbs.then(|| customer(p, false)),
        addressee: rfbs.then(|| Addressee {
            name: buyer_name(p),
        }),
        products: p
            .products
            .iter()
            .map(|pr| V4Product {
                sku: pr.sku,
                offer_id: pr.offer_id,
                name: pr.name,
                quantity: pr.quantity,
                price: rub(pr.price_minor),
                product_color: "",
                weight: 0.45,
                imei: [],
                is_blr_traceable: false,
                is_marketplace_buyout: false,
            })
            .collect(),
        barcodes: with.barcodes.then(|| Barcodes {
            upper_barcode: format!("%101%{}", p.order_id),
            lower_barcode: format!("2{:014}", p.index),
        }),
        analytics_data: analytics,
        financial_data: with.financial_data.then(|| financial(p)),
        legal_info: with.legal_info.then_some(LEGAL),
        requirements: REQUIREMENTS,
        optional: Optional {
            products_with_possible_mandatory_mark: [],
        },
        available_actions,
        prr_option: "",
        tariffication: Tariffication {
            current_tariff_rate: 0,
            current_tariff_type: "no_discount",
            current_tariff_charge: rub(0),
            current_tariff_min_charge: None,
            next_tariff_rate: 0,
            next_tariff_type: "",
            next_tariff_charge: None,
            next_tariff_min_charge: None,
            next_tariff_starts_at: None,
        },
        tariffication_steps: [],
        external_order: NOT_EXTERNAL,
        require_blr_traceable_attrs: false,
        volume_weight: 0.6,
    }
}

/// An FBO product's price: `{amount, currency}` in v3 lists, a string plus `currency_code`
/// in v2 get.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(super) enum FboPrice {
    Object(AmountCurrency),
    Text(String),
}

#[derive(Debug, Serialize)]
pub(super) struct FboProduct<'a> {
    sku: i64,
    name: &'a str,
    offer_id: &'a str,
    quantity: i32,
    digital_codes: Empty,
    is_marketplace_buyout: bool,
    price: FboPrice,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency_code: Option<&'static str>,
}

#[derive(Debug, Serialize)]
pub(super) struct FboCancellation {
    cancel_reason: &'static str,
    cancellation_initiator: &'static str,
    cancellation_type: &'static str,
}

/// An FBO posting: the v3 list shape, or the v2 get shape (`detail`).
#[derive(Debug, Serialize)]
pub(super) struct FboPosting<'a> {
    posting_number: &'a str,
    order_id: i64,
    order_number: &'a str,
    status: &'static str,
    substatus: &'static str,
    cancel_reason_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    cancellation: Option<FboCancellation>,
    created_at: String,
    in_process_at: String,
    products: Vec<FboProduct<'a>>,
    analytics_data: Option<FboAnalytics<'a>>,
    financial_data: Option<Financial<'a>>,
    legal_info: Option<LegalInfo>,
    external_order: ExternalOrder,
    additional_data: Empty,
    /// Only in v2 get; `None` there serializes as null, in lists the key is left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    fact_delivery_date: Option<Option<String>>,
}

pub(super) fn fbo_posting<'a>(
    app: &'a App,
    p: &'a Parcel,
    now: DateTime<Utc>,
    with: &With,
    detail: bool,
) -> FboPosting<'a> {
    let step = app.sim.ozon_at(p, now);
    let cancelled = step.status == "cancelled";
    let warehouse = &app.sim.world.warehouses[p.warehouse];
    FboPosting {
        posting_number: &p.posting_number,
        order_id: p.order_id,
        order_number: p.order_number(),
        status: step.status,
        substatus: step.substatus,
        cancel_reason_id: if cancelled { 352 } else { 0 },
        cancellation: (!detail).then_some(if cancelled {
            FboCancellation {
                cancel_reason: "Покупатель отказался от заказа",
                cancellation_initiator: "Покупатель",
                cancellation_type: "client",
            }
        } else {
            FboCancellation {
                cancel_reason: "",
                cancellation_initiator: "",
                cancellation_type: "",
            }
        }),
        created_at: time(p.ordered_at),
        in_process_at: time(p.ordered_at),
        products: p
            .products
            .iter()
            .map(|pr| FboProduct {
                sku: pr.sku,
                name: pr.name,
                offer_id: pr.offer_id,
                quantity: pr.quantity,
                digital_codes: [],
                is_marketplace_buyout: false,
                price: if detail {
                    FboPrice::Text(format!("{}.0000", amount(pr.price_minor)))
                } else {
                    FboPrice::Object(rub(pr.price_minor))
                },
                currency_code: detail.then_some("RUB"),
            })
            .collect(),
        analytics_data: with.analytics_data.then(|| FboAnalytics {
            city: p.buyer_city.name_ru,
            delivery_type: delivery_type(p),
            is_premium: false,
            is_legal: false,
            payment_type_group_name: "картой онлайн",
            warehouse_id: warehouse.id,
            warehouse_name: &warehouse.name,
            client_delivery_date_begin: None,
            client_delivery_date_end: None,
        }),
        financial_data: with.financial_data.then(|| financial(p)),
        legal_info: with.legal_info.then_some(LEGAL),
        external_order: NOT_EXTERNAL,
        additional_data: [],
        fact_delivery_date: detail.then(|| p.delivered_at.filter(|d| *d <= now).map(time)),
    }
}

/// Whether a seller may open a chat with the posting's buyer: FBS/rFBS from payment until 72
/// hours after delivery (FBO: only the buyer starts one). What `can_create_chat` says, and what
/// `/v1/chat/start` enforces.
pub(super) fn chat_allowed(p: &Parcel, status: &str, now: DateTime<Utc>) -> bool {
    if p.mode == Mode::Fbo {
        return false;
    }
    match status {
        "cancelled" | "cancelled_from_split_pending" => false,
        "delivered" => p
            .delivered_at
            .is_some_and(|d| d <= now && now <= d + chrono::Duration::hours(72)),
        _ => true,
    }
}
