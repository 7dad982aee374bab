//! The JSON reader that decodes responses into the types of generated crates.
//!
//! Why not serde: a serde `Deserialize` is generic over the deserializer, so every object
//! type of a generated crate instantiates serde_json's map and sequence machinery for
//! itself, and that code was most of what the compiler spent on a generated crate. Here
//! the reader is one concrete type, compiled once in this crate; what a generated type
//! adds is one non-generic function matching member names ([`JsonObject::read_member`]).
//!
//! The reader follows serde_json where it matters to callers: the same grammar (RFC 8259,
//! no trailing commas, no lone surrogates, at most 127 levels of nesting), integers that
//! must fit their type, a later duplicate member replacing an earlier one, and errors that
//! say what was expected and at which line and column.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use crate::extra::Extra;

/// The deepest nesting of arrays and objects accepted: serde_json's default limit.
const MAX_DEPTH: u32 = 127;

/// Memory the items of a response's arrays and maps may take once decoded: this much, plus
/// [`DECODED_PER_BYTE`] bytes per byte of the text. A JSON item can be three bytes (`{},`)
/// and its type a kilobyte (a People `Person`), so a hostile server's megabytes of empty
/// objects would otherwise take gigabytes. A real page (Google caps list pages at about a
/// thousand items) decodes to a few megabytes; an assumption, not a documented limit, so the
/// allowance is wide.
const DECODED_FLOOR: usize = 32 << 20;
const DECODED_PER_BYTE: usize = 16;

/// Why a JSON text could not be decoded, and where.
///
/// Boxed: every read returns a `Result`, and a one-word error keeps the successful path
/// cheap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError(Box<ErrorDetail>);

#[derive(Clone, Debug, PartialEq, Eq)]
struct ErrorDetail {
    message: String,
    /// 1-based; 0 when the error has no position (raised outside a text).
    line: usize,
    column: usize,
}

impl DecodeError {
    /// An error without a position.
    pub fn new(message: impl Into<String>) -> Self {
        DecodeError(Box::new(ErrorDetail { message: message.into(), line: 0, column: 0 }))
    }

    fn at(message: String, line: usize, column: usize) -> Self {
        DecodeError(Box::new(ErrorDetail { message, line, column }))
    }

    /// What went wrong, without the position.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The 1-based line of the error, or 0 when it has no position.
    pub fn line(&self) -> usize {
        self.0.line
    }

    /// The 1-based column (in bytes) of the error, or 0 when it has no position.
    pub fn column(&self) -> usize {
        self.0.column
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.line == 0 {
            f.write_str(&self.0.message)
        } else {
            write!(f, "{} at line {} column {}", self.0.message, self.0.line, self.0.column)
        }
    }
}

impl std::error::Error for DecodeError {}

type Result<T> = std::result::Result<T, DecodeError>;

/// A type the runtime's JSON reader decodes: the object types and enums of generated crates
/// (through [`json_object!`](crate::json_object) and [`string_enum!`](crate::string_enum)),
/// the JSON scalars, `serde_json::Value`, and `Option`, `Vec`, `Box` and
/// `BTreeMap<String, _>` of them. Other serde types can be read through [`Serde`].
#[doc(hidden)]
pub trait FromJson: Sized {
    /// Reads one value.
    fn read_json(reader: &mut JsonReader<'_>) -> Result<Self>;

    /// Reads one value into `self`, replacing it. Object types override this (and the two
    /// methods below) to decode where the value lives instead of building it apart and
    /// moving it there: generated objects are large, and every move of one is a copy.
    #[doc(hidden)]
    fn read_json_into(&mut self, reader: &mut JsonReader<'_>) -> Result<()> {
        *self = Self::read_json(reader)?;
        Ok(())
    }

    /// [`read_json_into`](FromJson::read_json_into) of a value the caller has seen is not
    /// `null`: an `Option` then skips its own check and reads what it holds.
    #[doc(hidden)]
    fn read_json_present(&mut self, reader: &mut JsonReader<'_>) -> Result<()> {
        self.read_json_into(reader)
    }

    /// Reads one value into `slot`, which becomes `Some`.
    #[doc(hidden)]
    fn read_json_some(slot: &mut Option<Self>, reader: &mut JsonReader<'_>) -> Result<()> {
        *slot = Some(Self::read_json(reader)?);
        Ok(())
    }

    /// Reads one value onto the end of `items`.
    #[doc(hidden)]
    fn read_json_push(items: &mut Vec<Self>, reader: &mut JsonReader<'_>) -> Result<()> {
        items.push(Self::read_json(reader)?);
        Ok(())
    }
}

/// An object type of a generated crate, decoded one member at a time.
///
/// Generated structs implement this through [`json_object!`](crate::json_object). The
/// method is not generic: the crate that defines a type compiles its decoder once.
#[doc(hidden)]
pub trait JsonObject {
    /// Reads the value of the member named `key` into `self`. Members the type does not
    /// know go to its unknown members ([`JsonReader::unknown_member`]).
    fn read_member(&mut self, key: &str, reader: &mut JsonReader<'_>) -> Result<()>;
}

/// Decodes a whole JSON text: one value, then nothing but whitespace.
///
/// ```
/// use discovery_runtime::for_generated_code::from_str;
///
/// let names: Vec<Option<String>> = from_str(r#"["a", null]"#).unwrap();
/// assert_eq!(names, [Some("a".to_owned()), None]);
/// let err = from_str::<Vec<u32>>("[1, -2]").unwrap_err();
/// assert_eq!(err.to_string(), "invalid value: integer `-2`, expected u32 at line 1 column 6");
/// ```
pub fn from_str<T: FromJson>(text: &str) -> Result<T> {
    let mut reader = JsonReader::new(text);
    let value = T::read_json(&mut reader)?;
    reader.finish()?;
    Ok(value)
}

/// A cursor over a JSON text, read by [`FromJson`] implementations.
#[derive(Debug)]
pub struct JsonReader<'a> {
    text: &'a str,
    pos: usize,
    depth: u32,
    /// Bytes of array and map items that may still be decoded ([`DECODED_FLOOR`]).
    item_budget: usize,
}

impl<'a> JsonReader<'a> {
    /// A reader at the start of `text`.
    pub fn new(text: &'a str) -> Self {
        let item_budget = DECODED_FLOOR.saturating_add(text.len().saturating_mul(DECODED_PER_BYTE));
        JsonReader { text, pos: 0, depth: 0, item_budget }
    }

