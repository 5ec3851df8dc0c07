//! Static files: the demo/test pages (`--www`, at `/`) and the built wasm
//! package (`--pkg`, at `/pkg/`). They answer every request no route takes
//! ([`fallback`]): `GET` and `HEAD` of any other path, or of a path whose
//! route does not take the method (`GET /whip` looks for a file `whip`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{Method, Uri};

use super::{blocking, not_found, App, Reply};

/// Every request no route takes: a static file for `GET` and `HEAD`
/// (`/pkg/…` from `--pkg`, the rest from `--www`), else `404`.
pub async fn fallback(State(app): State<Arc<App>>, method: Method, uri: Uri) -> Reply {
    if method != Method::GET && method != Method::HEAD {
        return not_found();
    }
    let path = uri.path().to_string();
    blocking(move || {
        let (dir, rest) = match path.strip_prefix("/pkg") {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => (&app.config.pkg, rest),
            _ => (&app.config.www, path.as_str()),
        };
        match dir {
            Some(dir) => static_file(dir, rest),
            None => not_found(),
        }
    })
    .await
}

/// The reply for `url_path` under `dir`.
fn static_file(dir: &Path, url_path: &str) -> Reply {
    match serve(dir, url_path) {
        Served::File(bytes, content_type) => {
            Reply::new(200, content_type, bytes).with("Cache-Control", "no-store")
        }
        Served::NotFound => not_found(),
        Served::Forbidden => Reply::text(403, "forbidden path"),
    }
}

/// The Content-Type for a file name, by extension.
pub fn content_type(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".d.ts") || lower.ends_with(".ts") {
        return "application/typescript; charset=utf-8";
    }
    match lower.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        Some("ico") => "image/x-icon",
        Some("txt" | "md") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Decode `%XX` escapes; `None` if an escape is malformed or the result is not UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Map a URL path (relative to the mount point, without the query) to a file
/// under `root`. `None` for anything that could leave `root`: `..`
/// segments, backslashes, NUL, bad escapes. A path ending in `/` (or empty)
/// means its `index.html`.
pub fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(url_path)?;
    let mut path = root.to_path_buf();
    for segment in decoded.split('/') {
        if segment.is_empty() || segment == "." {
            continue;
        }
        if segment == ".."
            || segment.contains('\\')
            || segment.contains('\0')
            || segment.contains(':')
        {
            return None;
        }
        path.push(segment);
    }
    if decoded.is_empty() || decoded.ends_with('/') {
        path.push("index.html");
    }
    Some(path)
}

/// What serving a path came to.
#[derive(Debug)]
pub enum Served {
    /// The file's bytes and its Content-Type.
    File(Vec<u8>, &'static str),
    /// No such file (or not allowed).
    NotFound,
    /// The path tried to leave the served directory.
    Forbidden,
}

/// Read the file for `url_path` under `root`.
pub fn serve(root: &Path, url_path: &str) -> Served {
    let Some(path) = resolve(root, url_path) else {
        return Served::Forbidden;
    };
    let path = if path.is_dir() {
        path.join("index.html")
    } else {
        path
    };
    match std::fs::read(&path) {
        Ok(bytes) => {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            Served::File(bytes, content_type(name))
        }
        Err(_) => Served::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types() {
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(
            content_type("voicelink.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("a.mjs"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("voicelink_bg.wasm"), "application/wasm");
        assert_eq!(
            content_type("voicelink.d.ts"),
            "application/typescript; charset=utf-8"
        );
        assert_eq!(content_type("package.json"), "application/json");
        assert_eq!(content_type("x.png"), "image/png");
        assert_eq!(content_type("x.css"), "text/css; charset=utf-8");
    }

    #[test]
    fn no_traversal() {
        let root = Path::new("/srv/www");
        assert_eq!(
            resolve(root, "/a/b.js"),
            Some(PathBuf::from("/srv/www/a/b.js"))
        );
        assert_eq!(
            resolve(root, "/"),
            Some(PathBuf::from("/srv/www/index.html"))
        );
        assert_eq!(
            resolve(root, ""),
            Some(PathBuf::from("/srv/www/index.html"))
        );
        assert_eq!(resolve(root, "/../etc/passwd"), None);
        assert_eq!(resolve(root, "/a/%2e%2e/%2e%2e/etc/passwd"), None);
        assert_eq!(resolve(root, "/a/..%2f..%2fetc"), None);
        assert_eq!(resolve(root, "/a\\..\\b"), None);
        assert_eq!(resolve(root, "/%zz"), None);
    }
}
