//! The JSON writer that encodes request bodies from the types of generated crates.
//!
//! The counterpart of [`reader`](crate::reader), for the same reason: serde's `Serialize`
//! is generic over the serializer, so a request body type instantiated serde_json's map
//! and sequence code for every type it reaches. Here the writer is one concrete type; a
//! generated type adds one non-generic function listing its members
//! ([`ToJson::write_json`]). The output is what serde_json writes for the same values
//! (escapes, number formats), members in the same order.

use std::collections::BTreeMap;

use crate::extra::{Extra, Forced};

/// A type the runtime's JSON writer encodes: the object types and enums of generated crates,
/// the JSON scalars, `serde_json::Value`, and `Option`, `Vec`, `Box` and
/// `BTreeMap<String, _>` of them.
///
/// `i64` and `u64` are written as strings: in generated crates they are the `int64` and
/// `uint64` formats, which travel as strings (JavaScript numbers lose precision past 2^53).
#[doc(hidden)]
pub trait ToJson {
    /// Appends the JSON of `self`.
    fn write_json(&self, writer: &mut JsonWriter);

    /// Whether `self` is left out when it is an object member: `None`, an empty array or an
    /// empty map. Nothing else is.
    fn is_absent(&self) -> bool {
        false
    }
}

/// Encodes `value` as compact JSON.
///
/// ```
/// use std::collections::BTreeMap;
/// use discovery_runtime::for_generated_code::to_vec;
///
/// let counts = BTreeMap::from([("a\"b".to_owned(), vec![Some(1u32), None])]);
/// assert_eq!(to_vec(&counts), br#"{"a\"b":[1,null]}"#);
/// ```
pub fn to_vec<T: ToJson + ?Sized>(value: &T) -> Vec<u8> {
    let mut writer = JsonWriter { out: Vec::with_capacity(128) };
    value.write_json(&mut writer);
    writer.out
}

/// A buffer that JSON is appended to.
#[derive(Debug, Default)]
pub struct JsonWriter {
    out: Vec<u8>,
}

impl JsonWriter {
    /// Appends `null`.
    pub fn null(&mut self) {
        self.out.extend_from_slice(b"null");
    }

    /// Appends `true` or `false`.
    pub fn bool(&mut self, value: bool) {
        self.out.extend_from_slice(if value { b"true" } else { b"false" });
    }

    /// Appends an integer as a JSON number.
    pub fn integer(&mut self, value: impl itoa::Integer) {
        self.out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    /// Appends an integer as a JSON string.
    pub fn integer_string(&mut self, value: impl itoa::Integer) {
        self.out.push(b'"');
        self.integer(value);
        self.out.push(b'"');
    }

    /// Appends a string, quoted and escaped as serde_json escapes it.
    pub fn string(&mut self, value: &str) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let bytes = value.as_bytes();
        self.out.reserve(bytes.len() + 2);
        self.out.push(b'"');
        let mut start = 0;
        loop {
            let end = crate::reader::skip_plain(bytes, start);
            self.out.extend_from_slice(&bytes[start..end]);
            let Some(&special) = bytes.get(end) else { break };
            match special {
                b'"' => self.out.extend_from_slice(b"\\\""),
                b'\\' => self.out.extend_from_slice(b"\\\\"),
                b'\n' => self.out.extend_from_slice(b"\\n"),
                b'\r' => self.out.extend_from_slice(b"\\r"),
                b'\t' => self.out.extend_from_slice(b"\\t"),
                0x08 => self.out.extend_from_slice(b"\\b"),
                0x0c => self.out.extend_from_slice(b"\\f"),
                control => {
                    self.out.extend_from_slice(b"\\u00");
                    self.out.push(HEX[usize::from(control >> 4)]);
                    self.out.push(HEX[usize::from(control & 0xf)]);
                }
            }
            start = end + 1;
        }
        self.out.push(b'"');
    }

    /// Appends a `serde_json::Value` (or any serde value) as serde_json writes it.
    pub fn serde(&mut self, value: &(impl serde::Serialize + ?Sized)) {
        // Writing into a `Vec` fails only for values that JSON cannot hold (maps with
        // non-string keys), which none of the types written here are.
        if serde_json::to_writer(&mut self.out, value).is_err() {
            self.null();
        }
    }