    /// Fails unless only whitespace is left.
    pub fn finish(&mut self) -> Result<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.error_at(self.pos + 1, "trailing characters")),
        }
    }

    /// An error at the current position.
    #[cold]
    pub fn error(&self, message: impl Into<String>) -> DecodeError {
        self.error_at(self.pos, message)
    }

    #[cold]
    fn error_at(&self, pos: usize, message: impl Into<String>) -> DecodeError {
        let before = &self.text.as_bytes()[..pos.min(self.text.len())];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = before.len() - before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        // As serde_json counts: the column is the number of bytes of the line before `pos`,
        // so an error about a character is given at `pos` one past it.
        DecodeError::at(message.into(), line, column)
    }

    #[cold]
    fn eof(&self) -> DecodeError {
        self.error("EOF while parsing a value")
    }

    /// The next byte after whitespace, not consumed.
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        // Every byte above the space is not whitespace: the common case, with compact JSON.
        match self.text.as_bytes().get(self.pos) {
            Some(&b) if b > b' ' => Some(b),
            _ => self.peek_after_whitespace(),
        }
    }

    fn peek_after_whitespace(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        while let Some(&b) = bytes.get(self.pos) {
            match b {
                b' ' | b'\n' | b'\t' | b'\r' => self.pos += 1,
                _ => return Some(b),
            }
        }
        None
    }

    /// An "invalid type" error naming what the next value is.
    #[cold]
    fn invalid_type(&mut self, expected: &str) -> DecodeError {
        let found = match self.peek() {
            None => return self.eof(),
            Some(b'"') => "string",
            Some(b'{') => "map",
            Some(b'[') => "sequence",
            Some(b't' | b'f') => "boolean",
            Some(b'n') => "null",
            Some(b'-' | b'0'..=b'9') => "number",
            Some(_) => return self.error_at(self.pos + 1, "expected value"),
        };
        // Step onto the value so that the position is the one serde_json reports.
        self.error_at(self.pos + 1, format!("invalid type: {found}, expected {expected}"))
    }

    fn literal(&mut self, word: &str) -> Result<()> {
        if self.text.as_bytes()[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            let matched =
                word.bytes().zip(self.text.as_bytes()[self.pos..].iter()).take_while(|(a, b)| a == *b).count();
            let at = self.pos + matched + 1;
            if self.pos + matched >= self.text.len() {
                Err(self.error_at(at - 1, "EOF while parsing a value"))
            } else {
                Err(self.error_at(at, "expected ident"))
            }
        }
    }

    /// Whether the next value is `null` (not consumed; a malformed literal is found by
    /// whatever reads it).
    #[doc(hidden)]
    #[inline]
    pub fn next_is_null(&mut self) -> bool {
        self.peek() == Some(b'n')
    }

    /// Consumes `null` and returns `true`, or returns `false` if the next value is not null.
    pub fn null(&mut self) -> Result<bool> {
        match self.peek() {
            Some(b'n') => self.literal("null").map(|()| true),
            Some(_) => Ok(false),
            None => Err(self.eof()),
        }
    }

    /// Reads `true` or `false`.
    pub fn bool(&mut self) -> Result<bool> {
        match self.peek() {
            Some(b't') => self.literal("true").map(|()| true),
            Some(b'f') => self.literal("false").map(|()| false),
            _ => Err(self.invalid_type("a boolean")),
        }
    }

    /// Reads a string, borrowed from the text unless it has escapes.
    pub fn string(&mut self) -> Result<Cow<'a, str>> {
        match self.peek() {
            Some(b'"') => self.string_body(),
            _ => Err(self.invalid_type("a string")),
        }
    }

    /// Reads a string whose opening quote is the next byte.
    ///
    /// Inlined: nearly every string of an API answer (keys, ids, etags, types) is short and
    /// plain, and for those the call itself, with the registers the escape handling needs,
    /// cost more than the scan. Strings with escapes continue out of line.
    #[inline(always)]
    fn string_body(&mut self) -> Result<Cow<'a, str>> {
        let bytes = self.text.as_bytes();
        let start = self.pos + 1;
        let end = skip_plain(bytes, start);
        if bytes.get(end) == Some(&b'"') {
            self.pos = end + 1;
            Ok(Cow::Borrowed(&self.text[start..end]))
        } else {
            self.string_with_escapes(start, end)
        }
    }

    /// The rest of a string from `start`, whose plain run ends at `i` with something other
    /// than the closing quote: an escape, a control character or the end of the text.
    #[inline(never)]
    fn string_with_escapes(&mut self, start: usize, mut i: usize) -> Result<Cow<'a, str>> {
        let bytes = self.text.as_bytes();
        if bytes.get(i) != Some(&b'\\') {
            return Err(self.bad_string_byte(i));
        }
        let mut out = String::with_capacity(i - start + 16);
        out.push_str(&self.text[start..i]);
        loop {
            match bytes.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    i = self.escape(i, &mut out)?;
                }
                Some(_) => {
                    let end = skip_plain(bytes, i);
                    if end == i {
                        return Err(self.bad_string_byte(i));
                    }
                    out.push_str(&self.text[i..end]);
                    i = end;
                }
                None => return Err(self.error_at(bytes.len(), "EOF while parsing a string")),
            }
        }
    }

    #[cold]
    fn bad_string_byte(&self, i: usize) -> DecodeError {
        if i >= self.text.len() {
            self.error_at(i, "EOF while parsing a string")
        } else {
            self.error_at(i + 1, "control character (\\u0000-\\u001F) found while parsing a string")
        }
    }

    /// Decodes the escape starting at the backslash at `i` onto `out`; returns the index after it.
    fn escape(&self, i: usize, out: &mut String) -> Result<usize> {
        let bytes = self.text.as_bytes();
        let c = match bytes.get(i + 1) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let (unit, next) = self.hex4(i + 2)?;
                let c = match unit {
                    0xD800..=0xDBFF => {
                        if bytes.get(next) != Some(&b'\\') || bytes.get(next + 1) != Some(&b'u') {
                            return Err(self.error_at(next, "lone leading surrogate in hex escape"));
                        }
                        let (low, after) = self.hex4(next + 2)?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(self.error_at(after, "lone leading surrogate in hex escape"));
                        }
                        let code = 0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                        out.push(char::from_u32(code).expect("a surrogate pair is a scalar value"));
                        return Ok(after);
                    }
                    0xDC00..=0xDFFF => return Err(self.error_at(next, "lone trailing surrogate in hex escape")),
                    unit => char::from_u32(u32::from(unit)).expect("not a surrogate"),
                };
                out.push(c);
                return Ok(next);
            }
            Some(_) => return Err(self.error_at(i + 2, "invalid escape")),
            None => return Err(self.error_at(i + 1, "EOF while parsing a string")),
        };
        out.push(c);
        Ok(i + 2)
    }

    fn hex4(&self, at: usize) -> Result<(u16, usize)> {
        let digits = self
            .text
            .as_bytes()
            .get(at..at + 4)
            .ok_or_else(|| self.error_at(self.text.len(), "EOF while parsing a string"))?;
        let mut unit = 0u16;
        for (k, &d) in digits.iter().enumerate() {
            let v = (d as char).to_digit(16).ok_or_else(|| self.error_at(at + k + 1, "invalid escape"))?;
            unit = unit << 4 | v as u16;
        }
        Ok((unit, at + 4))
    }

    /// Reads a number and returns its text, and whether it is an integer (no fraction, no
    /// exponent).
    fn number(&mut self, expected: &str) -> Result<(&'a str, bool)> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => {}
            _ => return Err(self.invalid_type(expected)),
        }
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let mut i = start;
        if bytes[i] == b'-' {
            i += 1;
        }
        let digits = |mut i: usize| {
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            i
        };
        match bytes.get(i) {
            Some(b'0') => {
                i += 1;
                if bytes.get(i).is_some_and(u8::is_ascii_digit) {
                    return Err(self.error_at(i + 1, "invalid number"));
                }
            }
            Some(b'1'..=b'9') => i = digits(i),
            Some(_) => return Err(self.error_at(i + 1, "invalid number")),
            None => return Err(self.error_at(i, "EOF while parsing a value")),
        }
        let mut integer = true;
        if bytes.get(i) == Some(&b'.') {
            integer = false;
            let end = digits(i + 1);
            if end == i + 1 {
                return Err(self.number_error(end));
            }
            i = end;
        }
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            integer = false;
            i += 1;
            if matches!(bytes.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let end = digits(i);
            if end == i {
                return Err(self.number_error(end));
            }
            i = end;
        }
        self.pos = i;
        Ok((&self.text[start..i], integer))
    }

    #[cold]
    fn number_error(&self, at: usize) -> DecodeError {
        if at >= self.text.len() {
            self.error_at(at, "EOF while parsing a value")
        } else {
            self.error_at(at + 1, "invalid number")
        }
    }

    /// Reads an integer that must fit `T` (`expected` names it in errors).
    fn integer<T: std::str::FromStr>(&mut self, expected: &str) -> Result<T> {
        let start = self.peek_pos();
        let (text, integer) = self.number(expected)?;
        if !integer {
            return Err(self.error_at(self.pos, format!("invalid type: floating point `{text}`, expected {expected}")));
        }
        text.parse().map_err(|_| {
            self.error_at(start + text.len(), format!("invalid value: integer `{text}`, expected {expected}"))
        })
    }

    fn peek_pos(&mut self) -> usize {
        self.peek();
        self.pos
    }

    /// Reads a floating-point number. Strings are accepted too: `"NaN"`, `"Infinity"`,
    /// `"-Infinity"` and numbers, which is how the proto3 JSON mapping writes doubles that
    /// JSON numbers cannot hold.
    pub fn f64(&mut self) -> Result<f64> {
        if self.peek() == Some(b'"') {
            let start = self.pos;
            let text = self.string_body()?;
            return match &*text {
                "NaN" => Ok(f64::NAN),
                "Infinity" => Ok(f64::INFINITY),
                "-Infinity" => Ok(f64::NEG_INFINITY),
                other => other.trim().parse().map_err(|_| {
                    self.error_at(start + 1, format!("invalid value: string {other:?}, expected a number"))
                }),
            };
        }
        let (text, _) = self.number("f64")?;
        let value: f64 = text.parse().map_err(|_| self.error_at(self.pos, "invalid number"))?;
        if value.is_infinite() {
            return Err(self.error_at(self.pos, "number out of range"));
        }
        Ok(value)
    }

    /// Reads an `int64`/`uint64` value: a string (as the Google APIs send them, since
    /// JavaScript numbers lose precision past 2^53) or a number. Numbers written with an
    /// exponent are taken when they are exact integers in range.
    fn int64<T>(&mut self, expected: &str) -> Result<T>
    where
        T: std::str::FromStr + TryFrom<i128>,
    {
        let start = self.peek_pos();
        if self.peek() == Some(b'"') {
            let text = self.string_body()?;
            return text.trim().parse().map_err(|_| {
                self.error_at(
                    start + 1,
                    format!("invalid value: string {:?}, expected {expected} as a string or a number", &*text),
                )
            });
        }
        let (text, integer) = self.number(expected)?;
        let parsed = if integer {
            text.parse().ok()
        } else {
            text.parse::<f64>()
                .ok()
                .filter(|v| v.fract() == 0.0 && v.abs() < 2f64.powi(64))
                .and_then(|v| T::try_from(v as i128).ok())
        };
        parsed.ok_or_else(|| self.error_at(self.pos, format!("invalid value: number `{text}`, expected {expected}")))
    }

    /// Accounts for an array or map item of `size` bytes about to be decoded; fails once the
    /// items would take more than the text's allowance ([`DECODED_FLOOR`]).
    fn take_item(&mut self, size: usize) -> Result<()> {
        match self.item_budget.checked_sub(size) {
            Some(left) => {
                self.item_budget = left;
                Ok(())
            }
            None => Err(self.error_at(
                self.pos + 1,
                format!(
                    "the decoded arrays would take more than {} MiB for {} bytes of JSON: refused as a broken or hostile answer",
                    DECODED_FLOOR.saturating_add(self.text.len().saturating_mul(DECODED_PER_BYTE)) >> 20,
                    self.text.len()
                ),
            )),
        }
    }

    /// Increments the nesting depth on entering an array or object.
    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(self.pos + 1, "recursion limit exceeded"));
        }
        self.pos += 1;
        Ok(())
    }

    /// Reads the name of the next member of the object being read, and the colon after
    /// it; `None` (and the closing brace consumed) after the last member.
    #[inline(always)]
    fn next_key(&mut self, first: &mut bool) -> Result<Option<Cow<'a, str>>> {
        match self.peek() {
            // A comma is consumed only with the member after it, so this follows a value
            // (or the opening brace).
            Some(b'}') => {
                self.pos += 1;
                self.depth -= 1;
                return Ok(None);
            }
            Some(b',') if !*first => {
                self.pos += 1;
                if self.peek() == Some(b'}') {
                    return Err(self.error_at(self.pos + 1, "trailing comma"));
                }
            }
            Some(_) if *first => {}
            Some(_) => return Err(self.error_at(self.pos + 1, "expected `,` or `}`")),
            None => return Err(self.error("EOF while parsing an object")),
        }
        *first = false;
        let key = match self.peek() {
            Some(b'"') => self.string_body()?,
            Some(_) => return Err(self.error_at(self.pos + 1, "key must be a string")),
            None => return Err(self.error("EOF while parsing an object")),
        };
        match self.peek() {
            Some(b':') => self.pos += 1,
            Some(_) => return Err(self.error_at(self.pos + 1, "expected `:`")),
            None => return Err(self.error("EOF while parsing an object")),
        }
        Ok(Some(key))
    }

    /// Reads an object's members into `target`.
    pub fn object(&mut self, target: &mut dyn JsonObject) -> Result<()> {
        if self.peek() != Some(b'{') {
            return Err(self.invalid_type("an object"));
        }
        self.enter()?;
        let mut first = true;
        while let Some(key) = self.next_key(&mut first)? {
            target.read_member(&key, self)?;
        }
        Ok(())
    }

    /// Reads an object, calling `member` with each member's name; `member` reads the value.
    pub fn members(&mut self, member: &mut dyn FnMut(&mut Self, Cow<'a, str>) -> Result<()>) -> Result<()> {
        if self.peek() != Some(b'{') {
            return Err(self.invalid_type("a map"));
        }
        self.enter()?;
        let mut first = true;
        while let Some(key) = self.next_key(&mut first)? {
            member(self, key)?;
        }
        Ok(())
    }

    /// Reads an array, calling `item` for each item; `item` reads it.
    pub fn array(&mut self, item: &mut dyn FnMut(&mut Self) -> Result<()>) -> Result<()> {
        if self.peek() != Some(b'[') {
            return Err(self.invalid_type("a sequence"));
        }
        self.enter()?;
        let mut first = true;
        loop {
            match self.peek() {
                Some(b']') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                Some(b',') if !first => {
                    self.pos += 1;
                    if self.peek() == Some(b']') {
                        return Err(self.error_at(self.pos + 1, "trailing comma"));
                    }
                }
                Some(_) if first => {}
                Some(_) => return Err(self.error_at(self.pos + 1, "expected `,` or `]`")),
                None => return Err(self.error("EOF while parsing a list")),
            }
            first = false;
            item(self)?;
        }
    }

    /// Skips one value of any kind, checking its syntax.
    pub fn skip(&mut self) -> Result<()> {
        match self.peek() {
            Some(b'"') => self.string_body().map(drop),
            Some(b'{') => self.members(&mut |r, _| r.skip()),
            Some(b'[') => self.array(&mut |r| r.skip()),
            Some(b't' | b'f') => self.bool().map(drop),
            Some(b'n') => self.literal("null"),
            Some(b'-' | b'0'..=b'9') => self.number("a number").map(drop),
            Some(_) => Err(self.error_at(self.pos + 1, "expected value")),
            None => Err(self.eof()),
        }
    }

    /// The text of the next value, which is skipped.
    pub fn raw_value(&mut self) -> Result<&'a str> {
        let start = self.peek_pos();
        self.skip()?;
        Ok(&self.text[start..self.pos])
    }

    /// Reads the next value as a `serde_json::Value`.
    pub fn value(&mut self) -> Result<serde_json::Value> {
        let start = self.peek_pos();
        let raw = self.raw_value()?;
        // The syntax is checked; what serde_json can still refuse is a number out of range.
        serde_json::from_str(raw).map_err(|e| {
            let line_start: usize = raw.split_inclusive('\n').take(e.line().saturating_sub(1)).map(str::len).sum();
            self.error_at(start + line_start + e.column(), without_position(&e))
        })
    }

    /// Keeps the value of a member that the object's type does not know, so that writing
    /// the object back loses nothing.
    pub fn unknown_member(&mut self, key: &str, unknown: &mut Extra) -> Result<()> {
        let value = self.value()?;
        unknown.insert(key.to_owned(), value);
        Ok(())
    }
}

