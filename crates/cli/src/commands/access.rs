//! Who may do what, from the console: `ozontrack tokens` (the API's bearer tokens),
//! `ozontrack users` (dashboard users with a role and stores), `ozontrack login-link` (one-time
//! sign-in links) and `ozontrack audit` (the trail of every change). The console acts with the
//! installation's full authority; what it does is recorded as `cli:$USER`.

use std::io::Write;

use ozontrack_db::prelude::*;
use ozontrack_db::{SqlDatabase, StoreRecord};
use ozontrack_domain::{Clock, Role, StoreScope, SystemClock};
use ozontrack_engine::access::UserEdit;
use ozontrack_i18n::Tr;
use serde_json::json;

use crate::app::{self, KeyMode};
use crate::cli::{AuditArgs, GrantArgs, LoginLinkArgs, TokensCommand, UsersCommand};
use crate::errors::InputError;
use crate::output;
use crate::settings::Settings;

fn role(text: &str) -> anyhow::Result<Role> {
    Role::parse(text).map_err(|e| InputError::new(format!("--role: {e}")).into())
}

/// The grant the flags name; `None` when neither `--store` nor `--all-stores` was given.
async fn grant(db: &SqlDatabase, args: &GrantArgs) -> anyhow::Result<Option<StoreScope>> {
    if args.all_stores {
        return Ok(Some(StoreScope::All));
    }
    if args.stores.is_empty() {
        return Ok(None);
    }
    let mut ids = Vec::new();
    for name in &args.stores {
        ids.extend(
            app::chosen_stores(db, Some(name))
                .await?
                .into_iter()
                .map(|s| s.id),
        );
    }
    Ok(Some(StoreScope::Only(ids)))
}

/// A grant that must be said: some stores or every store, never nothing by omission.
async fn required_grant(db: &SqlDatabase, args: &GrantArgs) -> anyhow::Result<StoreScope> {
    grant(db, args).await?.ok_or_else(|| {
        InputError::new("name the stores it may see (--store NAME, repeated) or --all-stores")
            .into()
    })
}

/// The stores a grant names, in the reader's words.
fn granted(tr: &Tr, scope: &StoreScope, stores: &[StoreRecord]) -> String {
    tr.granted(scope, stores.iter().map(|s| (s.id, s.name.as_str())))
}

