//! The plan as text (Terraform-like, for people), JSON (for programs; documented in the
//! README) and markdown (a pull-request comment). All deterministic: the plan is sorted, and
//! nothing here reads a clock or the environment. Sensitive values were hidden when the plan
//! was made; these renderers print `(sensitive value changed)` for them.

use std::fmt::Write as _;

use serde_json::Value;

use super::model::{Action, ActionKind, Change, OrganizationPlan, Plan, Reason, Summary};
use crate::config::chars::escaped;
use crate::diagnostic::Diagnostic;

/// What a span of the plan is, for whoever colours it (the command edge maps these to the
/// terminal's colours; the renderers know nothing of terminals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Headings and the summary line.
    Heading,
    /// Details a reader may skip (uuids, unchanged names).
    Quiet,
    Create,
    Update,
    Rotate,
    Delete,
    Error,
    Warning,
}

/// How to colour text: a mapping of `Style` to colours, or identity.
pub type Paint<'a> = &'a dyn Fn(Style, &str) -> String;

/// No colour.
pub fn plain(_: Style, text: &str) -> String {
    text.to_owned()
}

/// The JSON plan, pretty, with a trailing newline.
pub fn json(plan: &Plan) -> String {
    let mut text = serde_json::to_string_pretty(plan).expect("a plan serialises");
    text.push('\n');
    text
}

/// The summary line.
pub fn summary_line(plan: &Plan) -> String {
    let s = &plan.summary;
    if plan.organizations.is_empty() && plan.has_errors() {
        let (errors, _) = crate::diagnostic::counts(&plan.problems);
        format!(
            "No plan: {errors} problem{} must be fixed first.",
            plural(errors)
        )
    } else if plan.has_actions() {
        format!(
            "Plan: {} to create, {} to update, {} to rotate, {} to delete; {} unchanged.",
            s.create, s.update, s.rotate, s.delete, s.unchanged
        )
    } else if plan.has_errors() {
        // "match the config" would be false: some webhooks could not be compared.
        "No changes planned, but errors or conflicts block the plan.".to_owned()
    } else {
        "No changes. Live webhooks match the config.".to_owned()
    }
}

/// The text plan.
pub fn text(plan: &Plan, paint: Paint<'_>) -> String {
    let mut out = String::new();
    for org in &plan.organizations {
        organization_text(&mut out, org, paint, Layout::Terminal);
        out.push('\n');
    }
    out.push_str(&paint(Style::Heading, &summary_line(plan)));
    out.push('\n');
    out
}

fn symbol(action: ActionKind) -> (&'static str, Style) {
    match action {
        ActionKind::Create => ("+", Style::Create),
        ActionKind::Update => ("~", Style::Update),
        ActionKind::Rotate => ("↻", Style::Rotate),
        ActionKind::Delete => ("-", Style::Delete),
    }
}

fn label(action: &Action) -> String {
    match action.reason {
        Reason::New | Reason::Drift => String::new(),
        Reason::Adopt => " (adopt)".to_owned(),
        Reason::Rename => {
            let old = action
                .changes
                .iter()
                .find(|c| c.field == "name")
                .and_then(|c| c.before.as_str())
                .unwrap_or("?");
            // A rename of an unmarked webhook adopts it too.
            let adopt = if action.changes.iter().any(|c| c.field == "marker") {
                "adopt, "
            } else {
                ""
            };
            format!(" ({adopt}renamed from {old})")
        }
        Reason::Reenable => " (re-enable)".to_owned(),
        Reason::Duplicate => " (duplicate)".to_owned(),
        Reason::Prune => " (prune)".to_owned(),
        Reason::Rotation => " (secret rotation)".to_owned(),
        Reason::ImperativeRotation => " (--rotate)".to_owned(),
    }
}

/// How an organization's section is laid out: for a terminal (a heading, then everything
/// indented), or inside a markdown `diff` fence, where a line's first character picks its
/// colour: the action's sign at column 0, everything else indented (context).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Terminal,
    Diff,
}

