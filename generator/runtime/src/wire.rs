//! How generated types meet JSON beyond their typed fields: [`Extra`] (members a type does
//! not know, and the empty or unset members to send anyway), and [`int64`], the serde
//! helper for 64-bit integers as Google sends them (as strings), for applications that embed
//! generated types in serde types of their own.
//!
//! Responses are decoded, and request bodies encoded, by the runtime's own JSON reader and
//! writer (serde's code is generic over the (de)serializer, and one copy per generated type
//! was most of what the compiler spent on a generated crate); the generated types also
//! implement serde's `Serialize` and `Deserialize`, with the same output. [`from_str`] and
//! [`to_vec`] call the reader and the writer directly: `Deserialize` goes through a
//! `serde_json::Value`, so reading a stored value with [`from_str`] is quicker.
//!
//! ```
//! use discovery_runtime::wire;
//!
//! let stored: Vec<Option<i64>> = wire::from_str(r#"["7", null]"#).unwrap();
//! assert_eq!(stored, [Some(7), None]);
//! assert_eq!(wire::to_vec(&stored), br#"["7",null]"#);
//! ```

pub use crate::extra::Extra;
pub use crate::reader::{from_str, DecodeError};
pub use crate::writer::to_vec;

use crate::extra::Forced;

use crate::writer::ToJson;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// An object type that can be a request body: encoded by a function of the crate that
/// defines the type, so that the code which sends it ([`Call::object_body`](crate::for_generated_code::Call::object_body))
/// is not generic.
#[doc(hidden)]
pub trait JsonBody {
    /// The JSON encoding of `self`.
    fn to_json(&self) -> Vec<u8>;
}

/// A request body that is not an object type (an array, a map, a scalar, an enum),
/// encoded by [`to_vec`]: 64-bit integers travel as strings there too, as the Discovery
/// `int64` and `uint64` formats say, where serde would write numbers.
///
/// ```
/// use discovery_runtime::wire::{JsonBody, ValueBody};
///
/// assert_eq!(ValueBody(&vec![1i64, 2]).to_json(), br#"["1","2"]"#);
/// ```
#[doc(hidden)]
pub struct ValueBody<'a, T: ?Sized>(pub &'a T);

impl<T: ToJson + ?Sized> JsonBody for ValueBody<'_, T> {
    fn to_json(&self) -> Vec<u8> {
        to_vec(self.0)
    }
}

/// One member of a generated object type, written by the `Serialize` impl of
/// [`json_object!`](crate::json_object).
///
/// Members that hold nothing (`None`, an empty array or map) are left out when writing, as
/// the Google APIs expect, unless the object's [`Extra`] says to send them
/// ([`Extra::send_empty`], [`Extra::send_null`], or present when read).
#[doc(hidden)]
pub mod member {
    use std::collections::BTreeMap;

    use serde::ser::{Serialize, SerializeMap};

    use super::{AsWireString, Forced, Wire};

    /// Whether a member value holds nothing and is left out of the JSON object.
    pub trait Absent {
        /// `true` for `None` and for empty arrays and maps.
        fn is_absent(&self) -> bool;
    }

    impl<T> Absent for Option<T> {
        fn is_absent(&self) -> bool {
            self.is_none()
        }
    }

    impl<T> Absent for Vec<T> {
        fn is_absent(&self) -> bool {
            self.is_empty()
        }
    }

    impl<K, V> Absent for BTreeMap<K, V> {
        fn is_absent(&self) -> bool {
            self.is_empty()
        }
    }

    /// A member value that writes itself into a JSON object: `None` as `null` and an empty
    /// array or map as `[]` or `{}` (when it is written at all, see [`write`]).
    ///
    /// `Option` writes its content directly, and arrays go through a plain loop rather than
    /// serde's iterator-based `collect_seq`: less code per type, in every generated crate.
    pub trait Member: Absent {
        /// Writes `self` under `key`.
        fn write_member<M: SerializeMap>(&self, map: &mut M, key: &'static str) -> Result<(), M::Error>;
    }

    impl<T: Serialize> Member for Option<T> {
        fn write_member<M: SerializeMap>(&self, map: &mut M, key: &'static str) -> Result<(), M::Error> {
            map.serialize_entry(key, self)
        }
    }

