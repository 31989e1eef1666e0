//! What the PDF prints, every word already in the reader's languages: the template only lays
//! it out. Labels and our names for statuses are given in each chosen language side by side
//! ("已妥投 / Вручено"); carrier and Ozon texts stay verbatim; the ticket paragraph comes once
//! per language.

use chrono::{DateTime, FixedOffset, Utc};
use ozontrack_domain::evidence::{self, Deadline};
use ozontrack_domain::trail::TrailLeg;
use ozontrack_domain::{Language, Money, TrackingEvent};
use ozontrack_i18n::{Arg, Tr};
use serde::Serialize;

use crate::Input;
use crate::document::{Document, local_time};

/// A table: its header and its rows, each cell a list of lines.
#[derive(Debug, Clone, Serialize)]
pub struct Table {
    pub head: Vec<String>,
    pub rows: Vec<Vec<Vec<String>>>,
    /// Relative column widths.
    pub widths: Vec<u32>,
}

/// One carrier leg's section.
#[derive(Debug, Clone, Serialize)]
pub struct LegView {
    pub title: String,
    pub table: Table,
}

/// A ticket paragraph in one language.
#[derive(Debug, Clone, Serialize)]
pub struct Ticket {
    pub language: String,
    pub text: String,
}

/// The whole PDF's content.
#[derive(Debug, Clone, Serialize)]
pub struct View {
    pub title: String,
    pub subtitle: String,
    /// Section headings and notes by key.
    pub labels: std::collections::BTreeMap<&'static str, String>,
    /// Label / value pairs of the cover.
    pub cover: Vec<(String, String)>,
    pub products: Option<Table>,
    pub ozon: Option<Table>,
    pub legs: Vec<LegView>,
    /// Label / value pairs of the delivery, when a carrier reported one.
    pub delivery: Vec<(String, String)>,
    pub conflicts: Vec<Table>,
    pub alerts: Option<Table>,
    pub deadlines: Table,
    pub attachments: Option<Table>,
    /// SHA-256 of every payload the events came from.
    pub digests: Vec<String>,
    pub tickets: Vec<Ticket>,
    /// The page footer's words, with `{page}` and `{pages}` to fill.
    pub footer: String,
    /// The route on land outlines, as SVG, when two places are known.
    pub map: Option<String>,
}

/// The chosen languages' words, side by side.
struct Words<'a> {
    trs: &'a [Tr],
}

impl Words<'_> {
    fn each(&self, f: impl Fn(&Tr) -> String) -> String {
        let mut out: Vec<String> = Vec::new();
        for tr in self.trs {
            let text = f(tr);
            if !out.contains(&text) {
                out.push(text);
            }
        }
        out.join(" / ")
    }

    fn t(&self, id: &str) -> String {
        self.each(|tr| tr.t(id))
    }
}

const LABELS: [(&str, &str); 23] = [
    ("cover", "evidence-cover"),
    ("products", "evidence-products"),
    ("ozon", "evidence-ozon-timeline"),
    ("ozon_note", "evidence-ozon-note"),
    ("legs", "evidence-carrier-legs"),
    ("no_legs", "evidence-no-legs"),
    ("times_note", "evidence-times-note"),
    ("delivery", "evidence-delivery"),
    ("no_delivery", "evidence-no-delivery"),
    ("conflicts", "evidence-conflicts"),
    ("no_conflicts", "evidence-no-conflicts"),
    ("alerts", "evidence-alerts"),
    ("no_alerts", "evidence-no-alerts"),
    ("deadlines", "evidence-deadlines"),
    ("deadlines_note", "evidence-deadlines-note"),
    ("attachments", "evidence-attachments"),
    ("no_attachments", "evidence-no-attachments"),
    ("integrity", "evidence-integrity"),
    ("integrity_note", "evidence-integrity-note"),
    ("ticket", "evidence-ticket"),
    ("route", "evidence-route"),
    ("sha256", "evidence-col-sha256"),
    ("title", "evidence-title"),
];

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn local(t: DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%d %H:%M (UTC%:z)").to_string()
}

fn money(tr: &Tr, m: Money) -> String {
    // The font has no ruble sign (U+20BD); the code reads the same in every language.
    tr.money(m).replace('₽', "RUB")
}

