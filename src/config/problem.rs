//! A problem found in the config files: where (file, line and column, and the path such as
//! `organizations.acme-3d.webhooks.pim-sync.events[1]`), what was expected, and the closest
//! valid name when there is one. All problems of a load are reported together, sorted.
//! A problem never shows the password part of a url (product.md: "always masked"), even one
//! written in the file or in a url too broken to parse, and shows control and invisible
//! characters escaped. However many problems there are, at most `MAX_SHOWN` are printed.

use std::fmt;

/// A problem of the config: a `Diagnostic` with a config code and a place.
pub use crate::diagnostic::Diagnostic as Problem;

/// `text` with the password of every `scheme://user:password@host` in it replaced by `****`.
/// It works on text, not on parsed urls, so a url the parser refuses is masked too.
pub fn mask_url_passwords(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("://") {
        let (before, tail) = rest.split_at(start + 3);
        out.push_str(before);
        // The authority ends where the path, query or fragment starts, or the message's
        // quoting resumes; spaces do not end it, so a broken url is still masked.
        let end = tail
            .find(['/', '?', '#', '`', '"', '\'', '\n'])
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        // A password may itself hold `/`, `?` or `#` (unencoded, so the url does not parse):
        // then its `@` comes after where the authority seemed to end. Until the quoting
        // resumes, take the last `@`; masking a port and a path by mistake is the safe error.
        let quoted = tail.find(['`', '"', '\'', '\n']).unwrap_or(tail.len());
        let userinfo_end = authority.rfind('@').or_else(|| {
            authority
                .contains(':')
                .then(|| tail[..quoted].rfind('@'))
                .flatten()
        });
        if let Some((colon, at)) = userinfo_end.and_then(|at| Some((tail[..at].find(':')?, at))) {
            out.push_str(&tail[..=colon]);
            out.push_str("****");
            rest = &tail[at..];
        } else {
            out.push_str(authority);
            rest = &tail[end..];
        }
    }
    out.push_str(rest);
    out
}

/// One url value as a message may show it: the password masked, `****`, whether the url
/// parses or not, and with or without a scheme (`user:password@host/path`). Everything from
/// the scheme (or the start) up to the last `@` is taken for the user information, so a
/// password holding `/`, `#`, `@` or a quote is masked whole.
pub fn mask_url(url: &str) -> String {
    let start = url.find("://").map_or(0, |at| at + 3);
    let Some(at) = url[start..].rfind('@').map(|at| start + at) else {
        return url.to_owned();
    };
    match url[start..at].find(':') {
        Some(colon) => format!("{}****{}", &url[..=start + colon], &url[at..]),
        None => url.to_owned(),
    }
}

/// At most this many problems are printed; the count of the others follows them.
pub const MAX_SHOWN: usize = 100;

/// The line after the printed problems when some were left out, if any were.
pub fn not_shown(count: usize) -> Option<String> {
    (count > MAX_SHOWN).then(|| {
        format!(
            "... and {} more problems, not shown; fix the ones above first",
            count - MAX_SHOWN
        )
    })
}

/// Every problem of the config; the load's error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for problem in self.problems.iter().take(MAX_SHOWN) {
            writeln!(f, "{problem}")?;
        }
        let count = self.problems.len();
        if let Some(line) = not_shown(count) {
            writeln!(f, "{line}")?;
        }
        write!(
            f,
            "{count} problem{} in the config; nothing was changed",
            if count == 1 { "" } else { "s" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_are_masked_even_in_urls_that_do_not_parse() {
        assert_eq!(
            mask_url_passwords("found `https://deploy:hunter2@pim acme.example/hooks`"),
            "found `https://deploy:****@pim acme.example/hooks`"
        );
        assert_eq!(
            mask_url_passwords("a http://u:p@h/x?y=a@b and ftp://user@host"),
            "a http://u:****@h/x?y=a@b and ftp://user@host"
        );
        assert_eq!(mask_url_passwords("no url, a@b.co: 1"), "no url, a@b.co: 1");
        assert_eq!(
            mask_url_passwords("found `https://deploy:hunt/er#2@pim.acme.example/hooks`"),
            "found `https://deploy:****@pim.acme.example/hooks`"
        );
        assert_eq!(
            mask_url_passwords("`https://host:8443/path` and `https://host/@me`"),
            "`https://host:8443/path` and `https://host/@me`"
        );
    }

    #[test]
    fn a_url_value_is_masked_whatever_its_password_holds() {
        for (url, shown) in [
            (
                "https://deploy:hunt/er#2@pim.acme.example/h",
                "https://deploy:****@pim.acme.example/h",
            ),
            (
                "deploy:hunter2@pim.acme.example",
                "deploy:****@pim.acme.example",
            ),
            ("https://u:p@ss`w@h x/y", "https://u:****@h x/y"),
            (
                "https://pim.acme.example@evil.example/",
                "https://pim.acme.example@evil.example/",
            ),
            ("https://pim.acme.example/a", "https://pim.acme.example/a"),
        ] {
            assert_eq!(mask_url(url), shown, "{url}");
        }
    }
}
