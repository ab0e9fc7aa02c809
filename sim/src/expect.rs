//! Check a scenario's `expect` entries against what happened.

use crate::result::ScenarioResult;
use pxelab_scenario::{Expect, Scenario};

fn show(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "none".into())
}

pub fn check(sc: &Scenario, r: &mut ScenarioResult) {
    let mut failures = Vec::new();
    for e in &sc.expect {
        match e {
            Expect::Boot(x) => {
                let Some(b) = r
                    .boots
                    .iter()
                    .find(|b| b.client == x.client && b.boot == x.boot)
                else {
                    failures.push(format!(
                        "{} boot {}: expected a boot, but it never happened",
                        x.client, x.boot
                    ));
                    continue;
                };
                let who = format!("{} boot {}", x.client, x.boot);
                if let Some(o) = x.outcome {
                    if b.outcome.as_deref() != Some(o.as_str()) {
                        failures.push(format!(
                            "{who}: expected outcome {}, got {}",
                            o.as_str(),
                            b.outcome.as_deref().unwrap_or("no outcome (still running)")
                        ));
                    }
                }
                if let Some(img) = &x.boot_image {
                    if b.boot_image.as_ref() != Some(img) {
                        failures.push(format!(
                            "{who}: expected boot_image {img}, got {}",
                            show(&b.boot_image)
                        ));
                    }
                }
                if let Some(d) = &x.deployment {
                    if b.deployment.as_ref() != Some(d) {
                        failures.push(format!(
                            "{who}: expected deployment {d}, got {}",
                            show(&b.deployment)
                        ));
                    }
                }
                if let Some(list) = &x.served_by {
                    if !b.served_by.as_ref().is_some_and(|s| list.contains(s)) {
                        let want = if list.len() == 1 {
                            list[0].clone()
                        } else {
                            format!("one of {}", list.join(", "))
                        };
                        failures.push(format!(
                            "{who}: expected served_by {want}, got {}",
                            show(&b.served_by)
                        ));
                    }
                }
                if let Some(w) = x.within {
                    match b.took_s {
                        Some(t) if t <= w.as_secs_f64() + 1e-9 => {}
                        Some(t) => failures.push(format!(
                            "{who}: expected within {}s, took {t}s",
                            w.as_secs_f64()
                        )),
                        None => failures.push(format!(
                            "{who}: expected within {}s, but it did not finish",
                            w.as_secs_f64()
                        )),
                    }
                }
            }
            Expect::Logged {
                responder, logged, ..
            } => {
                if !r
                    .logs
                    .iter()
                    .any(|(_, who, text)| who == responder && text.contains(logged.as_str()))
                {
                    failures.push(format!(
                        "{responder}: expected a log line containing {logged:?}, none found"
                    ));
                }
            }
            Expect::TftpRequest(x) => {
                let Some(p) = r.tftp_requests.iter().find(|p| p.index == x.index) else {
                    failures.push(format!(
                        "tftp_request {}: no such request was sent",
                        x.index
                    ));
                    continue;
                };
                let who = format!("tftp_request {} ({})", x.index, p.file);
                if let Some(want) = &x.result {
                    if p.result.as_deref() != Some(want.as_str()) {
                        failures.push(format!(
                            "{who}: expected result {want}, got {}",
                            show(&p.result)
                        ));
                    }
                }
                if !x.error_codes.is_empty()
                    && !p.error_code.is_some_and(|c| x.error_codes.contains(&c))
                {
                    failures.push(format!(
                        "{who}: expected error code {:?}, got {}",
                        x.error_codes,
                        p.error_code
                            .map(|c| c.to_string())
                            .unwrap_or_else(|| "none".into())
                    ));
                }
                for (k, v) in &x.oack {
                    match p.oack.get(k) {
                        Some(got) if got == v => {}
                        Some(got) => {
                            failures.push(format!("{who}: expected OACK {k}={v}, got {k}={got}"))
                        }
                        None => {
                            failures.push(format!("{who}: expected OACK {k}={v}, option absent"))
                        }
                    }
                }
                for k in &x.oack_absent {
                    if p.oack.contains_key(k) {
                        failures.push(format!("{who}: expected no {k} in the OACK"));
                    }
                }
            }
        }
    }
    r.failures.extend(failures);
}
