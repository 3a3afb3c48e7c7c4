//! Characters a reader of the config cannot see or that rewrite the terminal: control
//! characters, bidirectional controls ("Trojan Source"), zero-width and other invisible format
//! characters. `parse` refuses values and names that carry them (a reviewer would approve
//! something other than what is applied); `problem` shows them escaped, so an error message
//! can never move the cursor, forge an `error:` line or reorder what is printed. It owns only
//! these classes of characters, not where they are allowed.

use std::borrow::Cow;

/// Controls that reorder the text around them (embeddings, overrides, isolates).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Characters that show nothing, or nothing but a break: format characters (zero-width
/// spaces and joiners, directional marks, the byte order mark, tags), fillers that render
/// blank, variation selectors, and the Unicode line and paragraph separators.
pub fn is_invisible(c: char) -> bool {
    is_bidi_control(c)
        || matches!(
            c,
            '\u{00ad}'
                | '\u{034f}'
                | '\u{061c}'
                | '\u{115f}'
                | '\u{1160}'
                | '\u{17b4}'
                | '\u{17b5}'
                | '\u{180b}'..='\u{180f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{3164}'
                | '\u{fe00}'..='\u{fe0f}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{e0000}'..='\u{e007f}'
                | '\u{e0100}'..='\u{e01ef}'
        )
}

/// The first character of a name or value (an identity, a url, an email...) that is a control
/// character or invisible, if any.
pub fn first_hidden(text: &str) -> Option<char> {
    text.chars().find(|&c| c.is_control() || is_invisible(c))
}

/// The first character of free text (a description) that is a control character other than a
/// tab or a line break, a bidirectional control or a line or paragraph separator, if any.
/// Zero-width joiners and variation selectors stay allowed: emoji are made of them.
pub fn first_hidden_in_prose(text: &str) -> Option<char> {
    text.chars().find(|&c| {
        (c.is_control() && !matches!(c, '\t' | '\n'))
            || is_bidi_control(c)
            || matches!(c, '\u{2028}' | '\u{2029}')
    })
}

/// How a character is named in messages: `U+202E`.
pub fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// `text` with every control character and invisible character written as `\u{...}`, for
/// output to a terminal.
pub fn escaped(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() || is_invisible(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() || is_invisible(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_invisible_characters_are_escaped_for_the_terminal() {
        assert_eq!(escaped("plain café 🦀"), "plain café 🦀");
        assert_eq!(
            escaped("a\nerror: forged\u{1b}[2J\u{202e}x\u{200b}"),
            "a\\u{a}error: forged\\u{1b}[2J\\u{202e}x\\u{200b}"
        );
    }

    #[test]
    fn prose_keeps_line_breaks_tabs_and_emoji_joiners_but_not_bidi_controls() {
        assert_eq!(first_hidden_in_prose("two\nlines\tand 👩\u{200d}💻"), None);
        assert_eq!(first_hidden_in_prose("abc\u{2066}d"), Some('\u{2066}'));
        assert_eq!(first_hidden_in_prose("bell\u{7}"), Some('\u{7}'));
        assert_eq!(first_hidden("pim\u{200d}sync"), Some('\u{200d}'));
        assert_eq!(first_hidden("line\n"), Some('\n'));
        assert_eq!(first_hidden("pіm-sync"), None, "a homoglyph is visible");
        assert_eq!(code_point('\u{202e}'), "U+202E");
    }
}
