//! `GET /api/openapi.json`: the OpenAPI 3.1 description of [`crate::api`], generated from the
//! handlers' `#[utoipa::path]` annotations and the body and parameter types. The router and the
//! document are built from one list of handlers ([`crate::api::router`]), so a route cannot be
//! served without being described, nor described without being served; every enum, bound and
//! format the server enforces is stated in the types.

use ozontrack_domain::Closed;
use utoipa::openapi::path::Paths;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder, RefOr, SecurityRequirement,
};

/// The document around the paths the router registered, with the schemas they reference.
pub fn document(paths: Paths, schemas: Vec<(String, RefOr<Schema>)>) -> OpenApi {
    let mut components = ComponentsBuilder::new().security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("ozt_…")
                .description(Some(
                    "A token from `ozontrack tokens create`, scoped to stores",
                ))
                .build(),
        ),
    );
    for (name, schema) in schemas {
        components = components.schema(name, schema);
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("ozontrack API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Postings, parcels and risk alerts of the stores a token may see. \
                     Authenticate with `Authorization: Bearer ozt_…` (`ozontrack tokens create`). \
                     Another store's data answers exactly like missing data. Names and \
                     sentences come in the language of `lang` or `Accept-Language`.",
                ))
                .build(),
        )
        .paths(paths)
        .components(Some(components.build()))
        .security(Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]))
        .build()
}

/// The schema of a closed enum of our vocabulary: a string, one of its values.
fn closed<T: Closed>(about: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(T::texts()))
        .description(Some(about))
}

/// Schemas of the domain's enums, for `#[schema(schema_with = …)]` and `#[param(schema_with =
/// …)]` (the domain does not know utoipa).
pub mod schemas {
    use ozontrack_domain::alert::{AlertState, Resolution};
    use ozontrack_domain::finding::{Action, RuleKind, Severity};
    use ozontrack_domain::notify::{
        AttemptOutcome, Audience, ChannelKind, DestinationState, DisableCause, MessageState,
        PenaltyLevel, Topic,
    };
    use ozontrack_domain::{
        AuditAction, CarrierSource, Language, LegRole, MainStatus, Role, Scheme, carrier,
    };
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};

    use super::closed;

    pub fn language() -> ObjectBuilder {
        closed::<Language>("zh, ru or en")
    }

    pub fn role() -> ObjectBuilder {
        closed::<Role>("what a user or token may do, each role including the ones before it")
    }

    pub fn audit_action() -> ObjectBuilder {
        closed::<AuditAction>("what was done")
    }

    pub fn mode() -> ObjectBuilder {
        closed::<Scheme>("how the order reaches the buyer")
    }

    pub fn severity() -> ObjectBuilder {
        closed::<Severity>("how bad, from mild to worst")
    }

    pub fn rule() -> ObjectBuilder {
        closed::<RuleKind>("the rule that spoke")
    }

    pub fn action() -> ObjectBuilder {
        closed::<Action>("what to do")
    }

    pub fn alert_state() -> ObjectBuilder {
        closed::<AlertState>("where the alert is in its life")
    }

    pub fn penalty_level() -> ObjectBuilder {
        closed::<PenaltyLevel>("the penalty threshold a store reached")
    }

    pub fn resolution() -> ObjectBuilder {
        closed::<Resolution>("why the alert ended")
    }

    pub fn leg_role() -> ObjectBuilder {
        closed::<LegRole>("which part of the journey the leg covers")
    }

    pub fn main_status() -> ObjectBuilder {
        closed::<MainStatus>("where the parcel stands")
    }

    pub fn carrier_source() -> ObjectBuilder {
        closed::<CarrierSource>("how the leg's carrier was decided")
    }

    pub fn channel() -> ObjectBuilder {
        closed::<ChannelKind>("where messages go")
    }

    pub fn topic() -> ObjectBuilder {
        closed::<Topic>("what a message is about")
    }

    pub fn topics() -> ArrayBuilder {
        ArrayBuilder::new().items(topic())
    }

    pub fn rules() -> ArrayBuilder {
        ArrayBuilder::new().items(rule())
    }

    pub fn audience() -> ObjectBuilder {
        closed::<Audience>("who reads it")
    }

    pub fn destination_state() -> ObjectBuilder {
        closed::<DestinationState>("whether the destination receives messages")
    }

    pub fn disable_cause() -> ObjectBuilder {
        closed::<DisableCause>("why the destination was disabled")
    }

    pub fn message_state() -> ObjectBuilder {
        closed::<MessageState>("where the message is in the outbox")
    }

    pub fn attempt_outcome() -> ObjectBuilder {
        closed::<AttemptOutcome>("what an attempt to send came to")
    }

    /// A carrier a person may choose for a leg: one of the registry's but Ozon's own.
    pub fn manual_carrier() -> ObjectBuilder {
        let codes: Vec<&str> = carrier::CARRIERS
            .iter()
            .map(|c| c.code)
            .filter(|c| *c != carrier::OZON)
            .collect();
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(codes))
            .description(Some("our carrier code"))
    }

    /// Any carrier code of the registry (a filter).
    /// `fbs` or `fbo`: the two postings reports Ozon has (rFBS postings come in the FBS one).
    pub fn report_mode() -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(["fbs", "fbo"]))
            .description(Some("which postings report the file is"))
    }

    /// A comma-separated list of the export's column keys.
    pub fn export_columns() -> ObjectBuilder {
        let keys: Vec<&str> = ozontrack_reports::Column::ALL
            .iter()
            .map(|c| c.key())
            .collect();
        let one = format!("({})", keys.join("|"));
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(format!("^{one}(,{one})*$")))
            .description(Some(format!(
                "column keys in order, comma-separated: {}",
                keys.join(", ")
            )))
    }

    pub fn carrier() -> ObjectBuilder {
        let codes: Vec<&str> = carrier::CARRIERS.iter().map(|c| c.code).collect();
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(codes))
            .description(Some("our carrier code"))
    }
}