/// The message of a serde_json error without its " at line L column C" suffix.
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(at) if e.line() > 0 => text[..at].to_owned(),
        _ => text,
    }
}

/// The index of the first byte at or after `i` that ends the plain run of a string: a
/// quote, a backslash or a control character (or the end). Eight bytes at a time.
pub(crate) fn skip_plain(bytes: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        // Each term has a byte's high bit set where that byte is a zero of it (a quote, a
        // backslash) or below 0x20; it may also flag a later byte, never miss one, so the
        // lowest flag is the first such byte.
        let special = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (word.wrapping_sub(ONES * 0x20) & !word);
        let special = special & HIGH;
        if special != 0 {
            // Borrows only run upwards, from a flagged byte: the lowest flag is exact.
            return i + (special.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&b) = bytes.get(i) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            break;
        }
        i += 1;
    }
    i
}

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl FromJson for $t {
            fn read_json(reader: &mut JsonReader<'_>) -> Result<Self> {
                reader.integer(stringify!($t))
            }
        }
    )*};
}

integers!(i8, i16, i32, u8, u16, u32);

impl FromJson for i64 {
    fn read_json(reader: &mut JsonReader<'_>) -> Result<Self> {
        reader.int64("a 64-bit signed integer")
    }
}

impl FromJson for u64 {
    fn read_json(reader: &mut JsonReader<'_>) -> Result<Self> {
        reader.int64("a 64-bit unsigned integer")
    }
}

