//! The one rule for the names and titles people give things: an API key's name, a signing package's
//! title and its documents' names, and the names in a `gatehouse seed` file. Each is shown back to
//! people later (in lists, in the console, in logs), so it must display as what it is: 1 to `max`
//! characters, not all blank, and none of the characters that hide or disguise text (control
//! characters and the invisible formatting ones: zero-width, bidirectional overrides, BOM). Callers
//! word the refusal for their own field.

/// Why a name or title is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextProblem {
    /// Empty, or longer than the field allows.
    Length,
    /// Only white space.
    Blank,
    /// A control or invisible formatting character.
    Unprintable,
}

/// Checks a name or title of at most `max_chars` characters.
pub fn check_display_text(text: &str, max_chars: usize) -> Result<(), TextProblem> {
    let chars = text.chars().count();
    if chars == 0 || chars > max_chars {
        return Err(TextProblem::Length);
    }
    if text.chars().any(is_unprintable) {
        return Err(TextProblem::Unprintable);
    }
    if text.trim().is_empty() {
        return Err(TextProblem::Blank);
    }
    Ok(())
}

/// Control characters and the invisible formatting ones (soft hyphen, zero-width, bidirectional
/// overrides and isolates, word joiners, BOM) that would let a name display as something else.
pub fn is_unprintable(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_titles() {
        assert_eq!(check_display_text("ci deploy", 64), Ok(()));
        assert_eq!(check_display_text("Lease — 2026 ✓", 64), Ok(()));
        assert_eq!(check_display_text("", 64), Err(TextProblem::Length));
        assert_eq!(
            check_display_text(&"x".repeat(65), 64),
            Err(TextProblem::Length)
        );
        assert_eq!(check_display_text(&"é".repeat(64), 64), Ok(()));
        assert_eq!(check_display_text("   ", 64), Err(TextProblem::Blank));
        for bad in [
            "a\nb",
            "a\u{0}b",
            "pay\u{202E}fdp.exe",
            "a\u{200B}b",
            "\u{FEFF}a",
        ] {
            assert_eq!(
                check_display_text(bad, 64),
                Err(TextProblem::Unprintable),
                "{bad:?}"
            );
        }
    }
}
