//! `GET /api/openapi.json`: the OpenAPI 3.1 description of [`crate::api`], written out here
//! route by route. A test reads the router's source and the document both ways, so a route
//! cannot be added or dropped without the document following.

use axum::Json;
use serde_json::{Value, json};

fn param(name: &str, place: &str, kind: &str, about: &str) -> Value {
    json!({
        "name": name,
        "in": place,
        "required": place == "path",
        "description": about,
        "schema": {"type": kind},
    })
}

fn query(name: &str, kind: &str, about: &str) -> Value {
    param(name, "query", kind, about)
}

fn ok(about: &str, schema: &str) -> Value {
    json!({
        "description": about,
        "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}},
    })
}

fn error(about: &str) -> Value {
    ok(about, "Error")
}

fn errors(codes: &[(&str, &str)]) -> serde_json::Map<String, Value> {
    codes
        .iter()
        .map(|(code, about)| ((*code).to_owned(), error(about)))
        .collect()
}

fn operation(
    summary: &str,
    params: Vec<Value>,
    success: Value,
    failures: &[(&str, &str)],
) -> Value {
    let mut responses = errors(failures);
    responses.insert("200".into(), success);
    json!({
        "summary": summary,
        "parameters": Value::Array(params),
        "responses": responses,
    })
}

const AUTH: (&str, &str) = ("401", "no valid API token");
const BAD: (&str, &str) = (
    "400",
    "a parameter or the body is not understood; the message names it",
);