impl FromJson for f64 {
    fn read_json(reader: &mut JsonReader<'_>) -> Result<Self> {
        reader.f64()
    }
}

impl FromJson for f32 {
    fn read_json(reader: &mut JsonReader<'_>) -> Result<Self> {
        reader.f64().map(|v| v as f32)
    }
}

impl FromJson for bool {
    fn read_json(reader: &mut JsonReader<'_>) -> Result<Self> {
        reader.bool()
    }
}

impl FromJson for String {
    fn read_json(reader: &mut JsonReader<'_>) -> Result<Self> {
        // `string`, with the string's reading inlined: most values of an answer are strings.
        match reader.peek() {
            Some(b'"') => reader.string_body().map(Cow::into_owned),
            _ => Err(reader.invalid_type("a string")),
        }
    }
}

impl FromJson for serde_json::Value {
    fn read_json(reader: &mut JsonReader<'_>) -> Result<Self> {
        reader.value()
    }
}

impl FromJson for serde_json::Map<String, serde_json::Value> {
    fn read_json(reader: &mut JsonReader<'_>) -> Result<Self> {
        let mut map = serde_json::Map::new();
        reader.members(&mut |reader, key| {
            let value = reader.value()?;
            map.insert(key.into_owned(), value);
            Ok(())
        })?;
        Ok(map)
    }
}

