//! Discovery descriptions rendered as rustdoc that builds with `-D warnings`.
//!
//! Descriptions are Markdown-ish prose with HTML, code fences, bracketed words and bare
//! URLs. Left as they are, rustdoc would compile fences and indented blocks as doctests,
//! resolve `[name]` as intra-doc links and warn on unknown HTML tags and bare URLs. The
//! rules here keep the text readable while making every one of those impossible:
//!
//! - fenced blocks become ```` ```text ```` blocks with their content untouched;
//! - other lines lose leading indentation, so nothing becomes an indented code block;
//! - `[` and `]` are escaped unless they form a `[text](http...)` link;
//! - `<`, `>` and `&` are escaped, so HTML is shown, not interpreted;
//! - bare `http(s)://` URLs are wrapped in `<...>` so rustdoc links them;
//! - bidirectional control characters are written as `\u{202E}` text, since rustc denies
//!   them in comments (`text_direction_codepoint_in_comment`): they can make code read
//!   differently from how it compiles.

/// Renders `text` as doc lines (without the `///`). Empty when there is nothing to say.
pub fn render(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut in_fence = false;
    // A lone CR is a line break too: left in a line, it would end up in a `///` comment,
    // where rustc rejects a bare CR.
    for raw_line in text.replace("\r\n", "\n").split(['\n', '\r']) {
        let trimmed = raw_line.trim();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            lines.push(if in_fence { "```".to_owned() } else { "```text".to_owned() });
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            lines.push(escape_bidi(raw_line.trim_end()));
        } else {
            lines.push(escape_prose(trimmed));
        }
    }
    if in_fence {
        lines.push("```".to_owned());
    }
    while lines.last().is_some_and(|line| line.is_empty()) {
        lines.pop();
    }
    while lines.first().is_some_and(|line| line.is_empty()) {
        lines.remove(0);
    }
    lines
}

