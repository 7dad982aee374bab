//! What a generated object carries besides its typed fields: members its type does not
//! know, and which of its members to send even when they hold nothing.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

/// The JSON of an object beyond its typed fields: the members its type does not know, which
/// members were present when it was read, and which members the caller wants sent although
/// they hold nothing. Every generated object type has one, in its field `extra`.
///
/// # Empty values and nulls
///
/// A field that holds nothing (`None`, an empty `Vec` or map) is left out of the request
/// body, which on Google's patch methods means "leave it as it is". To change it to nothing,
/// say so:
///
/// * [`send_empty`](Extra::send_empty)`("labels")` sends `"labels": []` (or `{}` for a map)
///   while the field is empty;
/// * [`send_null`](Extra::send_null)`("description")` sends `"description": null` while the
///   field is `None` (or empty).
///
/// Members are named as in the JSON (and in field masks): `emailAddresses`, not
/// `email_addresses`. A field that holds a value is sent as it is, whatever was asked.
///
/// A value read from the service remembers which members it had, so that writing it back
/// sends them all, empty and `null` ones included, and a member that held something when it
/// was read and was emptied since is sent empty (`[]`, `{}`) or `null`: read, modify, write
/// says exactly what changed. [`omit_absent_members`](Extra::omit_absent_members) forgets all
/// this, for a value reused as a template.
///
/// ```
/// use discovery_runtime::wire::Extra;
/// # use discovery_runtime::for_generated_code as wire;
///
/// #[derive(Debug, Default)]
/// pub struct File {
///     description: Option<String>,
///     labels: Vec<String>,
///     extra: Extra,
/// }
///
/// discovery_runtime::json_object!(File, extra, request_body {
///     description: "description",
///     labels: "labels",
/// });
///
/// // A patch that clears the labels and unsets the description.
/// let mut patch = File::default();
/// patch.extra.send_empty("labels");
/// patch.extra.send_null("description");
/// assert_eq!(wire::to_vec(&patch), br#"{"description":null,"labels":[]}"#);
///
/// // Read, modify, write: the emptied list is sent empty, the untouched null stays null.
/// let mut file: File = wire::from_str(r#"{"description": null, "labels": ["a"]}"#).unwrap();
/// file.labels.clear();
/// assert_eq!(wire::to_vec(&file), br#"{"description":null,"labels":[]}"#);
/// assert_eq!(serde_json::to_string(&file).unwrap(), r#"{"description":null,"labels":[]}"#);
/// ```
///
/// # Unknown members
///
/// `Extra` dereferences to a `BTreeMap<String, serde_json::Value>` of the members the type
/// does not know (added to the API after the crate was generated): they are kept when
/// reading and written back after the others, so read, modify, write loses nothing.
///
/// A member inserted here under a name the type knows (one it learnt after the code was
/// written, say) is sent from here, in place of the field: a body never holds a name twice.
///
/// Equality compares the unknown members only: which members were read or are to be sent
/// is about the wire, not the value.
#[derive(Clone, Default)]
pub struct Extra {
    /// Bit `i`: the member at index `i` of the type's member list was present when read
    /// (indexes below 64; the others are in `rare`).
    present: u64,
    /// Everything that is usually absent, boxed so that an object pays one word for it.
    rare: Option<Box<Rare>>,
}

/// What most objects never hold.
#[derive(Clone, Default)]
struct Rare {
    unknown: BTreeMap<String, Value>,
    /// Bit `i` of word `i / 64`: member `i` was read as `null`.
    nulls: Vec<u64>,
    /// Presence bits of members at index 64 and above, word `i / 64 - 1`.
    present_high: Vec<u64>,
    /// Members the caller asked to send although absent, by JSON name.
    forced: Vec<(String, Forced)>,
}

/// How a member is sent other than from its value: an absent one that must be sent, or
/// one whose name the unknown members hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[doc(hidden)]
pub enum Forced {
    /// As `null`.
    Null,
    /// As the field's empty value: `[]`, `{}`, or `null` for an `Option`.
    Empty,
    /// Not from the field at all, even one that holds a value: the unknown members hold a
    /// member of this name, which is written with them.
    Replaced,
}

