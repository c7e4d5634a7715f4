//! What a verified response must say before anyone is signed in by it (SAML 2.0 Web
//! Browser SSO profile, section 4.1.4): it answers our request (`InResponseTo`), it was
//! sent to our assertion consumer (`Destination`, `Recipient`), for us (`Audience`), by our
//! identity provider (`Issuer`), successfully, and it is valid now (`NotBefore`,
//! `NotOnOrAfter`, with the configured skew). Unsolicited responses are refused.
use chrono::{DateTime, Utc};
use samael::schema::Assertion;

use super::verify::{Verified, SUCCESS};

const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
/// Oldest assertion accepted (its `IssueInstant`), seconds, before the skew.
const MAX_AGE: i64 = 300;

/// What a response is checked against.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    /// The identity provider's entity ID.
    pub idp: &'a str,
    /// Our entity ID (the audience).
    pub audience: &'a str,
    /// Our assertion consumer URL.
    pub acs: &'a str,
    /// The ID of the request this sign-in sent.
    pub request_id: &'a str,
    /// Now, unix seconds.
    pub now: i64,
    /// Tolerated clock difference, seconds.
    pub skew: i64,
}

/// Why a verified response does not sign anyone in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The identity provider did not authenticate the user.
    #[error("the identity provider answered {0}")]
    Status(String),
    /// Not from our identity provider.
    #[error("issued by {0:?}, not by the configured identity provider")]
    Issuer(String),
    /// Sent to another address.
    #[error("sent to {0:?}, not to our assertion consumer")]
    Destination(String),
    /// For another service provider.
    #[error("for audience {0:?}, not for us")]
    Audience(String),
    /// Not an answer to the request this sign-in sent.
    #[error("not an answer to our request ({0})")]
    InResponseTo(String),
    /// Outside its validity period.
    #[error("{0}")]
    Time(String),
    /// Missing what the profile requires.
    #[error("incomplete: {0}")]
    Incomplete(&'static str),
}

fn secs(t: &DateTime<Utc>) -> i64 {
    t.timestamp()
}

fn check_envelope(v: &Verified, e: &Expected<'_>) -> Result<(), Refusal> {
    let env = &v.envelope;
    match env.status.as_deref() {
        Some(SUCCESS) => {}
        Some(other) => return Err(Refusal::Status(other.to_owned())),
        None => return Err(Refusal::Incomplete("the response has no status")),
    }
    if let Some(issuer) = &env.issuer {
        if issuer != e.idp {
            return Err(Refusal::Issuer(issuer.clone()));
        }
    }
    match env.destination.as_deref() {
        Some(d) if d == e.acs => {}
        Some(d) => return Err(Refusal::Destination(d.to_owned())),
        // a signed response must name its destination (profile, 3.4.5.2)
        None if env.signed => {
            return Err(Refusal::Incomplete(
                "the signed response has no Destination",
            ))
        }
        None => {}
    }
    match env.in_response_to.as_deref() {
        Some(id) if id == e.request_id => Ok(()),
        Some(id) => Err(Refusal::InResponseTo(format!(
            "the response answers {id:?}"
        ))),
        None => Err(Refusal::InResponseTo(
            "it answers none: unsolicited responses are refused".into(),
        )),
    }
}

fn check_conditions(a: &Assertion, e: &Expected<'_>) -> Result<i64, Refusal> {
    let conditions = a
        .conditions
        .as_ref()
        .ok_or(Refusal::Incomplete("the assertion has no Conditions"))?;
    if let Some(nb) = &conditions.not_before {
        if secs(nb) > e.now + e.skew {
            return Err(Refusal::Time(format!(
                "the assertion is not valid before {nb}"
            )));
        }
    }
    let until = conditions
        .not_on_or_after
        .as_ref()
        .ok_or(Refusal::Incomplete(
            "the assertion's Conditions have no NotOnOrAfter",
        ))?;
    if secs(until) + e.skew <= e.now {
        return Err(Refusal::Time(format!("the assertion expired at {until}")));
    }
    let restrictions = conditions
        .audience_restrictions
        .as_deref()
        .filter(|r| !r.is_empty())
        .ok_or(Refusal::Incomplete(
            "the assertion has no AudienceRestriction",
        ))?;
    // every restriction must include us (core, 2.5.1.4)
    for r in restrictions {
        if !r.audience.iter().any(|aud| aud == e.audience) {
            return Err(Refusal::Audience(r.audience.join(" ")));
        }
    }
    Ok(secs(until))
}

/// The bearer confirmation's expiry, once it is checked.
fn check_subject(a: &Assertion, e: &Expected<'_>) -> Result<i64, Refusal> {
    let confirmations = a
        .subject
        .as_ref()
        .and_then(|s| s.subject_confirmations.as_ref())
        .ok_or(Refusal::Incomplete(
            "the assertion has no SubjectConfirmation",
        ))?;
    let mut why = Refusal::Incomplete("the assertion has no bearer SubjectConfirmation");
    for c in confirmations
        .iter()
        .filter(|c| c.method.as_deref() == Some(BEARER))
    {
        let Some(data) = &c.subject_confirmation_data else {
            why = Refusal::Incomplete("the bearer confirmation has no SubjectConfirmationData");
            continue;
        };
        match data.recipient.as_deref() {
            Some(r) if r == e.acs => {}
            Some(r) => {
                why = Refusal::Destination(r.to_owned());
                continue;
            }
            None => {
                why = Refusal::Incomplete("the bearer confirmation has no Recipient");
                continue;
            }
        }
        if data.in_response_to.as_deref() != Some(e.request_id) {
            why = Refusal::InResponseTo(format!(
                "the assertion answers {:?}",
                data.in_response_to.as_deref().unwrap_or("no request")
            ));
            continue;
        }
        if let Some(nb) = &data.not_before {
            if secs(nb) > e.now + e.skew {
                why = Refusal::Time(format!("the confirmation is not valid before {nb}"));
                continue;
            }
        }
        let Some(until) = &data.not_on_or_after else {
            why = Refusal::Incomplete("the bearer confirmation has no NotOnOrAfter");
            continue;
        };
        if secs(until) + e.skew <= e.now {
            why = Refusal::Time(format!("the confirmation expired at {until}"));
            continue;
        }
        return Ok(secs(until));
    }
    Err(why)
}

/// Checks a verified response against what this sign-in expects; returns until when the
/// assertion's ID must be remembered (its latest expiry plus the skew).
pub fn check(v: &Verified, e: &Expected<'_>) -> Result<i64, Refusal> {
    check_envelope(v, e)?;
    let a = &v.assertion;
    match a.issuer.value.as_deref() {
        Some(i) if i.trim() == e.idp => {}
        other => return Err(Refusal::Issuer(other.unwrap_or_default().to_owned())),
    }
    if a.version != "2.0" {
        return Err(Refusal::Incomplete("the assertion is not SAML 2.0"));
    }
    let issued = secs(&a.issue_instant);
    if issued > e.now + e.skew {
        return Err(Refusal::Time(format!(
            "the assertion was issued in the future ({})",
            a.issue_instant
        )));
    }
    if issued + MAX_AGE + e.skew < e.now {
        return Err(Refusal::Time(format!(
            "the assertion was issued at {}, too long ago",
            a.issue_instant
        )));
    }
    let conditions_until = check_conditions(a, e)?;
    let subject_until = check_subject(a, e)?;
    if a.authn_statements.as_ref().is_none_or(|s| s.is_empty()) {
        return Err(Refusal::Incomplete("the assertion has no AuthnStatement"));
    }
    Ok(conditions_until.max(subject_until) + e.skew)
}
