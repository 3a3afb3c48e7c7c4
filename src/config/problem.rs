//! A problem found in the config files: where (file, line and column, and the path such as
//! `organizations.acme-3d.webhooks.pim-sync.events[1]`), what was expected, and the closest
//! valid name when there is one. All problems of a load are reported together, sorted.
//! A problem never shows the password part of a url (product.md: "always masked"), even one
//! written in the file or in a url too broken to parse.

use std::fmt;

use crate::model::Origin;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub origin: Origin,
    /// The config path of the value, empty at the top.
    pub path: String,
    pub message: String,
    /// A suggestion, e.g. "did you mean `userEmail`?".
    pub help: Option<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.origin)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&mask_url_passwords(&self.message))?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {}", mask_url_passwords(help))?;
        }
        Ok(())
    }
}

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
        match authority.rfind('@').and_then(|at| {
            let colon = authority[..at].find(':')?;
            Some((colon, at))
        }) {
            Some((colon, at)) => {
                out.push_str(&authority[..=colon]);
                out.push_str("****");
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Every problem of the config; the load's error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for problem in &self.problems {
            writeln!(f, "{problem}")?;
        }
        let count = self.problems.len();
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
    }

    #[test]
    fn a_problem_shows_its_place_path_message_and_help() {
        let problem = Problem {
            origin: Origin {
                file: "a.yaml".into(),
                line: 3,
                column: 5,
            },
            path: "organizations.acme.prnue".into(),
            message: "unknown field `prnue`".into(),
            help: Some("did you mean `prune`?".into()),
        };
        assert_eq!(
            problem.to_string(),
            "a.yaml:3:5: organizations.acme.prnue: unknown field `prnue`\n  help: did you mean `prune`?"
        );
    }
}
