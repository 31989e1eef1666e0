//! The decoding policy, as code: how a body from a service we do not control is read.
//!
//! A body is parsed as JSON once; then each decoder walks it with an [`Obj`] reader, which
//! knows the path of every value it hands out. Required identifiers are asked for with
//! [`Obj::required`]: a missing one refuses the *item* (the caller notes a [`Refused`] and goes
//! on), never the page. Every other field accepts the shapes real services are seen to send —
//! numbers as strings and strings as numbers, `""`, `null` and placeholder text for absent
//! values, a one-element array where one value is documented and one value where an array is,
//! objects where a scalar is documented — and what still cannot be read becomes the field's
//! empty value with a [`Degraded`] note holding the raw JSON. [`Notes::count`] turns the notes
//! into the `ozontrack_decode_*` metrics by source and field.

use std::cell::RefCell;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};

/// A field that held a value of a shape we could not read; the field was left empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Degraded {
    /// Where: `postings[3].in_process_at`.
    pub field: String,
    /// What we expected there: `a time`, `a number`…
    pub expected: &'static str,
    /// The value as sent (JSON, cut to 120 characters).
    pub raw: String,
}

impl Degraded {
    /// The field without item indices (`postings[].in_process_at`): the metric's label, whose
    /// values stay few however long the pages.
    pub fn field_kind(&self) -> String {
        let mut out = String::with_capacity(self.field.len());
        let mut in_index = false;
        for c in self.field.chars() {
            match c {
                '[' => {
                    in_index = true;
                    out.push('[');
                }
                ']' => {
                    in_index = false;
                    out.push(']');
                }
                _ if in_index => {}
                _ => out.push(c),
            }
        }
        out
    }
}

impl std::fmt::Display for Degraded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: expected {}, got {}; left empty",
            self.field, self.expected, self.raw
        )
    }
}

/// An item left out because an identifier it cannot do without is missing or unreadable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// Where: `postings[3]`, `data.accepted[0].track_info.tracking.providers[0].events[2]`.
    pub item: String,
    pub reason: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: left out: {}", self.item, self.reason)
    }
}

/// Everything a decoder had to tolerate in one body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notes {
    pub degraded: Vec<Degraded>,
    pub refused: Vec<Refused>,
}

impl Notes {
    pub fn is_empty(&self) -> bool {
        self.degraded.is_empty() && self.refused.is_empty()
    }

    /// Every note as one line of text, degraded fields first.
    pub fn lines(&self) -> Vec<String> {
        self.degraded
            .iter()
            .map(ToString::to_string)
            .chain(self.refused.iter().map(ToString::to_string))
            .collect()
    }

    /// Counts the notes as metrics (`ozontrack_decode_degraded_fields_total{source, field}`,
    /// `ozontrack_decode_refused_items_total{source}`) and logs them once.
    pub fn count(&self, source: &'static str) {
        for d in &self.degraded {
            metrics::counter!("ozontrack_decode_degraded_fields_total", "source" => source, "field" => d.field_kind())
                .increment(1);
            tracing::debug!(source, field = %d.field, raw = %d.raw, "degraded field");
        }
        if !self.refused.is_empty() {
            metrics::counter!("ozontrack_decode_refused_items_total", "source" => source)
                .increment(self.refused.len() as u64);
        }
        for r in &self.refused {
            tracing::warn!(source, item = %r.item, reason = %r.reason, "left out an unreadable item");
        }
    }

    /// Takes another body's notes in (a batch read as several bodies).
    pub fn extend(&mut self, other: Notes) {
        self.degraded.extend(other.degraded);
        self.refused.extend(other.refused);
    }
}

/// A decoded value with what had to be tolerated to get it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded<T> {
    pub value: T,
    pub notes: Notes,
}

/// A body that is not JSON at all (cut, garbled, HTML): nothing in it can be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not JSON at line {line}, column {column}: {reason}")]
pub struct Unreadable {
    pub line: usize,
    pub column: usize,
    pub reason: String,
}