/// `null`, as serde reads `()`.
impl FromJson for () {
    fn read_json(reader: &mut JsonReader<'_>) -> Result<Self> {
        if reader.null()? {
            Ok(())
        } else {
            Err(reader.invalid_type("unit"))
        }
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn read_json(reader: &mut JsonReader<'_>) -> Result<Self> {
        if reader.null()? {
            Ok(None)
        } else {
            T::read_json(reader).map(Some)
        }
    }

    fn read_json_into(&mut self, reader: &mut JsonReader<'_>) -> Result<()> {
        if reader.null()? {
            *self = None;
            Ok(())
        } else {
            T::read_json_some(self, reader)
        }
    }

    fn read_json_present(&mut self, reader: &mut JsonReader<'_>) -> Result<()> {
        T::read_json_some(self, reader)
    }
}

impl<T: FromJson> FromJson for Box<T> {
    fn read_json(reader: &mut JsonReader<'_>) -> Result<Self> {
        T::read_json(reader).map(Box::new)
    }

    fn read_json_into(&mut self, reader: &mut JsonReader<'_>) -> Result<()> {
        (**self).read_json_into(reader)
    }
}

/// Arrays; like serde, `null` is not an empty array.
impl<T: FromJson> FromJson for Vec<T> {
    fn read_json(reader: &mut JsonReader<'_>) -> Result<Self> {
        let mut items = Vec::new();
        items.read_json_into(reader)?;
        Ok(items)
    }