    /// Starts an object; [`ObjectWriter::end`] closes it. (Not a method taking a closure:
    /// that would be one more function per generated type for the compiler.)
    pub fn begin_object(&mut self) -> ObjectWriter<'_> {
        self.out.push(b'{');
        ObjectWriter { writer: self, first: true }
    }

    /// Appends an array of `items`.
    pub fn array<T: ToJson>(&mut self, items: &[T]) {
        self.out.push(b'[');
        let mut first = true;
        for item in items {
            if !first {
                self.out.push(b',');
            }
            first = false;
            item.write_json(self);
        }
        self.out.push(b']');
    }
}

/// The members of an object being written.
#[derive(Debug)]
pub struct ObjectWriter<'w> {
    writer: &'w mut JsonWriter,
    first: bool,
}

impl ObjectWriter<'_> {
    /// Starts a member: its name, and the writer for its value.
    pub fn key(&mut self, name: &str) -> &mut JsonWriter {
        if !self.first {
            self.writer.out.push(b',');
        }
        self.first = false;
        self.writer.string(name);
        self.writer.out.push(b':');
        self.writer
    }

    /// Writes the member `name` unless `value` is absent ([`ToJson::is_absent`]).
    pub fn member<T: ToJson + ?Sized>(&mut self, name: &str, value: &T) {
        self.member_or_forced(name, value, None);
    }

    /// Writes the member `name`: its value, or when the value is absent and `forced` says
    /// the member must go anyway, `null` or the value's empty form (`[]`, `{}`); nothing when
    /// an unknown member of that name replaces it.
    #[doc(hidden)]
    #[inline]
    pub fn member_or_forced<T: ToJson + ?Sized>(&mut self, name: &str, value: &T, forced: Option<Forced>) {
        match forced {
            Some(Forced::Replaced) => {}
            _ if !value.is_absent() => value.write_json(self.key(name)),
            None => {}
            Some(Forced::Empty) => value.write_json(self.key(name)),
            Some(Forced::Null) => self.key(name).null(),
        }
    }

    /// Writes the members that the object's type (whose members are `known`) does not
    /// know, after the others, then those asked to be sent as `null` by names it does not
    /// know, and closes the object.
    pub fn end_with(mut self, extra: &Extra, known: &[&str]) {
        for (name, value) in &**extra {
            self.key(name).serde(value);
        }
        for name in extra.nulls_beyond(known) {
            self.key(name).null();
        }
        self.end();
    }

    /// Closes the object.
    pub fn end(self) {
        self.writer.out.push(b'}');
    }
}

macro_rules! numbers {
    ($($t:ty),*) => {$(
        impl ToJson for $t {
            fn write_json(&self, writer: &mut JsonWriter) {
                writer.integer(*self);
            }
        }
    )*};
}

numbers!(i8, i16, i32, u8, u16, u32);

impl ToJson for i64 {
    fn write_json(&self, writer: &mut JsonWriter) {
        writer.integer_string(*self);
    }
}

impl ToJson for u64 {
    fn write_json(&self, writer: &mut JsonWriter) {
        writer.integer_string(*self);
    }
}

/// How the proto3 JSON mapping, which Google's APIs read, spells a float that is not a
/// finite number: `"NaN"`, `"Infinity"`, `"-Infinity"`; `None` for finite values, which are
/// written as numbers. (serde_json writes them as `null`, which in an update clears the
/// field; Python's `json` writes a bare `NaN`, which is not JSON.) Query parameters use the
/// same spelling rather than Rust's `inf`.
pub(crate) fn non_finite_name(value: f64) -> Option<&'static str> {
    if value.is_nan() {
        Some("NaN")
    } else if value.is_infinite() {
        Some(if value > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        None
    }
}

macro_rules! float_to_json {
    ($($t:ty),*) => {$(
        impl ToJson for $t {
            fn write_json(&self, writer: &mut JsonWriter) {
                match non_finite_name(f64::from(*self)) {
                    Some(name) => writer.string(name),
                    None => writer.serde(self),
                }
            }
        }
    )*};
}

float_to_json!(f32, f64);

impl ToJson for bool {
    fn write_json(&self, writer: &mut JsonWriter) {
        writer.bool(*self);
    }
}

impl ToJson for str {
    fn write_json(&self, writer: &mut JsonWriter) {
        writer.string(self);
    }
}

impl ToJson for String {
    fn write_json(&self, writer: &mut JsonWriter) {
        writer.string(self);
    }
}

impl ToJson for serde_json::Value {
    fn write_json(&self, writer: &mut JsonWriter) {
        writer.serde(self);
    }
}

impl ToJson for crate::Bytes {
    fn write_json(&self, writer: &mut JsonWriter) {
        writer.string(&self.to_base64());
    }
}

impl ToJson for crate::FieldMask {
    fn write_json(&self, writer: &mut JsonWriter) {
        writer.string(&self.to_string());
    }
}