    impl<T: Serialize> Member for Vec<T> {
        fn write_member<M: SerializeMap>(&self, map: &mut M, key: &'static str) -> Result<(), M::Error> {
            map.serialize_entry(key, &Items(self))
        }
    }

    impl<K: Serialize, V: Serialize> Member for BTreeMap<K, V> {
        fn write_member<M: SerializeMap>(&self, map: &mut M, key: &'static str) -> Result<(), M::Error> {
            map.serialize_entry(key, self)
        }
    }

    /// The items of an array member.
    struct Items<'a, T>(&'a [T]);

    impl<T: Serialize> Serialize for Items<'_, T> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeSeq;
            let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
            for item in self.0 {
                seq.serialize_element(item)?;
            }
            seq.end()
        }
    }

    /// Writes `value` under `key`, unless it is absent and not `forced`, or replaced by an
    /// unknown member of the same name; a forced absent member goes as `null` or as its
    /// empty form.
    pub fn write<M, T>(map: &mut M, key: &'static str, value: &T, forced: Option<Forced>) -> Result<(), M::Error>
    where
        M: SerializeMap,
        T: Member,
    {
        match forced {
            Some(Forced::Replaced) => Ok(()),
            _ if !value.is_absent() => value.write_member(map, key),
            None => Ok(()),
            Some(Forced::Empty) => value.write_member(map, key),
            Some(Forced::Null) => map.serialize_entry(key, &()),
        }
    }

    /// Float members: numbers, and the values JSON numbers cannot hold as the strings
    /// `"NaN"`, `"Infinity"` and `"-Infinity"` (the proto3 JSON mapping), as the runtime's
    /// writer writes them; serde would write `null`.
    pub mod float {
        pub use super::int64::write;
    }

    /// `int64`/`uint64` members, as strings on the wire (see [`int64`](super::int64)).
    pub mod int64 {
        use super::*;

        /// Writes `value` under `key`, integers as strings, as [`write`](super::write) does.
        pub fn write<M, T>(map: &mut M, key: &'static str, value: &T, forced: Option<Forced>) -> Result<(), M::Error>
        where
            M: SerializeMap,
            T: Absent + AsWireString,
        {
            match forced {
                Some(Forced::Replaced) => Ok(()),
                _ if !value.is_absent() => map.serialize_entry(key, &Wire(value)),
                None => Ok(()),
                Some(Forced::Empty) => map.serialize_entry(key, &Wire(value)),
                Some(Forced::Null) => map.serialize_entry(key, &()),
            }
        }
    }
}

/// Deserializes a string enum of a generated crate from a borrowed string where the format
/// allows, so known values cost no allocation; unknown values go to the enum's catch-all.
/// For generated code.
#[doc(hidden)]
pub fn deserialize_enum<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: for<'a> From<&'a str>,
{
    struct EnumVisitor<T>(PhantomData<T>);

    impl<T: for<'a> From<&'a str>> Visitor<'_> for EnumVisitor<T> {
        type Value = T;

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            formatter.write_str("an enum value as a string")
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<T, E> {
            Ok(T::from(value))
        }
    }

    deserializer.deserialize_str(EnumVisitor(PhantomData))
}

/// `int64` and `uint64` fields: sent as JSON strings (JavaScript numbers lose precision past
/// 2^53), accepted as strings or numbers.
///
/// Works on `i64`, `u64` and any nesting of `Option`, `Vec`, `BTreeMap<String, _>` and
/// `HashMap<String, _>` around them:
///
/// ```
/// use std::collections::BTreeMap;
///
/// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
/// struct Counts {
///     #[serde(with = "discovery_runtime::wire::int64")]
///     total: i64,
///     #[serde(with = "discovery_runtime::wire::int64", default)]
///     per_day: Option<BTreeMap<String, Vec<u64>>>,
/// }
///
/// let c: Counts = serde_json::from_str(r#"{"total": "9007199254740993", "per_day": {"mon": [1, "2"]}}"#).unwrap();
/// assert_eq!(c.total, 9_007_199_254_740_993);
/// assert_eq!(
///     serde_json::to_string(&c).unwrap(),
///     r#"{"total":"9007199254740993","per_day":{"mon":["1","2"]}}"#
/// );
/// ```
pub mod int64 {
    use super::{AsWireString, FromWireString};
    use serde::{Deserializer, Serializer};