impl View {
    pub fn of(input: &Input<'_>, doc: &Document, languages: &[Language]) -> Self {
        let trs: Vec<Tr> = languages.iter().map(|l| Tr::new(*l)).collect();
        let w = Words { trs: &trs };
        let trail = input.trail;
        let p = &trail.posting;
        let posting = p.number.as_str();
        let labels = LABELS.iter().map(|(k, id)| (*k, w.t(id))).collect();
        let first = trs
            .first()
            .copied()
            .unwrap_or_else(|| Tr::new(Language::Zh));

        let mut cover: Vec<(String, String)> = vec![
            (w.t("evidence-posting"), posting.to_owned()),
            (w.t("evidence-order"), doc.posting.order_number.clone()),
        ];
        let mut push = |id: &str, value: Option<String>| {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                cover.push((w.t(id), v));
            }
        };
        push("evidence-order-id", p.order_id.map(|i| i.to_string()));
        push(
            "evidence-status-now",
            Some(match p.substatus.as_str() {
                "" => format!(
                    "{} ({})",
                    w.each(|tr| tr.ozon_state(&p.status, &p.substatus)),
                    p.status.as_str()
                ),
                sub => format!(
                    "{} ({} / {sub})",
                    w.each(|tr| tr.ozon_state(&p.status, &p.substatus)),
                    p.status.as_str()
                ),
            }),
        );
        push("evidence-mode", Some(w.each(|tr| tr.mode(p.scheme))));
        push(
            "evidence-tracking-number",
            p.tracking_number.as_ref().map(|t| t.as_str().to_owned()),
        );
        push(
            "evidence-delivery-method",
            doc.posting.delivery_method.clone(),
        );
        push("evidence-tpl-provider", doc.posting.tpl_provider.clone());
        push("evidence-warehouse", doc.posting.warehouse.clone());
        push("evidence-buyer-city", p.buyer_city.clone());
        push(
            "evidence-promised",
            p.promised
                .map(|w| format!("{} – {}", utc(w.from), utc(w.to))),
        );
        push("evidence-total", p.total.map(|m| money(&first, m)));
        push("evidence-store", Some(trail.store.name.as_str().to_owned()));
        push("evidence-client-id", doc.store.client_id.clone());
        push("evidence-generated-utc", Some(utc(doc.generated_at)));
        push(
            "evidence-generated-moscow",
            Some(
                doc.generated_at_moscow
                    .format("%Y-%m-%d %H:%M MSK")
                    .to_string(),
            ),
        );
        push(
            "evidence-version",
            Some(format!("{}, {}", doc.ozontrack_version, doc.schema)),
        );

        let products = (!input.products.is_empty()).then(|| Table {
            head: [
                "evidence-col-sku",
                "evidence-col-offer",
                "evidence-col-name",
                "evidence-col-qty",
                "evidence-col-price",
            ]
            .iter()
            .map(|id| w.t(id))
            .collect(),
            rows: input
                .products
                .iter()
                .map(|pr| {
                    vec![
                        vec![pr.sku.map(|s| s.to_string()).unwrap_or_default()],
                        vec![pr.offer_id.clone()],
                        vec![pr.name.clone()],
                        vec![pr.quantity.to_string()],
                        vec![pr.price.map(|m| money(&first, m)).unwrap_or_default()],
                    ]
                })
                .collect(),
            widths: vec![3, 3, 8, 1, 3],
        });

        let ozon_events: Vec<&TrackingEvent> = trail.ozon_events().collect();
        let ozon = (!ozon_events.is_empty()).then(|| events_table(&w, ozon_events.into_iter()));

        let legs = trail
            .carrier_legs()
            .map(|l| LegView {
                title: leg_title(&w, l),
                table: events_table(&w, l.events.iter()),
            })
            .collect();

        let delivery = evidence::delivery(trail)
            .map(|(l, e)| {
                let mut rows = vec![
                    (
                        w.t("evidence-col-time"),
                        lines(&[utc(e.occurred_at)], local_time(e).map(local)),
                    ),
                    (
                        w.t("evidence-col-source"),
                        w.each(|tr| tr.carrier(l.leg.carrier.as_str())),
                    ),
                    (
                        w.t("evidence-tracking-number"),
                        l.leg.tracking_number.as_str().to_owned(),
                    ),
                    (
                        w.t("evidence-col-code-text"),
                        format!("{} {}", e.raw_code, e.raw_text),
                    ),
                    (w.t("evidence-col-place"), place(e)),
                ];
                if let Some(h) = &e.handover {
                    rows.push((w.t("evidence-handover"), w.each(|tr| tr.handover(h))));
                }
                if let Some(r) = &e.recipient {
                    rows.push((w.t("evidence-recipient"), r.clone()));
                }
                rows
            })
            .unwrap_or_default();