/// A grant's stores for scripts: "every store", "none", or their names.
fn stores_text(scope: &StoreScope, stores: &[StoreRecord]) -> String {
    match scope {
        StoreScope::All => "every store".to_owned(),
        StoreScope::Only(ids) if ids.is_empty() => "none".to_owned(),
        StoreScope::Only(ids) => stores
            .iter()
            .filter(|s| ids.contains(&s.id))
            .map(|s| s.name.as_str().to_owned())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| anyhow::anyhow!("reading the password from standard input: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

pub(crate) async fn tokens(
    settings: &Settings,
    command: &TokensCommand,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let opened = app::open(settings, KeyMode::Existing).await?;
    let db = opened.store;
    let result = tokens_on(&db, command, json, out).await;
    db.close().await;
    result
}

async fn tokens_on(
    db: &SqlDatabase,
    command: &TokensCommand,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let now = SystemClock.now();
    match command {
        TokensCommand::Create(args) => {
            let role = role(&args.role)?;
            let scope = required_grant(db, &args.grant).await?;
            let (secret, record) = ozontrack_engine::access::create_token(
                db,
                &args.name,
                role,
                scope,
                &app::console(),
                now,
            )
            .await?;
            if json {
                output::print_json(
                    out,
                    &json!({"id": record.id, "name": record.name, "role": role.as_str(), "token": secret}),
                )?;
            } else {
                writeln!(out, "token {} ({}): {secret}", record.id, record.name)?;
                writeln!(out, "It is shown only now; ozontrack keeps only its hash.")?;
            }
        }
        TokensCommand::List(args) => {
            let tokens = db.tokens().await?;
            let stores = db.stores().await?;
            if json {
                let list: Vec<_> = tokens
                    .iter()
                    .map(|t| {
                        json!({"id": t.id, "name": t.name, "prefix": t.prefix, "role": t.role.as_str(),
                               "stores": stores_text(&t.scope, &stores),
                               "created_at": output::time(t.created_at),
                               "revoked_at": t.revoked_at.map(output::time)})
                    })
                    .collect();
                output::print_json(out, &json!({"tokens": list}))?;
            } else {
                let (tr, tz) = output::reader(args.lang.as_deref(), &stores)?;
                let mut table = output::records_table(
                    &tr,
                    &[
                        "users-name",
                        "tokens-prefix",
                        "users-role",
                        "users-stores",
                        "tokens-created-at",
                        "users-state",
                    ],
                );
                for t in &tokens {
                    table.add_row(vec![
                        t.id.to_string(),
                        t.name.clone(),
                        format!("{}…", t.prefix),
                        tr.access_role(t.role),
                        granted(&tr, &t.scope, &stores),
                        tr.time(t.created_at, tz),
                        match t.revoked_at {
                            Some(at) => tr.a("tokens-revoked", &[("since", &tr.time(at, tz))]),
                            None => tr.t("tokens-live"),
                        },
                    ]);
                }
                output::print_table(out, &table)?;
            }
        }
        TokensCommand::Revoke(args) => {
            match ozontrack_engine::access::revoke_token(db, args.id, &app::console(), now).await {
                Err(ozontrack_engine::Error::NotFound(_)) => {
                    return Err(InputError::new(format!(
                        "no live token with id {} (see `ozontrack tokens list`)",
                        args.id
                    ))
                    .into());
                }
                revoked => revoked?,
            }
            writeln!(out, "token {} revoked", args.id)?;
        }
    }
    Ok(())
}

pub(crate) async fn users(
    settings: &Settings,
    command: &UsersCommand,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    // The password is read before the database is opened: a prompt never holds a connection.
    let password = match command {
        UsersCommand::Add(_) => Some(read_password()?),
        UsersCommand::Set(args) if args.password_stdin => Some(read_password()?),
        _ => None,
    };
    let opened = app::open(settings, KeyMode::Existing).await?;
    let db = opened.store;
    let result = users_on(&db, command, password, json, out).await;
    db.close().await;
    result
}

async fn users_on(
    db: &SqlDatabase,
    command: &UsersCommand,
    password: Option<String>,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let now = SystemClock.now();
    let actor = app::console();
    let changed = match command {
        UsersCommand::Add(args) => {
            let role = role(&args.role)?;
            let scope = required_grant(db, &args.grant).await?;
            ozontrack_engine::access::add_user(
                db,
                &args.name,
                password.unwrap_or_default(),
                role,
                scope,
                &actor,
                now,
            )
            .await?
        }
        UsersCommand::Set(args) => {
            let edit = UserEdit {
                password,
                role: args.role.as_deref().map(role).transpose()?,
                scope: grant(db, &args.grant).await?,
                disabled: None,
            };
            if edit.password.is_none() && edit.role.is_none() && edit.scope.is_none() {
                return Err(InputError::new(
                    "say what to change: --role, --store/--all-stores or --password-stdin",
                )
                .into());
            }
            ozontrack_engine::access::change_user(db, &args.name, edit, &actor, now).await?
        }
        UsersCommand::Disable(args) | UsersCommand::Enable(args) => {
            let edit = UserEdit {
                disabled: Some(matches!(command, UsersCommand::Disable(_))),
                ..UserEdit::default()
            };
            ozontrack_engine::access::change_user(db, &args.name, edit, &actor, now).await?
        }
        UsersCommand::List(args) => {
            let users = db.users().await?;
            let stores = db.stores().await?;
            if json {
                let list: Vec<_> = users
                    .iter()
                    .map(|u| {
                        json!({"name": u.name, "role": u.role.as_str(),
                               "stores": stores_text(&u.scope, &stores),
                               "created_at": output::time(u.created_at),
                               "disabled_at": u.disabled_at.map(output::time)})
                    })
                    .collect();
                output::print_json(out, &json!({"users": list}))?;
            } else {
                let (tr, tz) = output::reader(args.lang.as_deref(), &stores)?;
                let mut table = output::labelled_table(
                    &tr,
                    &["users-name", "users-role", "users-stores", "users-state"],
                );
                for u in &users {
                    table.add_row(vec![
                        u.name.clone(),
                        tr.access_role(u.role),
                        granted(&tr, &u.scope, &stores),
                        match u.disabled_at {
                            Some(at) => tr.a("users-disabled", &[("since", &tr.time(at, tz))]),
                            None => tr.t("users-enabled"),
                        },
                    ]);
                }
                output::print_table(out, &table)?;
            }
            return Ok(());
        }
    };
    let stores = db.stores().await?;
    if json {
        output::print_json(
            out,
            &json!({"user": changed.name, "role": changed.role.as_str(),
                    "stores": stores_text(&changed.scope, &stores),
                    "disabled": changed.disabled_at.is_some()}),
        )?;
    } else {
        let state = if changed.disabled_at.is_some() {
            "disabled"
        } else {
            "enabled"
        };
        writeln!(
            out,
            "dashboard user {}: {} of {}, {state}; their sessions ended",
            changed.name,
            changed.role,
            stores_text(&changed.scope, &stores)
        )?;
    }
    Ok(())
}

pub(crate) async fn login_link(
    settings: &Settings,
    args: &LoginLinkArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let base = args.base_url.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(InputError::new(format!(
            "--base-url: {base:?} is not an http:// or https:// address"
        ))
        .into());
    }
    let opened = app::open(settings, KeyMode::Existing).await?;
    let secret = ozontrack_engine::access::mint_login_link(
        &opened.store,
        args.user.as_deref(),
        SystemClock.now(),
    )
    .await;
    opened.store.close().await;
    let secret = secret.map_err(|e| match e {
        ozontrack_engine::Error::NotFound(_) => anyhow::Error::from(InputError::new(format!(
            "--user: no enabled dashboard user named {:?} (see `ozontrack users list`)",
            args.user.as_deref().unwrap_or_default()
        ))),
        other => other.into(),
    })?;
    let link = format!("{base}/login/{secret}");
    if json {
        output::print_json(out, &json!({"link": link}))?;
    } else {
        writeln!(out, "{link}")?;
        writeln!(out, "It signs one browser in once, within 24 hours.")?;
    }
    Ok(())
}

pub(crate) async fn audit(
    settings: &Settings,
    args: &AuditArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let opened = app::open(settings, KeyMode::Existing).await?;
    let db = opened.store;
    let (scope, stores) = match &args.store {
        Some(name) => {
            let stores = app::chosen_stores(&db, Some(name)).await?;
            (
                StoreScope::Only(stores.iter().map(|s| s.id).collect()),
                stores,
            )
        }
        None => (StoreScope::All, db.stores().await?),
    };
    let (tr, tz) = output::reader(args.lang.as_deref(), &stores)?;
    let records = ozontrack_engine::audit::entries(&db, &scope, None, args.limit.max(1)).await;
    db.close().await;
    let records = records?;
    if json {
        let list: Vec<_> = records
            .iter()
            .map(|r| {
                let e = &r.entry;
                json!({"id": r.id, "at": output::time(e.at), "actor": e.actor,
                       "action": e.action.as_str(), "store": e.store.as_ref().map(|(_, n)| n),
                       "posting": e.posting, "subject": e.subject, "detail": e.detail})
            })
            .collect();
        output::print_json(out, &json!({"entries": list}))?;
        return Ok(());
    }
    let mut table = output::labelled_table(
        &tr,
        &[
            "audit-col-at",
            "audit-col-actor",
            "audit-col-action",
            "audit-col-store",
            "audit-col-posting",
            "audit-col-subject",
            "audit-col-detail",
        ],
    );
    for r in &records {
        let e = &r.entry;
        table.add_row(vec![
            tr.time(e.at, tz),
            e.actor.clone(),
            tr.audit_action(e.action),
            e.store.as_ref().map(|(_, n)| n.clone()).unwrap_or_default(),
            e.posting.clone().unwrap_or_default(),
            e.subject.clone().unwrap_or_default(),
            e.detail
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        ]);
    }
    output::print_table(out, &table)?;
    Ok(())
}