    /// Serialises with every integer as a string.
    pub fn serialize<T, S>(value: &T, serializer: S) -> Result<S::Ok, S::Error>
    where
        T: ?Sized + AsWireString,
        S: Serializer,
    {
        value.serialize_wire(serializer)
    }

    /// Deserialises integers given as strings or numbers.
    pub fn deserialize<'de, T, D>(deserializer: D) -> Result<T, D::Error>
    where
        T: FromWireString,
        D: Deserializer<'de>,
    {
        T::deserialize_wire(deserializer)
    }
}

/// Types that [`int64`] can serialise: `i64`, `u64` and containers of them. Also `f32` and
/// `f64`, as numbers, or by name when they are not finite (how generated types write float
/// members through serde, as the runtime's writer does); so `int64::serialize` accepts a
/// float too, which `int64::deserialize` does not: serde reads floats, names included,
/// into a `serde_json::Value` and the runtime's reader reads them directly.
pub trait AsWireString {
    /// Serialises `self` with every 64-bit integer as a string and every float that is not
    /// finite by name.
    fn serialize_wire<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error>;
}

macro_rules! float_leaf {
    ($($t:ty),*) => {$(
        impl AsWireString for $t {
            fn serialize_wire<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match crate::writer::non_finite_name(f64::from(*self)) {
                    Some(name) => serializer.serialize_str(name),
                    None => self.serialize(serializer),
                }
            }
        }
    )*};
}

float_leaf!(f32, f64);

/// Types that [`int64`] can deserialise: `i64`, `u64` and containers of them.
pub trait FromWireString: Sized {
    /// Deserialises, accepting every integer as a string or a number.
    fn deserialize_wire<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error>;
}

/// Lets a nested value go through the plain `Serialize` machinery of containers.
struct Wire<'a, T: ?Sized>(&'a T);

impl<T: ?Sized + AsWireString> Serialize for Wire<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize_wire(serializer)
    }
}

/// The deserialising counterpart of [`Wire`].
struct WireSeed<T>(PhantomData<T>);

impl<'de, T: FromWireString> DeserializeSeed<'de> for WireSeed<T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        T::deserialize_wire(deserializer)
    }
}

macro_rules! leaf {
    ($t:ty, $what:literal) => {
        impl AsWireString for $t {
            fn serialize_wire<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl FromWireString for $t {
            fn deserialize_wire<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $t;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!($what, " as a string or a number"))
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$t, E> {
                        v.trim().parse().map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$t, E> {
                        <$t>::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$t, E> {
                        <$t>::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
                    }
                    fn visit_f64<E: de::Error>(self, v: f64) -> Result<$t, E> {
                        // Some services print large integers as `1e+21`-style floats; take
                        // them only when they are exact integers in range.
                        let in_range = v.fract() == 0.0 && v >= <$t>::MIN as f64 && v < <$t>::MAX as f64;
                        if in_range {
                            Ok(v as $t)
                        } else {
                            Err(E::invalid_value(de::Unexpected::Float(v), &self))
                        }
                    }
                }
                deserializer.deserialize_any(V)
            }
        }
    };
}

leaf!(i64, "a 64-bit signed integer");
leaf!(u64, "a 64-bit unsigned integer");

impl<T: ?Sized + AsWireString> AsWireString for &T {
    fn serialize_wire<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize_wire(serializer)
    }
}

impl<T: ?Sized + AsWireString> AsWireString for Box<T> {
    fn serialize_wire<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize_wire(serializer)
    }
}

impl<T: FromWireString> FromWireString for Box<T> {
    fn deserialize_wire<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize_wire(deserializer).map(Box::new)
    }
}

impl<T: AsWireString> AsWireString for Option<T> {
    fn serialize_wire<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Some(v) => serializer.serialize_some(&Wire(v)),
            None => serializer.serialize_none(),
        }
    }
}

impl<T: FromWireString> FromWireString for Option<T> {
    fn deserialize_wire<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: FromWireString> Visitor<'de> for V<T> {
            type Value = Option<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an optional value")
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                T::deserialize_wire(d).map(Some)
            }
        }
        deserializer.deserialize_option(V(PhantomData))
    }
}

