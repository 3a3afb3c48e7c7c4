//! Diagnostics for CI systems: GitHub workflow commands (`::error file=F,line=L,col=C,
//! title=CODE::message`), which annotate the lines of a pull request's diff, and GitLab's Code
//! Quality report (the JSON `artifacts:reports:codequality` reads), which merge requests show.
//! Pure: text in, text out. Every value is escaped for its format, so text from the files or
//! the platform can never start a workflow command of its own.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::diagnostic::{Diagnostic, Severity};

/// One workflow command per diagnostic, each ending with a newline.
pub fn github(diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics {
        let command = match diagnostic.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut properties = Vec::new();
        if let Some(file) = diagnostic.file() {
            properties.push(format!("file={}", property(file)));
            if let Some((line, column)) = diagnostic.line_column() {
                properties.push(format!("line={line}"));
                properties.push(format!("col={column}"));
            }
        }
        properties.push(format!("title={}", property(diagnostic.code.as_str())));
        // The place is in the properties when there is a file; otherwise in the message.
        let message = if diagnostic.file().is_some() && diagnostic.code.is_config() {
            let path = if diagnostic.path.is_empty() {
                String::new()
            } else {
                format!("{}: ", diagnostic.path)
            };
            format!("{path}{}", diagnostic.text())
        } else {
            diagnostic.to_string()
        };
        out.push_str(&format!(
            "::{command} {}::{}\n",
            properties.join(","),
            data(&message)
        ));
    }
    out
}

/// A workflow command's message: `%`, CR and LF escaped (GitHub's toolkit `escapeData`).
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: also `:` and `,` (`escapeProperty`).
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

/// One issue of GitLab's Code Quality report (the subset of the Code Climate format GitLab
/// reads).
#[derive(Debug, Serialize)]
struct CodeQualityIssue {
    description: String,
    check_name: &'static str,
    fingerprint: String,
    severity: &'static str,
    location: CodeQualityLocation,
}

#[derive(Debug, Serialize)]
struct CodeQualityLocation {
    path: String,
    lines: CodeQualityLines,
}

#[derive(Debug, Serialize)]
struct CodeQualityLines {
    begin: usize,
}

/// The Code Quality report: a JSON array, pretty, with a trailing newline. A diagnostic
/// without a file is reported at `fallback_file` (the first config file), line 1, since GitLab
/// needs a place for every issue.
pub fn gitlab(diagnostics: &[Diagnostic], fallback_file: &str) -> String {
    let issues: Vec<CodeQualityIssue> = diagnostics
        .iter()
        .map(|diagnostic| {
            let path = diagnostic.file().unwrap_or(fallback_file).to_owned();
            let line = diagnostic.line_column().map_or(1, |(line, _)| line);
            let description = diagnostic.to_string();
            let fingerprint = hex::encode(Sha256::digest(format!(
                "{}\0{path}\0{line}\0{description}",
                diagnostic.code
            )));
            CodeQualityIssue {
                description,
                check_name: diagnostic.code.as_str(),
                fingerprint,
                severity: match diagnostic.severity {
                    Severity::Error => "major",
                    Severity::Warning => "minor",
                },
                location: CodeQualityLocation {
                    path,
                    lines: CodeQualityLines { begin: line },
                },
            }
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&issues).expect("a report serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Code;
    use crate::model::Origin;

    fn located() -> Diagnostic {
        Diagnostic::error(Code::UnknownEvent, "unknown event `product.addded`")
            .at(
                Origin {
                    file: "dir, a:b.yaml".to_owned(),
                    line: 12,
                    column: 18,
                },
                "organizations.acme.webhooks.pim.events[0]",
            )
            .in_organization("acme")
            .with_suggestion(Some("product.added"))
    }

    #[test]
    fn a_located_problem_annotates_its_line() {
        assert_eq!(
            github(&[located()]),
            "::error file=dir%2C a%3Ab.yaml,line=12,col=18,title=unknown-event::organizations.acme.webhooks.pim.events[0]: unknown event `product.addded` (did you mean product.added?)\n"
        );
    }

    #[test]
    fn a_message_cannot_start_a_command_of_its_own() {
        let hostile =
            Diagnostic::warning(Code::PlanWarning, "50%\n::add-mask::x\r").in_organization("acme");
        let out = github(&[hostile]);
        assert_eq!(
            out,
            "::warning title=plan-warning::acme: 50%25\\u{a}::add-mask::x\\u{d}\n"
        );
        assert_eq!(out.lines().count(), 1);
    }

    #[test]
    fn the_gitlab_report_places_every_issue_and_fingerprints_it() {
        let unplaced = Diagnostic::error(Code::RunError, "cannot sign in");
        let report: serde_json::Value =
            serde_json::from_str(&gitlab(&[located(), unplaced], "webhooks.yaml")).unwrap();
        assert_eq!(report[0]["location"]["path"], "dir, a:b.yaml");
        assert_eq!(report[0]["location"]["lines"]["begin"], 12);
        assert_eq!(report[0]["severity"], "major");
        assert_eq!(report[1]["location"]["path"], "webhooks.yaml");
        assert_eq!(report[1]["location"]["lines"]["begin"], 1);
        assert_ne!(report[0]["fingerprint"], report[1]["fingerprint"]);
        assert_eq!(report[0]["fingerprint"].as_str().unwrap().len(), 64);
    }
}