/// Parses `body` and hands its root to `read`, collecting the notes. A root that is not an
/// object is read as an empty one (and noted).
pub fn decode<T>(body: &[u8], read: impl FnOnce(&Obj<'_>) -> T) -> Result<Decoded<T>, Unreadable> {
    let root: Value = serde_json::from_slice(body).map_err(|e| {
        let text = e.to_string();
        // serde_json ends its message with the place, which `line` and `column` hold.
        let reason = text
            .rsplit_once(" at line ")
            .map_or(text.as_str(), |(r, _)| r)
            .to_owned();
        Unreadable {
            line: e.line(),
            column: e.column(),
            reason,
        }
    })?;
    Ok(read_value(&root, read))
}

/// [`decode`] for a value already parsed.
pub fn read_value<T>(root: &Value, read: impl FnOnce(&Obj<'_>) -> T) -> Decoded<T> {
    let notes = RefCell::new(Notes::default());
    let empty = Map::new();
    let map = match root {
        Value::Object(map) => map,
        other => {
            degrade(&notes, "(root)".into(), "an object", other);
            &empty
        }
    };
    let value = read(&Obj {
        path: String::new(),
        map,
        notes: &notes,
    });
    Decoded {
        value,
        notes: notes.into_inner(),
    }
}

fn raw_text(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= 120 {
        text
    } else {
        let cut: String = text.chars().take(119).collect();
        format!("{cut}…")
    }
}

fn degrade(notes: &RefCell<Notes>, field: String, expected: &'static str, raw: &Value) {
    notes.borrow_mut().degraded.push(Degraded {
        field,
        expected,
        raw: raw_text(raw),
    });
}

/// Text documented placeholders and zero values stand for "no value" (`"string"` in Ozon's
/// examples, Go's zero time, `"null"`).
fn is_placeholder(text: &str) -> bool {
    matches!(
        text,
        "" | "string" | "null" | "None" | "undefined" | "-" | "N/A" | "n/a"
    )
}

/// Go's and .NET's zero times, sent for "never".
fn is_zero_time(t: &DateTime<Utc>) -> bool {
    t.timestamp() <= -62_135_596_800 // 0001-01-01T00:00:00Z
}

/// Reads a time in the shapes services send: RFC 3339 (any fraction), `+0000` offsets, and a
/// space for the `T`. A time without an offset is not guessed at.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    let with_t = text.replacen(' ', "T", 1);
    DateTime::parse_from_rfc3339(&with_t)
        .or_else(|_| DateTime::parse_from_str(&with_t, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Whether `text` is a time written without an offset (`2022-08-18T10:22:00`).
fn is_naive_time(text: &str) -> bool {
    let with_t = text.trim().replacen(' ', "T", 1);
    NaiveDateTime::parse_from_str(&with_t, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
}

/// One JSON object being read, with its path for notes.
#[derive(Debug)]
pub struct Obj<'a> {
    path: String,
    map: &'a Map<String, Value>,
    notes: &'a RefCell<Notes>,
}

impl<'a> Obj<'a> {
    /// Where this object is in the body (`""` for the root).
    pub fn path(&self) -> &str {
        &self.path
    }

    fn at(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn child(&self, path: String, map: &'a Map<String, Value>) -> Obj<'a> {
        Obj {
            path,
            map,
            notes: self.notes,
        }
    }

    fn degrade(&self, key: &str, expected: &'static str, raw: &Value) {
        degrade(self.notes, self.at(key), expected, raw);
    }

    /// The value under `key` as sent; `null` reads as absent.
    pub fn raw(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A one-element array stands for its element (services wrap single values).
    fn single(&self, key: &str) -> Option<&'a Value> {
        match self.raw(key)? {
            Value::Array(items) if items.len() == 1 => Some(&items[0]),
            Value::Array(items) if items.is_empty() => None,
            other => Some(other),
        }
    }

    /// Text: a string, or a number or boolean written out; empty when absent. Anything else is
    /// degraded.
    pub fn text(&self, key: &str) -> String {
        match self.single(key) {
            None => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(other) => {
                self.degrade(key, "text", other);
                String::new()
            }
        }
    }

    /// Trimmed text, `None` when empty or a placeholder.
    pub fn opt_text(&self, key: &str) -> Option<String> {
        let text = self.text(key);
        let text = text.trim();
        (!is_placeholder(text)).then(|| text.to_owned())
    }

    /// An identifier the item cannot do without: trimmed non-empty text, or the item is
    /// refused with the reason.
    pub fn required(&self, key: &str) -> Result<String, Refused> {
        match self.single(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            None | Some(Value::String(_)) => Err(self.refuse(format!("{key} is missing"))),
            Some(other) => {
                Err(self.refuse(format!("{key} is not an identifier: {}", raw_text(other))))
            }
        }
    }

    /// A refusal of this item, for a decoder's own checks of a required value.
    pub fn refuse(&self, reason: String) -> Refused {
        Refused {
            item: if self.path.is_empty() {
                "(root)".into()
            } else {
                self.path.clone()
            },
            reason,
        }
    }

    /// An integer: a number (an integral float too) or numeric text; `None` when absent or a
    /// placeholder.
    pub fn int(&self, key: &str) -> Option<i64> {
        let value = self.single(key)?;
        let read = match value {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
            Value::String(s) if is_placeholder(s.trim()) => return None,
            Value::String(s) => s.trim().parse::<i64>().ok().or_else(|| {
                s.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            }),
            _ => None,
        };
        if read.is_none() {
            self.degrade(key, "an integer", value);
        }
        read
    }

    /// An Ozon-style id: an integer where `0` means none.
    pub fn id(&self, key: &str) -> Option<i64> {
        self.int(key).filter(|v| *v != 0)
    }

    /// A number: a JSON number or numeric text (a decimal comma too).
    pub fn float(&self, key: &str) -> Option<f64> {
        let value = self.single(key)?;
        let read = match value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) if is_placeholder(s.trim()) => return None,
            Value::String(s) => s.trim().replace(',', ".").parse::<f64>().ok(),
            _ => None,
        };
        let read = read.filter(|f| f.is_finite());
        if read.is_none() {
            self.degrade(key, "a number", value);
        }
        read
    }

    /// A flag: a boolean, `"true"`/`"false"`, `1`/`0`; false when absent.
    pub fn flag(&self, key: &str) -> bool {
        let Some(value) = self.single(key) else {
            return false;
        };
        match value {
            Value::Bool(b) => *b,
            Value::Number(n) if n.as_i64() == Some(1) => true,
            Value::Number(n) if n.as_i64() == Some(0) => false,
            Value::String(s) if s.trim().eq_ignore_ascii_case("true") || s.trim() == "1" => true,
            Value::String(s) if s.trim().eq_ignore_ascii_case("false") || s.trim() == "0" => false,
            Value::String(s) if is_placeholder(s.trim()) => false,
            other => {
                self.degrade(key, "a flag", other);
                false
            }
        }
    }

    /// An optional time (see [`parse_time`]); placeholders and zero times are absent, anything
    /// else unreadable is degraded.
    pub fn time(&self, key: &str) -> Option<DateTime<Utc>> {
        let value = self.single(key)?;
        if let Value::String(s) = value {
            if is_placeholder(s.trim()) {
                return None;
            }
            if let Some(t) = parse_time(s) {
                return (!is_zero_time(&t)).then_some(t);
            }
        }
        let expected = match value {
            Value::String(s) if is_naive_time(s) => "a time with its offset",
            _ => "a time",
        };
        self.degrade(key, expected, value);
        None
    }

    /// A required time (an event's): read as [`Obj::time`] or the item is refused.
    pub fn required_time(&self, key: &str) -> Result<DateTime<Utc>, Refused> {
        match self.single(key) {
            Some(Value::String(s)) => parse_time(s)
                .filter(|t| !is_zero_time(t))
                .ok_or_else(|| self.refuse(format!("{key} {s:?} is not a time with an offset"))),
            Some(other) => Err(self.refuse(format!("{key} is not a time: {}", raw_text(other)))),
            None => Err(self.refuse(format!("{key} is missing"))),
        }
    }

    /// A nested object; a one-element array of one is accepted, anything else but absence is
    /// degraded.
    pub fn obj(&self, key: &str) -> Option<Obj<'a>> {
        match self.single(key)? {
            Value::Object(map) => Some(self.child(self.at(key), map)),
            other => {
                self.degrade(key, "an object", other);
                None
            }
        }
    }

    /// A list of objects; one object stands for a list of one. Items that are not objects
    /// are degraded and skipped.
    pub fn list(&self, key: &str) -> Vec<Obj<'a>> {
        let Some(value) = self.raw(key) else {
            return Vec::new();
        };
        match value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| match item {
                    Value::Object(map) => Some(self.child(format!("{}[{i}]", self.at(key)), map)),
                    Value::Null => None,
                    other => {
                        degrade(
                            self.notes,
                            format!("{}[{i}]", self.at(key)),
                            "an object",
                            other,
                        );
                        None
                    }
                })
                .collect(),
            Value::Object(map) => vec![self.child(self.at(key), map)],
            other => {
                self.degrade(key, "a list", other);
                Vec::new()
            }
        }
    }

    /// A list of texts; one text stands for a list of one.
    pub fn texts(&self, key: &str) -> Vec<String> {
        let scalar = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        match self.raw(key) {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| {
                    let text = scalar(v);
                    if text.is_none() && !v.is_null() {
                        degrade(self.notes, format!("{}[{i}]", self.at(key)), "text", v);
                    }
                    text
                })
                .collect(),
            Some(other) => match scalar(other) {
                Some(text) => vec![text],
                None => {
                    self.degrade(key, "a list of texts", other);
                    Vec::new()
                }
            },
        }
    }

    /// Notes a refused item found by the decoder (a nested item without its identifier).
    pub fn note_refused(&self, refused: Refused) {
        self.notes.borrow_mut().refused.push(refused);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read<T>(json: &str, f: impl FnOnce(&Obj<'_>) -> T) -> Decoded<T> {
        decode(json.as_bytes(), f).unwrap()
    }

    #[test]
    fn numbers_arrive_as_text_and_text_as_numbers() {
        let d = read(
            r#"{"a": "34.0522", "b": 7, "c": "12", "d": 3.0, "e": "1,5"}"#,
            |o| {
                (
                    o.float("a"),
                    o.text("b"),
                    o.int("c"),
                    o.int("d"),
                    o.float("e"),
                )
            },
        );
        assert_eq!(
            d.value,
            (Some(34.0522), "7".to_owned(), Some(12), Some(3), Some(1.5))
        );
        assert!(d.notes.is_empty());
    }

    #[test]
    fn placeholders_and_zero_times_read_as_absent_without_a_note() {
        let d = read(
            r#"{"a": "string", "b": "", "c": null, "d": "0001-01-01T00:00:00Z", "e": "string"}"#,
            |o| {
                (
                    o.time("a"),
                    o.time("b"),
                    o.time("c"),
                    o.time("d"),
                    o.int("e"),
                )
            },
        );
        assert_eq!(d.value, (None, None, None, None, None));
        assert!(d.notes.is_empty());
    }

    #[test]
    fn an_unreadable_field_is_left_empty_with_its_raw_value_noted() {
        let d = read(
            r#"{"x": {"y": [{"t": "yesterday"}, {"t": {"a": 1}}]}}"#,
            |o| {
                let x = o.obj("x").unwrap();
                x.list("y").iter().map(|i| i.time("t")).collect::<Vec<_>>()
            },
        );
        assert_eq!(d.value, vec![None, None]);
        let fields: Vec<_> = d.notes.degraded.iter().map(|n| n.field.as_str()).collect();
        assert_eq!(fields, ["x.y[0].t", "x.y[1].t"]);
        assert_eq!(d.notes.degraded[0].raw, "\"yesterday\"");
        assert_eq!(d.notes.degraded[1].field_kind(), "x.y[].t");
    }

    #[test]
    fn single_values_and_lists_stand_for_each_other() {
        let d = read(
            r#"{"one": {"k": 1}, "texts": "a", "wrapped": ["x"], "objs": [{"k": 2}]}"#,
            |o| {
                (
                    o.list("one").len(),
                    o.texts("texts"),
                    o.text("wrapped"),
                    o.obj("objs").map(|x| x.int("k")),
                )
            },
        );
        assert_eq!(
            d.value,
            (1, vec!["a".to_owned()], "x".to_owned(), Some(Some(2)))
        );
        assert!(d.notes.is_empty());
    }

    #[test]
    fn a_missing_identifier_refuses_the_item_with_its_place() {
        let d = read(
            r#"{"items": [{"id": "A"}, {"id": ""}, {"id": {"x": 1}}]}"#,
            |o| {
                o.list("items")
                    .iter()
                    .map(|i| i.required("id").map_err(|r| r.to_string()))
                    .collect::<Vec<_>>()
            },
        );
        assert_eq!(d.value[0], Ok("A".to_owned()));
        assert_eq!(
            d.value[1],
            Err("items[1]: left out: id is missing".to_owned())
        );
        assert!(
            d.value[2]
                .as_ref()
                .unwrap_err()
                .contains("not an identifier")
        );
    }

    #[test]
    fn times_are_read_with_their_offset_and_never_guessed_without_one() {
        let d = read(
            r#"{"a": "2026-11-20T10:00:00+0000", "b": "2026-11-20 10:00:00+03:00",
                "c": "2022-08-18T10:22:00", "d": "2026-11-20T10:00:00.123456789Z"}"#,
            |o| (o.time("a"), o.time("b"), o.time("c"), o.time("d")),
        );
        assert!(d.value.0.is_some() && d.value.1.is_some() && d.value.3.is_some());
        assert_eq!(d.value.2, None);
        assert_eq!(d.notes.degraded[0].expected, "a time with its offset");
    }

    /// One increment: the counter's name, its labels, by how much.
    type Increment = (String, Vec<(String, String)>, u64);

    /// Counts what is incremented, by name and labels.
    #[derive(Default)]
    struct Counts(std::sync::Mutex<Vec<Increment>>);

    struct Counter<'a>(&'a Counts, metrics::Key);

    impl metrics::CounterFn for Counter<'static> {
        fn increment(&self, value: u64) {
            let labels = self
                .1
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            self.0
                .0
                .lock()
                .unwrap()
                .push((self.1.name().to_owned(), labels, value));
        }

        fn absolute(&self, _: u64) {}
    }

    impl metrics::Recorder for &'static Counts {
        fn describe_counter(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn describe_gauge(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn describe_histogram(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn register_counter(
            &self,
            key: &metrics::Key,
            _: &metrics::Metadata<'_>,
        ) -> metrics::Counter {
            metrics::Counter::from_arc(std::sync::Arc::new(Counter(self, key.clone())))
        }
        fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
            metrics::Gauge::noop()
        }
        fn register_histogram(
            &self,
            _: &metrics::Key,
            _: &metrics::Metadata<'_>,
        ) -> metrics::Histogram {
            metrics::Histogram::noop()
        }
    }

    #[test]
    fn degraded_fields_are_counted_by_source_and_field_kind_and_refusals_by_source() {
        let counts: &'static Counts = Box::leak(Box::default());
        let d = read(
            r#"{"postings": [{"t": "soon"}, {"t": "later"}, {"n": ""}]}"#,
            |o| {
                for p in o.list("postings") {
                    let _ = p.time("t");
                    if let Err(r) = p.required("n") {
                        p.note_refused(r);
                    }
                }
            },
        );
        metrics::with_local_recorder(&counts, || d.notes.count("ozon"));
        let seen = counts.0.lock().unwrap().clone();
        let degraded: u64 = seen
            .iter()
            .filter(|(name, labels, _)| {
                name == "ozontrack_decode_degraded_fields_total"
                    && labels.contains(&("source".into(), "ozon".into()))
                    && labels.contains(&("field".into(), "postings[].t".into()))
            })
            .map(|(_, _, n)| n)
            .sum();
        assert_eq!(degraded, 2);
        let refused: u64 = seen
            .iter()
            .filter(|(name, _, _)| name == "ozontrack_decode_refused_items_total")
            .map(|(_, _, n)| n)
            .sum();
        assert_eq!(refused, 3, "one per posting without its n");
    }

    #[test]
    fn a_body_that_is_not_json_is_unreadable_with_its_place() {
        let e = decode(b"{\"a\": ", |_| ()).unwrap_err();
        assert_eq!(e.line, 1);
    }
}