impl<T: ToJson + ?Sized> ToJson for &T {
    fn write_json(&self, writer: &mut JsonWriter) {
        (**self).write_json(writer);
    }

    fn is_absent(&self) -> bool {
        (**self).is_absent()
    }
}

impl<T: ToJson + ?Sized> ToJson for Box<T> {
    fn write_json(&self, writer: &mut JsonWriter) {
        (**self).write_json(writer);
    }

    fn is_absent(&self) -> bool {
        (**self).is_absent()
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn write_json(&self, writer: &mut JsonWriter) {
        match self {
            Some(value) => value.write_json(writer),
            None => writer.null(),
        }
    }

    fn is_absent(&self) -> bool {
        self.is_none()
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn write_json(&self, writer: &mut JsonWriter) {
        writer.array(self);
    }

    fn is_absent(&self) -> bool {
        self.is_empty()
    }
}

impl<T: ToJson> ToJson for BTreeMap<String, T> {
    fn write_json(&self, writer: &mut JsonWriter) {
        let mut object = writer.begin_object();
        for (name, value) in self {
            value.write_json(object.key(name));
        }
        object.end();
    }

    fn is_absent(&self) -> bool {
        self.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let every_byte: String = (0u8..0x80).map(char::from).collect();
        for text in [String::new(), every_byte, "é ☃ 😀 \u{7f} /".to_owned(), "a\"b\\c".repeat(9)] {
            assert_eq!(to_vec(&text), serde_json::to_vec(&text).unwrap(), "{text:?}");
        }
    }

    #[test]
    fn numbers_and_values_are_written_as_serde_json_writes_them() {
        for v in [0.0, -0.0, 1.0, 0.1, 1e21, 1.5e-7, f64::MAX, f64::MIN_POSITIVE] {
            assert_eq!(to_vec(&v), serde_json::to_vec(&v).unwrap(), "{v}");
        }
        assert_eq!(to_vec(&0.1f32), serde_json::to_vec(&0.1f32).unwrap());
        // Not as serde_json (`null`): as the proto3 JSON mapping, and read back by the reader.
        for (v, text) in [(f64::NAN, "\"NaN\""), (f64::INFINITY, "\"Infinity\""), (f64::NEG_INFINITY, "\"-Infinity\"")]
        {
            assert_eq!(to_vec(&v), text.as_bytes());
            assert_eq!(to_vec(&(v as f32)), text.as_bytes());
            let back: f64 = crate::reader::from_str(text).unwrap();
            assert!(back.to_bits() == v.to_bits() || (back.is_nan() && v.is_nan()), "{text}");
        }
        for v in [i32::MIN, -1, 0, i32::MAX] {
            assert_eq!(to_vec(&v), serde_json::to_vec(&v).unwrap());
        }
        assert_eq!(to_vec(&u32::MAX), b"4294967295");
        assert_eq!(to_vec(&i64::MIN), b"\"-9223372036854775808\"", "int64 travels as a string");
        assert_eq!(to_vec(&u64::MAX), b"\"18446744073709551615\"");
        let value = json!({"b": [1, 2.5, null, "x"], "a": {"nested": true}});
        assert_eq!(to_vec(&value), serde_json::to_vec(&value).unwrap());
    }

    #[test]
    fn containers_and_absent_members() {
        assert_eq!(to_vec(&vec![Some(true), None]), b"[true,null]");
        assert_eq!(to_vec(&Vec::<u8>::new()), b"[]");
        assert_eq!(to_vec(&BTreeMap::<String, u8>::new()), b"{}");
        assert!(None::<u8>.is_absent() && Vec::<u8>::new().is_absent() && BTreeMap::<String, u8>::new().is_absent());
        assert!(!Some(0).is_absent() && !0.is_absent() && !String::new().is_absent());
        let mut writer = JsonWriter::default();
        let mut object = writer.begin_object();
        object.member("none", &None::<u8>);
        object.member("empty", &Vec::<u8>::new());
        object.member("zero", &Some(0));
        object.member("blank", &Some(String::new()));
        object.end_with(&[("later".to_owned(), json!([1]))].into_iter().collect(), &[]);
        assert_eq!(writer.out, br#"{"zero":0,"blank":"","later":[1]}"#);
    }

    #[test]
    fn bytes_and_field_masks_as_strings() {
        assert_eq!(to_vec(&crate::Bytes(vec![0xfb, 0xff])), br#""+/8=""#);
        assert_eq!(to_vec(&crate::FieldMask::from("a,b.c")), br#""a,b.c""#);
    }
}