        let conflicts = evidence::conflicts(trail)
            .map(|entry| Table {
                head: [
                    "evidence-col-source",
                    "evidence-tracking-number",
                    "evidence-col-time",
                    "evidence-col-code-text",
                    "evidence-col-received",
                ]
                .iter()
                .map(|id| w.t(id))
                .collect(),
                rows: entry
                    .reports
                    .iter()
                    .map(|r| {
                        vec![
                            vec![w.each(|tr| tr.source(&r.source))],
                            vec![r.leg.as_str().to_owned()],
                            vec![utc(r.occurred_at)],
                            vec![r.raw_code.clone(), r.raw_text.clone()],
                            vec![r.received_at.map(utc).unwrap_or_default()],
                        ]
                    })
                    .collect(),
                widths: vec![3, 4, 4, 8, 4],
            })
            .collect();

        let tz = ozontrack_i18n::zone(&trail.store.settings.timezone);
        let alerts = (!trail.alerts.is_empty()).then(|| Table {
            head: [
                "evidence-col-rule",
                "evidence-col-severity",
                "evidence-col-state",
                "evidence-col-opened",
                "evidence-col-history",
            ]
            .iter()
            .map(|id| w.t(id))
            .collect(),
            rows: trail
                .alerts
                .iter()
                .map(|a| {
                    let mut rule = vec![w.each(|tr| tr.rule(a.alert.rule))];
                    rule.extend(trs.iter().map(|tr| tr.why(&a.alert.why, tz)));
                    vec![
                        rule,
                        vec![w.each(|tr| tr.severity(a.alert.severity))],
                        vec![w.each(|tr| tr.alert_state(a.alert.state))],
                        vec![utc(a.alert.opened_at)],
                        a.history
                            .iter()
                            .map(|h| {
                                let mut line = format!(
                                    "{} {}",
                                    utc(h.at),
                                    w.each(|tr| tr.alert_state(h.state))
                                );
                                if let Some(by) = &h.by {
                                    line.push_str(&format!(" · {by}"));
                                }
                                if let Some(note) = &h.note {
                                    line.push_str(&format!(" · “{note}”"));
                                }
                                line
                            })
                            .collect(),
                    ]
                })
                .collect(),
            widths: vec![8, 2, 2, 3, 8],
        });

        let deadlines = Table {
            head: vec![
                w.t("evidence-col-deadline"),
                w.t("evidence-col-source-page"),
            ],
            rows: Deadline::ALL
                .iter()
                .map(|d| {
                    vec![
                        trs.iter().map(|tr| tr.deadline(*d)).collect(),
                        vec![d.source().to_owned()],
                    ]
                })
                .collect(),
            widths: vec![3, 2],
        };

        let attachments = (!doc.attachments.is_empty()).then(|| Table {
            head: [
                "evidence-col-file",
                "evidence-col-type",
                "evidence-col-size",
                "evidence-col-taken",
                "evidence-col-added",
            ]
            .iter()
            .map(|id| w.t(id))
            .collect(),
            rows: doc
                .attachments
                .iter()
                .map(|a| {
                    vec![
                        vec![a.path.clone(), a.sha256.clone()],
                        vec![a.media_type.clone()],
                        vec![a.size.to_string()],
                        vec![a.taken_at.map(utc).unwrap_or_default()],
                        vec![utc(a.added_at), a.added_by.clone()],
                    ]
                })
                .collect(),
            widths: vec![9, 3, 2, 3, 3],
        });

        let tickets = trs
            .iter()
            .map(|tr| Ticket {
                language: tr.language().as_str().to_owned(),
                text: ticket(tr, input, doc),
            })
            .collect();

        View {
            title: w.t("evidence-title"),
            subtitle: w.each(|tr| tr.a("evidence-subtitle", &[("posting", posting)])),
            labels,
            cover,
            products,
            ozon,
            legs,
            delivery,
            conflicts,
            alerts,
            deadlines,
            attachments,
            digests: doc
                .payload_digests()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            tickets,
            footer: w.each(|tr| {
                tr.with(
                    "evidence-page",
                    &[
                        ("page", Arg::Text("{page}")),
                        ("pages", Arg::Text("{pages}")),
                    ],
                )
            }),
            map: crate::map::svg(&trail.route()),
        }
    }
}

