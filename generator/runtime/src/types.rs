//! Wire types shared by every generated crate: field masks and base64 bytes.

use std::fmt;
use std::ops::{Deref, DerefMut};

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A `google-fieldmask`: field paths such as `names` or `metadata.sources`, sent as one
/// comma-separated string.
///
/// ```
/// use discovery_runtime::FieldMask;
///
/// let mask = FieldMask::from("names,emailAddresses");
/// assert_eq!(mask.paths(), ["names", "emailAddresses"]);
/// assert_eq!(mask.to_string(), "names,emailAddresses");
/// assert_eq!(FieldMask::from(["names", "urls"]).to_string(), "names,urls");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FieldMask(Vec<String>);

impl FieldMask {
    /// An empty mask.
    pub fn new() -> Self {
        FieldMask(Vec::new())
    }

    /// The field paths.
    pub fn paths(&self) -> &[String] {
        &self.0
    }

    /// Adds a path.
    pub fn push(&mut self, path: impl Into<String>) {
        self.0.push(path.into());
    }

    /// Whether the mask names no field.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The field paths, by value.
    pub fn into_paths(self) -> Vec<String> {
        self.0
    }

    fn parse(s: &str) -> Self {
        s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect()
    }
}

impl fmt::Display for FieldMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, path) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(path)?;
        }
        Ok(())
    }
}

impl From<&str> for FieldMask {
    /// Splits on `,`, dropping empty paths and surrounding spaces.
    fn from(s: &str) -> Self {
        FieldMask::parse(s)
    }
}

impl From<String> for FieldMask {
    /// Splits on `,`, dropping empty paths and surrounding spaces.
    fn from(s: String) -> Self {
        FieldMask::parse(&s)
    }
}

impl From<Vec<String>> for FieldMask {
    fn from(paths: Vec<String>) -> Self {
        FieldMask(paths)
    }
}

/// Any array of names: `["names", "emailAddresses"]`, or of a generated crate's typed
/// field names (`[PersonFields::Names, PersonFields::EmailAddresses]`).
impl<S: Into<String>, const N: usize> From<[S; N]> for FieldMask {
    fn from(paths: [S; N]) -> Self {
        paths.into_iter().collect()
    }
}

impl From<&[&str]> for FieldMask {
    fn from(paths: &[&str]) -> Self {
        paths.iter().copied().collect()
    }
}

impl<S: Into<String>> FromIterator<S> for FieldMask {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        FieldMask(iter.into_iter().map(Into::into).collect())
    }
}

impl From<FieldMask> for String {
    fn from(mask: FieldMask) -> Self {
        mask.to_string()
    }
}

impl Serialize for FieldMask {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FieldMask {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MaskVisitor;
        impl Visitor<'_> for MaskVisitor {
            type Value = FieldMask;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a comma-separated field mask")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FieldMask, E> {
                Ok(FieldMask::parse(v))
            }
        }
        deserializer.deserialize_str(MaskVisitor)
    }
}

/// The bytes of a `format: byte` field, sent as standard base64 with padding.
///
/// Decoding accepts the standard and the URL-safe alphabets, with or without padding, since
/// Google services emit both.
///
/// ```
/// use discovery_runtime::Bytes;
///
/// let b: Bytes = serde_json::from_str("\"-_8\"").unwrap();
/// assert_eq!(&*b, &[0xfb, 0xff]);
/// assert_eq!(serde_json::to_string(&b).unwrap(), "\"+/8=\"");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bytes(pub Vec<u8>);

impl Bytes {
    /// The bytes, by value.
    pub fn into_inner(self) -> Vec<u8> {
        self.0
    }

    /// Decodes base64 in either alphabet, padded or not.
    pub fn from_base64(text: &str) -> Result<Self, base64::DecodeError> {
        const LENIENT: GeneralPurpose = GeneralPurpose::new(
            &alphabet::STANDARD,
            GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
        );
        if text.contains(['-', '_']) {
            let standard: String = text
                .chars()
                .map(|c| match c {
                    '-' => '+',
                    '_' => '/',
                    c => c,
                })
                .collect();
            LENIENT.decode(standard).map(Bytes)
        } else {
            LENIENT.decode(text).map(Bytes)
        }
    }

    /// Encodes as standard base64 with padding.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(&self.0)
    }
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl DerefMut for Bytes {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        Bytes(v)
    }
}

impl From<&[u8]> for Bytes {
    fn from(v: &[u8]) -> Self {
        Bytes(v.to_vec())
    }
}

impl From<Bytes> for Vec<u8> {
    fn from(b: Bytes) -> Self {
        b.0
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Base64Visitor;
        impl Visitor<'_> for Base64Visitor {
            type Value = Bytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a base64 string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Bytes, E> {
                Bytes::from_base64(v).map_err(|e| E::custom(format_args!("invalid base64: {e}")))
            }
        }
        deserializer.deserialize_str(Base64Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_accepts_all_four_spellings() {
        let expected = Bytes(vec![0xfb, 0xff, 0xfe, 0x01]);
        for text in ["+//+AQ==", "+//+AQ", "-__-AQ==", "-__-AQ"] {
            let got: Bytes = serde_json::from_value(serde_json::Value::from(text)).unwrap();
            assert_eq!(got, expected, "{text}");
        }
        assert_eq!(serde_json::to_value(&expected).unwrap(), "+//+AQ==");
        assert!(serde_json::from_str::<Bytes>("\"not base64!\"").is_err());
        assert!(serde_json::from_str::<Bytes>("12").is_err());
        let empty: Bytes = serde_json::from_str("\"\"").unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn bytes_round_trips_every_length() {
        for n in 0..10u8 {
            let b = Bytes((0..n).map(|i| i.wrapping_mul(97)).collect());
            let json = serde_json::to_string(&b).unwrap();
            assert_eq!(serde_json::from_str::<Bytes>(&json).unwrap(), b);
        }
    }

    #[test]
    fn field_mask_forms() {
        let m = FieldMask::from("names, emailAddresses,,");
        assert_eq!(m.paths(), ["names", "emailAddresses"]);
        assert_eq!(FieldMask::from(String::from("a")).paths(), ["a"]);
        assert_eq!(FieldMask::from(vec!["a".to_owned()]).to_string(), "a");
        assert_eq!(FieldMask::from(&["a", "b.c"][..]).to_string(), "a,b.c");
        assert_eq!(["x", "y"].into_iter().collect::<FieldMask>().to_string(), "x,y");
        assert!(FieldMask::from("").is_empty());
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"names,emailAddresses\"");
        let back: FieldMask = serde_json::from_str("\"names,emailAddresses\"").unwrap();
        assert_eq!(back, m);
        let empty: FieldMask = serde_json::from_str("\"\"").unwrap();
        assert_eq!(empty, FieldMask::default());
    }
}
