//! An error and its causes as one line, `outer: cause: root`, for reports and logs that are
//! not printed through `anyhow` at the command edge.

/// `err` and its sources, joined with `: `.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