fn serialize_seq<'a, T, S>(items: impl ExactSizeIterator<Item = &'a T>, serializer: S) -> Result<S::Ok, S::Error>
where
    T: AsWireString + 'a,
    S: Serializer,
{
    let mut seq = serializer.serialize_seq(Some(items.len()))?;
    for item in items {
        seq.serialize_element(&Wire(item))?;
    }
    seq.end()
}

impl<T: AsWireString> AsWireString for [T] {
    fn serialize_wire<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_seq(self.iter(), serializer)
    }
}

impl<T: AsWireString> AsWireString for Vec<T> {
    fn serialize_wire<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_seq(self.iter(), serializer)
    }
}

impl<T: FromWireString> FromWireString for Vec<T> {
    fn deserialize_wire<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: FromWireString> Visitor<'de> for V<T> {
            type Value = Vec<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
                // Bounded so that a hostile size hint cannot reserve unbounded memory.
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while let Some(item) = seq.next_element_seed(WireSeed(PhantomData))? {
                    out.push(item);
                }
                Ok(out)
            }
        }
        deserializer.deserialize_seq(V(PhantomData))
    }
}

fn serialize_map<'a, K, T, S>(
    entries: impl ExactSizeIterator<Item = (&'a K, &'a T)>,
    serializer: S,
) -> Result<S::Ok, S::Error>
where
    K: Serialize + 'a,
    T: AsWireString + 'a,
    S: Serializer,
{
    let mut map = serializer.serialize_map(Some(entries.len()))?;
    for (k, v) in entries {
        map.serialize_entry(k, &Wire(v))?;
    }
    map.end()
}

struct MapVisitor<M, T>(PhantomData<(M, T)>);

impl<'de, M, T> Visitor<'de> for MapVisitor<M, T>
where
    M: Default + Extend<(String, T)>,
    T: FromWireString,
{
    type Value = M;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<M, A::Error> {
        let mut out = M::default();
        while let Some(key) = access.next_key::<String>()? {
            let value = access.next_value_seed(WireSeed(PhantomData))?;
            out.extend(std::iter::once((key, value)));
        }
        Ok(out)
    }
}

impl<K: Serialize + Ord, T: AsWireString> AsWireString for BTreeMap<K, T> {
    fn serialize_wire<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_map(self.iter(), serializer)
    }
}

impl<T: FromWireString> FromWireString for BTreeMap<String, T> {
    fn deserialize_wire<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MapVisitor(PhantomData))
    }
}

impl<K: Serialize + Eq + Hash, T: AsWireString, H: BuildHasher> AsWireString for HashMap<K, T, H> {
    fn serialize_wire<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_map(self.iter(), serializer)
    }
}

impl<T: FromWireString, H: BuildHasher + Default> FromWireString for HashMap<String, T, H> {
    fn deserialize_wire<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MapVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    #[derive(Serialize, Deserialize, Debug, PartialEq, Default)]
    #[serde(default)]
    struct All {
        #[serde(with = "int64")]
        a: i64,
        #[serde(with = "int64")]
        b: u64,
        #[serde(with = "int64", skip_serializing_if = "Option::is_none")]
        c: Option<i64>,
        #[serde(with = "int64")]
        d: Vec<i64>,
        #[serde(with = "int64")]
        e: Option<Vec<u64>>,
        #[serde(with = "int64")]
        f: BTreeMap<String, i64>,
        #[serde(with = "int64")]
        g: Vec<Vec<i64>>,
        #[serde(with = "int64")]
        h: Option<BTreeMap<String, Vec<i64>>>,
        #[serde(with = "int64")]
        i: HashMap<String, Option<u64>>,
    }

    #[test]
    fn accepts_strings_and_numbers_at_any_depth() {
        let v: All = serde_json::from_value(json!({
            "a": "-9223372036854775808",
            "b": 18446744073709551615u64,
            "c": null,
            "d": [1, "2", -3],
            "e": ["18446744073709551615"],
            "f": {"x": "5", "y": 6},
            "g": [["1"], [2, "3"]],
            "h": {"k": ["7", 8]},
            "i": {"n": null, "m": "9"}
        }))
        .unwrap();
        assert_eq!(v.a, i64::MIN);
        assert_eq!(v.b, u64::MAX);
        assert_eq!(v.c, None);
        assert_eq!(v.d, [1, 2, -3]);
        assert_eq!(v.e, Some(vec![u64::MAX]));
        assert_eq!(v.f["y"], 6);
        assert_eq!(v.g, [vec![1], vec![2, 3]]);
        assert_eq!(v.h.as_ref().unwrap()["k"], [7, 8]);
        assert_eq!(v.i["n"], None);
        assert_eq!(v.i["m"], Some(9));
    }