/// The document.
pub fn document() -> Value {
    let list_filters = vec![
        query("store", "string", "only this store (by name)"),
        query("status", "string", "Ozon's status, e.g. delivering"),
        query("mode", "string", "fbs, rfbs, fbo or crossborder"),
        query("carrier", "string", "a leg's carrier code, e.g. cdek"),
        query(
            "risk",
            "string",
            "an open alert at least this severe: info, warning, high_risk, critical",
        ),
        query("from", "string", "ordered from (2026-11-01 or RFC 3339)"),
        query("to", "string", "ordered before"),
        query(
            "q",
            "string",
            "a posting number (or its start) or a tracking number",
        ),
        query("cursor", "string", "next_cursor of the previous page"),
        query("limit", "integer", "page size, 1–200 (default 50)"),
    ];
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "ozontrack API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Postings, parcels and risk alerts of the stores a token may see. \
                Authenticate with `Authorization: Bearer ozt_…` (`ozontrack tokens create`). \
                Another store's data answers exactly like missing data.",
        },
        "security": [{"bearer": []}],
        "paths": {
            "/healthz": {"get": {
                "summary": "Liveness and database reachability",
                "security": [],
                "responses": {
                    "200": {"description": "ok"},
                    "503": {"description": "the database cannot be reached"},
                },
            }},
            "/api/openapi.json": {"get": {
                "summary": "This document",
                "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1"}},
            }},
            "/api/v1/stores": {"get": operation(
                "The stores the token may see", vec![],
                ok("stores", "Stores"), &[AUTH])},
            "/api/v1/postings": {"get": operation(
                "Postings, newest first, filtered and paged by cursor", list_filters,
                ok("a page", "PostingsPage"), &[AUTH, BAD, ("404", "no such store")])},
            "/api/v1/postings/{number}": {"get": operation(
                "One posting: legs, merged timeline, alerts",
                vec![
                    param("number", "path", "string", "the posting number"),
                    query("lang", "string", "zh, ru or en (default: the store's)"),
                ],
                ok("the posting", "PostingDetail"), &[AUTH, BAD, ("404", "no such posting")])},
            "/api/v1/postings/{number}/legs/{tracking_number}/carrier": {"post": {
                "summary": "Set a leg's carrier by hand (kept; detection never undoes it)",
                "parameters": [
                    param("number", "path", "string", "the posting number"),
                    param("tracking_number", "path", "string", "the leg's tracking number"),
                ],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["carrier"],
                    "properties": {"carrier": {"type": "string"}, "by": {"type": "string"}},
                }}}},
                "responses": {
                    "200": ok("the leg's new carrier", "CarrierSet"),
                    "400": error("unknown carrier or bad body"),
                    "401": error("no valid API token"),
                    "403": error("the token may only read"),
                    "404": error("no such posting or leg"),
                },
            }},
            "/api/v1/alerts": {"get": operation(
                "Alerts, newest first",
                vec![
                    query("store", "string", "only this store (by name)"),
                    query("open", "boolean", "only alerts not resolved"),
                    query("severity", "string", "at least this severe"),
                    query("limit", "integer", "1–200 (default 100)"),
                ],
                ok("alerts", "Alerts"), &[AUTH, BAD, ("404", "no such store")])},
            "/api/v1/alerts/{id}/ack": {"post": {
                "summary": "Acknowledge an alert with a note",
                "parameters": [param("id", "path", "integer", "the alert's id")],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["note"],
                    "properties": {"note": {"type": "string"}, "by": {"type": "string"}},
                }}}},
                "responses": {
                    "200": ok("acknowledged (false when it was resolved already)", "Acknowledged"),
                    "400": error("empty note or bad body"),
                    "401": error("no valid API token"),
                    "403": error("the token may only read"),
                    "404": error("no such alert"),
                },
            }},
            "/api/v1/stats/carriers": {"get": operation(
                "Per-carrier figures over the legs tracked in the last days",
                vec![
                    query("store", "string", "only this store (by name)"),
                    query("days", "integer", "1–366 (default 30)"),
                ],
                ok("carrier figures", "CarrierStats"), &[AUTH, BAD, ("404", "no such store")])},
            "/api/v1/stats/lanes": {"get": operation(
                "Per-lane figures (carriers in order, buyer city) over the postings of the last days",
                vec![
                    query("store", "string", "only this store (by name)"),
                    query("days", "integer", "1–366 (default 30)"),
                ],
                ok("lane figures", "LaneStats"), &[AUTH, BAD, ("404", "no such store")])},
            "/api/v1/stores/{store}/tracking-numbers": {"post": {
                "summary": "Upload tracking numbers to Ozon: every row checked, the good ones sent 20 per call",
                "parameters": [
                    param("store", "path", "string", "the store (by name)"),
                    query("dry_run", "boolean", "check every row, send nothing"),
                    query("skip_invalid", "boolean", "send the valid rows even when others are invalid"),
                ],
                "requestBody": {"required": true, "content": {"text/csv": {"schema": {
                    "type": "string",
                    "description": "a header line posting_number,tracking_number, then one row per posting",
                }}}},
                "responses": {
                    "200": ok("a result per row sent, and the problems skipped", "UploadResult"),
                    "400": error("the body is not such a CSV"),
                    "401": error("no valid API token"),
                    "403": error("the token may only read"),
                    "404": error("no such store"),
                    "422": ok("rows are invalid (each located by line and column); nothing was sent", "InvalidRows"),
                    "503": error("this server does not send to Ozon"),
                },
            }},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string", "enum": ["unauthorized", "read_only", "not_found", "bad_request", "invalid_rows", "unavailable", "internal"]},
                        "message": {"type": "string"},
                    },
                }}},
                "Store": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "name": {"type": "string"},
                    "client_id": {"type": "string"}, "timezone": {"type": "string"},
                    "language": {"type": "string"}, "synced_until": {"type": ["string", "null"]},
                }},
                "Stores": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Store"}}}},
                "Posting": {"type": "object", "properties": {
                    "posting_number": {"type": "string"}, "store": {"type": "string"},
                    "mode": {"type": "string"}, "status": {"type": "string"},
                    "substatus": {"type": "string"}, "tracking_number": {"type": ["string", "null"]},
                    "in_process_at": {"type": ["string", "null"]}, "ship_by": {"type": ["string", "null"]},
                    "delivered_at": {"type": ["string", "null"]}, "buyer_city": {"type": ["string", "null"]},
                    "delivery_method": {"type": ["string", "null"]}, "updated_at": {"type": "string"},
                    "carriers": {"type": "array", "items": {"type": "string"}},
                    "risk": {"type": ["string", "null"]},
                }},
                "PostingsPage": {"type": "object", "properties": {
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Posting"}},
                    "next_cursor": {"type": ["string", "null"]},
                }},
                "Alert": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "posting_number": {"type": "string"},
                    "rule": {"type": "string"}, "leg": {"type": ["string", "null"]},
                    "severity": {"type": "string"}, "state": {"type": "string"},
                    "since": {"type": "string"}, "why": {"type": "string"},
                    "actions": {"type": "array", "items": {"type": "string"}},
                    "evidence": {"type": "array", "items": {"type": "string"}},
                    "opened_at": {"type": "string"},
                    "acknowledged_by": {"type": ["string", "null"]}, "ack_note": {"type": ["string", "null"]},
                    "resolved_at": {"type": ["string", "null"]}, "resolution": {"type": ["string", "null"]},
                }},
                "Alerts": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}}}},
                "PostingDetail": {"allOf": [{"$ref": "#/components/schemas/Posting"}, {"type": "object", "properties": {
                    "legs": {"type": "array", "items": {"type": "object"}},
                    "timeline": {"type": "array", "items": {"type": "object", "properties": {
                        "occurred_at": {"type": "string"}, "status": {"type": "string"},
                        "sub_status": {"type": "string"}, "label": {"type": "string"},
                        "carrier": {"type": "string"}, "text": {"type": "string"},
                        "place": {"type": ["string", "null"]}, "point": {"type": ["array", "null"]},
                        "sources": {"type": "array", "items": {"type": "string"}},
                    }}},
                    "alerts": {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}},
                    "estimate": {"type": ["object", "null"], "description": "arrival window while under way", "properties": {
                        "from": {"type": "string"}, "to": {"type": "string"},
                        "basis": {"description": "{\"lane_deliveries\": n} or \"mode_typical\""},
                    }},
                }}]},
                "LaneStats": {"type": "object", "properties": {
                    "since": {"type": "string"},
                    "items": {"type": "array", "items": {"type": "object", "properties": {
                        "carriers": {"type": "array", "items": {"type": "string"}},
                        "buyer_city": {"type": ["string", "null"]},
                        "postings": {"type": "integer"}, "delivered": {"type": "integer"},
                        "stale_open": {"type": "integer"}, "stale_rate": {"type": "number"},
                        "transit_days": {"type": "object"},
                    }}},
                }},
                "Problem": {"type": "object", "properties": {
                    "line": {"type": "integer"}, "column": {"type": "string"}, "message": {"type": "string"},
                }},
                "InvalidRows": {"type": "object", "properties": {"error": {"type": "object", "properties": {
                    "code": {"type": "string", "const": "invalid_rows"},
                    "message": {"type": "string"},
                    "problems": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"}},
                }}}},
                "UploadResult": {"type": "object", "properties": {
                    "checked": {"type": "integer"}, "sent": {"type": "integer"}, "accepted": {"type": "integer"},
                    "results": {"type": "array", "items": {"type": "object", "properties": {
                        "line": {"type": "integer"}, "posting_number": {"type": "string"},
                        "tracking_number": {"type": "string"}, "ok": {"type": "boolean"},
                        "error": {"type": ["string", "null"]},
                    }}},
                    "problems": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"}},
                }},
                "CarrierSet": {"type": "object", "properties": {
                    "posting_number": {"type": "string"}, "tracking_number": {"type": "string"},
                    "carrier": {"type": "string"}, "carrier_source": {"type": "string"},
                    "set_by": {"type": "string"},
                }},
                "Acknowledged": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "acknowledged": {"type": "boolean"},
                    "state": {"type": "string"},
                }},
                "CarrierStats": {"type": "object", "properties": {
                    "since": {"type": "string"},
                    "items": {"type": "array", "items": {"type": "object", "properties": {
                        "carrier": {"type": "string"}, "legs": {"type": "integer"},
                        "delivered": {"type": "integer"}, "stale_open": {"type": "integer"},
                        "stale_rate": {"type": "number"},
                        "transit_days": {"type": "object"},
                    }}},
                }},
            },
        },
    })
}

