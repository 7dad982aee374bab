//! Macros that generated crates invoke. They hold the code that is the same for every type
//! or method, so a generated crate states only what differs: names, wire spellings and
//! response types, one line each.

/// Adds the options every Google API call accepts to a method builder type and, given the
/// method's response type, its sending methods.
///
/// The builder must be a struct with a field `call`, a `Call`. Every form adds inherent
/// methods taking and returning the builder: `fields`, `quota_user`, `param`, `header`,
/// `add_scope`, `retry_policy`, `timeout` and `deadline`. `Builder => Response` also adds `send` and
/// `send_with_response`; `Builder => ()` adds a `send` that ignores the response body.
///
/// Both return a [`ResponseFuture`](crate::ResponseFuture): the HTTP exchange is compiled
/// once, in this crate, and the decoding of `Response` once, in the crate that defines the
/// builder, instead of in every crate that awaits a call.
///
/// ```
/// use discovery_runtime::call_options;
/// use discovery_runtime::for_generated_code::Call;
///
/// pub struct GetPerson {
///     call: Call,
/// }
///
/// call_options!(GetPerson => serde_json::Value);
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! call_options {
    ($builder:ty => ()) => {
        $crate::call_options!($builder);

        impl $builder {
            /// Sends the request; the method returns no data.
            pub fn send(self) -> $crate::ResponseFuture<()> {
                self.call.send_empty()
            }
        }
    };
    ($builder:ty => $response:ty) => {
        $crate::call_options!($builder);

        impl $builder {
            /// Sends the request and decodes the response.
            pub fn send(self) -> $crate::ResponseFuture<$response> {
                self.call.send()
            }

            /// Sends the request; the decoded response comes with its HTTP status and headers.
            pub fn send_with_response(self) -> $crate::ResponseFuture<$crate::Response<$response>> {
                self.call.send_with_response()
            }
        }
    };
    ($($builder:ty),+ $(,)?) => {$(
        impl $builder {
            /// Asks for a partial response holding only these fields (the standard `fields`
            /// parameter, for example `names,emailAddresses` or `items(id,etag)`).
            #[inline]
            pub fn fields(mut self, fields: impl ::core::convert::Into<::std::string::String>) -> Self {
                self.call.query("fields", ::core::convert::Into::<::std::string::String>::into(fields));
                self
            }

            /// Sets the standard `quotaUser` parameter: an arbitrary string identifying the
            /// user on whose behalf the call is made, for per-user quotas.
            #[inline]
            pub fn quota_user(mut self, user: impl ::core::convert::Into<::std::string::String>) -> Self {
                self.call.query("quotaUser", ::core::convert::Into::<::std::string::String>::into(user));
                self
            }

            /// Adds a query parameter that this builder has no setter for.
            #[inline]
            pub fn param(
                mut self,
                name: impl ::core::convert::Into<::std::string::String>,
                value: impl ::core::convert::Into<::std::string::String>,
            ) -> Self {
                self.call.param(name, value);
                self
            }

            /// Adds a request header. An invalid name or value fails the call when it is sent.
            #[inline]
            pub fn header(
                mut self,
                name: impl ::core::convert::Into<::std::string::String>,
                value: impl ::core::convert::Into<::std::string::String>,
            ) -> Self {
                self.call.header(name, value);
                self
            }

            /// Asks the token provider for this scope instead of the method's defaults;
            /// repeat to ask for several.
            #[inline]
            pub fn add_scope(mut self, scope: impl ::core::convert::Into<::std::string::String>) -> Self {
                self.call.add_scope(scope);
                self
            }

            /// Overrides the client's retry policy for this call.
            #[inline]
            pub fn retry_policy(mut self, policy: $crate::RetryPolicy) -> Self {
                self.call.set_retry_policy(policy);
                self
            }

            /// Overrides the client's per-attempt timeout for this call.
            #[inline]
            pub fn timeout(mut self, timeout: ::std::time::Duration) -> Self {
                self.call.set_timeout(timeout);
                self
            }

            /// Ends the whole call (the wait for earlier mutations, every attempt and every
            /// wait between them) within `deadline` of its start, with `Error::Timeout`.
            #[inline]
            pub fn deadline(mut self, deadline: ::std::time::Duration) -> Self {
                self.call.set_deadline(deadline);
                self
            }
        }
    )+};
}

