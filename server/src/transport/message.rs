//! A message body decoded into a JSON-RPC request, notification or response, or into the error
//! the specification prescribes for it.
//!
//! One pass over the body builds the message (no intermediate tree) and validates all of it:
//! UTF-8, escapes (a lone surrogate is an error), nesting (serde_json's limit of 128 levels), and
//! fields the server does not use. Invalid JSON gets -32700 (Parse error); valid JSON that is not
//! one JSON-RPC 2.0 message gets -32600 (Invalid Request): not an object, a batch (LSP has none),
//! `jsonrpc` missing or not `"2.0"`, an id that is neither an integer nor a string, a field given
//! twice, no `method` and neither `result` nor `error`. The error answers with the message's id
//! when it is a usable one, else with `null`, as JSON-RPC 2.0 says.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Id, Request, Response};

/// What a body turned out to be.
#[derive(Debug)]
pub enum Decoded {
    Request(Request),
    Response(Response),
    /// Not a valid message: the error response to send back.
    Invalid(Response),
}

/// Decodes one message body.
pub fn decode(body: &[u8]) -> Decoded {
    let mut de = serde_json::Deserializer::from_slice(body);
    let top = match Top::deserialize(&mut de).and_then(|top| de.end().map(|()| top)) {
        Ok(top) => top,
        Err(err) => {
            let error = Error {
                code: ErrorCode::ParseError,
                message: format!("invalid JSON: {err}").into(),
                data: None,
            };
            return Decoded::Invalid(Response::from_error(Id::Null, error));
        }
    };
    match top {
        Top::Object(fields) => fields.into_message(),
        Top::Array => invalid(
            Id::Null,
            "batches are not supported: send one message per frame",
        ),
        Top::Scalar => invalid(Id::Null, "a message must be a JSON object"),
    }
}

fn invalid(id: Id, message: &str) -> Decoded {
    let error = Error {
        code: ErrorCode::InvalidRequest,
        message: format!("invalid request: {message}").into(),
        data: None,
    };
    Decoded::Invalid(Response::from_error(id, error))
}

/// The top-level JSON value.
enum Top {
    Object(Fields),
    Array,
    Scalar,
}

/// The members of a message object, as found.
#[derive(Default)]
struct Fields {
    jsonrpc: Option<Scalar>,
    id: Option<Scalar>,
    method: Option<Scalar>,
    params: Option<Value>,
    result: Option<Value>,
    error: Option<Value>,
    duplicate: Option<&'static str>,
}

impl Fields {
    fn into_message(self) -> Decoded {
        let id = match &self.id {
            Some(Scalar::Int(n)) => Some(Id::Number(*n)),
            Some(Scalar::Str(s)) => Some(Id::String(s.clone())),
            _ => None,
        };
        let reply_id = id.clone().unwrap_or(Id::Null);
        if let Some(field) = self.duplicate {
            return invalid(reply_id, &format!("\"{field}\" appears twice"));
        }
        if !matches!(&self.jsonrpc, Some(Scalar::Str(v)) if v == "2.0") {
            return invalid(reply_id, "\"jsonrpc\" must be \"2.0\"");
        }
        let id_is_null = matches!(self.id, Some(Scalar::Null));
        if self.id.is_some() && id.is_none() && !(id_is_null && self.error.is_some()) {
            return invalid(Id::Null, "the id must be an integer or a string");
        }
        match (self.method, self.result, self.error) {
            (Some(Scalar::Str(method)), None, None) => {
                let mut request = Request::build(method);
                if let Some(id) = id {
                    request = request.id(id);
                }
                if let Some(params) = self.params {
                    request = request.params(params);
                }
                Decoded::Request(request.finish())
            }
            (Some(_), _, _) => invalid(reply_id, "\"method\" must be a string, alone"),
            (None, Some(result), None) => match id {
                Some(id) => Decoded::Response(Response::from_ok(id, result)),
                None => invalid(Id::Null, "a response needs an id"),
            },
            (None, None, Some(error)) => {
                Decoded::Response(Response::from_error(reply_id, response_error(&error)))
            }
            _ => invalid(
                reply_id,
                "a message needs a method, or a result or an error (not both)",
            ),
        }
    }
}

/// The client's error object, kept even when it strays from the specification's shape.
fn response_error(value: &Value) -> Error {
    Error::deserialize(value).unwrap_or_else(|_| Error {
        code: ErrorCode::from(value["code"].as_i64().unwrap_or(-32603)),
        message: value["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
            .into(),
        data: value.get("data").cloned(),
    })
}

/// A member's value where only a string or an integer will do.
enum Scalar {
    Str(String),
    Int(i64),
    Null,
    Other,
}

impl<'de> Deserialize<'de> for Top {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TopVisitor)
    }
}

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON-RPC message")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let mut fields = Fields::default();
        while let Some(key) = map.next_key::<Key>()? {
            let (slot, name) = match key {
                Key::Jsonrpc => (&mut fields.jsonrpc, "jsonrpc"),
                Key::Id => (&mut fields.id, "id"),
                Key::Method => (&mut fields.method, "method"),
                Key::Params => {
                    let value = map.next_value()?;
                    set(&mut fields.params, value, "params", &mut fields.duplicate);
                    continue;
                }
                Key::Result => {
                    let value = map.next_value()?;
                    set(&mut fields.result, value, "result", &mut fields.duplicate);
                    continue;
                }
                Key::Error => {
                    let value = map.next_value()?;
                    set(&mut fields.error, value, "error", &mut fields.duplicate);
                    continue;
                }
                Key::Other => {
                    map.next_value::<Checked>()?;
                    continue;
                }
            };
            let value = map.next_value()?;
            set(slot, value, name, &mut fields.duplicate);
        }
        Ok(Top::Object(fields))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Top::Array)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Top, E> {
        Ok(Top::Scalar)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Top, E> {
        Ok(Top::Scalar)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Top, E> {
        Ok(Top::Scalar)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Top, E> {
        Ok(Top::Scalar)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Top, E> {
        Ok(Top::Scalar)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Top, E> {
        Ok(Top::Scalar)
    }
}

fn set<T>(
    slot: &mut Option<T>,
    value: T,
    name: &'static str,
    duplicate: &mut Option<&'static str>,
) {
    if slot.replace(value).is_some() {
        duplicate.get_or_insert(name);
    }
}

/// A member name of a message object.
enum Key {
    Jsonrpc,
    Id,
    Method,
    Params,
    Result,
    Error,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(match key {
                    "jsonrpc" => Key::Jsonrpc,
                    "id" => Key::Id,
                    "method" => Key::Method,
                    "params" => Key::Params,
                    "result" => Key::Result,
                    "error" => Key::Error,
                    _ => Key::Other,
                })
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Scalar, E> {
                Ok(Scalar::Str(s.to_owned()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Scalar, E> {
                Ok(Scalar::Str(s))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Scalar, E> {
                Ok(Scalar::Int(n))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Scalar, E> {
                Ok(i64::try_from(n).map_or(Scalar::Other, Scalar::Int))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::Null)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scalar, A::Error> {
                CheckedVisitor.visit_seq(seq).map(|_| Scalar::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scalar, A::Error> {
                CheckedVisitor.visit_map(map).map(|_| Scalar::Other)
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// Any JSON value, read to the end (so it is validated) and dropped without being stored.
/// Unlike [`serde::de::IgnoredAny`], strings are decoded, so bad UTF-8 and lone surrogates are errors.
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_entry::<Checked, Checked>()?.is_some() {}
        Ok(Checked)
    }
}
