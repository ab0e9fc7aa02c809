//! `pxelab check` reports every error of a file, not only the first (`check_file`):
//! all shape errors at once, then the loader's first error of meaning.

use pxelab_scenario::{check_file, discover, load_file};
use std::path::Path;

/// A scenario file in a directory of its own, removed on drop.
struct Written(std::path::PathBuf);

impl Drop for Written {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn write(name: &str, text: &str) -> Written {
    let dir = std::env::temp_dir().join(format!("pxelab-check-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    Written(p)
}

const SIX_MISTAKES: &str = r#"scenario: six mistakes
site:
  code: PS1
  boot_images:
    - {id: PS100002, arch: x65}
network:
  segments:
    - {name: hq, cidr: 10.10.0.0/24, link: {rate: 10MB}}
  responders:
    - {name: dp1, segment: hq, addres: 10.10.0.5, role: distribution_point, images: [PS100002]}
  clients:
    - {name: c1, segment: hq, firmware: uefi-x64, mac: "52:54:00:00:00:01"}
events:
  - {at: 0, boot: c1}
expect:
  - {client: c1, outcome: booting}
"#;

#[test]
fn a_bad_value_does_not_hide_a_misspelt_key_two_lines_later() {
    let written = write("six.yaml", SIX_MISTAKES);
    let f = written.0.clone();
    let errors = check_file(&f);
    let got: Vec<(usize, usize, bool)> = errors
        .iter()
        .map(|e| (e.line.unwrap(), e.column.unwrap(), e.file == f))
        .collect();
    assert_eq!(
        got,
        vec![
            (5, 28, true),  // arch: x65
            (8, 51, true),  // rate: 10MB
            (10, 7, true),  // dp1 lacks address
            (10, 32, true), // addres
            (14, 10, true), // at: 0
            (16, 27, true), // outcome: booting
        ],
        "{errors:#?}"
    );
    let text: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
    assert!(text[0].contains("`x65`"), "{}", text[0]);
    assert!(text[3].starts_with("unknown key `addres` in responder `dp1`"));
    assert!(text[4].contains("is not a duration"));
    // The loader alone stops at the first.
    assert_eq!(load_file(&f).unwrap_err().line, Some(5));
}

#[test]
fn an_error_of_meaning_is_reported_once_the_shape_is_right() {
    let fixed = SIX_MISTAKES
        .replace("x65", "x64")
        .replace("10MB", "10Mbit")
        .replace("addres", "address")
        .replace("at: 0,", "at: 0s,")
        .replace("booting", "booted")
        .replace("segment: hq, firmware", "segment: nowhere, firmware");
    let written = write("meaning.yaml", &fixed);
    let f = written.0.clone();
    let errors = check_file(&f);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0], load_file(&f).unwrap_err());
    assert!(errors[0].message.contains("`nowhere`"), "{}", errors[0]);
}

#[test]
fn every_scenario_of_the_repository_checks_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let files = discover(&[root]).unwrap();
    assert!(files.len() >= 40);
    for f in files {
        assert_eq!(check_file(&f), vec![], "{}", f.display());
    }
}

/// v1.1 keys: shape errors of the IPv6 and HTTP boot keys all at once.
#[test]
fn v11_shape_errors_are_reported_together() {
    let written = write(
        "v11.yaml",
        r#"scenario: v1.1 mistakes
network:
  segments:
    - {name: hq, cidr6: "2001:db8::/200"}
    - {name: v6}
  responders:
    - {name: dp1, segment: hq, address6: "2001:db8::5", role: peer, http: {prot: 80}}
  clients:
    - {name: c1, segment: hq, firmware: uefi-x64, mac: "52:54:00:00:00:01", netbot: pxe6}
"#,
    );
    let errors = check_file(&written.0);
    let got: Vec<(usize, usize)> = errors
        .iter()
        .map(|e| (e.line.unwrap(), e.column.unwrap()))
        .collect();
    assert_eq!(got, vec![(4, 25), (5, 7), (7, 76), (9, 77)], "{errors:#?}");
    assert!(errors[1].message.contains("needs `cidr`, `cidr6` or both"));
}
