//! The cabinet's stylesheet as the oldest browser the user manual names
//! (Chrome 37, and with it IE 10–11, Firefox 40, Opera 25) keeps it: every
//! declaration such an engine cannot parse removed, as the engine itself
//! drops it. `tests/browser.rs` renders every page a second time with this
//! text instead of the served stylesheet, to see the pages as those
//! browsers show them.
//!
//! Removed, one rule per feature `scripts/css-compat/allowed.json` relies on
//! a fallback for (and those it forbids, should they come back):
//!
//! - custom properties: `--name: …` and any value with `var(`;
//! - grid and its spacing: `display: grid | inline-grid`, every `grid*`
//!   property, `gap`, `row-gap`, `column-gap`, `subgrid`;
//! - `min()`, `max()`, `clamp()` (not the grid's `minmax()`, gone with grid);
//! - `@supports` blocks whole: IE has no feature queries, and Chrome 37
//!   answers no to each of the stylesheet's (they ask for grid and gap);
//! - rules whose selector holds `:focus-visible`, `:is(`, `:where(`, `:has(`
//!   (an engine drops the whole rule when one selector is unknown);
//! - `clip-path` (Chrome 37 knows only `-webkit-clip-path`),
//!   `font-variant-numeric`, `text-wrap`, `inset`, `aspect-ratio`.
//!
//! Comments go; everything else is written back, one declaration per line.
//! A small reader, not a CSS parser: it knows strings, comments, brackets
//! and blocks, which is all the cabinet's stylesheet needs, and it never
//! panics on any text (tested).

/// Properties Chrome 37 does not know.
const UNKNOWN_PROPERTIES: &[&str] = &[
    "gap",
    "row-gap",
    "column-gap",
    "clip-path",
    "font-variant-numeric",
    "text-wrap",
    "inset",
    "aspect-ratio",
];

/// Pseudo-classes Chrome 37 does not know: a rule naming one is dropped.
const UNKNOWN_SELECTORS: &[&str] = &[":focus-visible", ":is(", ":where(", ":has("];

/// Functions in values Chrome 37 does not know (matched as whole names).
const UNKNOWN_FUNCTIONS: &[&str] = &["var", "min", "max", "clamp"];

/// The stylesheet `css` as Chrome 37 keeps it (see the module's comment).
pub fn legacy_stylesheet(css: &str) -> String {
    let mut out = String::new();
    write_rules(&strip_comments(css), 0, &mut out);
    out
}

/// Writes the rules of `text` (a stylesheet or a group rule's body).
fn write_rules(text: &str, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return;
        }
        let Some((at, stop)) = find_top_level(rest, &['{', ';', '}']) else {
            // A prelude without a block: an engine ignores it.
            return;
        };
        let prelude = rest[..at].trim();
        if stop != '{' {
            // `@import …;` and the like, or a stray `;` / `}`: kept / skipped.
            if stop == ';' && prelude.starts_with('@') {
                out.push_str(&format!("{indent}{prelude};\n"));
            }
            rest = &rest[at + 1..];
            continue;
        }
        let body_start = at + 1;
        let body_end = matching_close(rest, body_start).unwrap_or(rest.len());
        let body = &rest[body_start..body_end];
        rest = rest.get(body_end + 1..).unwrap_or("");
        let lower = prelude.to_ascii_lowercase();
        if lower.starts_with("@supports") {
            continue;
        }
        if lower.starts_with("@media") || lower.starts_with("@document") {
            let mut inner = String::new();
            write_rules(body, depth + 1, &mut inner);
            if !inner.is_empty() {
                out.push_str(&format!("{indent}{prelude} {{\n{inner}{indent}}}\n"));
            }
            continue;
        }
        if lower.starts_with('@') {
            // @font-face, @keyframes, @page: written back as they are.
            out.push_str(&format!("{indent}{prelude} {{{body}}}\n"));
            continue;
        }
        if UNKNOWN_SELECTORS.iter().any(|s| lower.contains(s)) {
            continue;
        }
        let kept: Vec<&str> = split_top_level(body, ';')
            .into_iter()
            .map(str::trim)
            .filter(|declaration| !declaration.is_empty() && parses_in_chrome_37(declaration))
            .collect();
        if !kept.is_empty() {
            out.push_str(&format!("{indent}{prelude} {{\n"));
            for declaration in kept {
                out.push_str(&format!("{indent}  {declaration};\n"));
            }
            out.push_str(&format!("{indent}}}\n"));
        }
    }
}

