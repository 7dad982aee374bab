//! Macros that generated crates invoke: the standard options of every method builder, and
//! the `Deserialize` impls of object types.

/// Adds the options every Google API call accepts to method builder types.
///
/// Each listed type must be a struct with a field `call: $crate::Call`. The macro adds
/// inherent methods taking and returning the builder: `fields`, `quota_user`, `param`,
/// `header`, `add_scope`, `retry_policy` and `timeout`.
///
/// ```
/// use discovery_runtime::{call_options, Call};
///
/// pub struct GetPerson {
///     call: Call,
/// }
///
/// call_options!(GetPerson);
/// ```
#[macro_export]
macro_rules! call_options {
    ($($builder:ty),* $(,)?) => {$(
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
        }
    )*};
}

/// Implements `serde::Deserialize` for object types that implement
/// [`wire::JsonObject`](crate::wire::JsonObject), by [`wire::deserialize_object`](crate::wire::deserialize_object).
///
/// ```
/// use std::collections::BTreeMap;
/// use discovery_runtime::{deserialize_objects, wire};
///
/// #[derive(Default)]
/// pub struct Note {
///     text: Option<String>,
///     extra: BTreeMap<String, serde_json::Value>,
/// }
///
/// impl wire::JsonObject for Note {
///     fn read_member<'de, A: serde::de::MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
///         match key {
///             "text" => self.text = map.next_value()?,
///             _ => wire::next_unknown(map, key, &mut self.extra)?,
///         }
///         Ok(())
///     }
/// }
///
/// deserialize_objects!(Note);
///
/// let note: Note = serde_json::from_str(r#"{"text": "hi", "later": 1}"#).unwrap();
/// assert_eq!(note.text.as_deref(), Some("hi"));
/// assert_eq!(note.extra["later"], 1);
/// ```
#[macro_export]
macro_rules! deserialize_objects {
    ($($object:ty),* $(,)?) => {$(
        impl<'de> $crate::serde::Deserialize<'de> for $object {
            fn deserialize<D: $crate::serde::Deserializer<'de>>(deserializer: D) -> ::core::result::Result<Self, D::Error> {
                $crate::wire::deserialize_object(deserializer)
            }
        }
    )*};
}