/// Implements [`wire::FromJson`](crate::for_generated_code::FromJson) and
/// [`wire::JsonObject`](crate::for_generated_code::JsonObject) (how the client decodes responses),
/// [`wire::ToJson`](crate::for_generated_code::ToJson) (how it encodes request bodies), `Serialize` and
/// `Deserialize` for a generated object type, from the list of its fields and their JSON
/// member names; also [`wire::JsonBody`](crate::for_generated_code::JsonBody) for the types that methods
/// take as their request body, marked `request_body`.
///
/// `json_object!(Type, extra { field: "memberName", count: "count" as int64 })`: every
/// listed field is an `Option`, `Vec` or map; `as int64` marks 64-bit integers, which travel
/// as JSON strings ([`wire::int64`](crate::wire::int64)), and `as float` floats, whose
/// values JSON numbers cannot hold travel as `"NaN"`, `"Infinity"` and `"-Infinity"`. The
/// field `extra`, a
/// [`wire::Extra`](crate::wire::Extra), keeps the members the list does not name (written
/// back after the others, so that read, modify, write loses nothing) and decides which
/// absent fields are written anyway: those present when the value was read, and those
/// named with [`Extra::send_empty`](crate::wire::Extra::send_empty) or
/// [`Extra::send_null`](crate::wire::Extra::send_null); other fields are written only when
/// they hold something. Both writers (the runtime's and serde's) follow the same rules.
/// Reading is one pass over the members, without buffering, and nested objects are decoded
/// where they live. `Deserialize`, for applications that embed generated types in their
/// own serde types, goes through a `serde_json::Value`; [`wire::from_str`](crate::for_generated_code::from_str)
/// is the direct way.
///
/// ```
/// #[derive(Debug, Default)]
/// pub struct Note {
///     text: Option<String>,
///     views: Option<i64>,
///     tags: Vec<String>,
///     extra: discovery_runtime::wire::Extra,
/// }
///
/// discovery_runtime::json_object!(Note, extra, request_body {
///     text: "text",
///     views: "viewCount" as int64,
///     tags: "tags",
/// });
///
/// let note: Note = discovery_runtime::for_generated_code::from_str(r#"{"text": "hi", "viewCount": "7", "later": 1}"#).unwrap();
/// assert_eq!((note.text.as_deref(), note.views), (Some("hi"), Some(7)));
/// let same: Note = serde_json::from_str(r#"{"text": "hi", "viewCount": "7", "later": 1}"#).unwrap();
/// assert_eq!(same.extra, note.extra);
/// assert_eq!(serde_json::to_string(&note).unwrap(), r#"{"text":"hi","viewCount":"7","later":1}"#);
///
/// use discovery_runtime::for_generated_code::JsonBody;
/// assert_eq!(note.to_json(), br#"{"text":"hi","viewCount":"7","later":1}"#);
///
/// let mut cleared = Note::default();
/// cleared.extra.send_empty("tags");
/// cleared.extra.send_null("viewCount");
/// assert_eq!(cleared.to_json(), br#"{"viewCount":null,"tags":[]}"#);
/// assert_eq!(serde_json::to_vec(&cleared).unwrap(), cleared.to_json());
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! json_object {
    ($object:ident, $unknown:ident, request_body { $($members:tt)* }) => {
        $crate::json_object!($object, $unknown { $($members)* });

        impl $crate::for_generated_code::JsonBody for $object {
            fn to_json(&self) -> ::std::vec::Vec<u8> {
                $crate::for_generated_code::to_vec(self)
            }
        }
    };
    ($object:ident, $unknown:ident { $($field:ident: $wire:literal $(as $codec:ident)?),* $(,)? }) => {
        impl $crate::for_generated_code::serde::Serialize for $object {
            fn serialize<__S: $crate::for_generated_code::serde::Serializer>(&self, serializer: __S) -> ::core::result::Result<__S::Ok, __S::Error> {
                use $crate::for_generated_code::serde::ser::SerializeMap as _;
                const MEMBERS: &[&str] = <$object as $crate::for_generated_code::Members>::MEMBERS;
                let mut map = serializer.serialize_map(::core::option::Option::None)?;
                $($crate::for_generated_code::member $(::$codec)? ::write(
                    &mut map,
                    $wire,
                    &self.$field,
                    self.$unknown.forced(const { $crate::for_generated_code::member_index(MEMBERS, $wire) }, $wire),
                )?;)*
                for (key, value) in &*self.$unknown {
                    map.serialize_entry(key, value)?;
                }
                for key in self.$unknown.nulls_beyond(MEMBERS) {
                    map.serialize_entry(key, &())?;
                }
                map.end()
            }
        }

        impl $crate::for_generated_code::ToJson for $object {
            fn write_json(&self, writer: &mut $crate::for_generated_code::JsonWriter) {
                const MEMBERS: &[&str] = <$object as $crate::for_generated_code::Members>::MEMBERS;
                let mut object = writer.begin_object();
                $(object.member_or_forced(
                    $wire,
                    &self.$field,
                    self.$unknown.forced(const { $crate::for_generated_code::member_index(MEMBERS, $wire) }, $wire),
                );)*
                object.end_with(&self.$unknown, MEMBERS);
            }
        }

        impl $crate::for_generated_code::Members for $object {
            const MEMBERS: &'static [&'static str] = &[$($wire),*];
        }

        impl $crate::for_generated_code::JsonObject for $object {
            fn read_member(
                &mut self,
                key: &str,
                reader: &mut $crate::for_generated_code::JsonReader<'_>,
            ) -> ::core::result::Result<(), $crate::for_generated_code::DecodeError> {
                const MEMBERS: &[&str] = <$object as $crate::for_generated_code::Members>::MEMBERS;
                match key {
                    $($wire => {
                        // `null` is the member's empty value, whatever its type (an array
                        // or map too, as proto3 JSON reads it), and is remembered as such.
                        let null = reader.next_is_null();
                        if null {
                            reader.null()?;
                            self.$field = ::core::default::Default::default();
                        } else {
                            $crate::for_generated_code::FromJson::read_json_present(&mut self.$field, reader)?;
                        }
                        self.$unknown.mark_read(const { $crate::for_generated_code::member_index(MEMBERS, $wire) }, null);
                        ::core::result::Result::Ok(())
                    })*
                    _ => reader.unknown_member(key, &mut self.$unknown),
                }
            }
        }

        impl $crate::for_generated_code::FromJson for $object {
            fn read_json(reader: &mut $crate::for_generated_code::JsonReader<'_>) -> ::core::result::Result<Self, $crate::for_generated_code::DecodeError> {
                $crate::for_generated_code::read_object(reader)
            }

            fn read_json_into(&mut self, reader: &mut $crate::for_generated_code::JsonReader<'_>) -> ::core::result::Result<(), $crate::for_generated_code::DecodeError> {
                $crate::for_generated_code::read_object_into(self, reader)
            }

            fn read_json_some(
                slot: &mut ::core::option::Option<Self>,
                reader: &mut $crate::for_generated_code::JsonReader<'_>,
            ) -> ::core::result::Result<(), $crate::for_generated_code::DecodeError> {
                $crate::for_generated_code::read_object_some(slot, reader)
            }

            fn read_json_push(
                items: &mut ::std::vec::Vec<Self>,
                reader: &mut $crate::for_generated_code::JsonReader<'_>,
            ) -> ::core::result::Result<(), $crate::for_generated_code::DecodeError> {
                $crate::for_generated_code::read_object_push(items, reader)
            }
        }

        impl<'de> $crate::for_generated_code::serde::Deserialize<'de> for $object {
            fn deserialize<__D: $crate::for_generated_code::serde::Deserializer<'de>>(deserializer: __D) -> ::core::result::Result<Self, __D::Error> {
                $crate::for_generated_code::deserialize_via_value(deserializer)
            }
        }
    };
}

