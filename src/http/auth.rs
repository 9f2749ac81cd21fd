//! Push Initiator authentication: HTTP Basic credentials compared in constant time, and the
//! source networks each PI may connect from.

use std::net::IpAddr;

use base64::Engine as _;
use subtle::ConstantTimeEq;

use crate::config::PiConfig;

/// Why a request was not let in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no Authorization header")]
    Missing,
    #[error("the Authorization header is not valid HTTP Basic")]
    Malformed,
    #[error("unknown user or wrong password")]
    BadCredentials,
    #[error("PI {pi} may not connect from {ip}")]
    SourceNotAllowed { pi: String, ip: IpAddr },
}

/// Finds the PI account for a request. Every account's password is compared (constant time,
/// and the same work whether the user exists or not) so timing tells nothing.
pub fn authenticate<'a>(
    pis: &'a [PiConfig],
    authorization: Option<&str>,
    peer: IpAddr,
) -> Result<&'a PiConfig, AuthError> {
    let header = authorization.ok_or(AuthError::Missing)?;
    let (scheme, encoded) = header.trim().split_once(' ').ok_or(AuthError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(AuthError::Malformed);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| AuthError::Malformed)?;
    let text = String::from_utf8(decoded).map_err(|_| AuthError::Malformed)?;
    let (user, password) = text.split_once(':').ok_or(AuthError::Malformed)?;
    let mut found: Option<&PiConfig> = None;
    for pi in pis {
        let user_ok = pi.username.as_bytes().ct_eq(user.as_bytes());
        let pass_ok = pi.password.as_bytes().ct_eq(password.as_bytes());
        if bool::from(user_ok & pass_ok) {
            found = Some(pi);
        }
    }
    let pi = found.ok_or(AuthError::BadCredentials)?;
    if !pi.allow_ips.is_empty() && !pi.allow_ips.iter().any(|net| net.contains(&peer)) {
        return Err(AuthError::SourceNotAllowed {
            pi: pi.name.clone(),
            ip: peer,
        });
    }
    Ok(pi)
}

/// Whether the PI may push to this E.164 number, given as its digits without '+' ("4917...",
/// as `Address::msisdn` gives it): a prefix "+49" allows it.
pub fn destination_allowed(pi: &PiConfig, msisdn: &str) -> bool {
    match &pi.allow_prefixes {
        None => true,
        // "+" + msisdn starts with p. (Config validation makes every prefix "+digits".)
        Some(prefixes) => prefixes.iter().any(|p| match p.strip_prefix('+') {
            Some(digits) => msisdn.starts_with(digits),
            None => p.is_empty(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pi(name: &str, user: &str, pass: &str, nets: &[&str]) -> PiConfig {
        PiConfig {
            name: name.into(),
            username: user.into(),
            password: pass.into(),
            allow_ips: nets.iter().map(|n| n.parse().unwrap()).collect(),
            allow_prefixes: Some(vec!["+49".into()]),
            rate: None,
            http_200: false,
        }
    }

    fn basic(user: &str, pass: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        )
    }

    #[test]
    fn checks_credentials_and_source() {
        let pis = [
            pi("a", "mmsc", "secret", &["127.0.0.0/8"]),
            pi("b", "other", "pw", &[]),
        ];
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let far: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(
            authenticate(&pis, Some(&basic("mmsc", "secret")), lo)
                .unwrap()
                .name,
            "a"
        );
        assert_eq!(
            authenticate(&pis, Some(&basic("other", "pw")), far)
                .unwrap()
                .name,
            "b"
        );
        assert_eq!(
            authenticate(&pis, None, lo).unwrap_err(),
            AuthError::Missing
        );
        assert_eq!(
            authenticate(&pis, Some("Bearer x"), lo).unwrap_err(),
            AuthError::Malformed
        );
        assert_eq!(
            authenticate(&pis, Some("Basic !!!"), lo).unwrap_err(),
            AuthError::Malformed
        );
        assert_eq!(
            authenticate(&pis, Some(&basic("mmsc", "wrong")), lo).unwrap_err(),
            AuthError::BadCredentials
        );
        assert_eq!(
            authenticate(&pis, Some(&basic("mmsc", "secret")), far).unwrap_err(),
            AuthError::SourceNotAllowed {
                pi: "a".into(),
                ip: far
            }
        );
        assert!(destination_allowed(&pis[0], "4917012345"));
        assert!(!destination_allowed(&pis[0], "4417012345"));
    }
}