/// Renders a short text from the document (a title, a name) for use inside a line of
/// documentation: line breaks become spaces, and it is escaped as prose is.
pub fn inline(text: &str) -> String {
    escape_prose(&text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// A Markdown code span showing `text` as it is, whatever backticks it holds: the one way
/// a string from the document (a name, an id, a path, a scope) goes into a code span.
/// Line breaks become spaces, so that the text cannot end the span's line and start a
/// code block or a doctest; the fence is longer than any run of backticks inside, so that
/// none ends the span early.
pub fn code(text: &str) -> String {
    let text = escape_bidi(&text.split_whitespace().collect::<Vec<_>>().join(" "));
    let longest_run = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    // A span that starts or ends with a backtick needs a space to tell it from the fence.
    let pad = if text.starts_with('`') || text.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Whether rustc's `text_direction_codepoint_in_comment` lint denies `c` in a comment.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every bidirectional control character written as its `\u{...}` escape.
/// Every doc line the generator writes goes through this (the renderers here call it, and
/// the emitter's last step does too), since one such character anywhere in a doc comment
/// is a compile error.
pub fn escape_bidi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_bidi_control(c) {
            out.push_str(&format!("\\u{{{:04X}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

fn escape_prose(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if c == '[' {
            if let Some(link_len) = markdown_link_len(rest) {
                out.push_str(&rest[..link_len]);
                rest = &rest[link_len..];
                continue;
            }
        }
        if rest.starts_with("http://") || rest.starts_with("https://") {
            let end = rest
                .find(|c: char| {
                    c.is_whitespace()
                        || c.is_control()
                        || matches!(c, '<' | '>' | '"' | '`' | ')' | ']' | '[' | '\'' | '\\')
                })
                .unwrap_or(rest.len());
            let url = rest[..end].trim_end_matches(['.', ',', ';', ':']);
            out.push('<');
            out.push_str(url);
            out.push('>');
            rest = &rest[url.len()..];
            continue;
        }
        match c {
            '[' => out.push_str("\\["),
            ']' => out.push_str("\\]"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' => out.push_str("\\\\"),
            _ => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    // Last, so that link texts and URLs kept as they are get it too.
    escape_bidi(&out)
}

/// Length of a `[text](http...)` link at the start of `s`, if there is one whose text
/// holds no brackets and whose target is an absolute URL without spaces or parentheses.
/// Neither may hold a backslash (Markdown reads `\]` and `\)` as escapes, and the link is
/// gone) or a control character (no longer a link destination): such text is escaped as
/// prose instead.
fn markdown_link_len(s: &str) -> Option<usize> {
    let close = s.find(']')?;
    let text = &s[1..close];
    if text.is_empty() || text.contains('[') || !s[close..].starts_with("](http") {
        return None;
    }
    let target_start = close + 2;
    let target_len = s[target_start..].find(')')?;
    let target = &s[target_start..target_start + target_len];
    let unsafe_char = |c: char| c == '\\' || c.is_control();
    if target.contains(char::is_whitespace)
        || target.contains(['(', '<', '>'])
        || target.contains(unsafe_char)
        || text.contains(['<', '>', '&', '`'])
        || text.contains(unsafe_char)
    {
        return None;
    }
    Some(target_start + target_len + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_become_text_blocks_and_indentation_is_dropped() {
        let lines = render("Example:\n```\nlet x = 1;\n```\n    indented code");
        assert_eq!(lines, ["Example:", "```text", "let x = 1;", "```", "indented code"]);
        assert_eq!(render("```json\n{}"), ["```text", "{}", "```"]);
    }

    #[test]
    fn brackets_html_and_urls_are_made_harmless() {
        assert_eq!(render("See [foo] and <b>x</b> & y"), ["See \\[foo\\] and &lt;b&gt;x&lt;/b&gt; &amp; y"]);
        assert_eq!(render("Docs: https://example.com/a."), ["Docs: <https://example.com/a>."]);
        assert_eq!(render("[guide](https://example.com/g)"), ["[guide](https://example.com/g)"]);
        assert_eq!(render("a\\b"), ["a\\\\b"]);
    }

    #[test]
    fn links_markdown_would_not_read_as_links_are_escaped_as_prose() {
        // `\]` and `\)` are Markdown escapes, and a control character ends a destination:
        // kept as written, each would leave a bare URL and a broken intra-doc link.
        assert_eq!(render("[a\\](https://example.com)"), ["\\[a\\\\\\](<https://example.com>)"]);
        assert_eq!(render("[a](https://example.com\\)"), ["\\[a\\](<https://example.com>\\\\)"]);
        assert_eq!(render("[a](https://example.com/\u{1}x)"), ["\\[a\\](<https://example.com/>\u{1}x)"]);
        assert_eq!(render("see https://example.com/a\u{7}b"), ["see <https://example.com/a>\u{7}b"]);
    }

    #[test]
    fn short_texts_render_inline() {
        assert_eq!(inline("Markup [Beta]\n<Preview> & co"), "Markup \\[Beta\\] &lt;Preview&gt; &amp; co");
        assert_eq!(code("v1"), "`v1`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x``"), "``` `x`` ```");
        assert_eq!(code("a\n```\nb`[c]`"), "```` a ``` b`[c]` ````");
        assert_eq!(code("`a\nb`"), "`` `a b` ``");
    }

    #[test]
    fn bidi_controls_are_written_as_escapes() {
        assert_eq!(render("Admin \u{202E} only"), ["Admin \\u{202E} only"]);
        assert_eq!(render("```\nx\u{2066}y\n```"), ["```text", "x\\u{2066}y", "```"]);
        assert_eq!(inline("a\u{202A}b"), "a\\u{202A}b");
        assert_eq!(code("b\u{2069}c"), "`b\\u{2069}c`");
        assert_eq!(escape_bidi("\u{202D}\u{200F}"), "\\u{202D}\u{200F}");
    }

    #[test]
    fn blank_edges_are_trimmed() {
        assert!(render("  \n ").is_empty());
        assert_eq!(render("\nA\n\nB\n"), ["A", "", "B"]);
    }
}
