//! One boot's ladder as SVG: a lane per party, a row per step with its time on the
//! left, arrows labelled with the message, and each step's whole line (the client's
//! timeline, the responder's log line) in a column on the right.

use crate::escape::html;
use pxelab_sim::ladder::{Ladder, LaneKind, StepKind};
use std::fmt::Write as _;

const TIME_W: usize = 64;
const LANE_W: usize = 150;
const HEAD: usize = 40;
const ROW: usize = 20;
/// Characters of a step's line shown in the right-hand column (the rest in a tooltip).
const LINE_CHARS: usize = 100;
/// An estimate of the width of one character of the 11 px monospace font.
const CHAR_W: f64 = 6.7;

/// The ladder's style, in the page's `<style>` and in a standalone SVG file.
pub const CSS: &str = "\
svg.ladder{background:#fff}\
.ladder text{font:11px ui-monospace,Menlo,Consolas,monospace;fill:#222}\
.ladder .lane{stroke:#bbb;stroke-dasharray:3 3}\
.ladder .head{font-weight:bold}\
.ladder .kind{fill:#777}\
.ladder .t{fill:#777}\
.ladder .arrow line{stroke:#235}\
.ladder .arrow text{paint-order:stroke;stroke:#fff;stroke-width:3px}\
.ladder .arrow path{fill:#235}\
.ladder .arrow.data line{stroke:#1a7f37;stroke-width:3}\
.ladder .arrow.data path{fill:#1a7f37}\
.ladder .arrow.error line{stroke:#c00}\
.ladder .arrow.error path{fill:#c00}\
.ladder .error text,.ladder text.error{fill:#c00}\
.ladder circle{fill:#777}\
.ladder circle.error{fill:#c00}\
.ladder .log{fill:#555;font-style:italic}\
.ladder .note{fill:#333}";

fn lane_x(i: usize) -> usize {
    TIME_W + LANE_W * i + LANE_W / 2
}

fn kind_name(k: LaneKind) -> &'static str {
    match k {
        LaneKind::Client => "client",
        LaneKind::Relay => "relay",
        LaneKind::Dhcp => "DHCP server",
        LaneKind::Responder => "responder",
        LaneKind::Other => "",
    }
}

fn class(k: StepKind) -> &'static str {
    match k {
        StepKind::Message => "message",
        StepKind::Data => "data",
        StepKind::Error => "error",
        StepKind::Log => "log",
        StepKind::Note => "note",
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut c: String = s.chars().take(n - 1).collect();
        c.push('…');
        c
    }
}

/// The number of arrows [`svg`] draws for `l` (what the page's `data-arrows` says).
pub fn arrows(l: &Ladder) -> usize {
    l.steps.iter().filter(|s| s.is_arrow()).count()
}