static NO_MEMBERS: BTreeMap<String, Value> = BTreeMap::new();

impl Extra {
    /// Sends the member `name` as `[]` (an array field) or `{}` (a map field) while its field
    /// is empty; an `Option` field that is `None` is sent as `null`. `name` is the JSON
    /// name, such as `emailAddresses`.
    ///
    /// A name the type does not know is ignored; to send an empty value for a member newer
    /// than the crate, insert it: `extra.insert("newList".into(), json!([]))`.
    pub fn send_empty(&mut self, name: &str) {
        self.force(name, Forced::Empty);
    }

    /// Sends the member `name` as `null` while its field is `None` or empty (which unsets it
    /// on Google's patch methods). `name` is the JSON name, such as `emailAddresses`; a name
    /// the type does not know is sent as `null` too, for members newer than the crate.
    pub fn send_null(&mut self, name: &str) {
        self.force(name, Forced::Null);
    }

    /// Forgets which members were present when the value was read and which were asked
    /// for with [`send_empty`](Self::send_empty) and [`send_null`](Self::send_null): absent
    /// fields are then left out, as for a value built in code. Unknown members stay.
    ///
    /// It applies to the object that holds this `Extra` only: each nested object has its own
    /// `extra`, which remembers its own members (call this on those too, or build the
    /// nested values afresh).
    pub fn omit_absent_members(&mut self) {
        self.present = 0;
        if let Some(rare) = &mut self.rare {
            rare.nulls.clear();
            rare.present_high.clear();
            rare.forced.clear();
        }
    }

    fn force(&mut self, name: &str, how: Forced) {
        let forced = &mut self.rare_mut().forced;
        match forced.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = how,
            None => forced.push((name.to_owned(), how)),
        }
    }

    fn rare_mut(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    /// Records that member `index` was read, and whether as `null`. Called by the code
    /// [`json_object!`](crate::json_object) generates, for every member of every object
    /// read: the common case is one `or`.
    #[doc(hidden)]
    #[inline(always)]
    pub fn mark_read(&mut self, index: usize, null: bool) {
        if index < 64 && !null {
            self.present |= 1 << index;
        } else {
            self.mark_read_rare(index, null);
        }
    }

    #[cold]
    #[inline(never)]
    fn mark_read_rare(&mut self, index: usize, null: bool) {
        if index < 64 {
            self.present |= 1 << index;
        } else {
            set_bit(&mut self.rare_mut().present_high, index - 64);
        }
        if null {
            set_bit(&mut self.rare_mut().nulls, index);
        }
    }

    /// Whether member `index`, named `name`, is to be sent although absent, and how. Called
    /// by the code [`json_object!`](crate::json_object) generates.
    #[doc(hidden)]
    #[inline]
    pub fn forced(&self, index: usize, name: &str) -> Option<Forced> {
        let present = index < 64 && self.present & (1 << index) != 0;
        let Some(rare) = &self.rare else {
            return present.then_some(Forced::Empty);
        };
        if rare.unknown.contains_key(name) {
            return Some(Forced::Replaced);
        }
        if let Some((_, how)) = rare.forced.iter().find(|(n, _)| n == name) {
            return Some(*how);
        }
        if present || (index >= 64 && get_bit(&rare.present_high, index - 64)) {
            return Some(if get_bit(&rare.nulls, index) { Forced::Null } else { Forced::Empty });
        }
        None
    }

    /// The members asked to be sent as `null` whose names are not among `known` nor among
    /// the unknown members: written after the others.
    #[doc(hidden)]
    pub fn nulls_beyond<'a>(&'a self, known: &'a [&'a str]) -> impl Iterator<Item = &'a str> + 'a {
        let forced = self.rare.as_deref().map(|r| r.forced.as_slice()).unwrap_or(&[]);
        forced.iter().filter_map(move |(name, how)| {
            let beyond = *how == Forced::Null && !known.contains(&name.as_str()) && !self.contains_key(name);
            beyond.then_some(name.as_str())
        })
    }
}

