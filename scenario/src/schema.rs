//! A JSON Schema (draft 2020-12) of the scenario format, for editors (the
//! `yaml-language-server` modeline) and linters: `pxelab schema` prints it.
//!
//! It is built from the loader's own lists of allowed keys (`load/keys.rs`), so a key the
//! loader takes is a key the schema takes and the two cannot drift apart: every key of
//! every list must have a type here (`every_key_of_the_loader_has_a_type`). The schema
//! checks shape: places, keys, required keys, scalar forms (durations, sizes, MACs). The
//! loader stays the judge of what a schema cannot say (references between names,
//! ranges, one action per event) and says where and why.

use crate::load::keys;
use serde_json::{json, Value};

/// The schema's `$id`; editors show it, nothing fetches it.
pub const ID: &str = "https://pxelab.invalid/scenario.schema.json";

/// The whole schema.
pub fn json_schema() -> Value {
    let defs: serde_json::Map<String, Value> = PLACES
        .iter()
        .map(|p| (p.name.to_string(), object(p)))
        .chain(SCALARS.iter().map(|(n, v)| (n.to_string(), v())))
        .collect();
    let mut top = object(&TOP);
    top["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    top["$id"] = json!(ID);
    top["title"] = json!("pxelab scenario");
    top["$defs"] = Value::Object(defs);
    top
}

/// One place of the format: a mapping with the loader's allowed keys.
struct Place {
    name: &'static str,
    keys: &'static [&'static str],
    required: &'static [&'static str],
    /// v1.1: at least one of these keys (`cidr` or `cidr6`...); empty for none.
    one_of_keys: &'static [&'static str],
    /// The schema of each key's value; `None` for a key this place does not type (a
    /// test fails then).
    ty: fn(&str) -> Option<Value>,
    doc: &'static str,
}

fn object(p: &Place) -> Value {
    let props: serde_json::Map<String, Value> = p
        .keys
        .iter()
        .map(|k| {
            let ty =
                (p.ty)(k).unwrap_or_else(|| panic!("schema: key `{k}` of {} has no type", p.name));
            // An optional key may be null: the loader reads it as absent.
            let ty = if p.required.contains(k) {
                ty
            } else {
                json!({"anyOf": [ty, {"type": "null"}]})
            };
            (k.to_string(), ty)
        })
        .collect();
    let mut o = json!({
        "type": "object",
        "description": p.doc,
        "properties": props,
        "required": p.required,
        "additionalProperties": false,
    });
    if !p.one_of_keys.is_empty() {
        let alts: Vec<Value> = p
            .one_of_keys
            .iter()
            .map(|k| json!({"required": [k]}))
            .collect();
        o["anyOf"] = Value::Array(alts);
    }
    o
}

fn r(name: &str) -> Value {
    json!({"$ref": format!("#/$defs/{name}")})
}

fn list(item: Value) -> Value {
    json!({"anyOf": [{"type": "array", "items": item}, {"type": "null"}]})
}

/// A mapping from a segment name to `v`.
fn per_segment(v: Value) -> Value {
    json!({"type": "object", "additionalProperties": v})
}

fn one_of(values: &[&str]) -> Value {
    json!({"enum": values})
}

/// A string of a form.
fn text(pattern: &str) -> Value {
    json!({"type": "string", "pattern": pattern})
}

/// A whole number, written as a number or as a string of digits (the loader reads
/// scalars by their text, whatever their YAML type).
fn whole() -> Value {
    json!({"anyOf": [{"type": "integer", "minimum": 0}, text("^[0-9]+$")]})
}

