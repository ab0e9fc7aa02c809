//! Every shape error of a file at once, for `pxelab check`: unknown keys, missing
//! required keys, values outside their enumeration or not of their form, each located.
//! The loader stops at its first error; this pass walks the whole YAML tree against the
//! JSON Schema of `schema.rs` (the subset that schema uses), so a misspelt key two lines
//! after a bad value is reported too. Scalars are judged by the loader's own parsers
//! (durations, sizes, MACs...), with the loader's messages.

use crate::values::{check_name, parse_bool, parse_duration, parse_rate, parse_ratio};
use crate::values::{parse_size, parse_u64};
use crate::yaml::{Kind, Node};
use crate::LoadError;
use pxelab_engine::{Guid, Mac};
use serde_json::{Map, Value};
use std::net::Ipv4Addr;
use std::path::Path;
use std::str::FromStr;

/// The shape errors of a parsed file, in file order.
pub(crate) fn shape_errors(root: &Node, file: &Path) -> Vec<LoadError> {
    let schema = crate::schema::json_schema();
    let defs = schema["$defs"].as_object().cloned().unwrap_or_default();
    let walk = Walk { file, defs: &defs };
    let mut errors = walk.check(&schema, root, "the scenario");
    errors.sort_by_key(|e| (e.line, e.column));
    errors
}

struct Walk<'a> {
    file: &'a Path,
    defs: &'a Map<String, Value>,
}

/// Checks a scalar's text, with the loader's message when it is wrong.
type ScalarCheck = fn(&str) -> Result<(), String>;

/// The loader's parser for each scalar definition of the schema.
fn scalar_check(def: &str) -> Option<ScalarCheck> {
    Some(match def {
        "name" => check_name,
        "text" => |_| Ok(()),
        "duration" => |s| parse_duration(s).map(drop),
        "size" => |s| parse_size(s).map(drop),
        "rate" => |s| parse_rate(s).map(drop),
        "ratio" => |s| parse_ratio(s).map(drop),
        "integer" => |s| parse_u64(s).map(drop),
        "boolean" => |s| parse_bool(s).map(drop),
        "mac" => |s| Mac::from_str(s).map(drop).map_err(|e| e.0),
        "guid" => |s| Guid::from_str(s).map(drop).map_err(|e| e.0),
        "ipv4" => ipv4,
        "cidr" => |s| crate::values::parse_cidr(s).map(drop),
        "range" => |s| {
            let (a, b) = s
                .split_once('-')
                .ok_or_else(|| format!("`{s}` is not a range (expected first-last)"))?;
            ipv4(a.trim()).and(ipv4(b.trim()))
        },
        "ipv6" => |s| {
            std::net::Ipv6Addr::from_str(s).map(drop).map_err(|_| {
                format!("`{s}` is not an IPv6 address (expected, like 2001:db8:10::5)")
            })
        },
        "cidr6" => |s| crate::values::parse_cidr6(s).map(drop),
        "range6" => |s| crate::values::parse_range6(s).map(drop),
        _ => return None,
    })
}

fn ipv4(s: &str) -> Result<(), String> {
    Ipv4Addr::from_str(s).map(drop).map_err(|_| {
        format!("`{s}` is not an IPv4 address (expected four numbers, like 10.10.0.5)")
    })
}

