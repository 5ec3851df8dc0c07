//! The WHIP session (RFC 9725 §4.2: the "WHIP session URL" from the `Location` header).

/// A WHIP session created by the server's `201 Created`.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// Session id shown to the app: the `X-Session-ID` response header when the server
    /// sends one, else the last path segment of the session URL.
    pub id: Option<String>,
    /// Absolute session URL (the resolved `Location`), the target of `DELETE`; `None` when
    /// the server sent no `Location`.
    pub url: Option<String>,
    /// The `ETag` of the session, sent back as `If-Match` on later requests.
    pub etag: Option<String>,
    /// The bearer token the session was created with: its `PATCH` and `DELETE` carry it, even
    /// when they go out after the link has moved on (an orphan's `DELETE`). Never logged.
    pub token: Option<String>,
}

/// Prints everything but the token.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("etag", &self.etag)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Session {
    /// Builds the session from the resolved `Location` URL and the optional
    /// `X-Session-ID` and `ETag` headers.
    pub fn from_response(location: Option<&str>, session_header: Option<&str>, etag: Option<&str>) -> Session {
        let header = session_header.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        let id = header.or_else(|| location.and_then(session_id_from_url));
        Session {
            id,
            url: location.map(str::to_string),
            etag: etag.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string),
            token: None,
        }
    }
}

/// The last non-empty path segment of a URL (query and fragment ignored), e.g.
/// `https://h/whip/sessions/abc?x=1` → `abc`.
pub fn session_id_from_url(url: &str) -> Option<String> {
    let no_frag = url.split('#').next().unwrap_or("");
    let path = no_frag.split('?').next().unwrap_or("");
    let path = match super::text::split_once(path, "://") {
        Some((_, after)) => after.split_once('/').map_or("", |(_, rest)| rest),
        None => path,
    };
    path.split('/').rfind(|s| !s.is_empty()).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_from_location_path() {
        assert_eq!(session_id_from_url("http://127.0.0.1:7878/whip/sessions/abc123").as_deref(), Some("abc123"));
        assert_eq!(session_id_from_url("https://h/whip/sessions/abc/?token=x#f").as_deref(), Some("abc"));
        assert_eq!(session_id_from_url("/relative/xyz").as_deref(), Some("xyz"));
        assert_eq!(session_id_from_url("https://h"), None);
        assert_eq!(session_id_from_url("https://h/"), None);
    }

    #[test]
    fn header_wins_over_location() {
        let s = Session::from_response(Some("https://h/whip/sessions/abc"), Some(" session_42 "), Some("\"e1\""));
        assert_eq!(s.id.as_deref(), Some("session_42"));
        assert_eq!(s.url.as_deref(), Some("https://h/whip/sessions/abc"));
        assert_eq!(s.etag.as_deref(), Some("\"e1\""));
        let s = Session::from_response(None, None, None);
        assert_eq!(s, Session { id: None, url: None, etag: None, token: None });
    }
}
