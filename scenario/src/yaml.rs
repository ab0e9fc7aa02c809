//! A located YAML tree built from the event stream of the parser that `serde-saphyr`
//! uses (`serde_saphyr::granit_parser`, YAML 1.2).
//!
//! Every node keeps its line and column, and every scalar keeps its text exactly as
//! written (after YAML escape processing), so the loader decides what a scalar means
//! from the key it stands under: an unquoted `52:54:00:00:00:01` is the MAC text, an
//! unquoted `7` under `seed` is the integer 7, `PS100001` under `id` is a name.

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::HashMap;

/// Upper bound on nodes after alias expansion (guards against "billion laughs").
const MAX_NODES: usize = 1_000_000;

/// A YAML node with its position (1-based line and column).
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub kind: Kind,
    pub line: usize,
    pub col: usize,
}

#[derive(Clone, Debug)]
pub(crate) enum Kind {
    /// A scalar's text; `plain` is false for quoted and block scalars.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    /// Keys are scalars (checked when the tree is built), in file order, without duplicates.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// A plain `~`, `null`, `Null`, `NULL` or an empty plain scalar (YAML 1.2 core schema).
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { text, plain: true }
            if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// The scalar's text, if this is a scalar.
    pub fn scalar(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// What the node is, for "expected X, found Y" messages.
    pub fn describe(&self) -> String {
        match &self.kind {
            _ if self.is_null() => "nothing (null)".to_string(),
            Kind::Scalar { text, .. } => format!("`{text}`"),
            Kind::Seq(_) => "a list".to_string(),
            Kind::Map(_) => "a mapping".to_string(),
        }
    }
}

/// A YAML syntax or structure error at a position (1-based line and column).
#[derive(Debug)]
pub(crate) struct YamlError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

fn pos(span: &Span) -> (usize, usize) {
    (span.start.line(), span.start.col() + 1)
}

/// Parse one YAML document into a tree. An empty stream gives `None`.
pub(crate) fn parse(text: &str) -> Result<Option<Node>, YamlError> {
    let mut b = Builder {
        parser: Parser::new_from_str(text),
        anchors: HashMap::new(),
        count: 0,
    };
    let mut doc: Option<Node> = None;
    loop {
        let (ev, span) = b.next()?;
        match ev {
            Event::StreamStart | Event::DocumentEnd => {}
            Event::StreamEnd => return Ok(doc),
            Event::DocumentStart(..) => {
                let (line, col) = pos(&span);
                if doc.is_some() {
                    return Err(YamlError {
                        line,
                        col,
                        message: "a scenario file holds one YAML document; found a second one"
                            .into(),
                    });
                }
                let (ev, span) = b.next()?;
                doc = Some(b.node(ev, span)?);
            }
            _ => {
                let (line, col) = pos(&span);
                return Err(YamlError {
                    line,
                    col,
                    message: "unexpected YAML content".into(),
                });
            }
        }
    }
}

struct Builder<'a> {
    parser: Parser<'a, serde_saphyr::granit_parser::StrInput<'a>>,
    anchors: HashMap<usize, Node>,
    count: usize,
}

impl<'a> Builder<'a> {
    /// The next event that is not a comment or anchor note.
    fn next(&mut self) -> Result<(Event<'a>, Span), YamlError> {
        loop {
            match self.parser.next() {
                None => {
                    return Err(YamlError {
                        line: 0,
                        col: 0,
                        message: "unexpected end of YAML".into(),
                    })
                }
                Some(Err(e)) => {
                    return Err(YamlError {
                        line: e.marker().line(),
                        col: e.marker().col() + 1,
                        message: format!("YAML syntax error: {}", e.info()),
                    })
                }
                Some(Ok((ev, span))) => match ev {
                    Event::Anchor(..) => continue,
                    Event::StreamStart
                    | Event::StreamEnd
                    | Event::DocumentStart(..)
                    | Event::DocumentEnd
                    | Event::Alias(_)
                    | Event::UnresolvedAlias(_)
                    | Event::Scalar(..)
                    | Event::SequenceStart(..)
                    | Event::SequenceEnd
                    | Event::MappingStart(..)
                    | Event::MappingEnd => return Ok((ev, span)),
                    // Comments.
                    #[allow(unreachable_patterns)]
                    _ => continue,
                },
            }
        }
    }

