//! Path template expansion (the `{var}` and `{+var}` forms of RFC 6570) and pattern checks.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::contract::is_segments_pattern;
use crate::error::{Error, Result};
use crate::info::PathParam;

/// `{var}`: everything but the unreserved characters is encoded, so a value stays within one
/// path segment.
const SIMPLE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// `{+var}`: keeps the reserved characters that are legal in a path (`/`, `:`, `@` and the
/// sub-delimiters). Unlike RFC 6570 it still encodes `?` and `#`, which would end the path,
/// `[` and `]`, and `%`, so that a value cannot smuggle in pre-encoded characters such as
/// `%2e%2e`.
const RESERVED: &AsciiSet = &SIMPLE
    .remove(b'/')
    .remove(b':')
    .remove(b'@')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=');

/// Expands `template` with `values`, after checking every value against its parameter's
/// pattern. A name with several values (a repeated parameter) expands to the values joined
/// by commas, each encoded, as RFC 6570 expands a list.
pub(crate) fn expand(template: &str, params: &[PathParam], values: &[(&'static str, String)]) -> Result<String> {
    for param in params {
        let Some(pattern) = param.pattern() else { continue };
        for value in values_of(values, param.name()) {
            let matched = if param.has_segments_pattern() {
                segments_match(pattern, value)
            } else {
                regex::is_match(pattern, value)
            };
            if !matched {
                return Err(Error::InvalidPathParameter { name: param.name(), value: value.to_owned(), pattern });
            }
        }
    }

    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close =
            after.find('}').ok_or_else(|| Error::InvalidRequest(format!("malformed path template {template:?}")))?;
        expand_expression(&after[..close], values, &mut out)?;
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn expand_expression(expr: &str, values: &[(&'static str, String)], out: &mut String) -> Result<()> {
    let (reserved, vars) = match expr.as_bytes().first() {
        Some(b'+') => (true, &expr[1..]),
        Some(&c) if crate::contract::UNSUPPORTED_TEMPLATE_OPERATORS.contains(&char::from(c)) => {
            return Err(Error::InvalidRequest(format!("unsupported path template expression {{{expr}}}")));
        }
        _ => (false, expr),
    };
    let mut first = true;
    for var in vars.split(',') {
        // The explode modifier changes nothing in simple and reserved expansion, lists
        // included (their items are joined by commas either way); the generator refuses the
        // prefix modifier, which is not applied here.
        let name = var.trim_end_matches('*');
        let name = name.split(':').next().unwrap_or(name);
        let mut found = false;
        for value in values_of(values, name) {
            found = true;
            check_safe(name, value, reserved)?;
            if !first {
                out.push(',');
            }
            first = false;
            let set = if reserved { RESERVED } else { SIMPLE };
            out.extend(utf8_percent_encode(value, set));
        }
        if !found {
            return Err(Error::InvalidRequest(format!("path parameter `{name}` is missing or has no values")));
        }
    }
    Ok(())
}

/// Rejects values that would leave the resource the template points at even after
/// encoding: empty values collapse a segment, and `.`/`..` segments are resolved away by URL
/// normalisation.
fn check_safe(name: &str, value: &str, reserved: bool) -> Result<()> {
    if value.is_empty() {
        return Err(Error::InvalidRequest(format!("path parameter `{name}` is empty")));
    }
    let dot_segment = |s: &str| s == "." || s == "..";
    let bad = if reserved { value.split('/').any(dot_segment) } else { dot_segment(value) };
    if bad {
        return Err(Error::InvalidRequest(format!("path parameter `{name}` contains a `.` or `..` segment")));
    }
    Ok(())
}

/// The values given for `name`: one, or the items of a repeated parameter, in order.
fn values_of<'a>(values: &'a [(&'static str, String)], name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    values.iter().filter(move |(n, _)| *n == name).map(|(_, v)| v.as_str())
}

/// Matches `value` against a pattern of the form [`is_segments_pattern`] accepts, as the
/// regex would, without a regex engine and its shared cache.
fn segments_match(pattern: &str, value: &str) -> bool {
    const ANY: &str = "[^/]+";
    debug_assert!(is_segments_pattern(pattern), "{pattern}");
    let mut rest = &pattern[1..pattern.len() - 1];
    let mut values = value.split('/');
    loop {
        // `split` yields at least one item, and one more after every `/`.
        let Some(v) = values.next() else { return false };
        let matched = match rest.strip_prefix(ANY) {
            Some(after) => {
                rest = after;
                !v.is_empty()
            }
            None => {
                let (literal, after) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                rest = after;
                v == literal
            }
        };
        if !matched {
            return false;
        }
        match rest.strip_prefix('/') {
            Some(after) => rest = after,
            None => return values.next().is_none(),
        }
    }
}

/// Patterns of other forms, with the regex engine of the `regex` feature. The runtime's own
/// unit tests always have it, to check it against [`segments_match`].
#[cfg(any(feature = "regex", test))]
mod regex {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};

    /// Whether `value` matches `pattern`; a pattern the engine cannot compile is not checked
    /// (the encoding rules still apply) rather than making the method unusable.
    pub(super) fn is_match(pattern: &'static str, value: &str) -> bool {
        compiled(pattern).is_none_or(|re| re.is_match(value))
    }

    /// Compiles each pattern once per process.
    fn compiled(pattern: &'static str) -> Option<Arc<regex_lite::Regex>> {
        type Cache = Mutex<HashMap<&'static str, Option<Arc<regex_lite::Regex>>>>;
        static CACHE: OnceLock<Cache> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        let mut map = cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        map.entry(pattern)
            .or_insert_with(|| match regex_lite::Regex::new(pattern) {
                Ok(re) => Some(Arc::new(re)),
                Err(e) => {
                    tracing::warn!(pattern, error = %e, "path parameter pattern does not compile; not checked");
                    None
                }
            })
            .clone()
    }
}

/// Without the `regex` feature, [`PathParam::new`] refuses every pattern that needs it (a
/// compile error in generated constants), so no such pattern gets here.
#[cfg(not(any(feature = "regex", test)))]
mod regex {
    pub(super) fn is_match(pattern: &'static str, _value: &str) -> bool {
        unreachable!("PathParam::new refuses {pattern:?} without the regex feature")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESOURCE: &[PathParam] = &[PathParam::new("resourceName", Some("^people/[^/]+$"))];
    const FREE: &[PathParam] = &[PathParam::new("name", None)];

    fn one(name: &'static str, value: &str) -> Vec<(&'static str, String)> {
        vec![(name, value.to_owned())]
    }

    fn simple(value: &str) -> Result<String> {
        expand("b/{name}/o", FREE, &one("name", value))
    }

    fn reserved(value: &str) -> Result<String> {
        expand("v1/{+name}:go", FREE, &one("name", value))
    }

    #[test]
    fn encoding_table() {
        // (value, `{var}`, `{+var}`)
        let table = [
            ("abc-._~09", "abc-._~09", "abc-._~09"),
            ("a/b", "a%2Fb", "a/b"),
            ("a:b", "a%3Ab", "a:b"),
            ("a b", "a%20b", "a%20b"),
            ("a?b", "a%3Fb", "a%3Fb"),
            ("a#b", "a%23b", "a%23b"),
            ("a%b", "a%25b", "a%25b"),
            ("a@b!$&'()*+,;=", "a%40b%21%24%26%27%28%29%2A%2B%2C%3B%3D", "a@b!$&'()*+,;="),
            ("[x]", "%5Bx%5D", "%5Bx%5D"),
            ("a\r\nb", "a%0D%0Ab", "a%0D%0Ab"),
            ("é", "%C3%A9", "%C3%A9"),
            ("a\\b", "a%5Cb", "a%5Cb"),
            ("\"<>", "%22%3C%3E", "%22%3C%3E"),
        ];
        for (value, s, r) in table {
            assert_eq!(simple(value).unwrap(), format!("b/{s}/o"), "{{var}} {value:?}");
            assert_eq!(reserved(value).unwrap(), format!("v1/{r}:go"), "{{+var}} {value:?}");
        }
    }

    #[test]
    fn people_paths() {
        let path = expand("v1/{+resourceName}:updateContact", RESOURCE, &one("resourceName", "people/c123")).unwrap();
        assert_eq!(path, "v1/people/c123:updateContact");
    }

    #[test]
    fn pattern_mismatch_names_the_parameter() {
        for bad in ["people/../contactGroups/x", "contactGroups/x", "people/a/b", "people/"] {
            let err = expand("v1/{+resourceName}", RESOURCE, &one("resourceName", bad)).unwrap_err();
            match err {
                Error::InvalidPathParameter { name, value, pattern } => {
                    assert_eq!(name, "resourceName");
                    assert_eq!(value, bad);
                    assert_eq!(pattern, "^people/[^/]+$");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn escape_attempts_are_neutralised() {
        // These match the pattern, so encoding must keep them inside the resource.
        let cases = [
            ("people/c1?x=1", "v1/people/c1%3Fx=1"),
            ("people/c1#f", "v1/people/c1%23f"),
            ("people/%2e%2e", "v1/people/%252e%252e"),
            ("people/c1\r\nHost: evil", "v1/people/c1%0D%0AHost:%20evil"),
        ];
        for (value, expected) in cases {
            let path = expand("v1/{+resourceName}", RESOURCE, &one("resourceName", value)).unwrap();
            assert_eq!(path, expected);
        }
    }

    #[test]
    fn dot_segments_and_empty_values_are_rejected_without_a_pattern() {
        for value in ["people/../contactGroups/x", "..", ".", "a/./b", "a/.."] {
            let err = reserved(value).unwrap_err();
            assert!(matches!(&err, Error::InvalidRequest(m) if m.contains("`name`")), "{value}: {err}");
        }
        assert!(simple("..").is_err());
        assert!(simple(".").is_err());
        assert!(simple("").is_err());
        // In `{var}` a `/` is encoded, so `../x` cannot form a dot segment.
        assert_eq!(simple("../x").unwrap(), "b/..%2Fx/o");
        assert_eq!(simple("...").unwrap(), "b/.../o");
    }

    #[test]
    fn missing_parameter_is_an_error() {
        let err = expand("v1/{+resourceName}", RESOURCE, &[]).unwrap_err();
        assert!(matches!(&err, Error::InvalidRequest(m) if m.contains("resourceName")), "{err}");
    }

    #[test]
    fn malformed_templates_are_errors() {
        assert!(expand("v1/{name", FREE, &one("name", "x")).is_err());
        assert!(expand("v1/{/name}", FREE, &one("name", "x")).is_err());
    }

    #[test]
    fn several_values_expand_as_a_list_and_the_explode_modifier_changes_nothing() {
        let values = vec![("name", "a,1".to_owned()), ("name", "b/2".to_owned())];
        assert_eq!(expand("x/{name}", FREE, &values).unwrap(), "x/a%2C1,b%2F2");
        assert_eq!(expand("x/{+name*}", FREE, &values).unwrap(), "x/a,1,b/2");
        let two = vec![("a", "1".to_owned()), ("b", "2".to_owned()), ("a", "3".to_owned())];
        assert_eq!(expand("x/{a,b}", FREE, &two).unwrap(), "x/1,3,2");
        // Each item is checked as a single value is.
        let bad = vec![("name", "ok".to_owned()), ("name", "..".to_owned())];
        assert!(expand("x/{name}", FREE, &bad).is_err());
        let err = expand(
            "v1/{+resourceName}",
            RESOURCE,
            &[("resourceName", "people/c1".into()), ("resourceName", "x".into())],
        )
        .unwrap_err();
        assert!(matches!(err, Error::InvalidPathParameter { .. }), "{err}");
    }

    #[test]
    fn segment_patterns_match_as_the_regex_does() {
        let patterns = [
            "^people/[^/]+$",
            "^projects/[^/]+/locations/[^/]+/keyRings/[^/]+$",
            "^[^/]+$",
            "^v1_beta-2/[^/]+/x$",
            "^a//b$",
            "^$",
        ];
        let values = [
            "people/c1",
            "people/",
            "people",
            "people/c1/",
            "people/c1/x",
            "/people/c1",
            "people/c1\n",
            "people/é",
            "projects/p/locations/l/keyRings/k",
            "projects/p/locations//keyRings/k",
            "projects/p/locations/l/keyRings/k/cryptoKeys/c",
            "v1_beta-2/a/x",
            "v1_beta-2/a/b/x",
            "a//b",
            "a/b",
            "",
            "x",
        ];
        for pattern in patterns {
            assert!(is_segments_pattern(pattern), "{pattern}");
            let re = regex_lite::Regex::new(pattern).unwrap();
            for value in values {
                assert_eq!(segments_match(pattern, value), re.is_match(value), "{pattern} {value:?}");
            }
        }
        for other in [
            "people/[^/]+$",
            "^people/[^/]+",
            "^people/.*$",
            "^a.b/[^/]+$",
            "^(a|b)/[^/]+$",
            "^a/[^/]*$",
            "^[^/]+x$",
            "^x[^/]+$",
            "^[^/]$",
            "^",
            "$",
            "",
        ] {
            assert!(!is_segments_pattern(other), "{other}");
        }
    }

    proptest::proptest! {
        /// Any pattern of the segment form matches exactly what the regex engine matches,
        /// over values made of the characters that decide it (`/`, letters, one non-ASCII).
        #[test]
        fn segment_patterns_agree_with_the_regex_engine(
            segments in proptest::collection::vec(proptest::sample::select(vec!["[^/]+", "a", "ab", "b-_1", ""]), 1..5),
            value in "[ab/é]{0,8}",
        ) {
            let pattern = format!("^{}$", segments.join("/"));
            proptest::prop_assert!(is_segments_pattern(&pattern), "{}", pattern);
            let re = regex_lite::Regex::new(&pattern).unwrap();
            proptest::prop_assert_eq!(segments_match(&pattern, &value), re.is_match(&value), "{} {:?}", pattern, value);
        }
    }

    #[test]
    fn other_patterns_go_to_the_regex_engine() {
        const MEDIA: &[PathParam] = &[PathParam::new("name", Some("^b/[^/]+/o/.+$"))];
        assert!(!is_segments_pattern("^b/[^/]+/o/.+$"));
        assert_eq!(expand("v1/{+name}", MEDIA, &one("name", "b/x/o/a/b.txt")).unwrap(), "v1/b/x/o/a/b.txt");
        let err = expand("v1/{+name}", MEDIA, &one("name", "b/x/o/")).unwrap_err();
        assert!(matches!(err, Error::InvalidPathParameter { name: "name", .. }), "{err}");
    }

    #[test]
    fn broken_pattern_is_skipped() {
        let params = [PathParam::new("name", Some("(unclosed"))];
        assert_eq!(expand("x/{name}", &params, &one("name", "v")).unwrap(), "x/v");
    }
}
