//! Consent (issue 15): a third-party registered client gets its code only after the user
//! allowed what it asks for. First-party registered clients and the properties-file
//! clients never ask. The decision is remembered per user and client with the granted
//! scopes; a request for a scope not granted yet, or with `prompt=consent`, asks again.
//! Withdrawing a grant revokes the client's tokens for that user.
use crate::domain::authorize::AuthRequest;
use crate::domain::clients::ClientMetadata;
use crate::domain::services::Services;
use crate::store::{ConsentRow, StoreError};

/// Whether a client must ask the user: a registered client that is not first-party.
pub fn required(registered: Option<&ClientMetadata>) -> bool {
    registered.is_some_and(|m| !m.first_party)
}

/// Whether every scope of `requested` is in `granted` (both space-separated).
pub fn covers(granted: &str, requested: &str) -> bool {
    requested
        .split(' ')
        .filter(|s| !s.is_empty())
        .all(|s| granted.split(' ').any(|g| g == s))
}

/// The union of two scope strings, in a stable order.
pub fn union(a: &str, b: &str) -> String {
    let mut all: Vec<&str> = a
        .split(' ')
        .chain(b.split(' '))
        .filter(|s| !s.is_empty())
        .collect();
    all.sort_unstable();
    all.dedup();
    all.join(" ")
}

/// Whether the user must be asked before `request` is answered.
pub async fn must_ask(
    state: &Services,
    registered: Option<&ClientMetadata>,
    request: &AuthRequest,
    user_id: i64,
) -> Result<bool, StoreError> {
    if !required(registered) {
        return Ok(false);
    }
    if request.prompt_consent {
        return Ok(true);
    }
    Ok(
        match state.store.consent(user_id, &request.client_id).await? {
            Some(granted) => !covers(&granted, &request.scope),
            None => true,
        },
    )
}

/// Remembers that the user allowed `scope` (added to what was granted before).
pub async fn remember(
    state: &Services,
    user_id: i64,
    client_id: &str,
    scope: &str,
) -> Result<(), StoreError> {
    let before = state
        .store
        .consent(user_id, client_id)
        .await?
        .unwrap_or_default();
    state
        .store
        .save_consent(user_id, client_id, &union(&before, scope), state.now())
        .await
}

/// The user's remembered grants.
pub async fn list(state: &Services, user_id: i64) -> Result<Vec<ConsentRow>, StoreError> {
    state.store.consents_of(user_id).await
}

/// Withdraws a grant and revokes the client's refresh families (and with them its access
/// tokens) for the user; `false` if there was no grant.
pub async fn withdraw(state: &Services, user_id: i64, client_id: &str) -> Result<bool, StoreError> {
    let done = state
        .store
        .withdraw_consent(user_id, client_id, state.now())
        .await?;
    Ok(done)
}

/// A scope in plain words, for the consent page and the account page.
pub fn describe(scope: &str) -> String {
    match scope {
        "openid" => "Know who you are (your user name)".into(),
        "profile" => "See your name".into(),
        "email" => "See your e-mail address".into(),
        "offline_access" => "Keep access while you are not signed in".into(),
        s if s.starts_with("pat:") => format!(
            "Use your personal access tokens ({})",
            s.trim_start_matches("pat:")
        ),
        other => format!("Access \u{201c}{other}\u{201d}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_covers_the_scopes_it_holds_and_no_others() {
        assert!(covers("email openid profile", "openid email"));
        assert!(covers("openid", ""));
        assert!(!covers("openid", "openid offline_access"));
        assert_eq!(
            union("openid email", "profile openid"),
            "email openid profile"
        );
    }

    #[test]
    fn scopes_are_described_in_plain_words_and_unknown_ones_by_name() {
        assert!(describe("email").contains("e-mail"));
        assert!(describe("pat:data").contains("personal access tokens"));
        assert!(describe("calendar.read").contains("calendar.read"));
    }
}