    fn read_json_into(&mut self, reader: &mut JsonReader<'_>) -> Result<()> {
        self.clear();
        reader.array(&mut |reader| {
            reader.take_item(std::mem::size_of::<T>())?;
            if self.capacity() == 0 {
                self.reserve_exact(first_capacity::<T>());
            }
            T::read_json_push(self, reader)
        })
    }
}

/// The capacity of an array's buffer when its first item arrives: up to four items, as
/// `Vec` would allocate, but no more than fit in 1008 bytes. Most arrays of an API answer
/// hold one or two objects of a few hundred bytes each; four of them would cross the size
/// from which glibc's allocator serves a request from its sorted bins, merging every freed
/// chunk first, which measured as the largest cost of decoding a page of persons.
const fn first_capacity<T>() -> usize {
    const SMALL_REQUEST: usize = 1008;
    let size = std::mem::size_of::<T>();
    if size == 0 || size >= SMALL_REQUEST / 2 {
        1
    } else if size >= SMALL_REQUEST / 4 {
        SMALL_REQUEST / size
    } else {
        4
    }
}

impl<T: FromJson> FromJson for BTreeMap<String, T> {
    fn read_json(reader: &mut JsonReader<'_>) -> Result<Self> {
        let mut map = BTreeMap::new();
        reader.members(&mut |reader, key| {
            // The key, the value, and about a third of a B-tree node's bookkeeping per entry.
            reader.take_item(std::mem::size_of::<(String, T)>() + 16)?;
            let value = T::read_json(reader)?;
            map.insert(key.into_owned(), value);
            Ok(())
        })?;
        Ok(map)
    }
}

impl FromJson for crate::Bytes {
    fn read_json(reader: &mut JsonReader<'_>) -> Result<Self> {
        let start = reader.peek_pos();
        let text = reader.string()?;
        crate::Bytes::from_base64(&text).map_err(|e| reader.error_at(start + 1, format!("invalid base64: {e}")))
    }
}

impl FromJson for crate::FieldMask {
    fn read_json(reader: &mut JsonReader<'_>) -> Result<Self> {
        reader.string().map(|text| crate::FieldMask::from(&*text))
    }
}

/// Reads any serde type through [`FromJson`]: the value's text is handed to serde_json.
///
/// ```
/// use discovery_runtime::for_generated_code::{from_str, Serde};
///
/// #[derive(serde::Deserialize)]
/// struct Mine {
///     id: u32,
/// }
///
/// let Serde(mine) = from_str::<Serde<Mine>>(r#"{"id": 7}"#).unwrap();
/// assert_eq!(mine.id, 7);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Serde<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromJson for Serde<T> {
    fn read_json(reader: &mut JsonReader<'_>) -> Result<Self> {
        let start = reader.peek_pos();
        let raw = reader.raw_value()?;
        serde_json::from_str(raw).map(Serde).map_err(|e| {
            // serde_json's line and column are within `raw`; make them an offset in the text.
            let line_start: usize = raw.split_inclusive('\n').take(e.line().saturating_sub(1)).map(str::len).sum();
            reader.error_at(start + line_start + e.column(), without_position(&e))
        })
    }
}

/// `FromJson::read_json` of an object type.
#[doc(hidden)]
pub fn read_object<T: JsonObject + Default>(reader: &mut JsonReader<'_>) -> Result<T> {
    let mut object = T::default();
    reader.object(&mut object)?;
    Ok(object)
}

/// `FromJson::read_json_into` of an object type: a repeated member replaces the earlier value.
#[doc(hidden)]
pub fn read_object_into<T: JsonObject + Default>(object: &mut T, reader: &mut JsonReader<'_>) -> Result<()> {
    *object = T::default();
    reader.object(object)
}

/// `FromJson::read_json_some` of an object type.
#[doc(hidden)]
pub fn read_object_some<T: JsonObject + Default>(slot: &mut Option<T>, reader: &mut JsonReader<'_>) -> Result<()> {
    match slot {
        Some(object) => read_object_into(object, reader),
        None => reader.object(slot.insert(T::default())),
    }
}

/// `FromJson::read_json_push` of an object type: decoded in the array's buffer.
#[doc(hidden)]
pub fn read_object_push<T: JsonObject + Default>(items: &mut Vec<T>, reader: &mut JsonReader<'_>) -> Result<()> {
    items.push(T::default());
    let last = items.last_mut().expect("just pushed");
    reader.object(last)
}

