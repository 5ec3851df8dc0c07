//! Substring search without `str`'s pattern machinery: `str::find(&str)`, `contains(&str)`,
//! `split_once(&str)` and `replace` pull the Two-Way searcher and its panic formatting into the
//! wasm (about 6 kB raw, measured with twiggy); the needles here are short ASCII markers, so a
//! plain byte scan does.

/// Byte offset of the first `needle` in `hay`; `None` when absent (an empty needle is at 0).
pub fn find(hay: &str, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    if n.is_empty() {
        return Some(0);
    }
    h.windows(n.len()).position(|w| w == n)
}

/// `true` when `hay` contains `needle`.
pub fn contains(hay: &str, needle: &str) -> bool {
    find(hay, needle).is_some()
}

/// `hay` split at the first `needle`: the parts before and after it.
pub fn split_once<'a>(hay: &'a str, needle: &str) -> Option<(&'a str, &'a str)> {
    let at = find(hay, needle)?;
    Some((hay.get(..at)?, hay.get(at + needle.len()..)?))
}

/// `hay` with every `from` replaced by `to`.
pub fn replace(hay: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(hay.len());
    let mut rest = hay;
    while let Some((before, after)) = split_once(rest, from).filter(|_| !from.is_empty()) {
        out.push_str(before);
        out.push_str(to);
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_the_str_methods() {
        for (hay, needle) in [("a=fingerprint:x", "a=fingerprint:"), ("abc", "d"), ("", "x"), ("x", ""), ("é<html>é", "<html")] {
            assert_eq!(find(hay, needle), hay.find(needle), "{hay} / {needle}");
            assert_eq!(split_once(hay, needle), hay.split_once(needle));
        }
        assert_eq!(replace("a &amp; b &amp;", "&amp;", "&"), "a & b &");
        assert_eq!(replace("é&lt;é", "&lt;", "<"), "é<é");
        assert_eq!(replace("abc", "", "x"), "abc");
    }
}