/// Implements the methods and traits of a generated string enum from the wire spelling of
/// each variant: `as_str`, `From<&str>`, `Display`, `Serialize`, `Deserialize`,
/// [`wire::FromJson`](crate::for_generated_code::FromJson) and [`QueryValue`](crate::for_generated_code::QueryValue).
///
/// The enum must have a variant `unknown(String)`, which holds values the list does not
/// name, so that a value added to the API later is read and sent back unchanged.
///
/// ```
/// #[derive(Debug, PartialEq)]
/// pub enum Color {
///     Red,
///     DeepBlue,
///     UnknownValue(String),
/// }
///
/// discovery_runtime::string_enum!(Color, UnknownValue {
///     Red: "RED",
///     DeepBlue: "DEEP_BLUE",
/// });
///
/// assert_eq!(Color::from("DEEP_BLUE"), Color::DeepBlue);
/// assert_eq!(Color::from("GREEN"), Color::UnknownValue("GREEN".into()));
/// assert_eq!(serde_json::to_string(&Color::Red).unwrap(), r#""RED""#);
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! string_enum {
    ($enum:ident, $unknown:ident { $($variant:ident: $wire:literal),* $(,)? }) => {
        impl $enum {
            /// The value as the API spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)*
                    Self::$unknown(value) => value,
                }
            }
        }

        impl ::core::convert::From<&str> for $enum {
            fn from(value: &str) -> Self {
                match value {
                    $($wire => Self::$variant,)*
                    other => Self::$unknown(::std::borrow::ToOwned::to_owned(other)),
                }
            }
        }

        impl ::core::fmt::Display for $enum {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::for_generated_code::serde::Serialize for $enum {
            fn serialize<__S: $crate::for_generated_code::serde::Serializer>(&self, serializer: __S) -> ::core::result::Result<__S::Ok, __S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::for_generated_code::serde::Deserialize<'de> for $enum {
            fn deserialize<__D: $crate::for_generated_code::serde::Deserializer<'de>>(deserializer: __D) -> ::core::result::Result<Self, __D::Error> {
                $crate::for_generated_code::deserialize_enum(deserializer)
            }
        }

        impl $crate::for_generated_code::ToJson for $enum {
            fn write_json(&self, writer: &mut $crate::for_generated_code::JsonWriter) {
                writer.string(self.as_str());
            }
        }

        impl $crate::for_generated_code::FromJson for $enum {
            fn read_json(reader: &mut $crate::for_generated_code::JsonReader<'_>) -> ::core::result::Result<Self, $crate::for_generated_code::DecodeError> {
                reader.string().map(|value| Self::from(&*value))
            }
        }

        impl $crate::for_generated_code::QueryValue for $enum {
            fn to_query_value(&self) -> ::std::borrow::Cow<'_, str> {
                ::std::borrow::Cow::Borrowed(self.as_str())
            }
        }
    };
}