/// Whether Chrome 37 keeps the declaration `property: value`.
fn parses_in_chrome_37(declaration: &str) -> bool {
    let Some((property, value)) = declaration.split_once(':') else {
        return false;
    };
    let property = property.trim().to_ascii_lowercase();
    let value = value.trim().to_ascii_lowercase();
    if property.starts_with("--") || property.starts_with("grid") {
        return false;
    }
    if UNKNOWN_PROPERTIES.contains(&property.as_str()) {
        return false;
    }
    if property == "display" {
        let shown = value.trim_end_matches("!important").trim();
        if matches!(shown, "grid" | "inline-grid" | "contents") {
            return false;
        }
    }
    if value.contains("subgrid") {
        return false;
    }
    !UNKNOWN_FUNCTIONS.iter().any(|name| calls(&value, name))
}

/// Whether `value` calls the function `name` (as a whole name: `minmax(`
/// is not `max(`, `-webkit-min(` would not be `min(`).
fn calls(value: &str, name: &str) -> bool {
    let pattern = format!("{name}(");
    value.match_indices(&pattern).any(|(at, _)| {
        value[..at].chars().next_back().is_none_or(|before| {
            !(before.is_ascii_alphanumeric() || before == '-' || before == '_')
        })
    })
}

/// `css` without its comments (strings kept whole).
fn strip_comments(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut chars = css.char_indices().peekable();
    let mut quote: Option<char> = None;
    while let Some((_, c)) = chars.next() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == '\\' {
                    if let Some((_, escaped)) = chars.next() {
                        out.push(escaped);
                    }
                } else if c == q {
                    quote = None;
                }
            }
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                out.push(c);
            }
            None if c == '/' && chars.peek().is_some_and(|(_, next)| *next == '*') => {
                chars.next();
                let mut previous = ' ';
                for (_, inside) in chars.by_ref() {
                    if previous == '*' && inside == '/' {
                        break;
                    }
                    previous = inside;
                }
                out.push(' ');
            }
            None => out.push(c),
        }
    }
    out
}

/// The byte offset and the character of the first of `stops` in `text`
/// outside strings and brackets.
fn find_top_level(text: &str, stops: &[char]) -> Option<(usize, char)> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut depth = 0usize;
    for (at, c) in text.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 && stops.contains(&c) => return Some((at, c)),
            _ => {}
        }
    }
    None
}

/// The offset of the `}` closing the block whose body starts at `start`.
fn matching_close(text: &str, start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut offset = start;
    loop {
        let (at, c) = find_top_level(text.get(offset..)?, &['{', '}'])?;
        let at = offset + at;
        if c == '{' {
            depth += 1;
        } else if depth == 0 {
            return Some(at);
        } else {
            depth -= 1;
        }
        offset = at + 1;
    }
}

