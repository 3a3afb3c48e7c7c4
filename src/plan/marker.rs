//! The ownership marker (product.md, "Identity, ownership, rotation"): the tool records that it
//! manages a webhook, for which owner, and the secret revision it applied, at the end of the
//! live description: `<description> [managed-by:vntana-webhooks owner:NAME secret-rev:N]`
//! (`owner:` only with an owner, `secret-rev:` omitted when 0, no leading space when the
//! description is empty). The user's description is kept exactly.

/// What a marker says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Marker {
    pub owner: Option<String>,
    pub secret_rev: u64,
}

const OPEN: &str = "[managed-by:vntana-webhooks";

/// Splits a live description into the user's text and our marker, if it ends with one.
/// Anything that does not parse exactly is the user's text.
pub fn parse(description: &str) -> (&str, Option<Marker>) {
    let Some(start) = description.rfind(OPEN) else {
        return (description, None);
    };
    let Some(inner) = description[start + OPEN.len()..].strip_suffix(']') else {
        return (description, None);
    };
    let text = &description[..start];
    let text = if start == 0 {
        text
    } else if let Some(text) = text.strip_suffix(' ') {
        text
    } else {
        // `x[managed-by:...]`: not a marker we wrote.
        return (description, None);
    };
    let mut marker = Marker::default();
    if !inner.is_empty() && !inner.starts_with(' ') {
        return (description, None);
    }
    for token in inner.split(' ').filter(|t| !t.is_empty()) {
        if let Some(owner) = token
            .strip_prefix("owner:")
            .filter(|o| !o.is_empty() && marker.owner.is_none())
        {
            marker.owner = Some(owner.to_owned());
        } else if let Some(rev) = token
            .strip_prefix("secret-rev:")
            .and_then(|r| r.parse::<u64>().ok())
        {
            marker.secret_rev = rev;
        } else {
            return (description, None);
        }
    }
    (text, Some(marker))
}

/// The live description for the user's text and a marker.
pub fn format(text: &str, marker: &Marker) -> String {
    let mut tag = String::from(OPEN);
    if let Some(owner) = &marker.owner {
        tag.push_str(" owner:");
        tag.push_str(owner);
    }
    if marker.secret_rev > 0 {
        tag.push_str(&format!(" secret-rev:{}", marker.secret_rev));
    }
    tag.push(']');
    if text.is_empty() {
        tag
    } else {
        format!("{text} {tag}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(owner: Option<&str>, secret_rev: u64) -> Marker {
        Marker {
            owner: owner.map(str::to_owned),
            secret_rev,
        }
    }

    #[test]
    fn markers_format_as_the_spec_shows() {
        assert_eq!(
            format("Push", &marker(Some("platform-repo"), 2)),
            "Push [managed-by:vntana-webhooks owner:platform-repo secret-rev:2]"
        );
        assert_eq!(
            format("Push", &marker(None, 0)),
            "Push [managed-by:vntana-webhooks]"
        );
        assert_eq!(
            format("", &marker(None, 1)),
            "[managed-by:vntana-webhooks secret-rev:1]"
        );
    }

    #[test]
    fn parsing_gives_back_the_text_and_marker() {
        for (text, m) in [
            ("Push", marker(Some("o"), 3)),
            ("", marker(None, 0)),
            ("a [b] c", marker(Some("x/y"), 0)),
            ("  spaced  ", marker(None, 7)),
        ] {
            assert_eq!(parse(&format(text, &m)), (text, Some(m.clone())));
        }
    }

    #[test]
    fn a_hand_written_rev_0_reads_as_0() {
        assert_eq!(
            parse("x [managed-by:vntana-webhooks secret-rev:0]"),
            ("x", Some(marker(None, 0)))
        );
    }

    #[test]
    fn anything_else_is_the_user_s_text() {
        for description in [
            "plain",
            "x [managed-by:other-tool]",
            "x [managed-by:vntana-webhooks",
            "x [managed-by:vntana-webhooks] trailing",
            "x [managed-by:vntana-webhooks color:red]",
            "x [managed-by:vntana-webhooks secret-rev:-1]",
            "x[managed-by:vntana-webhooks]",
            "x [managed-by:vntana-webhooksX]",
        ] {
            assert_eq!(parse(description), (description, None), "{description}");
        }
    }
}
