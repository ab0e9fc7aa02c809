//! A scenario's sites (format v1.1, R-ID-5): `site.code`, `other_sites`, a machine's
//! `assigned_site` and a responder's `site`, loaded with their defaults, and each way to
//! name a site outside the hierarchy a located error.

mod common;

use common::{base_with, data, load};

/// Line and column (from 1) of the first `marker` in `text`.
fn position(text: &str, marker: &str) -> (usize, usize) {
    text.lines()
        .enumerate()
        .find_map(|(i, l)| l.find(marker).map(|c| (i + 1, c + 1)))
        .unwrap_or_else(|| panic!("{marker:?} is not in the text"))
}

/// BASE with a second site (R-ID-5): `site.code` PS1, `other_sites` PS2, M1 of PS2, a
/// second machine and client of the site's own, and a DP of each site.
fn two_sites() -> String {
    base_with("site:\n", "site:\n  code: PS1\n  other_sites: [PS2]\n")
        .replacen(
            "mac: \"52:54:00:00:00:01\"}",
            "mac: \"52:54:00:00:00:01\", assigned_site: PS2}\n    - {name: M2, mac: \"52:54:00:00:00:02\"}",
            1,
        )
        .replacen(
            "images: [B1]}",
            "images: [B1], site: PS2}\n    - {name: dp1, segment: lan, address: 10.0.0.6, role: distribution_point, images: [B1]}",
            1,
        )
}

#[test]
fn sites_of_the_hierarchy_are_loaded_with_their_defaults() {
    let s = load(&two_sites()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.site.code, "PS1");
    assert_eq!(s.site.other_sites, ["PS2"]);
    let m1 = s.site.machine("M1").unwrap();
    let m2 = s.site.machine("M2").unwrap();
    assert_eq!(m1.assigned_site.as_deref(), Some("PS2"));
    // Left out: the site's own code.
    assert_eq!(m2.assigned_site, None);
    assert_eq!(s.site.assigned_site(m2), "PS1");
    let dp = &s.responder("dp").unwrap().config;
    let dp1 = &s.responder("dp1").unwrap().config;
    assert_eq!(dp.site.as_deref(), Some("PS2"));
    assert_eq!(dp1.site, None);
    assert_eq!(s.site.responder_site(dp1), "PS1");
    // Naming the site's own code is allowed.
    let own = two_sites().replace("assigned_site: PS2", "assigned_site: PS1");
    let s = load(&own).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        s.site.machine("M1").unwrap().assigned_site.as_deref(),
        Some("PS1")
    );
}

#[test]
fn sites_that_are_not_of_the_hierarchy_are_located_errors() {
    let sites = "the hierarchy's sites are `site.code` and `site.other_sites`: PS1, PS2";
    let cases: Vec<(&str, String, &str, String)> = vec![
        (
            "a machine assigned to an undeclared site",
            two_sites().replace("assigned_site: PS2", "assigned_site: PS3"),
            "PS3",
            format!("`assigned_site: PS3` is not a site of the hierarchy ({sites})"),
        ),
        (
            "a responder of an undeclared site",
            two_sites().replace("images: [B1], site: PS2}", "images: [B1], site: CAS}"),
            "CAS",
            format!("`site: CAS` is not a site of the hierarchy ({sites})"),
        ),
        (
            "other_sites lists the site's own code",
            two_sites().replace("other_sites: [PS2]", "other_sites: [PS2, PS1]"),
            "PS1]",
            "`other_sites` lists `PS1`, which is this site's own `code`".to_string(),
        ),
        (
            "other_sites lists a site twice",
            two_sites().replace("other_sites: [PS2]", "other_sites: [PS2, PS2]"),
            "PS2]",
            "site `PS2` is declared twice (first at line 4, column 17)".to_string(),
        ),
        (
            "other_sites without a code",
            two_sites().replace("  code: PS1\n", ""),
            "PS2]",
            "`other_sites` needs the site's own `code`".to_string(),
        ),
        (
            "a site named where the scenario declares none",
            base_with("images: [B1]}", "images: [B1], site: PS1}"),
            "PS1}",
            "`site: PS1` is not a site of the hierarchy (the scenario declares none: give `site.code`)"
                .to_string(),
        ),
        (
            "a misspelt key lists assigned_site",
            two_sites().replace("assigned_site: PS2", "assigned_sites: PS2"),
            "assigned_sites",
            "unknown key `assigned_sites` in a machine (allowed keys: name, mac, smbios_guid, assigned_site)"
                .to_string(),
        ),
        (
            "a misspelt site key lists other_sites",
            two_sites().replace("other_sites:", "other_site:"),
            "other_site:",
            "(allowed keys: code, other_sites, boot_images,".to_string(),
        ),
    ];
    let mut failures = Vec::new();
    for (what, text, marker, phrase) in &cases {
        let (line, col) = position(text, marker);
        match load(text) {
            Ok(_) => failures.push(format!("{what}: loaded")),
            Err(e) => {
                let located = format!("{}:{line}:{col}: ", data("case.yaml").display());
                let shown = e.to_string();
                if !shown.starts_with(&located) || !shown.contains(phrase.as_str()) {
                    failures.push(format!(
                        "{what}: expected {located}... containing {phrase:?}\n     got {shown}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