/// A named scalar form and how to build its schema.
type Scalar = (&'static str, fn() -> Value);

const SCALARS: &[Scalar] = &[
    (
        "name",
        || json!({"type": ["string", "number"], "pattern": "^[A-Za-z0-9_.-]+$"}),
    ),
    ("text", || json!({"type": ["string", "number", "boolean"]})),
    ("duration", || text(r"^[0-9]+(\.[0-9]+)?(ms|s|m|h)$")),
    ("size", || {
        json!({"anyOf": [{"type": "integer", "minimum": 0},
                         text(r"^[0-9]+(\.[0-9]+)?\s*(KiB|MiB|GiB)?$")]})
    }),
    ("rate", || text(r"^[0-9]+(\.[0-9]+)?\s*(bit|[KkMG]bit)$")),
    ("ratio", || {
        json!({"anyOf": [{"type": "number", "minimum": 0, "maximum": 1},
                         {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?%?$"}]})
    }),
    ("integer", whole),
    ("boolean", || {
        json!({"anyOf": [{"type": "boolean"},
                         {"enum": ["true", "false", "True", "False", "TRUE", "FALSE"]}]})
    }),
    ("mac", || text(r"^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$")),
    ("guid", || {
        text(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
    }),
    ("ipv4", || text(r"^[0-9]{1,3}(\.[0-9]{1,3}){3}$")),
    ("cidr", || text(r"^[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}$")),
    ("range", || {
        text(r"^[0-9]{1,3}(\.[0-9]{1,3}){3}-[0-9]{1,3}(\.[0-9]{1,3}){3}$")
    }),
    ("names", || list(r("name"))),
    // v1.1. The loader's parsers judge IPv6 forms (`shape.rs`); the schema only says
    // "a text with a colon".
    ("ipv6", || text(r"^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$")),
    ("cidr6", || {
        text(r"^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*/[0-9]{1,3}$")
    }),
    ("range6", || {
        text(r"^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*-[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$")
    }),
    ("netboot", || one_of(&["pxe4", "pxe6", "http4", "http6"])),
];

const TOP: Place = Place {
    name: "scenario",
    keys: keys::TOP,
    required: &["scenario"],
    one_of_keys: &[],
    ty: |k| {
        Some(match k {
            "scenario" | "description" => r("text"),
            "tags" => list(r("text")),
            "modes" => list(one_of(&["sim", "lab"])),
            "seed" => r("integer"),
            "site" => r("site"),
            "network" => r("network"),
            "events" => list(r("event")),
            "expect" => {
                list(json!({"anyOf": [r("expect_boot"), r("expect_log"), r("expect_tftp")]}))
            }
            _ => return None,
        })
    },
    doc: "One scenario: a site's policy, a network, a timeline and the expected outcomes.",
};

const PLACES: &[Place] = &[
    Place {
        name: "site",
        keys: keys::SITE,
        required: &[],
        one_of_keys: &[],
        ty: |k| {
            Some(match k {
                "code" | "peer_key" | "peer_key_file" => r("text"),
                "boot_images" => list(r("boot_image")),
                "machines" => list(r("machine")),
                "collections" => list(r("collection")),
                "deployments" => list(r("deployment")),
                "duplicate_hardware_ids" => r("duplicate_hardware_ids"),
                "other_sites" => list(r("text")),
                _ => return None,
            })
        },
        doc: "The Configuration Manager site: boot images, machines, collections, deployments.",
    },
    Place {
        name: "boot_image",
        keys: keys::IMAGE,
        required: &["id", "arch"],
        one_of_keys: &[],
        ty: |k| {
            Some(match k {
                "id" => r("name"),
                "arch" => one_of(&["x86", "x64", "arm64"]),
                "size" => r("size"),
                "pxe_enabled" => r("boolean"),
                _ => return None,
            })
        },
        doc: "A boot image; size is its payload (default 16MiB).",
    },
    Place {
        name: "machine",
        keys: keys::MACHINE,
        required: &["name"],
        one_of_keys: &[],
        ty: |k| {
            Some(match k {
                "name" => r("name"),
                "mac" => r("mac"),
                "smbios_guid" => r("guid"),
                "assigned_site" => r("text"),
                _ => return None,
            })
        },
        doc: "A machine the site knows, by MAC and/or SMBIOS GUID.",
    },
    Place {
        name: "collection",
        keys: keys::COLLECTION,
        required: &["name"],
        one_of_keys: &[],
        ty: |k| {
            Some(match k {
                "name" => r("name"),
                "members" => r("names"),
                _ => return None,
            })
        },
        doc: "A collection of machines.",
    },
    Place {
        name: "deployment",
        keys: keys::DEPLOYMENT,
        required: &["id", "collection", "boot_image", "purpose", "available_to"],
        one_of_keys: &[],
        ty: |k| {
            Some(match k {
                "id" | "boot_image" => r("name"),
                "collection" => r("text"),
                "purpose" => one_of(&["required", "available"]),
                "available_to" => one_of(&[
                    "clients_media_pxe",
                    "media_pxe",
                    "media_pxe_hidden",
                    "clients",
                ]),
                _ => return None,
            })
        },
        doc: "A task sequence deployment to a collection.",
    },
    Place {
        name: "duplicate_hardware_ids",
        keys: keys::DUPLICATES,
        required: &[],
        one_of_keys: &[],
        ty: |k| {
            Some(match k {
                "macs" => list(r("mac")),
                "smbios_guids" => list(r("guid")),
                _ => return None,
            })
        },
        doc: "Hardware identifiers the site ignores (R-ID-3).",
    },
    Place {
        name: "network",
        keys: keys::NETWORK,
        required: &[],
        one_of_keys: &[],
        ty: |k| {
            Some(match k {
                "segments" => list(r("segment")),
                "routers" => list(r("router")),
                "dhcp_servers" => list(r("dhcp_server")),
                "responders" => list(r("responder")),
                "clients" => list(r("client")),
                "rogues" => list(r("rogue")),
                _ => return None,
            })
        },
        doc: "Segments and the hosts on them.",
    },
    Place {
        name: "segment",
        keys: keys::SEGMENT,
        required: &["name"],
        one_of_keys: &["cidr", "cidr6"],
        ty: |k| {
            Some(match k {
                "name" => r("name"),
                "cidr" => r("cidr"),
                "cidr6" => r("cidr6"),
                "link" => r("link"),
                _ => return None,
            })
        },
        doc: "A layer-2 segment with its link model: IPv4 (`cidr`), IPv6 (`cidr6`) or both.",
    },
    Place {
        name: "link",
        keys: keys::LINK,
        required: &[],
        one_of_keys: &[],
        ty: |k| {
            Some(match k {
                "rate" => r("rate"),
                "delay" => r("duration"),
                "loss" => r("ratio"),
                _ => return None,
            })
        },
        doc: "Link model: each host's rate, one-way delay, loss (defaults 1Gbit, 0s, 0).",
    },
    Place {
        name: "router",
        keys: keys::ROUTER,
        required: &["name"],
        one_of_keys: &["interfaces", "interfaces6"],
        ty: |k| {
            Some(match k {
                "name" => r("name"),
                "interfaces" => per_segment(r("ipv4")),
                "ip_helpers" => per_segment(list(r("ipv4"))),
                "option82" => per_segment(r("option82")),
                "relay" => one_of(&["pxelab", "dhcrelay"]),
                "interfaces6" => per_segment(r("ipv6")),
                "ip_helpers6" => per_segment(list(r("ipv6"))),
                "interface_id6" => per_segment(r("text")),
                _ => return None,
            })
        },
        doc: "A router with an interface per segment and IP helpers per client segment (IPv4 and, v1.1, IPv6: `interfaces6`, `ip_helpers6`, `interface_id6`).",
    },
    Place {
        name: "option82",
        keys: keys::OPTION82,
        required: &[],
        one_of_keys: &[],
        ty: |k| matches!(k, "circuit_id" | "remote_id").then(|| r("text")),
        doc: "The relay agent information the router adds (option 82).",
    },
    Place {
        name: "dhcp_server",
        keys: keys::DHCP,
        required: &["name", "segment"],
        one_of_keys: &["address", "address6"],
        ty: |k| {
            Some(match k {
                "name" | "segment" => r("name"),
                "address" => r("ipv4"),
                "address6" => r("ipv6"),
                "pools" => per_segment(r("range")),
                "pools6" => per_segment(r("range6")),
                "option60_pxeclient" => r("boolean"),
                "option66" => r("ipv4"),
                "option67" => r("text"),
                "engine" => one_of(&["builtin", "dnsmasq", "kea"]),
                _ => return None,
            })
        },
        doc: "A DHCP server and its pools per segment.",
    },
    Place {
        name: "responder",
        keys: keys::RESPONDER,
        required: &["name", "segment", "role"],
        one_of_keys: &["address", "address6"],
        ty: |k| {
            Some(match k {
                "name" | "segment" => r("name"),
                "address" => r("ipv4"),
                "address6" => r("ipv6"),
                "http" => r("http"),
                "role" => one_of(&["distribution_point", "peer"]),
                "site" => r("text"),
                "images" => r("names"),
                "unknown_computer_support" | "listen_dhcp_port" | "respond" => r("boolean"),
                "response_delay" | "failover_step" => r("duration"),
                "mac_exclusions" => list(r("mac")),
                "mac_exclusion_file" => r("text"),
                "tftp" => r("tftp"),
                "option43" => r("option43"),
                _ => return None,
            })
        },
        doc: "A PXE responder: a distribution point or a peer.",
    },
    Place {
        name: "option43",
        keys: keys::OPTION43,
        required: &[],
        one_of_keys: &[],
        ty: |k| {
            Some(match k {
                "discovery_control" => r("integer"),
                "boot_servers" => list(r("ipv4")),
                _ => return None,
            })
        },
        doc: "Extension: PXE vendor options (option 43) in the responder's proxy offer: discovery control (sub-option 6) and a boot server list (8).",
    },
    Place {
        name: "tftp",
        keys: keys::TFTP,
        required: &[],
        one_of_keys: &[],
        ty: |k| matches!(k, "block_size" | "window_size").then(|| r("integer")),
        doc: "The responder's TFTP caps (R-TFTP-2).",
    },
    Place {
        name: "http",
        keys: keys::HTTP,
        required: &[],
        one_of_keys: &[],
        ty: |k| (k == "port").then(|| r("integer")),
        doc: "v1.1: answer HTTP boot clients and serve the boot root over HTTP on `port` (default 80; R-HTTP).",
    },
    Place {
        name: "client",
        keys: keys::CLIENT,
        required: &["name", "segment", "firmware"],
        one_of_keys: &[],
        ty: |k| {
            Some(match k {
                "name" | "segment" | "machine" => r("name"),
                "firmware" => {
                    let family = one_of(&[
                        "bios-x64",
                        "bios-x86",
                        "uefi-x64",
                        "uefi-ia32",
                        "uefi-arm64",
                    ]);
                    // Or a family and a firmware profile file (docs/PROFILES.md).
                    json!({"anyOf": [family.clone(), {
                        "type": "object",
                        "properties": {"family": family, "profile": r("text")},
                        "required": ["family"],
                        "additionalProperties": false,
                    }]})
                }
                "mac" => r("mac"),
                "smbios_guid" => r("guid"),
                "press_key" => r("boolean"),
                "netboot" => r("netboot"),
                _ => return None,
            })
        },
        doc: "A client machine and its firmware.",
    },
    Place {
        name: "rogue",
        keys: keys::ROGUE,
        required: &["name", "segment", "address"],
        one_of_keys: &[],
        ty: |k| {
            Some(match k {
                "name" | "segment" => r("name"),
                "address" => r("ipv4"),
                "claims" => r("name"),
                "images" => r("names"),
                "peer_key" => r("text"),
                _ => return None,
            })
        },
        doc: "pxelab addition: a peer without the site's key trying to join.",
    },
    Place {
        name: "event",
        keys: keys::EVENT,
        required: &["at"],
        one_of_keys: &[],
        ty: |k| {
            Some(match k {
                "at" => r("duration"),
                "boot" | "down" | "up" => r("name"),
                "during" => one_of(&["transfer"]),
                "netboot" => r("netboot"),
                "clear_required" => r("clear_required"),
                "link" => r("event_link"),
                "tftp_request" => r("event_tftp"),
                "reload_exclusions" => r("event_reload"),
                _ => return None,
            })
        },
        doc: "One timeline event: `at` and one action.",
    },
    Place {
        name: "clear_required",
        keys: keys::CLEAR,
        required: &[],
        one_of_keys: &[],
        ty: |k| matches!(k, "machine" | "collection").then(|| r("text")),
        doc: "Clear required PXE deployments of a machine or a collection (R-STATE-2).",
    },
    Place {
        name: "event_link",
        keys: keys::EVENT_LINK,
        required: &["segment"],
        one_of_keys: &[],
        ty: |k| {
            Some(match k {
                "segment" => r("name"),
                "rate" => r("rate"),
                "delay" => r("duration"),
                "loss" => r("ratio"),
                _ => return None,
            })
        },
        doc: "Change a segment's link model.",
    },
    Place {
        name: "event_tftp",
        keys: keys::EVENT_TFTP,
        required: &["responder", "file"],
        one_of_keys: &[],
        ty: |k| {
            Some(match k {
                "responder" => r("name"),
                "op" => one_of(&["read", "write"]),
                "file" => r("text"),
                "options" => json!({"type": "object", "additionalProperties": r("text")}),
                _ => return None,
            })
        },
        doc: "pxelab addition: a one-off TFTP request at a responder.",
    },
    Place {
        name: "event_reload",
        keys: keys::EVENT_RELOAD,
        required: &["responder", "file"],
        one_of_keys: &[],
        ty: |k| {
            Some(match k {
                "responder" => r("name"),
                "file" => r("text"),
                _ => return None,
            })
        },
        doc: "pxelab addition: reload a responder's MAC exclusion list from a file.",
    },
    Place {
        name: "expect_boot",
        keys: keys::EXPECT_BOOT,
        required: &["client"],
        one_of_keys: &[],
        ty: |k| {
            Some(match k {
                "client" | "boot_image" | "deployment" => r("name"),
                "boot" => r("integer"),
                "outcome" => one_of(&["booted", "no_offer", "declined", "failed"]),
                "served_by" => json!({"anyOf": [r("name"), {"type": "array", "items": r("name")}]}),
                "within" => r("duration"),
                _ => return None,
            })
        },
        doc: "What one boot of a client ends as.",
    },
    Place {
        name: "expect_log",
        keys: keys::EXPECT_LOG,
        required: &["responder", "logged"],
        one_of_keys: &[],
        ty: |k| {
            Some(match k {
                "responder" => r("name"),
                "logged" => r("text"),
                _ => return None,
            })
        },
        doc: "A text a responder logged.",
    },
    Place {
        name: "expect_tftp",
        keys: keys::EXPECT_TFTP,
        required: &["tftp_request"],
        one_of_keys: &[],
        ty: |k| {
            Some(match k {
                "tftp_request" => r("integer"),
                "result" => one_of(&["error", "oack", "data"]),
                "error_code" => r("integer"),
                "error_codes" => list(r("integer")),
                "oack" => json!({"type": "object", "additionalProperties": r("text")}),
                "oack_absent" => list(r("text")),
                _ => return None,
            })
        },
        doc: "pxelab addition: the answer to a one-off TFTP request.",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds every place: a key of the loader without a type here panics.
    #[test]
    fn every_key_of_the_loader_has_a_type() {
        let s = json_schema();
        for p in PLACES {
            let props = s["$defs"][p.name]["properties"].as_object().unwrap();
            assert_eq!(props.len(), p.keys.len(), "{}", p.name);
            for k in p.required {
                assert!(
                    p.keys.contains(k),
                    "{}: required `{k}` is not a key",
                    p.name
                );
            }
        }
    }

    /// Every `$ref` names a definition.
    #[test]
    fn every_reference_resolves() {
        fn walk(v: &Value, defs: &serde_json::Map<String, Value>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(to)) = m.get("$ref") {
                        let name = to.strip_prefix("#/$defs/").expect("local ref");
                        assert!(defs.contains_key(name), "dangling $ref {to}");
                    }
                    m.values().for_each(|v| walk(v, defs));
                }
                Value::Array(a) => a.iter().for_each(|v| walk(v, defs)),
                _ => {}
            }
        }
        let s = json_schema();
        walk(&s, s["$defs"].as_object().unwrap());
    }
}