fn set_bit(words: &mut Vec<u64>, bit: usize) {
    let word = bit / 64;
    if words.len() <= word {
        words.resize(word + 1, 0);
    }
    words[word] |= 1 << (bit % 64);
}

fn get_bit(words: &[u64], bit: usize) -> bool {
    words.get(bit / 64).is_some_and(|w| w & (1 << (bit % 64)) != 0)
}

/// The JSON names of a generated object type's members, in the order they are written;
/// implemented by [`json_object!`](crate::json_object).
#[doc(hidden)]
pub trait Members {
    /// The names.
    const MEMBERS: &'static [&'static str];
}

/// The position of `name` in `members`, at compile time: the index
/// [`json_object!`](crate::json_object) marks when a member is read. `members.len()` when
/// absent (then never a field's index).
#[doc(hidden)]
pub const fn member_index(members: &[&str], name: &str) -> usize {
    let mut i = 0;
    while i < members.len() {
        let (a, b) = (members[i].as_bytes(), name.as_bytes());
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return i;
            }
        }
        i += 1;
    }
    members.len()
}

impl std::ops::Deref for Extra {
    type Target = BTreeMap<String, Value>;

    fn deref(&self) -> &Self::Target {
        self.rare.as_deref().map_or(&NO_MEMBERS, |r| &r.unknown)
    }
}

impl std::ops::DerefMut for Extra {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.rare_mut().unknown
    }
}

impl fmt::Debug for Extra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Equal when they hold the same unknown members.
impl PartialEq for Extra {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl From<BTreeMap<String, Value>> for Extra {
    fn from(members: BTreeMap<String, Value>) -> Self {
        let rare = (!members.is_empty()).then(|| Box::new(Rare { unknown: members, ..Rare::default() }));
        Extra { present: 0, rare }
    }
}

impl FromIterator<(String, Value)> for Extra {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        BTreeMap::from_iter(iter).into()
    }
}

impl<'a> IntoIterator for &'a Extra {
    type Item = (&'a String, &'a Value);
    type IntoIter = std::collections::btree_map::Iter<'a, String, Value>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_indexes_are_found_at_compile_time() {
        const MEMBERS: &[&str] = &["a", "ab", "b", ""];
        const AB: usize = member_index(MEMBERS, "ab");
        assert_eq!(AB, 1);
        assert_eq!(member_index(MEMBERS, ""), 3);
        assert_eq!(member_index(MEMBERS, "c"), 4);
    }

    #[test]
    fn presence_and_requests_decide_how_absent_members_go() {
        let mut extra = Extra::default();
        assert_eq!(extra.forced(3, "x"), None);
        extra.mark_read(3, false);
        extra.mark_read(70, true);
        assert_eq!(extra.forced(3, "x"), Some(Forced::Empty));
        assert_eq!(extra.forced(70, "y"), Some(Forced::Null));
        assert_eq!(extra.forced(4, "z"), None);
        extra.send_null("x");
        extra.send_empty("z");
        assert_eq!(extra.forced(3, "x"), Some(Forced::Null));
        assert_eq!(extra.forced(4, "z"), Some(Forced::Empty));
        extra.send_empty("x");
        assert_eq!(extra.forced(3, "x"), Some(Forced::Empty), "the last request wins");
        extra.omit_absent_members();
        assert_eq!((extra.forced(3, "x"), extra.forced(70, "y"), extra.forced(4, "z")), (None, None, None));
    }

    #[test]
    fn equality_and_debug_see_the_unknown_members_only() {
        let mut read = Extra::default();
        read.mark_read(1, true);
        read.send_null("a");
        assert_eq!(read, Extra::default());
        assert_eq!(format!("{read:?}"), "{}");
        read.insert("later".into(), Value::from(1));
        assert_ne!(read, Extra::default());
        assert_eq!(read["later"], 1);
    }
}