fn organization_text(out: &mut String, org: &OrganizationPlan, paint: Paint<'_>, layout: Layout) {
    let (sign_indent, field_indent) = match layout {
        Layout::Terminal => {
            let _ = writeln!(
                out,
                "{}",
                paint(
                    Style::Heading,
                    &format!("Organization {}", escaped(&org.slug))
                )
            );
            ("  ", "      ")
        }
        Layout::Diff => ("", "    "),
    };
    for action in &org.actions {
        let (sign, style) = symbol(action.action);
        let uuid = action
            .uuid
            .as_deref()
            .map(|u| format!(" {}", paint(Style::Quiet, &format!("[{}]", escaped(u)))))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{sign_indent}{} {}{}{uuid}",
            paint(style, sign),
            escaped(&action.webhook),
            escaped(&label(action))
        );
        let width = action
            .changes
            .iter()
            .filter(|c| c.field != "name")
            .map(|c| c.field.len())
            .max()
            .unwrap_or(0);
        for change in action.changes.iter().filter(|c| c.field != "name") {
            let _ = writeln!(
                out,
                "{field_indent}{:width$} {}",
                format!("{}:", change.field),
                escaped(&change_text(change, action.action)),
                width = width + 1
            );
        }
    }
    // Names, uuids and owners come from the platform: data, never terminal control.
    let list = |out: &mut String, title: &str, items: Vec<String>| {
        if !items.is_empty() {
            let _ = writeln!(out, "  {title}:");
            for item in items {
                let _ = writeln!(out, "    {}", escaped(&item));
            }
        }
    };
    if !org.unchanged.is_empty() {
        let _ = writeln!(
            out,
            "  {}",
            paint(
                Style::Quiet,
                &format!("unchanged: {}", escaped(&org.unchanged.join(", ")))
            )
        );
    }
    list(
        out,
        "Not in config (managed; kept because prune is off)",
        org.not_in_config
            .iter()
            .map(|l| format!("{} [{}]", l.name, l.uuid))
            .collect(),
    );
    list(
        out,
        "Unmanaged (not this config's; never changed)",
        org.unmanaged
            .iter()
            .map(|l| match (&l.owner, l.marked) {
                (Some(owner), _) => format!("{} [{}] managed by owner {owner}", l.name, l.uuid),
                (None, true) => format!("{} [{}] managed without an owner", l.name, l.uuid),
                (None, false) => format!("{} [{}]", l.name, l.uuid),
            })
            .collect(),
    );
    for problem in &org.problems {
        let _ = writeln!(out, "  {}", problem_line(problem, paint));
    }
}

/// `error: teams.yaml:3:3: organizations.acme-4d: unknown organization (did you mean
/// acme-3d?)` for a problem of the files; `error: conflict: ...` for one of the live state,
/// which is shown under its organization.
fn problem_line(problem: &Diagnostic, paint: Paint<'_>) -> String {
    let label = if problem.is_error() {
        paint(Style::Error, "error:")
    } else {
        paint(Style::Warning, "warning:")
    };
    let place = problem.place();
    if problem.code.is_config() && !place.is_empty() {
        format!("{label} {place}: {}", problem.text())
    } else {
        format!("{label} {}", problem.text())
    }
}

