//! Text into markup: the five characters that would end an element or an attribute,
//! and the control characters XML refuses. One escaper for the HTML page, its SVG
//! ladders and the JUnit XML; they differ only in the two choices of [`Markup`].

/// Where escaped text goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Markup {
    /// HTML and inline SVG: the apostrophe as `&#39;` (HTML 4 has no `&apos;`), a
    /// control character as U+FFFD so that the reader sees something was there.
    Html,
    /// XML files read by other tools (JUnit): `&apos;`, control characters dropped.
    Xml,
}

/// `s` safe inside an element or a double- or single-quoted attribute of `markup`.
pub fn escape(s: &str, markup: Markup) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' if markup == Markup::Html => o.push_str("&#39;"),
            '\'' => o.push_str("&apos;"),
            // Inline SVG is parsed as HTML here, but the same text goes into `.svg` files.
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {
                if markup == Markup::Html {
                    o.push('\u{fffd}')
                }
            }
            c => o.push(c),
        }
    }
    o
}

/// `s` safe in the HTML page and its SVG ladders.
pub fn html(s: &str) -> String {
    escape(s, Markup::Html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_control_characters_are_neutralised() {
        assert_eq!(
            html("<a href=\"x\">&'\u{1}"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;\u{fffd}"
        );
    }

    #[test]
    fn xml_uses_apos_and_drops_control_characters() {
        assert_eq!(
            escape("<a href=\"x\">&'\u{1}\n", Markup::Xml),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;\n"
        );
    }
}
