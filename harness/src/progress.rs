//! How the harness reports its progress: a callback that the caller gives in its
//! options. The terminal's display (indicatif) is the binary's; a library never draws.

use std::fmt;
use std::sync::Arc;

/// Takes one line saying what the harness is doing now.
#[derive(Clone)]
pub struct Progress(Arc<dyn Fn(&str) + Send + Sync>);

impl Progress {
    pub fn new(report: impl Fn(&str) + Send + Sync + 'static) -> Progress {
        Progress(Arc::new(report))
    }

    pub fn report(&self, message: &str) {
        (self.0)(message)
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Progress(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn each_report_reaches_the_callback_in_order() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let p = Progress::new(move |m| sink.lock().unwrap().push(m.to_string()));
        let q = p.clone();
        p.report("3 hosts, 1 segments");
        q.report("boot c1");
        assert_eq!(*seen.lock().unwrap(), ["3 hosts, 1 segments", "boot c1"]);
    }
}
