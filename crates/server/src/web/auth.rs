//! Who is looking at the dashboard and what they may do: argon2id passwords, one-time login
//! links, session cookies (`HttpOnly`, `SameSite=Lax`, kept server-side as hashes), the user's
//! role and stores read at every request (so a change holds at once), and the CSRF check every
//! form and htmx POST passes (the session's token, and an `Origin` that is our own).

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use ozontrack_db::{Database, StoreRecord};
use ozontrack_domain::{Role, StoreId, StoreScope};
use ozontrack_engine::Actor;
use ozontrack_engine::access::secret_hash;

use super::{WebError, WebState};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "ozt_session";

/// A new session for `user`: the cookie that carries it, after the database keeps its hash.
pub(super) async fn start_session<S: Database>(
    state: &WebState<S>,
    user: &str,
) -> Result<HeaderValue, WebError> {
    let hours = state.settings.session_hours;
    let (secret, _) =
        ozontrack_engine::access::start_session(&state.api.db, user, hours, state.api.wall.now())
            .await?;
    let secure = if state.settings.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        hours * 3600
    );
    HeaderValue::from_str(&cookie).map_err(|_| WebError::Internal)
}

/// A cookie's value from the request.
pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A signed-in person, with what they may do: their role, and the stores they may see (every
/// page reads through these, never through the whole list).
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user: String,
    pub csrf: String,
    pub role: Role,
    pub scope: StoreScope,
    pub stores: Vec<StoreRecord>,
    session_hash: Vec<u8>,
}

impl Viewer {
    pub(super) fn session_hash(&self) -> &[u8] {
        &self.session_hash
    }

    /// The ids of the stores this person may see.
    pub(super) fn ids(&self) -> Vec<StoreId> {
        self.stores.iter().map(|s| s.id).collect()
    }

    /// The store named, if this person may see it.
    pub(super) fn store_named(&self, name: &str) -> Option<&StoreRecord> {
        self.stores.iter().find(|s| s.name.as_str() == name.trim())
    }

    /// Refuses a person whose role does not include `needed` (whatever the page shows).
    pub(super) fn require(&self, needed: Role) -> Result<(), WebError> {
        if self.role.allows(needed) {
            Ok(())
        } else {
            Err(WebError::Forbidden)
        }
    }

    /// What serves every store (destinations, the outbox, users) is for people granted every
    /// store, at `needed` or above.
    pub(super) fn require_everywhere(&self, needed: Role) -> Result<(), WebError> {
        self.require(needed)?;
        if self.scope.is_all() {
            Ok(())
        } else {
            Err(WebError::Forbidden)
        }
    }

    /// Who this person acts as in the trail.
    pub(super) fn actor(&self) -> Result<Actor, WebError> {
        Ok(Actor::person(&self.user)?)
    }

    /// A POST must carry the session's CSRF token (form field or `X-CSRF-Token`) and, when
    /// the browser says where it comes from, come from this very site.
    pub(super) fn check_post(
        &self,
        headers: &HeaderMap,
        form: Option<&str>,
    ) -> Result<(), WebError> {
        same_origin(headers)?;
        let sent = headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .or(form)
            .ok_or(WebError::Forbidden)?;
        if secret_hash(sent) == secret_hash(&self.csrf) {
            Ok(())
        } else {
            Err(WebError::Forbidden)
        }
    }
}

/// Refuses a request another site's page made the browser send: `Sec-Fetch-Site` other than
/// same-origin / none, or an `Origin` whose host is not the one asked.
pub(super) fn same_origin(headers: &HeaderMap) -> Result<(), WebError> {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return Err(WebError::Forbidden);
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .ok_or(WebError::Forbidden)?;
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    if origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(WebError::Forbidden)
    }
}

impl<S: Database> FromRequestParts<WebState<S>> for Viewer {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState<S>,
    ) -> Result<Self, Self::Rejection> {
        let secret = cookie(&parts.headers, SESSION_COOKIE).ok_or(WebError::SignIn)?;
        let hash = secret_hash(secret);
        let db = &state.api.db;
        let session = db
            .session(&hash, state.api.wall.now())
            .await?
            .ok_or(WebError::SignIn)?;
        // A user disabled since signing in is out at the next request.
        let Some((role, scope)) = ozontrack_engine::access::grant_of(db, &session.user).await?
        else {
            db.end_session(&hash).await?;
            return Err(WebError::SignIn);
        };
        let stores = ozontrack_engine::access::stores_of(db, &scope).await?;
        Ok(Viewer {
            user: session.user,
            csrf: session.csrf,
            role,
            scope,
            stores,
            session_hash: hash,
        })
    }
}

impl<S: Database> OptionalFromRequestParts<WebState<S>> for Viewer {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState<S>,
    ) -> Result<Option<Self>, Self::Rejection> {
        match <Viewer as FromRequestParts<WebState<S>>>::from_request_parts(parts, state).await {
            Ok(v) => Ok(Some(v)),
            Err(WebError::SignIn) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_from_another_site_is_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(same_origin(&headers).is_ok());
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(same_origin(&headers).is_err());
        headers.remove(header::ORIGIN);
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(same_origin(&headers).is_err());
    }

    #[test]
    fn cookies_are_found_by_name_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("lang=ru; ozt_session=abc; other=1"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "lang"), Some("ru"));
        assert_eq!(cookie(&headers, "missing"), None);
    }
}
