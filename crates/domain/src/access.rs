//! Who may do what: the three roles, the set of stores a person or token is granted, and the
//! actions an audit trail records. One vocabulary for the dashboard, the API and the CLI, so
//! that a check means the same everywhere.

use crate::StoreId;

closed_enum! {
    /// What a dashboard user or an API token may do, each role including the ones before it.
    pub enum Role ("role") {
        /// Reads what its stores hold: postings, alerts, figures, exports, the outbox.
        Viewer => "viewer",
        /// Also acts on parcels: acknowledges and resolves alerts, sets carriers, uploads
        /// tracking numbers, imports reports, retries messages.
        Operator => "operator",
        /// Also runs the shop: stores and their keys, channels, users, tokens, the audit trail.
        Admin => "admin",
    }
}

impl Role {
    /// Whether this role includes `needed`.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

/// The stores granted: every store (said explicitly), or exactly the ones listed; an empty
/// list grants nothing, so a grant whose stores are all removed never widens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreScope {
    All,
    Only(Vec<StoreId>),
}

impl StoreScope {
    /// Whether the store is granted.
    pub fn covers(&self, store: StoreId) -> bool {
        match self {
            StoreScope::All => true,
            StoreScope::Only(stores) => stores.contains(&store),
        }
    }

    /// Whether every store, present and future, is granted.
    pub fn is_all(&self) -> bool {
        matches!(self, StoreScope::All)
    }

    /// The listed stores (none for `All`).
    pub fn listed(&self) -> &[StoreId] {
        match self {
            StoreScope::All => &[],
            StoreScope::Only(stores) => stores,
        }
    }
}

closed_enum! {
    /// A write the audit trail records: its kind only; who, where and the values changed are
    /// columns of the entry, and the words come from the message catalogue.
    pub enum AuditAction ("audit action") {
        AlertAcknowledged => "alert.acknowledged",
        AlertResolved => "alert.resolved",
        CarrierSet => "leg.carrier_set",
        TrackingUploaded => "tracking.uploaded",
        ReportImported => "report.imported",
        EvidenceAttached => "evidence.attached",
        StoreAdded => "store.added",
        StoreKeySet => "store.key_set",
        StorePaused => "store.paused",
        StoreResumed => "store.resumed",
        StoreRenamed => "store.renamed",
        StoreRemoved => "store.removed",
        UserAdded => "user.added",
        UserChanged => "user.changed",
        UserDisabled => "user.disabled",
        UserEnabled => "user.enabled",
        TokenCreated => "token.created",
        TokenRevoked => "token.revoked",
        ChannelAdded => "channel.added",
        ChannelChanged => "channel.changed",
        ChannelRemoved => "channel.removed",
        ChannelTested => "channel.tested",
        MessageRetried => "message.retried",
        TemplateChanged => "template.changed",
        BackupRestored => "backup.restored",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_includes_the_ones_before_it() {
        assert!(Role::Admin.allows(Role::Operator));
        assert!(Role::Operator.allows(Role::Viewer));
        assert!(!Role::Viewer.allows(Role::Operator));
        assert!(!Role::Operator.allows(Role::Admin));
    }

    #[test]
    fn an_empty_scope_grants_nothing_and_all_is_said_explicitly() {
        let none = StoreScope::Only(Vec::new());
        assert!(!none.covers(StoreId(1)));
        assert!(StoreScope::All.covers(StoreId(1)));
        assert!(StoreScope::Only(vec![StoreId(2)]).covers(StoreId(2)));
    }
}