/// `Deserialize` for the types of generated crates, whatever the format: the value is
/// read as a `serde_json::Value` and decoded from its text. Responses do not come this way
/// (the client reads them with [`from_str`]); this is for applications that embed generated
/// types in their own serde types.
pub fn deserialize_via_value<'de, D, T>(deserializer: D) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: FromJson,
{
    use serde::Deserialize as _;
    let value = serde_json::Value::deserialize(deserializer)?;
    from_str(&value.to_string()).map_err(|e| <D::Error as serde::de::Error>::custom(e.message()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// A type as large as a generated object with many members (4 KiB), its members ignored.
    struct Large(#[allow(dead_code)] [u64; 512]);

    impl FromJson for Large {
        fn read_json(reader: &mut JsonReader<'_>) -> Result<Self> {
            reader.members(&mut |reader, _| reader.skip())?;
            Ok(Large([0; 512]))
        }
    }

    #[test]
    fn decoded_arrays_are_bounded_by_the_size_of_the_text() {
        let empties = |n: usize| format!("[{}{{}}]", "{},".repeat(n - 1));
        // 1000 items (a full page) of 4 KiB: 4 MiB, well within the allowance.
        assert_eq!(from_str::<Vec<Large>>(&empties(1000)).unwrap().len(), 1000);
        // 60 KB of `{},` would be 80 MiB.
        let err = from_str::<Vec<Large>>(&empties(20_000)).err().expect("refused");
        assert!(err.message().contains("hostile"), "{err}");
        // So would a map of them.
        let map = format!("{{{}\"z\":{{}}}}", (0..20_000).map(|i| format!("\"{i}\":{{}},")).collect::<String>());
        assert!(from_str::<BTreeMap<String, Large>>(&map).is_err());
        // The allowance grows with the text: the same 20,000 items, each written in 300 bytes
        // (6 MB of text), are 80 MiB of 128 allowed.
        let item = format!("{{\"p\":\"{}\"}}", "x".repeat(292));
        let text = format!("[{}{item}]", format!("{item},").repeat(19_999));
        assert_eq!(from_str::<Vec<Large>>(&text).unwrap().len(), 20_000);
    }

    /// Both readers agree on whether `text` is a JSON value and, if it is, on the value.
    fn agree(text: &str) {
        let ours = from_str::<Value>(text);
        let theirs = serde_json::from_str::<Value>(text);
        match (&ours, &theirs) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{text:?}"),
            (Err(_), Err(_)) => {}
            _ => panic!("{text:?}: ours {ours:?}, serde_json {theirs:?}"),
        }
    }

    #[test]
    fn grammar_agrees_with_serde_json() {
        for text in [
            "null",
            "true",
            "false",
            "0",
            "-0",
            "12",
            "-12.5e+3",
            "1E2",
            "0.5",
            "[]",
            "{}",
            "[1, [2, [3]]]",
            r#"{"a": {"b": [true, null, "x"]}, "c": -1}"#,
            r#"  "pad"  "#,
            r#""\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00""#,
            // Refused by both:
            "",
            " ",
            "01",
            "1.",
            ".5",
            "-",
            "1e",
            "1e+",
            "+1",
            "tru",
            "nul",
            "[1,]",
            "[,1]",
            "[1 2]",
            "{\"a\":1,}",
            "{,}",
            "{\"a\" 1}",
            "{\"a\":}",
            "{1: 2}",
            "[1",
            "{\"a\": 1",
            "\"abc",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\ud800\\u0041\"",
            "\"a\u{1}b\"",
            "[1] x",
            "{} {}",
            "NaN",
            "[-]",
        ] {
            agree(text);
        }
    }

    /// Mutates seed documents (deletions, duplications and insertions of structural
    /// characters reach most of the grammar's error paths) and checks that both readers
    /// agree on each result, until `more` says stop.
    fn mutate_and_compare(mut state: u64, mut more: impl FnMut(u64) -> bool) -> u64 {
        let seeds = [
            r#"{"resourceName": "people/c1", "etag": "%EgUBAi43PRoEAQIFByIM", "names": [{"metadata": {"primary": true, "source": {"type": "CONTACT", "id": "1"}}, "displayName": "Ada \u00c9 \"L\"", "givenName": "Ada"}], "n": [0, -1.5e-3, 12345678901234567890, 3]}"#,
            r#"[{"a": null}, [[], {}], "\\", "\ud83d\ude00 tail", 1e300, false]"#,
        ];
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let inserts = ["\"", "\\", ",", ":", "{", "}", "[", "]", " ", "-", "0", "e", ".", "\u{1}", "n", "\\u", "é"];
        let mut cases = 0;
        while more(cases) {
            let seed = seeds[(next() % 2) as usize];
            let mut text = seed.to_owned();
            for _ in 0..1 + next() % 3 {
                let at = (next() as usize) % (text.len() + 1);
                let at = (0..=at).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
                match next() % 3 {
                    0 => {
                        let end = (at + 1 + (next() as usize) % 4).min(text.len());
                        let end = (end..=text.len()).find(|&i| text.is_char_boundary(i)).unwrap();
                        text.replace_range(at..end, "");
                    }
                    _ => text.insert_str(at, inserts[(next() as usize) % inserts.len()]),
                }
            }
            agree(&text);
            cases += 1;
        }
        cases
    }

    #[test]
    fn mutated_documents_agree_with_serde_json() {
        mutate_and_compare(0x2545_f491_4f6c_dd1d, |cases| cases < 6000);
    }

    /// The same for `FUZZ_SECONDS` (default 60) from a seed taken from the clock:
    /// `cargo test -p discovery-runtime --lib -- --ignored reader_fuzz_long`.
    #[test]
    #[ignore = "long; run by hand"]
    fn reader_fuzz_long() {
        let seconds = std::env::var("FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
        let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
        eprintln!("reader_fuzz_long: seed {seed:#x}");
        let cases = mutate_and_compare(seed, |_| std::time::Instant::now() < deadline);
        eprintln!("reader_fuzz_long: {cases} documents agreed");
    }

    #[test]
    fn strings_with_specials_at_every_offset_match_serde_json() {
        // Around the eight-byte steps of the plain-run scan.
        for len in 0..24 {
            for special in ["\\\"", "\\\\", "\\n", "\\u0041", "é", "\u{7f}", "\u{1f}"] {
                for at in 0..=len {
                    let text = format!("\"{}{special}{}\"", "a".repeat(at), "b".repeat(len - at));
                    let ours = from_str::<String>(&text).map_err(|e| e.to_string());
                    let theirs = serde_json::from_str::<String>(&text).map_err(|e| e.to_string());
                    assert_eq!(ours, theirs, "{text:?}");
                }
            }
        }
    }

    #[test]
    fn error_messages_and_positions_match_serde_json_where_they_are_shared() {
        for text in ["[1,", "{\"a\" 1}", "[1] x", "\"a\u{1}\"", "{\"a\": 1,}", "[1, ]", "01", "\n\n  [tru"] {
            let ours = from_str::<Value>(text).unwrap_err().to_string();
            let theirs = serde_json::from_str::<Value>(text).unwrap_err().to_string();
            assert_eq!(ours, theirs, "{text:?}");
        }
    }

    #[test]
    fn an_arrays_first_buffer_stays_a_small_request() {
        fn check<const N: usize>() -> usize {
            let cap = first_capacity::<[u8; N]>();
            assert!((1..=4).contains(&cap), "{N}: {cap}");
            assert!(cap == 1 || cap * N <= 1008, "{N}: {cap} items of {N} bytes");
            cap
        }
        assert_eq!(check::<24>(), 4);
        assert_eq!(check::<252>(), 4);
        assert_eq!(check::<312>(), 3);
        assert_eq!(check::<504>(), 1);
        assert_eq!(check::<5000>(), 1);
        assert_eq!(first_capacity::<()>(), 1);
        // Arrays still read whole, past the first buffer.
        let long: Vec<String> = from_str(&format!("[{}]", ["\"x\""; 9].join(","))).unwrap();
        assert_eq!(long.len(), 9);
    }

    #[test]
    fn integers_must_fit_their_type() {
        assert_eq!(from_str::<i32>("-2147483648").unwrap(), i32::MIN);
        assert_eq!(from_str::<u32>("4294967295").unwrap(), u32::MAX);
        let err = from_str::<i32>("2147483648").unwrap_err();
        assert_eq!(err.to_string(), "invalid value: integer `2147483648`, expected i32 at line 1 column 10");
        assert!(from_str::<u32>("-1").is_err());
        assert_eq!(from_str::<i32>("1.0").unwrap_err().message(), "invalid type: floating point `1.0`, expected i32");
        assert_eq!(from_str::<i32>("\"1\"").unwrap_err().message(), "invalid type: string, expected i32");
    }

    #[test]
    fn int64_accepts_strings_numbers_and_exact_exponents() {
        assert_eq!(from_str::<i64>("\"-9223372036854775808\"").unwrap(), i64::MIN);
        assert_eq!(from_str::<u64>("18446744073709551615").unwrap(), u64::MAX);
        assert_eq!(from_str::<i64>(" \" 42 \" ").unwrap(), 42);
        assert_eq!(from_str::<i64>("1e3").unwrap(), 1000);
        for bad in ["1.5", "\"x\"", "-1", "\"18446744073709551616\"", "1e30", "true"] {
            assert!(from_str::<u64>(bad).is_err(), "{bad}");
        }
        assert_eq!(from_str::<Vec<Option<i64>>>("[1, \"2\", null]").unwrap(), [Some(1), Some(2), None]);
    }

    #[test]
    fn floats_take_numbers_and_the_proto3_strings() {
        assert_eq!(from_str::<f64>("-1.25e2").unwrap(), -125.0);
        assert_eq!(from_str::<f64>("\"Infinity\"").unwrap(), f64::INFINITY);
        assert!(from_str::<f64>("\"NaN\"").unwrap().is_nan());
        assert_eq!(from_str::<f32>("\"0.5\"").unwrap(), 0.5);
        assert_eq!(from_str::<f64>("1e400").unwrap_err().message(), "number out of range");
        assert!(from_str::<f64>("\"fast\"").is_err());
    }

    #[test]
    fn nesting_is_limited_as_serde_json_limits_it() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(from_str::<Value>(&deep(127)).is_ok());
        assert!(serde_json::from_str::<Value>(&deep(127)).is_ok());
        assert_eq!(from_str::<Value>(&deep(128)).unwrap_err().message(), "recursion limit exceeded");
        assert!(serde_json::from_str::<Value>(&deep(128)).is_err());
        // Skipped values (unknown members) count too, and a hostile depth does not overflow the stack.
        assert!(from_str::<Value>(&deep(100_000)).is_err());
    }

    #[test]
    fn containers_options_and_maps() {
        assert_eq!(from_str::<Option<String>>("null").unwrap(), None);
        assert!(from_str::<Vec<String>>("null").is_err(), "arrays are never null");
        let map: BTreeMap<String, Vec<bool>> = from_str(r#"{"a": [true], "b": [], "a": [false]}"#).unwrap();
        assert_eq!(map["a"], [false], "a later duplicate replaces the earlier one");
        assert_eq!(map.len(), 2);
        assert_eq!(from_str::<Box<u8>>("7").unwrap(), Box::new(7));
        assert_eq!(from_str::<()>("null").unwrap(), ());
        assert!(from_str::<()>("{}").is_err());
        let object: serde_json::Map<String, Value> = from_str(r#"{"x": [1]}"#).unwrap();
        assert_eq!(object["x"], serde_json::json!([1]));
        assert!(from_str::<serde_json::Map<String, Value>>("[]").is_err());
    }

    #[test]
    fn bytes_and_field_masks() {
        assert_eq!(&*from_str::<crate::Bytes>("\"-_8\"").unwrap(), &[0xfb, 0xff]);
        assert_eq!(
            from_str::<crate::Bytes>("\"%%\"").unwrap_err().to_string().split(':').next(),
            Some("invalid base64")
        );
        assert_eq!(from_str::<crate::FieldMask>("\"a,b.c\"").unwrap().paths(), ["a", "b.c"]);
    }

    #[test]
    fn serde_types_read_through_their_text_with_positions_in_the_whole_text() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Pair {
            a: u8,
        }
        assert_eq!(from_str::<Vec<Serde<Pair>>>(r#"[{"a": 1}]"#).unwrap(), [Serde(Pair { a: 1 })]);
        let err = from_str::<Vec<Serde<Pair>>>("[\n {\"a\": 1},\n {\"a\": 300}]").unwrap_err();
        assert_eq!((err.line(), err.message().starts_with("invalid value: integer `300`")), (3, true), "{err}");
    }
}