fn value_text(value: &Value) -> String {
    match value {
        Value::Null => "(none)".to_owned(),
        Value::String(s) => format!("{s:?}"),
        Value::Array(items) if items.is_empty() => "[]".to_owned(),
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

fn change_text(change: &Change, action: ActionKind) -> String {
    if change.sensitive {
        let source = escaped(&change.shown_source()).into_owned();
        return match (action, change.from_env.is_empty()) {
            (ActionKind::Create, _) => source,
            (_, true) => "(sensitive value changed)".to_owned(),
            (_, false) => format!("(sensitive value changed) {source}"),
        };
    }
    if change.field == "marker" {
        // Not a field of the webhook: a description of who manages it.
        let show = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        return format!("{} -> {}", show(&change.before), show(&change.after));
    }
    match (&change.before, &change.after) {
        // `folders: []` means the whole organization (product.md); say so.
        (Value::Null, Value::Array(after)) if change.field == "folders" && after.is_empty() => {
            "[] (the whole organization)".to_owned()
        }
        (Value::Null, after) => value_text(after),
        (Value::Array(before), Value::Array(after)) => {
            let added = after
                .iter()
                .filter(|v| !before.contains(v))
                .map(|v| format!("+{}", v.as_str().unwrap_or_default()));
            let removed = before
                .iter()
                .filter(|v| !after.contains(v))
                .map(|v| format!("-{}", v.as_str().unwrap_or_default()));
            let scope = match (change.field, before.is_empty(), after.is_empty()) {
                ("folders", false, true) => " (now the whole organization)",
                ("folders", true, false) => " (was the whole organization)",
                _ => "",
            };
            added.chain(removed).collect::<Vec<_>>().join(" ") + scope
        }
        (Value::String(before), Value::String(after))
            if change.field == "description"
                && before.chars().count().max(after.chars().count()) > LONG_TEXT =>
        {
            word_diff(before, after)
        }
        (before, after) => format!("{} -> {}", value_text(before), value_text(after)),
    }
}

/// A description longer than this changes as a word diff, not as both whole values.
const LONG_TEXT: usize = 60;

/// The words of `before` and `after` that differ, in place, as git's `--word-diff` shows
/// them: `[-removed-]{+added+}` (`similar`).
fn word_diff(before: &str, after: &str) -> String {
    use similar::{ChangeTag, TextDiff};
    let diff = TextDiff::from_words(before, after);
    let mut out = String::from("\"");
    for change in diff.iter_all_changes() {
        let text = format!("{:?}", change.value());
        let text = &text[1..text.len() - 1];
        match change.tag() {
            ChangeTag::Equal => out.push_str(text),
            ChangeTag::Delete => out.push_str(&format!("[-{text}-]")),
            ChangeTag::Insert => out.push_str(&format!("{{+{text}+}}")),
        }
    }
    out.push('"');
    out
}

/// GitHub refuses comments over 65,535 characters; stay well under.
pub const MARKDOWN_LIMIT: usize = 60_000;

/// The plan as a pull-request comment: a summary table (or, when no plan could be made, what
/// stopped it), then the problems with their places, then one collapsible section per
/// organization with the plan inside a `diff` fence; the problems and then the details are
/// truncated (never the summary) to stay under `MARKDOWN_LIMIT`.
pub fn markdown(plan: &Plan) -> String {
    let mut head = String::from("### vntana-webhooks plan\n\n");
    head.push_str(&summary_table(plan));
    let _ = writeln!(head, "**{}**\n", summary_line(plan));
    let note = "\n_Details truncated to fit a comment; run `vntana-webhooks plan` to see the whole plan._\n";
    // The problems come first: they are what a reviewer must act on.
    let (problems, mut truncated) = problems_section(&plan.problems, MARKDOWN_LIMIT / 4);
    head.push_str(&problems);
    let mut body = String::new();
    for org in &plan.organizations {
        let mut section_text = String::new();
        organization_text(&mut section_text, org, &plain, Layout::Diff);
        let open = if org.actions.is_empty() && org.problems.is_empty() {
            ""
        } else {
            " open"
        };
        let section = format!(
            "<details{open}><summary><code>{}</code></summary>\n\n```diff\n{}```\n</details>\n\n",
            html_text(&org.slug),
            fence_safe(&section_text)
        );
        if head.len() + body.len() + section.len() + note.len() > MARKDOWN_LIMIT {
            truncated = true;
            let room = MARKDOWN_LIMIT.saturating_sub(head.len() + body.len() + note.len() + 200);
            if room > 500 {
                // Bytes, not characters: an emoji is one character but four bytes (and two
                // UTF-16 units, which is how some count a comment's length).
                let mut end = (room - 200).min(section_text.len());
                while !section_text.is_char_boundary(end) {
                    end -= 1;
                }
                let cut = &section_text[..end];
                let cut = cut.rsplit_once('\n').map_or(cut, |(kept, _)| kept);
                let _ = write!(
                    body,
                    "<details open><summary><code>{}</code> (truncated)</summary>\n\n```diff\n{}\n```\n</details>\n\n",
                    html_text(&org.slug),
                    fence_safe(cut)
                );
            }
            break;
        }
        body.push_str(&section);
    }
    let mut out = head;
    out.push_str(&body);
    if truncated {
        out.push_str(note);
    }
    out
}

/// The summary table, one row per organization, within half the comment: past that, one row
/// sums up the rest. Empty when no plan could be made.
fn summary_table(plan: &Plan) -> String {
    if plan.organizations.is_empty() {
        return String::new();
    }
    let mut table = String::from(
        "| organization | create | update | rotate | delete | unchanged | problems |\n",
    );
    table.push_str("|---|---:|---:|---:|---:|---:|---|\n");
    let mut rest = Summary::default();
    let mut rest_count = 0;
    for org in &plan.organizations {
        let count = |kind: ActionKind| org.actions.iter().filter(|a| a.action == kind).count();
        if rest_count > 0 || table.len() > MARKDOWN_LIMIT / 2 {
            rest_count += 1;
            rest.create += count(ActionKind::Create);
            rest.update += count(ActionKind::Update);
            rest.rotate += count(ActionKind::Rotate);
            rest.delete += count(ActionKind::Delete);
            rest.unchanged += org.unchanged.len();
            continue;
        }
        let (errors, warnings) = crate::diagnostic::counts(&org.problems);
        let mut problems = Vec::new();
        if errors > 0 {
            problems.push(format!("{errors} error{}", plural(errors)));
        }
        if warnings > 0 {
            problems.push(format!("{warnings} warning{}", plural(warnings)));
        }
        let _ = writeln!(
            table,
            "| `{}` | {} | {} | {} | {} | {} | {} |",
            markdown_code(&org.slug),
            count(ActionKind::Create),
            count(ActionKind::Update),
            count(ActionKind::Rotate),
            count(ActionKind::Delete),
            org.unchanged.len(),
            if problems.is_empty() {
                "none".to_owned()
            } else {
                problems.join(", ")
            }
        );
    }
    if rest_count > 0 {
        let _ = writeln!(
            table,
            "| {rest_count} more organizations | {} | {} | {} | {} | {} | see `vntana-webhooks plan` |",
            rest.create, rest.update, rest.rotate, rest.delete, rest.unchanged
        );
    }
    table.push('\n');
    table
}

/// The problems with their places, inside a fence (so text from the files or the platform is
/// never read as markdown: no mentions, no links), within `budget` bytes; whether some were
/// left out.
fn problems_section(problems: &[Diagnostic], budget: usize) -> (String, bool) {
    if problems.is_empty() {
        return (String::new(), false);
    }
    let (errors, warnings) = crate::diagnostic::counts(problems);
    let mut section = format!(
        "#### Problems: {errors} error{}, {warnings} warning{}\n\n```text\n",
        plural(errors),
        plural(warnings)
    );
    let mut shown = 0;
    for problem in problems {
        let line = fence_safe(&format!(
            "{}[{}] {problem}",
            problem.severity.as_str(),
            problem.code
        ));
        if section.len() + line.len() > budget {
            break;
        }
        section.push_str(&line);
        section.push('\n');
        shown += 1;
    }
    let truncated = shown < problems.len();
    if truncated {
        let _ = writeln!(section, "... and {} more", problems.len() - shown);
    }
    section.push_str("```\n\n");
    (section, truncated)
}

/// Text for a table cell's code span: it can neither end the span nor the cell.
fn markdown_code(text: &str) -> String {
    escaped(text).replace('`', "'").replace('|', "\\|")
}

/// Text inside HTML (the sections' `<summary>`).
fn html_text(text: &str) -> String {
    escaped(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Text that cannot close the fence it is in.
fn fence_safe(text: &str) -> String {
    text.replace("```", "'''")
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::model::{Conflict, PLAN_FORMAT_VERSION, Summary};

    fn change(field: &'static str, before: Value, after: Value) -> Change {
        Change {
            field,
            before,
            after,
            sensitive: false,
            from_env: Vec::new(),
        }
    }

    #[test]
    fn a_plan_blocked_by_a_conflict_does_not_claim_to_match_the_config() {
        let org = OrganizationPlan {
            slug: "acme".to_owned(),
            conflicts: vec![Conflict {
                webhook: "pim".to_owned(),
                message: "m".to_owned(),
                uuids: vec!["u".to_owned()],
            }],
            ..OrganizationPlan::default()
        };
        let mut plan = Plan {
            format_version: PLAN_FORMAT_VERSION,
            organizations: vec![org],
            summary: Summary::default(),
            problems: Vec::new(),
        };
        let snapshot = crate::live::LiveSnapshot {
            format_version: 1,
            email: String::new(),
            catalogue: Vec::new(),
            organizations: Vec::new(),
        };
        crate::plan::problems::attach(
            &mut plan,
            &crate::model::Desired::default(),
            &snapshot,
            Vec::new(),
        );
        assert_eq!(
            summary_line(&plan),
            "No changes planned, but errors or conflicts block the plan."
        );
        assert!(text(&plan, &plain).contains("  error: conflict: pim [u]: m\n"));
        assert!(markdown(&plan).contains("error[conflict] acme: conflict: pim [u]: m\n"));
    }

    #[test]
    fn a_long_text_changes_as_its_words() {
        let before = "Push finished products into the PIM, every night, with their folders";
        let after = "Push finished products into the PIM, every hour, with their folders";
        let diff = change("description", json!(before), json!(after));
        assert_eq!(
            change_text(&diff, ActionKind::Update),
            "\"Push finished products into the PIM, every [-night,-]{+hour,+} with their folders\""
        );
        let short = change("description", json!("a"), json!("b"));
        assert_eq!(change_text(&short, ActionKind::Update), "\"a\" -> \"b\"");
    }

    #[test]
    fn empty_folders_read_as_the_whole_organization() {
        let create = change("folders", Value::Null, json!([]));
        assert_eq!(
            change_text(&create, ActionKind::Create),
            "[] (the whole organization)"
        );
        let widen = change("folders", json!(["bags"]), json!([]));
        assert_eq!(
            change_text(&widen, ActionKind::Update),
            "-bags (now the whole organization)"
        );
        let narrow = change("folders", json!([]), json!(["bags"]));
        assert_eq!(
            change_text(&narrow, ActionKind::Update),
            "+bags (was the whole organization)"
        );
        let events = change("events", json!(["a"]), json!([]));
        assert_eq!(change_text(&events, ActionKind::Update), "-a");
    }

    #[test]
    fn renaming_an_unmarked_webhook_is_labelled_as_an_adoption_too() {
        let mut action = Action {
            action: ActionKind::Update,
            webhook: "new".to_owned(),
            uuid: Some("u".to_owned()),
            reason: Reason::Rename,
            changes: vec![change("name", json!("old"), json!("new"))],
            target: None,
        };
        assert_eq!(label(&action), " (renamed from old)");
        action
            .changes
            .push(change("marker", json!("unmanaged"), json!("managed")));
        assert_eq!(label(&action), " (adopt, renamed from old)");
    }
}
