//! A bench's page (`pxelab bench ... --html`): its plots (SVG, as the bench drew them)
//! and its tables and advice as text, in one self-contained file.

use crate::escape::html;
use std::fmt::Write as _;

const CSS: &str = "\
body{font:15px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;padding:0 12px 40px;color:#1d1d1f}\
h1{font-size:1.4rem}\
.scroll{overflow-x:auto;max-width:100%}\
.scroll svg{display:block;height:auto}\
pre{font:12px/1.35 ui-monospace,Menlo,Consolas,monospace;background:#f6f7f9;padding:8px}";

/// The page: `title`, each plot (an SVG document: its XML declaration is dropped), then
/// `text` (the bench's table and advice) as it would print.
pub fn page(title: &str, plots: &[String], text: &str) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{t}</title><style>{CSS}</style></head><body><h1>{t}</h1>",
        t = html(title)
    );
    for p in plots {
        let svg = match p.find("<svg") {
            Some(at) => &p[at..],
            None => continue,
        };
        let _ = write!(s, "<div class=\"scroll plot\">{svg}</div>");
    }
    let _ = writeln!(
        s,
        "<div class=\"scroll\"><pre>{}</pre></div></body></html>",
        html(text)
    );
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn plots_are_embedded_and_text_escaped() {
        let p = super::page(
            "bench <tftp>",
            &[
                "<?xml version=\"1.0\"?>\n<svg width=\"1\"></svg>".into(),
                "not svg".into(),
            ],
            "a < b",
        );
        assert!(p.contains("<title>bench &lt;tftp&gt;</title>"));
        assert!(p.contains("<div class=\"scroll plot\"><svg width=\"1\"></svg></div>"));
        assert!(!p.contains("<?xml") && !p.contains("not svg"));
        assert!(p.contains("<pre>a &lt; b</pre>"));
    }
}
