//! Query parameter values and their encoding.

use std::borrow::Cow;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::types::FieldMask;

/// Everything but the RFC 3986 unreserved characters is encoded, which every server reads
/// the same way (a space is `%20`, never `+`).
const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A value that can be sent as a query parameter.
///
/// Generated enums implement it with their wire names.
#[doc(hidden)]
pub trait QueryValue {
    /// The value as it is sent, before percent-encoding.
    fn to_query_value(&self) -> Cow<'_, str>;
}

impl QueryValue for str {
    fn to_query_value(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}

impl QueryValue for String {
    fn to_query_value(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}

impl QueryValue for Cow<'_, str> {
    fn to_query_value(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}

impl<T: QueryValue + ?Sized> QueryValue for &T {
    fn to_query_value(&self) -> Cow<'_, str> {
        (**self).to_query_value()
    }
}

impl QueryValue for bool {
    fn to_query_value(&self) -> Cow<'_, str> {
        Cow::Borrowed(if *self { "true" } else { "false" })
    }
}

macro_rules! display_query_value {
    ($($t:ty),*) => {$(
        impl QueryValue for $t {
            fn to_query_value(&self) -> Cow<'_, str> {
                Cow::Owned(self.to_string())
            }
        }
    )*};
}

display_query_value!(i8, i16, i32, i64, u8, u16, u32, u64, usize);

macro_rules! float_query_value {
    ($($t:ty),*) => {$(
        impl QueryValue for $t {
            fn to_query_value(&self) -> Cow<'_, str> {
                match crate::writer::non_finite_name(f64::from(*self)) {
                    Some(name) => Cow::Borrowed(name),
                    // As in JSON bodies (`1.0`, `1.5e+300`), where `Display` would write
                    // `1` and three hundred digits. (Versions of serde_json that format
                    // floats with ryu write `1.5e300`, which reads the same.)
                    None => Cow::Owned(serde_json::to_string(self).unwrap_or_else(|_| self.to_string())),
                }
            }
        }
    )*};
}

float_query_value!(f32, f64);

impl QueryValue for FieldMask {
    fn to_query_value(&self) -> Cow<'_, str> {
        // As `Display` writes it, without the formatting machinery.
        Cow::Owned(self.paths().join(","))
    }
}

/// Appends `name=value` pairs to `out`, percent-encoded and joined with `&`.
pub(crate) fn encode_pairs<'a>(out: &mut String, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) {
    for (name, value) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.extend(utf8_percent_encode(name, QUERY));
        out.push('=');
        out.extend(utf8_percent_encode(value, QUERY));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(true.to_query_value(), "true");
        assert_eq!(false.to_query_value(), "false");
        assert_eq!((-9_007_199_254_740_993i64).to_query_value(), "-9007199254740993");
        assert_eq!(u64::MAX.to_query_value(), "18446744073709551615");
        assert_eq!(1.5f64.to_query_value(), "1.5");
        assert_eq!(f64::NEG_INFINITY.to_query_value(), "-Infinity", "as in JSON bodies, not Rust's `-inf`");
        // `1.5e+300` (as Python's client writes it) or `1.5e300`, by serde_json's version.
        let large = 1.5e300f64.to_query_value();
        assert!(large.len() < 10 && large.parse::<f64>() == Ok(1.5e300), "{large}");
        assert_eq!(1.0f64.to_query_value(), "1.0", "as Python's client writes it");
        assert_eq!(0.1f32.to_query_value(), "0.1");
        assert_eq!(f32::INFINITY.to_query_value(), "Infinity");
        assert_eq!(f64::NAN.to_query_value(), "NaN");
        assert_eq!((&&"x").to_query_value(), "x");
        assert_eq!(FieldMask::from("names,emailAddresses").to_query_value(), "names,emailAddresses");
    }

    #[test]
    fn encoding() {
        let mut out = String::new();
        encode_pairs(&mut out, [("a b", "x&y=z"), ("k", "é/+?#%"), ("k", "-._~")]);
        assert_eq!(out, "a%20b=x%26y%3Dz&k=%C3%A9%2F%2B%3F%23%25&k=-._~");
    }
}