    #[test]
    fn serialises_as_strings() {
        let v = All {
            a: 9_007_199_254_740_993,
            b: 1,
            c: Some(-2),
            d: vec![3],
            e: Some(vec![4]),
            f: BTreeMap::from([("x".to_owned(), 5)]),
            g: vec![vec![6]],
            h: Some(BTreeMap::from([("k".to_owned(), vec![7])])),
            i: HashMap::from([("m".to_owned(), Some(8))]),
        };
        assert_eq!(
            serde_json::to_value(&v).unwrap(),
            json!({
                "a": "9007199254740993", "b": "1", "c": "-2", "d": ["3"], "e": ["4"],
                "f": {"x": "5"}, "g": [["6"]], "h": {"k": ["7"]}, "i": {"m": "8"}
            })
        );
        let back: All = serde_json::from_value(serde_json::to_value(&v).unwrap()).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn rejects_garbage_and_out_of_range() {
        #[derive(Deserialize, Debug)]
        struct One {
            #[serde(with = "int64")]
            #[allow(dead_code)]
            v: u64,
        }
        for bad in [json!("x"), json!(-1), json!("-1"), json!(1.5), json!(true), json!("18446744073709551616")] {
            assert!(serde_json::from_value::<One>(json!({ "v": bad })).is_err(), "{bad}");
        }
        #[derive(Deserialize, Debug)]
        struct Signed {
            #[serde(with = "int64")]
            v: i64,
        }
        let ok: Signed = serde_json::from_value(json!({"v": 1e3})).unwrap();
        assert_eq!(ok.v, 1000);
        assert!(serde_json::from_value::<Signed>(json!({"v": 18446744073709551615u64})).is_err());
    }
}

#[cfg(test)]
mod enum_tests {
    #[derive(Debug, PartialEq)]
    enum Color {
        Red,
        Other(String),
    }

    impl From<&str> for Color {
        fn from(value: &str) -> Self {
            match value {
                "RED" => Color::Red,
                other => Color::Other(other.to_owned()),
            }
        }
    }