/// The shapes this policy promises to read, as mutations of a valid body: each leaf value
/// re-sent in another shape must read as the same value or as absent, and change nothing else.
/// The property tests of every decoder drive their bodies through these.
pub mod mutants {
    use serde_json::{Value, json};

    /// One step of a path into a JSON value.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Step {
        Key(String),
        Index(usize),
    }

    /// What a mutated leaf must read as.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Expect {
        /// The value it had (a number as text, a value wrapped in a list of one…).
        Same,
        /// No value: as if it were `null`.
        Absent,
    }

    /// A corpus of real bodies: every `.json` file of `dir` as (file name, bytes), by name.
    ///
    /// # Panics
    /// When the directory cannot be read: a test's fixtures are missing.
    #[allow(clippy::unwrap_used, clippy::missing_panics_doc)]
    pub fn corpus(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("the corpus at {}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                let bytes = std::fs::read(&p).unwrap();
                (name, bytes)
            })
            .collect();
        files.sort();
        files
    }

    /// The path of every scalar leaf of `value`.
    pub fn leaves(value: &Value) -> Vec<Vec<Step>> {
        fn walk(value: &Value, path: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
            match value {
                Value::Object(map) => {
                    for (k, v) in map {
                        path.push(Step::Key(k.clone()));
                        walk(v, path, out);
                        path.pop();
                    }
                }
                Value::Array(items) => {
                    for (i, v) in items.iter().enumerate() {
                        path.push(Step::Index(i));
                        walk(v, path, out);
                        path.pop();
                    }
                }
                Value::Null => {}
                _ => out.push(path.clone()),
            }
        }
        let mut out = Vec::new();
        walk(value, &mut Vec::new(), &mut out);
        out
    }

    /// The value at `path`, mutable.
    pub fn at<'v>(value: &'v mut Value, path: &[Step]) -> Option<&'v mut Value> {
        path.iter().try_fold(value, |v, step| match step {
            Step::Key(k) => v.get_mut(k.as_str()),
            Step::Index(i) => v.get_mut(*i),
        })
    }

    /// Every single-leaf mutation of `body`: (path, mutant, what it must read as).
    pub fn mutations(body: &Value) -> Vec<(Vec<Step>, Value, Expect)> {
        let mut body = body.clone();
        leaves(&body)
            .into_iter()
            .flat_map(|path| {
                let in_list = matches!(path.last(), Some(Step::Index(_)));
                let leaf = at(&mut body, &path).map(|v| v.clone()).unwrap_or_default();
                mutants(&leaf, in_list)
                    .into_iter()
                    .map(move |(m, e)| (path.clone(), m, e))
            })
            .collect()
    }

    /// `body` sent with `picks` applied (one per field: a later pick of a field wins), and the
    /// body it must read as (the picks expected absent set to `null`), both as bytes.
    pub fn apply(body: &Value, picks: &[(Vec<Step>, Value, Expect)]) -> (Vec<u8>, Vec<u8>) {
        let (mut sent, mut expected) = (body.clone(), body.clone());
        let mut seen: Vec<&[Step]> = Vec::new();
        for (path, mutant, expect) in picks.iter().rev() {
            if seen.contains(&path.as_slice()) {
                continue;
            }
            seen.push(path);
            if let Some(v) = at(&mut sent, path) {
                *v = mutant.clone();
            }
            if *expect == Expect::Absent
                && let Some(v) = at(&mut expected, path)
            {
                *v = Value::Null;
            }
        }
        (
            sent.to_string().into_bytes(),
            expected.to_string().into_bytes(),
        )
    }

    /// The other shapes `leaf` may arrive in, with what each must read as. An element of a
    /// list is not wrapped again (a list of lists is not a shape services send).
    pub fn mutants(leaf: &Value, in_list: bool) -> Vec<(Value, Expect)> {
        let mut out = vec![(Value::Null, Expect::Absent)];
        if !in_list {
            out.push((json!([leaf]), Expect::Same));
            out.push((json!({"value": leaf}), Expect::Absent));
        }
        match leaf {
            Value::Number(n) => {
                out.push((Value::String(n.to_string()), Expect::Same));
                out.push((json!("string"), Expect::Absent));
                out.push((json!(""), Expect::Absent));
            }
            Value::String(s) => {
                // A number sent as the text it would be written as.
                if let Ok(n) = s.parse::<serde_json::Number>()
                    && n.to_string() == *s
                {
                    out.push((Value::Number(n), Expect::Same));
                }
                if super::parse_time(s).is_some() {
                    out.push((json!("string"), Expect::Absent));
                    out.push((json!("0001-01-01T00:00:00Z"), Expect::Absent));
                    out.push((json!(""), Expect::Absent));
                }
            }
            Value::Bool(b) => out.push((Value::String(b.to_string()), Expect::Same)),
            _ => {}
        }
        out
    }
}