fn lines(first: &[String], second: Option<String>) -> String {
    let mut out = first.join(" ");
    if let Some(s) = second {
        out.push_str(" · ");
        out.push_str(&s);
    }
    out
}

fn place(e: &TrackingEvent) -> String {
    let text = e.location.text.clone().or_else(|| e.location.city.clone());
    match (text, &e.location.country) {
        (Some(t), Some(c)) => format!("{t}, {c}"),
        (Some(t), None) => t,
        (None, Some(c)) => c.clone(),
        (None, None) => String::new(),
    }
}

fn leg_title(w: &Words<'_>, l: &TrailLeg) -> String {
    let mut title = w.each(|tr| {
        tr.a(
            "evidence-leg",
            &[
                ("carrier", &tr.carrier(l.leg.carrier.as_str())),
                ("number", l.leg.tracking_number.as_str()),
                ("role", &tr.role(l.leg.role)),
            ],
        )
    });
    if let Some(parent) = &l.continues {
        title.push_str(" — ");
        title.push_str(&w.each(|tr| tr.a("evidence-continues", &[("number", parent.as_str())])));
    }
    title
}

fn events_table<'e>(w: &Words<'_>, events: impl Iterator<Item = &'e TrackingEvent>) -> Table {
    Table {
        head: [
            "evidence-col-time",
            "evidence-col-status",
            "evidence-col-code-text",
            "evidence-col-place",
            "evidence-col-source",
        ]
        .iter()
        .map(|id| w.t(id))
        .collect(),
        rows: events
            .map(|e| {
                let mut time = vec![utc(e.occurred_at)];
                time.extend(local_time(e).map(local));
                let mut code = vec![format!("{} {}", e.raw_code, e.raw_text)];
                if let Some(r) = &e.recipient {
                    code.push(r.clone());
                }
                let mut source = vec![w.each(|tr| tr.source(&e.source))];
                source.extend(e.received_at.map(utc));
                source.extend(e.payload_digest.as_deref().map(short_digest));
                vec![
                    time,
                    vec![w.each(|tr| tr.sub_status(&e.status.sub))],
                    code,
                    vec![place(e)],
                    source,
                ]
            })
            .collect(),
        widths: vec![4, 4, 7, 4, 4],
    }
}

/// A payload digest as a row shows it: enough to find it in the integrity list.
fn short_digest(d: &str) -> String {
    let hex = d.strip_prefix("sha256:").unwrap_or(d);
    format!("#{}", &hex[..hex.len().min(12)])
}

/// The paragraph for Ozon's support (Russian) or the seller (Chinese), in `tr`'s language.
fn ticket(tr: &Tr, input: &Input<'_>, doc: &Document) -> String {
    let trail = input.trail;
    let posting = trail.posting.number.as_str();
    let order = doc.posting.order_number.as_str();
    let tz = ozontrack_i18n::zone("Europe/Moscow");
    match evidence::delivery(trail) {
        Some((l, e)) => {
            let handover = e
                .handover
                .as_ref()
                .map(|h| tr.a("evidence-ticket-handover", &[("how", &tr.handover(h))]))
                .unwrap_or_default();
            let recipient = e
                .recipient
                .as_deref()
                .map(|r| tr.a("evidence-ticket-recipient", &[("name", r)]))
                .unwrap_or_default();
            // Ozon's own delivery names no place: the buyer's city is where it was delivered.
            let place = [place(e), tr.place(&e.location)]
                .into_iter()
                .chain(trail.posting.buyer_city.clone())
                .find(|p| !p.is_empty())
                .unwrap_or_else(|| "—".to_owned());
            tr.a(
                "evidence-ticket-delivered",
                &[
                    ("posting", posting),
                    ("order", order),
                    ("date", &format!("{} MSK", tr.time(e.occurred_at, tz))),
                    ("place", &place),
                    ("carrier", &tr.carrier(l.leg.carrier.as_str())),
                    ("code", &e.raw_code),
                    ("text", &e.raw_text),
                    ("handover", &handover),
                    ("recipient", &recipient),
                ],
            )
        }
        None => {
            let last = trail
                .timeline
                .last()
                .map(|e| {
                    format!(
                        "{} MSK, {} {}",
                        tr.time(e.occurred_at, tz),
                        tr.sub_status(&e.status.sub),
                        tr.quote(&e.text)
                    )
                })
                .unwrap_or_else(|| "—".to_owned());
            tr.a(
                "evidence-ticket-undelivered",
                &[("posting", posting), ("order", order), ("last", &last)],
            )
        }
    }
}