    #[test]
    fn enums_decode_known_and_unknown_values_and_reject_non_strings() {
        let decode = |json: &str| super::deserialize_enum::<_, Color>(&mut serde_json::Deserializer::from_str(json));
        assert_eq!(decode(r#""RED""#).unwrap(), Color::Red);
        assert_eq!(decode(r#""R\u0045D""#).unwrap(), Color::Red, "escaped strings decode too");
        assert_eq!(decode(r#""BLUE""#).unwrap(), Color::Other("BLUE".into()));
        assert!(decode("3").is_err());
    }
}

#[cfg(test)]
mod in_place_tests {
    #[derive(Debug, Default, PartialEq)]
    pub struct Node {
        name: Option<String>,
        child: Option<Node2>,
        children: Vec<Node2>,
        extra: super::Extra,
    }

    crate::json_object!(Node, extra { name: "name", child: "child", children: "children" });

    #[derive(Debug, Default, PartialEq)]
    pub struct Node2 {
        id: Option<i64>,
        extra: super::Extra,
    }

    crate::json_object!(Node2, extra { id: "id" as int64 });

    #[derive(Debug, Default, PartialEq)]
    pub struct Measure {
        value: Option<f64>,
        samples: Vec<f32>,
        by_name: std::collections::BTreeMap<String, f64>,
        extra: super::Extra,
    }

    crate::json_object!(
        Measure,
        extra { value: "value" as float, samples: "samples" as float, by_name: "byName" as float }
    );

    fn decode(json: &str) -> Result<Node, crate::reader::DecodeError> {
        crate::reader::from_str(json)
    }

    /// Both writers (the runtime's, for request bodies, and serde's, for applications) give
    /// the same bytes.
    fn both_writers<T: crate::writer::ToJson + serde::Serialize>(value: &T) -> String {
        let runtime = String::from_utf8(crate::writer::to_vec(value)).unwrap();
        assert_eq!(runtime, serde_json::to_string(value).unwrap(), "the two writers disagree");
        runtime
    }

    #[test]
    fn floats_that_json_numbers_cannot_hold_are_written_by_name_by_both_writers() {
        let measure = Measure {
            value: Some(f64::NAN),
            samples: vec![1.5, f32::INFINITY, f32::NEG_INFINITY],
            by_name: [("a".to_owned(), f64::NEG_INFINITY), ("b".to_owned(), 0.25)].into(),
            ..Default::default()
        };
        let json = both_writers(&measure);
        assert_eq!(
            json,
            r#"{"value":"NaN","samples":[1.5,"Infinity","-Infinity"],"byName":{"a":"-Infinity","b":0.25}}"#
        );
        let back: Measure = crate::reader::from_str(&json).unwrap();
        assert!(back.value.unwrap().is_nan());
        assert_eq!((&back.samples, &back.by_name), (&measure.samples, &measure.by_name));
        // serde's way in (through a `serde_json::Value`) reads the names too.
        let back: Measure = serde_json::from_str(&json).unwrap();
        assert!(back.value.unwrap().is_nan());
        assert_eq!((back.samples, back.by_name), (measure.samples, measure.by_name));
    }

    #[test]
    fn an_unknown_member_under_a_known_name_replaces_the_field() {
        let mut node = Node { name: Some("typed".into()), children: vec![node2(7)], ..Default::default() };
        node.extra.insert("name".into(), serde_json::json!("raw"));
        node.extra.insert("children".into(), serde_json::json!([]));
        assert_eq!(both_writers(&node), r#"{"children":[],"name":"raw"}"#, "each name once, from the unknown members");
        node.extra.clear();
        assert_eq!(both_writers(&node), r#"{"name":"typed","children":[{"id":"7"}]}"#);
    }

    fn node2(id: i64) -> Node2 {
        Node2 { id: Some(id), ..Default::default() }
    }

    #[test]
    fn nested_objects_and_arrays_of_objects_decode_in_place() {
        let node =
            decode(r#"{"child": {"id": "1", "x": true}, "children": [{"id": 2}, {}, {"id": "3"}], "name": "n"}"#)
                .unwrap();
        assert_eq!(node.name.as_deref(), Some("n"));
        let child = node.child.as_ref().unwrap();
        assert_eq!((child.id, child.extra["x"].as_bool()), (Some(1), Some(true)));
        assert_eq!(node.children, [node2(2), Node2::default(), node2(3)]);
        assert_eq!(
            serde_json::to_string(&node).unwrap(),
            r#"{"name":"n","child":{"id":"1","x":true},"children":[{"id":"2"},{},{"id":"3"}]}"#
        );
    }

    #[test]
    fn null_leaves_members_absent_and_a_repeated_member_replaces_the_first() {
        let node = decode(r#"{"child": null}"#).unwrap();
        assert_eq!(node.child, None);
        // A null array is read as empty (as proto3 JSON reads it) and written back null.
        let node = decode(r#"{"children": null}"#).unwrap();
        assert!(node.children.is_empty());
        assert_eq!(serde_json::to_string(&node).unwrap(), r#"{"children":null}"#);
        let node =
            decode(r#"{"child": {"id": 1, "y": 0}, "child": {"z": 0}, "children": [{}], "children": []}"#).unwrap();
        let child = node.child.unwrap();
        assert_eq!((child.id, child.extra.len()), (None, 1), "the second `child` replaced the first");
        assert!(node.children.is_empty());
    }

    #[test]
    fn wrong_shapes_are_errors_with_their_position() {
        for (json, expected) in [
            (r#"{"child": [1]}"#, "invalid type: sequence, expected an object at line 1 column 11"),
            (r#"{"children": {"id": 1}}"#, "invalid type: map, expected a sequence at line 1 column 14"),
            (r#"{"children": [null]}"#, "invalid type: null, expected an object at line 1 column 15"),
            (r#"{"children": [{"id": "x"}]}"#, "64-bit signed integer"),
        ] {
            let err = decode(json).unwrap_err().to_string();
            assert!(err.contains(expected) && err.contains(" at line 1 column "), "{json}: {err}");
        }
    }
}