/// The ladder as an `<svg>` element with `id`; `standalone` adds the namespace and
/// the style, for a file of its own.
pub fn svg(l: &Ladder, id: &str, standalone: bool) -> String {
    let lanes = l.lanes.len().max(1);
    let line_x = TIME_W + LANE_W * lanes + 8;
    let longest = l
        .steps
        .iter()
        .map(|s| line_of(l, s).chars().count().min(LINE_CHARS))
        .max()
        .unwrap_or(0);
    let width = line_x + (longest as f64 * CHAR_W) as usize + 8;
    let rows = l.steps.len() + usize::from(l.omitted > 0);
    let height = HEAD + 8 + rows * ROW;
    let mut s = String::with_capacity(200 + l.steps.len() * 220);
    let ns = if standalone {
        " xmlns=\"http://www.w3.org/2000/svg\""
    } else {
        ""
    };
    let _ = write!(
        s,
        "<svg{ns} class=\"ladder\" id=\"{}\" data-arrows=\"{}\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\">",
        html(id),
        arrows(l),
        html(&format!("boot {} of {}", l.boot, l.client))
    );
    if standalone {
        let _ = write!(s, "<style>{CSS}</style>");
    }
    // Lanes.
    for (i, lane) in l.lanes.iter().enumerate() {
        let x = lane_x(i);
        let _ = write!(
            s,
            "<text class=\"head\" x=\"{x}\" y=\"14\" text-anchor=\"middle\">{}</text><text class=\"kind\" x=\"{x}\" y=\"28\" text-anchor=\"middle\">{}</text><line class=\"lane\" x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{height}\"/>",
            html(&clip(&lane.name, 20)),
            kind_name(lane.kind),
            HEAD - 6
        );
    }
    let mut last_t = f64::NAN;
    for (i, st) in l.steps.iter().enumerate() {
        let y = HEAD + 8 + i * ROW + ROW / 2;
        if st.t != last_t {
            let _ = write!(
                s,
                "<text class=\"t\" x=\"4\" y=\"{}\">{:.3}s</text>",
                y + 4,
                st.t
            );
            last_t = st.t;
        }
        let c = class(st.kind);
        let x1 = lane_x(st.from);
        if st.is_arrow() {
            let x2 = lane_x(st.to);
            // The head points at x2: 7 px long, 8 px wide.
            let back: i64 = if x2 > x1 { -7 } else { 7 };
            let _ = write!(
                s,
                "<g class=\"arrow {c}\"><line x1=\"{x1}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\"/><path d=\"M{x2} {y}l{back} -4v8z\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text></g>",
                (x1 + x2) / 2,
                y - 3,
                html(&clip(&st.label, 26))
            );
        } else {
            let cc = if st.kind == StepKind::Error {
                " class=\"error\""
            } else {
                ""
            };
            let _ = write!(s, "<circle{cc} cx=\"{x1}\" cy=\"{y}\" r=\"3\"/>");
        }
        let line = line_of(l, st);
        if !line.is_empty() {
            let title = if line.chars().count() > LINE_CHARS {
                format!("<title>{}</title>", html(&line))
            } else {
                String::new()
            };
            let _ = write!(
                s,
                "<text class=\"{c}\" x=\"{line_x}\" y=\"{}\">{}{title}</text>",
                y + 4,
                html(&clip(&line, LINE_CHARS))
            );
        }
    }
    if l.omitted > 0 {
        let y = HEAD + 8 + l.steps.len() * ROW + ROW / 2 + 4;
        let _ = write!(
            s,
            "<text class=\"note\" x=\"{}\" y=\"{y}\">… {} more steps not drawn</text>",
            TIME_W, l.omitted
        );
    }
    s.push_str("</svg>");
    s
}

/// What the right-hand column says for a step: the line it came from (a log line as
/// `responder | what`).
fn line_of(l: &Ladder, st: &pxelab_sim::ladder::Step) -> String {
    match st.kind {
        StepKind::Log => {
            let who = l.lanes.get(st.from).map(|x| x.name.as_str()).unwrap_or("?");
            format!("{who} | {}", st.label)
        }
        _ if st.text.is_empty() && !st.is_arrow() => st.label.clone(),
        _ => st.text.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pxelab_sim::ladder::{Lane, Step};

    fn ladder() -> Ladder {
        let lane = |n: &str, kind| Lane {
            name: n.into(),
            kind,
        };
        let step = |t, from, to, kind, label: &str| Step {
            t,
            from,
            to,
            kind,
            label: label.into(),
            text: format!("{label} <full>"),
        };
        Ladder {
            client: "c1".into(),
            boot: 1,
            lanes: vec![
                lane("c1", LaneKind::Client),
                lane("dp<1>", LaneKind::Responder),
            ],
            steps: vec![
                step(0.0, 0, 1, StepKind::Message, "REQUEST :4011"),
                step(0.0, 1, 1, StepKind::Log, "sent boot file"),
                step(0.5, 1, 0, StepKind::Error, "TFTP ERROR"),
            ],
            omitted: 2,
        }
    }

    #[test]
    fn arrows_and_lines_are_drawn_and_escaped() {
        let s = svg(&ladder(), "b1", false);
        assert_eq!(s.matches("<g class=\"arrow").count(), 2);
        assert!(s.contains("data-arrows=\"2\""));
        assert!(s.contains("<g class=\"arrow error\">"));
        assert!(s.contains("dp&lt;1&gt;"));
        assert!(s.contains("REQUEST :4011 &lt;full&gt;"));
        assert!(s.contains("dp&lt;1&gt; | sent boot file"));
        assert!(s.contains("2 more steps not drawn"));
        assert!(!s.contains("xmlns"));
    }

    #[test]
    fn a_standalone_svg_has_its_namespace_and_style() {
        let s = svg(&ladder(), "b1", true);
        assert!(s.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(s.contains("<style>"));
    }
}