/// `text` split at each top-level `separator` (outside strings, brackets).
fn split_top_level(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some((at, _)) = find_top_level(rest, &[separator]) {
        parts.push(&rest[..at]);
        rest = &rest[at + separator.len_utf8()..];
    }
    parts.push(rest);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_chrome_37_cannot_parse_is_removed_and_the_rest_kept() {
        let css = "/* palette */ :root { --ink: #123; }\n\
                   body { color: #123; color: var(--ink); font-size: 1rem }\n\
                   .a { display: flex; display: grid; gap: 1rem; grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr)); }\n\
                   .b { padding: .5rem max(1rem, 2vw); width: calc(100% - 1rem); min-width: 0; }\n\
                   .c { clip: rect(0 0 0 0); clip-path: inset(50%); row-gap: 0; column-gap: 1rem; text-wrap: balance; }\n\
                   .d { grid-template-rows: subgrid; font-variant-numeric: tabular-nums; text-align: right }";
        assert_eq!(
            legacy_stylesheet(css),
            "body {\n  color: #123;\n  font-size: 1rem;\n}\n\
             .a {\n  display: flex;\n}\n\
             .b {\n  width: calc(100% - 1rem);\n  min-width: 0;\n}\n\
             .c {\n  clip: rect(0 0 0 0);\n}\n\
             .d {\n  text-align: right;\n}\n"
        );
    }

    #[test]
    fn feature_queries_go_whole_and_media_queries_are_filtered_inside() {
        let css = "@supports (display: grid) { .a { display: grid } }\n\
                   @media (max-width: 40rem) { .b { display: block; display: grid; } \
                   @supports (gap: 1rem) { .c { gap: 1rem } } .d { gap: 0 } }\n\
                   @media print { .e { --x: 1 } }";
        assert_eq!(
            legacy_stylesheet(css),
            "@media (max-width: 40rem) {\n  .b {\n    display: block;\n  }\n}\n"
        );
    }

    #[test]
    fn a_rule_with_an_unknown_pseudo_class_goes_whole() {
        let css = "a:focus-visible, button:focus { outline: 3px solid red }\n\
                   .x:focus { outline: 1px solid blue }";
        assert_eq!(
            legacy_stylesheet(css),
            ".x:focus {\n  outline: 1px solid blue;\n}\n"
        );
    }

    #[test]
    fn strings_and_brackets_are_not_split() {
        let css = ".a::before { content: \"a; b } /* c */\"; background: url(\"x;y.png\") }\n\
                   .b[title=\"{;}\"] { color: red }";
        assert_eq!(
            legacy_stylesheet(css),
            ".a::before {\n  content: \"a; b } /* c */\";\n  background: url(\"x;y.png\");\n}\n\
             .b[title=\"{;}\"] {\n  color: red;\n}\n"
        );
    }

    #[test]
    fn minmax_is_not_max_and_names_must_be_whole() {
        assert!(calls("max(1px, 2px)", "max"));
        assert!(calls("calc(1px + min(2px, 3px))", "min"));
        assert!(!calls("repeat(2, minmax(1rem, 1fr))", "max"));
        assert!(!calls("-webkit-min(1px)", "min"));
        assert!(!calls("maximum", "max"));
    }

    #[test]
    fn the_cabinets_stylesheet_keeps_its_colours_and_layout_without_modern_css() {
        let path = crate::workspace_root().join("crates/mpos-cabinet/static/cabinet.css");
        let served = std::fs::read_to_string(&path).expect("the cabinet's stylesheet");
        let legacy = legacy_stylesheet(&served);
        for gone in [
            "var(",
            "--",
            ": grid",
            "grid-",
            "gap:",
            "@supports",
            "max(",
            "clamp(",
            "focus-visible",
            "subgrid",
            "clip-path",
        ] {
            assert!(!legacy.contains(gone), "{gone} left in:\n{legacy}");
        }
        for kept in [
            "background: #f3f5f8;",
            "display: flex;",
            "display: -ms-flexbox;",
            "flex-wrap: wrap;",
            "@media (max-width: 40rem)",
            "clip: rect(0 0 0 0);",
        ] {
            assert!(legacy.contains(kept), "{kept} missing from:\n{legacy}");
        }
    }

    use proptest::prelude::*;

    /// A declaration from the kinds the cabinet's stylesheet holds, modern
    /// and old alike.
    fn declaration() -> impl Strategy<Value = String> {
        let property = prop_oneof![
            Just("color"),
            Just("display"),
            Just("gap"),
            Just("grid-template-columns"),
            Just("--ink"),
            Just("padding"),
            Just("clip-path"),
            Just("min-width"),
        ];
        let value = prop_oneof![
            Just("#1b2430"),
            Just("grid"),
            Just("flex"),
            Just("var(--ink)"),
            Just("max(1rem, 2vw)"),
            Just("repeat(2, minmax(1rem, 1fr))"),
            Just("calc(100% - 1rem)"),
            Just("\"a; b}\""),
        ];
        (property, value).prop_map(|(p, v)| format!("{p}: {v}"))
    }

    /// A rule, alone or inside a media or feature query.
    fn rule() -> impl Strategy<Value = String> {
        let selector = prop_oneof![
            Just(".a"),
            Just("a:focus-visible"),
            Just(".b > *"),
            Just("input[type=\"date\"]"),
        ];
        let wrapper = prop_oneof![
            Just(None),
            Just(Some("@media (max-width: 40rem)")),
            Just(Some("@supports (display: grid)")),
        ];
        (
            selector,
            proptest::collection::vec(declaration(), 0..5),
            wrapper,
        )
            .prop_map(|(selector, declarations, wrapper)| {
                let rule = format!("{selector} {{ {} }}", declarations.join("; "));
                match wrapper {
                    Some(query) => format!("{query} {{ {rule} }}"),
                    None => rule,
                }
            })
    }

    proptest::proptest! {
        /// Any text gives a stylesheet back, never a panic.
        #[test]
        fn any_text_is_transformed_never_a_panic(
            css in "([a-z.:#@ ]{0,8}[{};:\"'()/*\\-]{0,2}|var\\(--x\\)|@supports|--a|grid|\\PC){0,40}",
        ) {
            let _ = legacy_stylesheet(&css);
        }

        /// A stylesheet of the cabinet's kinds of rules comes out with none
        /// of what Chrome 37 cannot parse, and a second pass changes nothing.
        #[test]
        fn what_comes_out_is_legacy_already(rules in proptest::collection::vec(rule(), 0..8)) {
            let legacy = legacy_stylesheet(&rules.join("\n"));
            for gone in [
                "var(", "--ink", "gap", "display: grid", "grid-", "@supports", "focus-visible", "clip-path",
            ] {
                proptest::prop_assert!(!legacy.contains(gone), "{} in {}", gone, legacy);
            }
            proptest::prop_assert!(!calls(&legacy, "max"), "max() in {}", legacy);
            proptest::prop_assert_eq!(legacy_stylesheet(&legacy), legacy);
        }
    }
}