impl Walk<'_> {
    fn err(&self, n: &Node, msg: String) -> Vec<LoadError> {
        vec![LoadError::at(self.file, n.line, n.col, msg)]
    }

    fn check(&self, schema: &Value, n: &Node, place: &str) -> Vec<LoadError> {
        if let Some(Value::String(to)) = schema.get("$ref") {
            let def = to.trim_start_matches("#/$defs/");
            if let Some(parse) = scalar_check(def) {
                return match &n.kind {
                    Kind::Scalar { text, .. } if !n.is_null() => parse(text)
                        .err()
                        .map_or(Vec::new(), |e| self.err(n, format!("{place}: {e}"))),
                    _ => self.err(
                        n,
                        format!("{place}: expected a value, found {}", n.describe()),
                    ),
                };
            }
            let Some(target) = self.defs.get(def) else {
                return Vec::new();
            };
            return self.check(target, n, &named(def, n));
        }
        // An object's own `anyOf` (at least one of some keys) is checked by `object`.
        if let Some(Value::Array(alts)) =
            schema.get("anyOf").filter(|_| schema.get("type").is_none())
        {
            // The errors of the alternative that fits the node's kind (a mapping for an
            // object...) and has the fewest; "expected nothing" for an optional key
            // given a wrong mapping would say nothing useful.
            let mut best: Option<(bool, Vec<LoadError>)> = None;
            for alt in alts {
                let e = self.check(alt, n, place);
                if e.is_empty() {
                    return e;
                }
                let fits = self.fits(alt, n);
                if best
                    .as_ref()
                    .is_none_or(|(f, b)| (fits && !f) || (fits == *f && e.len() < b.len()))
                {
                    best = Some((fits, e));
                }
            }
            return best.map(|(_, e)| e).unwrap_or_default();
        }
        if let Some(Value::Array(options)) = schema.get("enum") {
            let text = n.scalar().filter(|_| !n.is_null());
            if text.is_some_and(|t| options.iter().any(|o| o.as_str() == Some(t))) {
                return Vec::new();
            }
            let names: Vec<&str> = options.iter().filter_map(Value::as_str).collect();
            return self.err(
                n,
                format!(
                    "{place}: {} is not allowed (expected one of {})",
                    n.describe(),
                    names.join(", ")
                ),
            );
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("null") if n.is_null() => Vec::new(),
            Some("null") => self.err(
                n,
                format!("{place}: expected nothing, found {}", n.describe()),
            ),
            Some("array") => match &n.kind {
                Kind::Seq(items) => items
                    .iter()
                    .flat_map(|i| self.check(&schema["items"], i, place))
                    .collect(),
                _ => self.err(
                    n,
                    format!("{place}: expected a list, found {}", n.describe()),
                ),
            },
            Some("object") => self.object(schema, n, place),
            _ => Vec::new(),
        }
    }

    /// Whether the node is of the kind `schema` describes: a mapping for an object, a
    /// list for an array, null for null, a scalar for the rest.
    fn fits(&self, schema: &Value, n: &Node) -> bool {
        if let Some(Value::String(to)) = schema.get("$ref") {
            let def = to.trim_start_matches("#/$defs/");
            return match self.defs.get(def) {
                Some(t) if scalar_check(def).is_none() => self.fits(t, n),
                _ => matches!(n.kind, Kind::Scalar { .. }) && !n.is_null(),
            };
        }
        if let Some(Value::Array(alts)) =
            schema.get("anyOf").filter(|_| schema.get("type").is_none())
        {
            return alts.iter().any(|a| self.fits(a, n));
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("object") => matches!(n.kind, Kind::Map(_)),
            Some("array") => matches!(n.kind, Kind::Seq(_)),
            Some("null") => n.is_null(),
            _ => matches!(n.kind, Kind::Scalar { .. }) && !n.is_null(),
        }
    }

    fn object(&self, schema: &Value, n: &Node, place: &str) -> Vec<LoadError> {
        let Kind::Map(entries) = &n.kind else {
            return self.err(
                n,
                format!("expected {place} (a mapping), found {}", n.describe()),
            );
        };
        let props = schema.get("properties").and_then(Value::as_object);
        let extra = schema.get("additionalProperties");
        let mut errors = Vec::new();
        for (k, v) in entries {
            let key = k.scalar().unwrap_or_default();
            match (props.and_then(|p| p.get(key)), extra) {
                (Some(s), _) => errors.extend(self.check(s, v, &format!("`{key}` in {place}"))),
                (None, Some(Value::Bool(false))) => {
                    let allowed: Vec<&str> = props
                        .map(|p| p.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    errors.extend(self.err(
                        k,
                        format!(
                            "unknown key `{key}` in {place} (allowed keys: {})",
                            allowed.join(", ")
                        ),
                    ));
                }
                (None, Some(s)) if s.is_object() => {
                    errors.extend(self.check(s, v, &format!("`{key}` in {place}")))
                }
                _ => {}
            }
        }
        for req in schema["required"].as_array().into_iter().flatten() {
            let req = req.as_str().unwrap_or_default();
            let present = entries
                .iter()
                .any(|(k, v)| k.scalar() == Some(req) && !v.is_null());
            if !present {
                errors.extend(self.err(n, format!("{place} is missing the required key `{req}`")));
            }
        }
        // v1.1: `anyOf: [{required: [a]}, {required: [b]}]`, at least one of the keys.
        if let Some(Value::Array(alts)) = schema.get("anyOf") {
            let keys: Vec<&str> = alts
                .iter()
                .flat_map(|a| a["required"].as_array().into_iter().flatten())
                .filter_map(Value::as_str)
                .collect();
            let present = |key: &str| {
                entries
                    .iter()
                    .any(|(k, v)| k.scalar() == Some(key) && !v.is_null())
            };
            if !keys.is_empty() && !keys.iter().any(|k| present(k)) {
                let names: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
                errors.extend(self.err(n, format!("{place} needs {} or both", names.join(", "))));
            }
        }
        errors
    }
}

/// A place named for messages: `responder `dp1`` when the mapping has a name.
fn named(def: &str, n: &Node) -> String {
    let what = def.replace('_', " ");
    let name = match &n.kind {
        Kind::Map(entries) => entries
            .iter()
            .find(|(k, _)| matches!(k.scalar(), Some("name" | "id")))
            .and_then(|(_, v)| v.scalar()),
        _ => None,
    };
    match name {
        Some(name) => format!("{what} `{name}`"),
        None => what,
    }
}