/// Implements the methods and conversions of a generated enum of field names (the
/// values a field-mask parameter accepts): `as_str`, `Display`, and `Into` both `String`
/// and [`FieldMask`](crate::FieldMask), so that arrays of them are field masks.
///
/// ```
/// #[derive(Clone, Copy)]
/// pub enum PersonFields {
///     Names,
///     EmailAddresses,
/// }
///
/// discovery_runtime::field_names!(PersonFields {
///     Names: "names",
///     EmailAddresses: "emailAddresses",
/// });
///
/// let mask = discovery_runtime::FieldMask::from([PersonFields::Names, PersonFields::EmailAddresses]);
/// assert_eq!(mask.to_string(), "names,emailAddresses");
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! field_names {
    ($enum:ident { $($variant:ident: $wire:literal),* $(,)? }) => {
        impl $enum {
            /// The field name as the API spells it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)*
                }
            }
        }

        impl ::core::convert::From<$enum> for ::std::string::String {
            fn from(field: $enum) -> ::std::string::String {
                ::std::borrow::ToOwned::to_owned(field.as_str())
            }
        }

        impl ::core::convert::From<$enum> for $crate::FieldMask {
            fn from(field: $enum) -> Self {
                Self::from(field.as_str())
            }
        }

        impl ::core::fmt::Display for $enum {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