/// Serves the document.
pub async fn serve() -> Json<Value> {
    Json(document())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `(method, path)` pairs the API's router declares, read from its source.
    fn routed() -> Vec<(String, String)> {
        let source = include_str!("api.rs");
        let mut out = Vec::new();
        let mut rest = source;
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            let Some(open) = rest.find('"') else { break };
            let after = &rest[open + 1..];
            let Some(close) = after.find('"') else { break };
            let path = after[..close].to_owned();
            let tail = &after[close..];
            let method = ["get(", "post("]
                .iter()
                .filter_map(|m| tail.find(m).map(|i| (i, m.trim_end_matches('('))))
                .min()
                .map(|(_, m)| m.to_owned())
                .unwrap_or_default();
            out.push((method, path));
        }
        out
    }

    #[test]
    fn every_route_is_documented_and_every_documented_route_exists() {
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        let routed = routed();
        assert!(routed.len() >= 8, "{routed:?}");
        for (method, path) in &routed {
            assert!(
                paths.get(path).and_then(|p| p.get(method)).is_some(),
                "{method} {path} is routed but not documented"
            );
        }
        for (path, methods) in paths {
            for method in methods.as_object().unwrap().keys() {
                assert!(
                    routed.iter().any(|(m, p)| m == method && p == path),
                    "{method} {path} is documented but not routed"
                );
            }
        }
    }

    #[test]
    fn every_schema_reference_resolves() {
        let doc = document();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for piece in text.split("#/components/schemas/").skip(1) {
            let name: String = piece.chars().take_while(|c| c.is_alphanumeric()).collect();
            assert!(
                schemas.contains_key(&name),
                "{name} is referenced but not defined"
            );
        }
    }
}