    fn bump(&mut self, line: usize, col: usize, n: usize) -> Result<(), YamlError> {
        self.count += n;
        if self.count > MAX_NODES {
            return Err(YamlError {
                line,
                col,
                message: format!("the document expands to more than {MAX_NODES} YAML nodes"),
            });
        }
        Ok(())
    }

    fn node(&mut self, ev: Event<'a>, span: Span) -> Result<Node, YamlError> {
        let (line, col) = pos(&span);
        self.bump(line, col, 1)?;
        let (node, anchor) = match ev {
            Event::Scalar(text, style, anchor, _tag) => (
                Node {
                    kind: Kind::Scalar {
                        text: text.into_owned(),
                        plain: style == ScalarStyle::Plain,
                    },
                    line,
                    col,
                },
                anchor,
            ),
            Event::Alias(id) => {
                let Some(n) = self.anchors.get(&id).cloned() else {
                    return Err(YamlError {
                        line,
                        col,
                        message: "alias to an unknown anchor".into(),
                    });
                };
                self.bump(line, col, count_nodes(&n))?;
                return Ok(n);
            }
            Event::UnresolvedAlias(name) => {
                return Err(YamlError {
                    line,
                    col,
                    message: format!("alias `*{name}` names no anchor defined before it"),
                })
            }
            Event::SequenceStart(_, anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let (ev, span) = self.next()?;
                    if matches!(ev, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(ev, span)?);
                }
                (
                    Node {
                        kind: Kind::Seq(items),
                        line,
                        col,
                    },
                    anchor,
                )
            }
            Event::MappingStart(_, anchor, _) => {
                let mut entries: Vec<(Node, Node)> = Vec::new();
                loop {
                    let (ev, span) = self.next()?;
                    if matches!(ev, Event::MappingEnd) {
                        break;
                    }
                    let key = self.node(ev, span)?;
                    let Some(k) = key.scalar() else {
                        return Err(YamlError {
                            line: key.line,
                            col: key.col,
                            message: "a mapping key must be a plain name, not a list or mapping"
                                .into(),
                        });
                    };
                    if let Some((first, _)) = entries.iter().find(|(f, _)| f.scalar() == Some(k)) {
                        return Err(YamlError {
                            line: key.line,
                            col: key.col,
                            message: format!(
                                "duplicate key `{k}` (first given at line {}, column {})",
                                first.line, first.col
                            ),
                        });
                    }
                    let (ev, span) = self.next()?;
                    let value = self.node(ev, span)?;
                    entries.push((key, value));
                }
                (
                    Node {
                        kind: Kind::Map(entries),
                        line,
                        col,
                    },
                    anchor,
                )
            }
            _ => {
                return Err(YamlError {
                    line,
                    col,
                    message: "unexpected YAML structure".into(),
                })
            }
        };
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }
}

fn count_nodes(n: &Node) -> usize {
    match &n.kind {
        Kind::Scalar { .. } => 1,
        Kind::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        Kind::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| count_nodes(k) + count_nodes(v))
                .sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_plain_text() {
        let n = parse("a: 52:54:00:00:00:01\nb:\n  - x\n").unwrap().unwrap();
        let Kind::Map(e) = &n.kind else { panic!() };
        assert_eq!(e[0].1.scalar(), Some("52:54:00:00:00:01"));
        assert_eq!((e[0].1.line, e[0].1.col), (1, 4));
        let Kind::Seq(s) = &e[1].1.kind else { panic!() };
        assert_eq!((s[0].line, s[0].col), (3, 5));
    }

    #[test]
    fn duplicate_keys_and_aliases() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!((err.line, err.col), (3, 1));
        assert!(err.message.contains("duplicate key `a`"), "{}", err.message);
        let n = parse("a: &x [1, 2]\nb: *x\n").unwrap().unwrap();
        let Kind::Map(e) = &n.kind else { panic!() };
        assert!(matches!(&e[1].1.kind, Kind::Seq(v) if v.len() == 2));
        assert!(parse("").unwrap().is_none());
        assert!(parse("a: 1\n---\nb: 2\n").is_err());
    }
}
