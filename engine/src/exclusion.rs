//! MAC exclusion lists (R-EX-1, R-EX-2, R-EX-3).

use crate::ids::Mac;
use std::collections::HashSet;
use std::fmt;

/// A line of an exclusion file that is not a MAC (R-EX-1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExclusionError {
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ExclusionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}
impl std::error::Error for ExclusionError {}

/// R-EX-1: one MAC per line, colon- or dash-separated, any case; blank lines and lines
/// starting with `#` are ignored (leading and trailing white space is trimmed).
/// The first line that is not a MAC is an error naming that line.
pub fn parse_exclusion_list(text: &str) -> Result<Vec<Mac>, ExclusionError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.parse::<Mac>() {
            Ok(m) => out.push(m),
            Err(e) => {
                return Err(ExclusionError {
                    line: i + 1,
                    message: e.0,
                })
            }
        }
    }
    Ok(out)
}

/// A responder's exclusion list (R-EX-2). Replacing it is how a reload happens (R-EX-3):
/// the driver parses the new file and only on success calls [`ExclusionList::replace`],
/// so a bad file keeps the previous list.
#[derive(Clone, Debug, Default)]
pub struct ExclusionList {
    macs: HashSet<Mac>,
}

impl ExclusionList {
    pub fn new(macs: impl IntoIterator<Item = Mac>) -> Self {
        ExclusionList {
            macs: macs.into_iter().collect(),
        }
    }
    /// R-EX-2: a listed MAC never gets an answer from this responder.
    pub fn is_excluded(&self, mac: &Mac) -> bool {
        self.macs.contains(mac)
    }
    pub fn replace(&mut self, macs: impl IntoIterator<Item = Mac>) {
        self.macs = macs.into_iter().collect();
    }
    pub fn len(&self) -> usize {
        self.macs.len()
    }
    pub fn is_empty(&self) -> bool {
        self.macs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_ex_1_parses_comments_blanks_and_both_separators() {
        let list = parse_exclusion_list(
            "# lab machines\n\n52:54:00:00:00:01\n  52-54-00-AA-bb-02  \n#x\n",
        )
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].to_string(), "52:54:00:AA:BB:02");
    }

    #[test]
    fn r_ex_1_names_the_bad_line() {
        let err = parse_exclusion_list("52:54:00:00:00:01\n\nnot-a-mac\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(
            err.to_string()
                .starts_with("line 3: `not-a-mac` is not a MAC"),
            "{err}"
        );
    }

    #[test]
    fn r_ex_3_replace_keeps_old_list_until_a_good_one_arrives() {
        let mut l = ExclusionList::new(parse_exclusion_list("52:54:00:00:00:01").unwrap());
        let m: Mac = "52:54:00:00:00:01".parse().unwrap();
        assert!(l.is_excluded(&m));
        if let Ok(new) = parse_exclusion_list("garbage") {
            l.replace(new);
        }
        assert!(l.is_excluded(&m));
        l.replace(parse_exclusion_list("").unwrap());
        assert!(!l.is_excluded(&m));
    }
}
