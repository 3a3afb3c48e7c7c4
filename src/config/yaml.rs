//! A located YAML tree: the config files parsed with serde-saphyr's parser (granit) into
//! nodes that remember their line and column, so every later problem can name its place.
//! It owns YAML itself: syntax errors (the first one stops), duplicate keys, anchors and
//! aliases (expanded within a budget, so an alias bomb is an error, not an OOM), nesting
//! depth (aliases included), one YAML 1.2 document per file, no tags but `!!str`, keys that
//! are names. It knows nothing of the config format beyond the dotted paths
//! (`organizations.acme-3d.prune`) its problems are named by.

use crate::diagnostic::Code;
use std::collections::BTreeMap;
use std::fmt;

use serde_saphyr::granit_parser::{
    Event, Options, Parser, ScalarStyle, ScanError, Span, StructureStyle, Tag,
};

/// A position in a file: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Loc {
    pub line: usize,
    pub column: usize,
    /// For a value copied by an alias (`*name`): the line of that alias. The line and column
    /// are where the value is written (at its anchor), so a problem in it can name both.
    pub alias: Option<usize>,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

impl Loc {
    /// A place written directly (not through an alias).
    pub fn at(line: usize, column: usize) -> Loc {
        Loc {
            line,
            column,
            alias: None,
        }
    }

    fn of(span: &Span) -> Loc {
        Loc::at(span.start.line(), span.start.col() + 1)
    }
}

/// How a scalar was written: plain scalars are typed (booleans, numbers, null); quoted and
/// block scalars are always strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Quoted,
    Block,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    pub text: String,
    pub style: Style,
    /// A core-schema tag such as `str` or `int` (`!!str`), if one was written.
    pub tag: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Map(Vec<(Key, Node)>),
    Seq(Vec<Node>),
    Scalar(Scalar),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: Kind,
    pub loc: Loc,
}

/// A mapping key: always a string here (config keys are names).
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub loc: Loc,
}

/// What a plain scalar means in YAML 1.2's core schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float,
    Str(&'a str),
}

impl Scalar {
    /// The scalar's core-schema type.
    pub fn typed(&self) -> Typed<'_> {
        if self.style != Style::Plain || self.tag.as_deref() == Some("str") {
            return Typed::Str(&self.text);
        }
        match self.text.as_str() {
            "" | "~" | "null" | "Null" | "NULL" => Typed::Null,
            "true" | "True" | "TRUE" => Typed::Bool(true),
            "false" | "False" | "FALSE" => Typed::Bool(false),
            text => {
                if let Ok(n) = text.parse::<i64>() {
                    Typed::Int(n)
                } else if is_float(text) {
                    Typed::Float
                } else {
                    Typed::Str(text)
                }
            }
        }
    }
}

fn is_float(text: &str) -> bool {
    matches!(
        text,
        ".inf" | "-.inf" | "+.inf" | ".nan" | ".NaN" | ".NAN" | ".Inf" | "-.Inf"
    ) || (text.bytes().any(|b| b.is_ascii_digit())
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && text.parse::<f64>().is_ok())
}

impl Node {
    /// A short description of what the node is, for "expected X, found Y" messages.
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Map(_) => "a mapping".to_owned(),
            Kind::Seq(_) => "a list".to_owned(),
            Kind::Scalar(scalar) => match scalar.typed() {
                Typed::Null => "nothing (null)".to_owned(),
                Typed::Bool(b) => format!("the boolean {b}"),
                Typed::Int(n) => format!("the number {n}"),
                Typed::Float => format!("the number {}", scalar.text),
                Typed::Str(s) => format!("the string \"{}\"", abbreviate(s)),
            },
        }
    }
}

/// At most 40 characters of `text`, for messages; url passwords are masked first, so a cut
/// cannot leave part of one without the `@` that marks it.
pub fn abbreviate(text: &str) -> String {
    let text = super::problem::mask_url_passwords(text);
    let mut chars = text.chars();
    let short: String = chars.by_ref().take(40).collect();
    if chars.next().is_some() {
        format!("{short}...")
    } else {
        short
    }
}

/// A config path with one more mapping key: `a.b`; a key that is empty, has spaces or dots
/// is quoted (`webhooks.""`, `webhooks." pim-sync"`) so the path stays readable.
pub fn join(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !matches!(c, '.' | '"' | '[' | ']'));
    let key = if plain {
        key.to_owned()
    } else {
        format!("{key:?}")
    };
    if path.is_empty() {
        key
    } else {
        format!("{path}.{key}")
    }
}

/// Limits that keep a hostile file from exhausting the machine. The file's size bounds the
/// values written in it (`sources::MAX_FILE_BYTES`); aliases can multiply them, so the values
/// they copy are counted against `MAX_NODES`.
pub const MAX_DEPTH: usize = 32;
pub const MAX_NODES: usize = 100_000;
/// A key is a name (an organization slug, a webhook name, a field): at most this many
/// characters, as YAML's own limit on implicit keys.
pub const MAX_KEY_CHARS: usize = 1024;

/// A problem of the YAML itself, with the config path where it was found (empty at the top).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlProblem {
    pub loc: Loc,
    pub path: String,
    pub message: String,
    pub code: Code,
}

/// The outcome of parsing one file: a tree (if the syntax allowed one) and the problems found.
/// A syntax error leaves no tree; duplicate keys are reported with the tree.
#[derive(Debug)]
pub struct Parsed {
    pub root: Option<Node>,
    pub problems: Vec<YamlProblem>,
}

/// Parses one file's text.
pub fn parse(text: &str) -> Parsed {
    let mut builder = Builder::default();
    match builder.run(text) {
        Ok(root) => Parsed {
            root,
            problems: builder.problems,
        },
        Err(problem) => Parsed {
            root: None,
            problems: vec![problem],
        },
    }
}

enum Content {
    Map {
        entries: Vec<(Key, Node)>,
        /// Each key's index in `entries`, so duplicates are found without a scan.
        seen: BTreeMap<String, usize>,
        pending_key: Option<Node>,
    },
    Seq(Vec<Node>),
}

/// A collection being read.
struct Frame {
    loc: Loc,
    /// Its config path, for problems found inside it.
    path: String,
    /// Written `[...]` or `{...}` rather than as indented lines.
    flow: bool,
    anchor: usize,
    content: Content,
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    /// Each anchor's value, its size and its depth (see `size` and `depth`).
    anchors: BTreeMap<usize, (Node, usize, usize)>,
    /// Values copied by aliases so far.
    copied: usize,
    documents: usize,
    problems: Vec<YamlProblem>,
}

impl Builder {
    /// The path of the value about to be attached to the innermost collection.
    fn child_path(&self) -> String {
        match self.stack.last() {
            None => String::new(),
            Some(frame) => match &frame.content {
                Content::Seq(items) => format!("{}[{}]", frame.path, items.len()),
                Content::Map {
                    pending_key: Some(key),
                    ..
                } => match &key.kind {
                    Kind::Scalar(scalar) => join(&frame.path, &scalar.text),
                    _ => frame.path.clone(),
                },
                // A key itself: the mapping's path.
                Content::Map {
                    pending_key: None, ..
                } => frame.path.clone(),
            },
        }
    }

    /// A syntax error, with a hint when a flow collection (`[` or `{`) opened on an earlier
    /// line is still open: the usual cause is its missing `]` or `}`.
    fn syntax(&self, err: &ScanError) -> YamlProblem {
        let mark = err.marker();
        let loc = Loc::at(mark.line(), mark.col() + 1);
        let info = err.info();
        let mut message = format!("invalid YAML: {info}");
        if info.contains("tabs") {
            message.push_str("; indent with spaces");
        } else if info.contains("recursion limit") {
            message.push_str(&format!(
                " (nesting far deeper than {MAX_DEPTH} levels; a webhook config needs at most 6)"
            ));
        } else if info.contains("simple key") {
            message.push_str(&format!(
                " (a key ends with `:` on its own line, within {MAX_KEY_CHARS} characters)"
            ));
        } else if !info.contains("unclosed")
            && let Some(open) = self.stack.iter().rev().find(|f| f.flow)
            && open.loc.line < loc.line
        {
            let (what, opener, closer) = match open.content {
                Content::Seq(_) => ("list", '[', ']'),
                Content::Map { .. } => ("mapping", '{', '}'),
            };
            message.push_str(&format!(
                " (the {what} `{opener}` opened at line {}, column {} is still open here: is its `{closer}` missing?)",
                open.loc.line, open.loc.column
            ));
        }
        YamlProblem {
            code: Code::YamlSyntax,
            ..problem(loc, self.child_path(), message)
        }
    }
}

/// YAML that parses but that the format does not read.
fn problem(loc: Loc, path: String, message: String) -> YamlProblem {
    YamlProblem {
        loc,
        path,
        message,
        code: Code::YamlUnsupported,
    }
}

/// A `%YAML` directive for another version than 1.2.
fn not_yaml_1_2(loc: Loc, major: u32, minor: u32) -> YamlProblem {
    // YAML 1.1 reads `yes`, `off` and `0777` differently; this reader is 1.2.
    let why = if minor < 2 {
        " (YAML 1.1 reads `yes`, `off` and `0777` as booleans and numbers; 1.2 as text)"
    } else {
        ""
    };
    problem(
        loc,
        String::new(),
        format!(
            "the file declares `%YAML {major}.{minor}`; vntana-webhooks reads YAML 1.2 only: remove the directive{why}"
        ),
    )
}

/// Marks every value of an alias's copy as reached through the alias at `line`.
fn through_alias(node: &mut Node, line: usize) {
    match &mut node.kind {
        Kind::Scalar(_) => {}
        Kind::Seq(items) => {
            for item in items {
                item.loc.alias = Some(line);
                through_alias(item, line);
            }
        }
        Kind::Map(entries) => {
            for (key, value) in entries {
                key.loc.alias = Some(line);
                value.loc.alias = Some(line);
                through_alias(value, line);
            }
        }
    }
}

/// How many collections deep a node goes: 0 for a scalar.
fn depth(node: &Node) -> usize {
    match &node.kind {
        Kind::Scalar(_) => 0,
        Kind::Seq(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Kind::Map(entries) => 1 + entries.iter().map(|(_, v)| depth(v)).max().unwrap_or(0),
    }
}

/// A tag as written (`!!binary`, `!secret`), for messages; and what it stands for when a
/// `%TAG` directive gave `!!` another meaning than YAML's.
fn written(tag: &Tag) -> String {
    let (handle, suffix) = tag.original_parts();
    let shown = format!("`{}`", abbreviate(&format!("{handle}{suffix}")));
    if handle == "!!" && !tag.is_yaml_core_schema() {
        format!(
            "{shown} (a `%TAG` directive made it `{}`)",
            abbreviate(&format!("{}{suffix}", tag.handle()))
        )
    } else {
        shown
    }
}

fn size(node: &Node) -> usize {
    match &node.kind {
        Kind::Scalar(_) => 1,
        Kind::Seq(items) => 1 + items.iter().map(size).sum::<usize>(),
        Kind::Map(entries) => 1 + entries.iter().map(|(_, v)| 1 + size(v)).sum::<usize>(),
    }
}

impl Builder {
    fn run(&mut self, text: &str) -> Result<Option<Node>, YamlProblem> {
        let mut root = None;
        let mut options = Options::default();
        // An alias to a missing anchor comes as an event with its name, for a clear message.
        options.emit_unresolved_aliases = true;
        for next in Parser::new_from_str_with_options(text, options) {
            let (event, span) = next.map_err(|e| self.syntax(&e))?;
            let loc = Loc::of(&span);
            let node = match event {
                Event::DocumentStart(_, Some(version))
                    if (version.major, version.minor) != (1, 2) =>
                {
                    return Err(not_yaml_1_2(loc, version.major, version.minor));
                }
                Event::DocumentStart(..) => {
                    self.documents += 1;
                    if self.documents > 1 {
                        return Err(problem(
                            loc,
                            String::new(),
                            "a second YAML document (after `---` or `...`): put one document in each file"
                                .to_owned(),
                        ));
                    }
                    continue;
                }
                Event::Scalar(text, style, anchor, tag) => {
                    // `!!str` makes a value text; any other tag would ask for a type or an
                    // object this format does not have (`!!binary`, `!!python/object`, `!x`).
                    if let Some(tag) = tag.as_deref()
                        && !tag.is_yaml_core_schema_tag("str")
                    {
                        return Err(self.tag(loc, tag));
                    }
                    let tag = tag.map(|t| t.suffix().to_owned());
                    let style = match style {
                        ScalarStyle::Plain => Style::Plain,
                        ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => Style::Quoted,
                        ScalarStyle::Literal | ScalarStyle::Folded => Style::Block,
                    };
                    let node = Node {
                        kind: Kind::Scalar(Scalar {
                            text: text.into_owned(),
                            style,
                            tag,
                        }),
                        loc,
                    };
                    self.remember(anchor, &node);
                    node
                }
                Event::SequenceStart(style, anchor, tag) => {
                    if let Some(tag) = tag {
                        return Err(self.tag(loc, &tag));
                    }
                    self.open(loc, style, anchor, Content::Seq(Vec::new()))?;
                    continue;
                }
                Event::MappingStart(style, anchor, tag) => {
                    if let Some(tag) = tag {
                        return Err(self.tag(loc, &tag));
                    }
                    let content = Content::Map {
                        entries: Vec::new(),
                        seen: BTreeMap::new(),
                        pending_key: None,
                    };
                    self.open(loc, style, anchor, content)?;
                    continue;
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let Some(frame) = self.stack.pop() else {
                        continue;
                    };
                    let kind = match frame.content {
                        Content::Seq(items) => Kind::Seq(items),
                        Content::Map { entries, .. } => Kind::Map(entries),
                    };
                    let node = Node {
                        kind,
                        loc: frame.loc,
                    };
                    self.remember(frame.anchor, &node);
                    node
                }
                Event::Alias(id) => self.alias(id, loc)?,
                Event::UnresolvedAlias(name) => {
                    return Err(problem(
                        loc,
                        self.child_path(),
                        format!(
                            "the alias `*{name}` has no anchor: define `&{name}` on a value before it"
                        ),
                    ));
                }
                _ => continue,
            };
            self.attach(node, &mut root);
        }
        Ok(root)
    }

    /// The copy an alias makes of its anchor's value, within the budgets of copied values and
    /// of nesting.
    fn alias(&mut self, id: usize, loc: Loc) -> Result<Node, YamlProblem> {
        let Some((mut node, node_size, node_depth)) = self.anchors.get(&id).cloned() else {
            // Unknown anchors come as `UnresolvedAlias`: this one is still open.
            return Err(problem(
                loc,
                self.child_path(),
                "an alias inside the value of its own anchor (a cycle): a value cannot contain itself".to_owned(),
            ));
        };
        self.copied = self.copied.saturating_add(node_size);
        if self.copied > MAX_NODES {
            return Err(problem(
                loc,
                self.child_path(),
                format!(
                    "aliases copy more than {MAX_NODES} values (an alias bomb?); a webhook config is far smaller"
                ),
            ));
        }
        // A copy nests as deep as its anchor's value, wherever it lands.
        if self.stack.len() + node_depth > MAX_DEPTH {
            return Err(problem(
                loc,
                String::new(),
                format!(
                    "nesting deeper than {MAX_DEPTH} levels through this alias; a webhook config needs at most 6"
                ),
            ));
        }
        through_alias(&mut node, loc.line);
        Ok(Node { loc, ..node })
    }

    /// Puts a finished node into its parent (or makes it the root).
    fn attach(&mut self, node: Node, root: &mut Option<Node>) {
        let pending = match self.stack.last_mut() {
            None => {
                *root = Some(node);
                return;
            }
            Some(Frame {
                content: Content::Seq(items),
                ..
            }) => {
                items.push(node);
                return;
            }
            Some(Frame {
                content: Content::Map { pending_key, .. },
                ..
            }) => {
                if pending_key.is_none() {
                    *pending_key = Some(node);
                    return;
                }
                pending_key.take()
            }
        };
        let Some(key) = pending.and_then(|key| self.key(key)) else {
            return;
        };
        let Some(Frame {
            path,
            content: Content::Map { entries, seen, .. },
            ..
        }) = self.stack.last_mut()
        else {
            return;
        };
        if let Some(&first) = seen.get(&key.name) {
            let first = entries[first].0.loc.line;
            let problem = YamlProblem {
                loc: key.loc,
                path: join(path, &key.name),
                message: format!(
                    "duplicate key `{}` (first at line {first}); a key may appear once in a mapping, this one is ignored",
                    key.name
                ),
                code: Code::Duplicate,
            };
            self.problems.push(problem);
        } else {
            seen.insert(key.name.clone(), entries.len());
            entries.push((key, node));
        }
    }

    /// A mapping key must be a name: a scalar that is not null, of at most `MAX_KEY_CHARS`.
    fn key(&mut self, node: Node) -> Option<Key> {
        let loc = node.loc;
        let message = match node.kind {
            Kind::Scalar(scalar) if scalar.typed() == Typed::Null => format!(
                "a key must be a name, found nothing (null); quote it (`\"{}\":`) if it is one",
                scalar.text
            ),
            Kind::Scalar(scalar) if scalar.text.chars().count() > MAX_KEY_CHARS => format!(
                "a key of {} characters (`{}`); a key is a name of at most {MAX_KEY_CHARS}",
                scalar.text.chars().count(),
                abbreviate(&scalar.text)
            ),
            Kind::Scalar(scalar) => {
                return Some(Key {
                    name: scalar.text,
                    loc,
                });
            }
            kind => format!(
                "a key must be a name, found {} (complex `? ` keys are not part of the format)",
                Node { kind, loc }.describe()
            ),
        };
        let path = self
            .stack
            .last()
            .map(|f| f.path.clone())
            .unwrap_or_default();
        self.problems.push(problem(loc, path, message));
        None
    }

    /// A tag other than `!!str`: the file asks for something this format does not have.
    fn tag(&self, loc: Loc, tag: &Tag) -> YamlProblem {
        problem(
            loc,
            self.child_path(),
            format!(
                "the tag {} is not part of the format: remove it (only `!!str`, which makes a value text, is read)",
                written(tag)
            ),
        )
    }

    fn open(
        &mut self,
        loc: Loc,
        style: StructureStyle,
        anchor: usize,
        content: Content,
    ) -> Result<(), YamlProblem> {
        let path = self.child_path();
        if self.stack.len() >= MAX_DEPTH {
            // No path: at this depth it would be longer than the message.
            return Err(problem(
                loc,
                String::new(),
                format!("nesting deeper than {MAX_DEPTH} levels; a webhook config needs at most 6"),
            ));
        }
        self.stack.push(Frame {
            loc,
            path,
            flow: style == StructureStyle::Flow,
            anchor,
            content,
        });
        Ok(())
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor != 0 {
            self.anchors
                .insert(anchor, (node.clone(), size(node), depth(node)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(text: &str) -> Node {
        let parsed = parse(text);
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        parsed.root.unwrap()
    }

    #[test]
    fn nodes_carry_their_line_and_column() {
        let node = root("version: 1\norganizations:\n  acme:\n    prune: true\n");
        let Kind::Map(entries) = &node.kind else {
            panic!()
        };
        assert_eq!(entries[1].0.name, "organizations");
        assert_eq!(entries[1].0.loc, Loc::at(2, 1));
        let Kind::Map(orgs) = &entries[1].1.kind else {
            panic!()
        };
        let Kind::Map(acme) = &orgs[0].1.kind else {
            panic!()
        };
        assert_eq!(
            (acme[0].0.loc, acme[0].1.loc),
            (Loc::at(4, 5), Loc::at(4, 12))
        );
    }

    #[test]
    fn plain_scalars_are_typed_and_quoted_ones_are_strings() {
        let node = root("a: true\nb: 'true'\nc: 12\nd: ~\ne: 1.5\nf: hello\ng: !!str 7\n");
        let Kind::Map(entries) = node.kind else {
            panic!()
        };
        let typed: Vec<String> = entries
            .iter()
            .map(|(_, v)| match &v.kind {
                Kind::Scalar(s) => format!("{:?}", s.typed()),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(
            typed,
            [
                "Bool(true)",
                "Str(\"true\")",
                "Int(12)",
                "Null",
                "Float",
                "Str(\"hello\")",
                "Str(\"7\")"
            ]
        );
    }

    #[test]
    fn duplicate_keys_are_reported_with_both_places() {
        let parsed = parse("a: 1\nb: 2\na: 3\n");
        assert_eq!(
            parsed.problems,
            [YamlProblem {
                loc: Loc::at(3, 1),
                path: "a".into(),
                message: "duplicate key `a` (first at line 1); a key may appear once in a mapping, this one is ignored".into(),
                code: Code::Duplicate,
            }]
        );
    }

    #[test]
    fn a_syntax_error_stops_with_its_place() {
        let parsed = parse("a: [1, 2\nb: 3\n");
        assert!(parsed.root.is_none());
        assert_eq!(parsed.problems.len(), 1);
        assert!(
            parsed.problems[0].message.starts_with("invalid YAML: "),
            "{:?}",
            parsed.problems
        );
    }

    #[test]
    fn aliases_expand_and_an_alias_bomb_is_refused() {
        let node = root("a: &x {k: v}\nb: *x\n");
        let Kind::Map(entries) = node.kind else {
            panic!()
        };
        let (Kind::Map(a), Kind::Map(b)) = (&entries[0].1.kind, &entries[1].1.kind) else {
            panic!()
        };
        assert_eq!((&a[0].0.name, &a[0].1.kind), (&b[0].0.name, &b[0].1.kind));
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            let refs = vec![format!("*a{prev}"); 10].join(", ");
            bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let parsed = parse(&bomb);
        assert!(parsed.root.is_none());
        assert!(
            parsed.problems[0]
                .message
                .contains("aliases copy more than 100000 values"),
            "{:?}",
            parsed.problems
        );
    }

    #[test]
    fn problems_carry_the_path_where_they_were_found() {
        let parsed = parse(
            "organizations:\n  acme:\n    webhooks:\n      w: {url: a, url: b}\n      ? [x]\n      : 1\n",
        );
        let found: Vec<(String, String)> = parsed
            .problems
            .iter()
            .map(|p| (format!("{}", p.loc), p.path.clone()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "4:19".to_owned(),
                    "organizations.acme.webhooks.w.url".to_owned()
                ),
                ("5:9".to_owned(), "organizations.acme.webhooks".to_owned()),
            ]
        );
    }

    #[test]
    fn values_copied_by_an_alias_know_its_line() {
        let node = root("a: &x {k: [v]}\nb: *x\n");
        let Kind::Map(entries) = node.kind else {
            panic!()
        };
        let (Kind::Map(a), Kind::Map(b)) = (&entries[0].1.kind, &entries[1].1.kind) else {
            panic!()
        };
        assert_eq!((a[0].1.loc.alias, b[0].1.loc.alias), (None, Some(2)));
        assert_eq!(
            b[0].1.loc.line, 1,
            "the copy is located where it is written"
        );
        assert_eq!(
            entries[1].1.loc,
            Loc::at(2, 4),
            "the alias itself is where it is"
        );
    }

    #[test]
    fn an_unclosed_flow_list_is_named_in_the_syntax_error() {
        let parsed = parse("a:\n  b: [x, y\n  c: 1\n");
        assert!(
            parsed.problems[0].message.contains(
                "(the list `[` opened at line 2, column 6 is still open here: is its `]` missing?)"
            ),
            "{:?}",
            parsed.problems
        );
        let tabs = parse("a:\n\tb: 1\n");
        assert!(tabs.problems[0].message.ends_with("; indent with spaces"));
    }

    #[test]
    fn an_alias_without_anchor_is_named() {
        let parsed = parse("a: *nope\n");
        assert_eq!(
            parsed.problems[0].message,
            "the alias `*nope` has no anchor: define `&nope` on a value before it"
        );
        assert_eq!(parsed.problems[0].path, "a");
    }

    #[test]
    fn many_plain_values_are_not_an_alias_bomb() {
        let text = (0..60_000).fold(String::new(), |mut text, i| {
            text.push_str(&format!("k{i}: {i}\n"));
            text
        });
        let parsed = parse(&text);
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems.first());
    }

    #[test]
    fn keys_that_would_break_a_path_are_quoted() {
        assert_eq!(join("", "version"), "version");
        assert_eq!(join("organizations", "acme-3d"), "organizations.acme-3d");
        assert_eq!(join("organizations", ""), "organizations.\"\"");
        assert_eq!(join("w", " pim"), "w.\" pim\"");
        assert_eq!(join("w", "a.b"), "w.\"a.b\"");
    }

    #[test]
    fn only_the_str_tag_is_read() {
        assert!(parse("a: !!str 7\n").problems.is_empty());
        for text in [
            "a: !!binary aGk=\n",
            "a: !x 1\n",
            "a: !!python/object/apply:os.system [ls]\n",
            "a: !!map {}\n",
            "%TAG !! tag:evil.example,2024:\n---\na: !!str 7\n",
        ] {
            let parsed = parse(text);
            assert!(parsed.root.is_none(), "{text}");
            assert!(
                parsed.problems[0]
                    .message
                    .contains("is not part of the format"),
                "{text}: {:?}",
                parsed.problems
            );
        }
    }

    #[test]
    fn null_and_overlong_keys_are_not_names() {
        let parsed = parse("~: 1\n\"~\": 2\n");
        assert_eq!(parsed.problems.len(), 1, "{:?}", parsed.problems);
        assert!(parsed.problems[0].message.contains("found nothing (null)"));
        let long = format!("? {}\n: 1\n", "k".repeat(MAX_KEY_CHARS + 1));
        assert!(
            parse(&long).problems[0]
                .message
                .starts_with("a key of 1025 characters")
        );
    }

    #[test]
    fn aliases_cannot_nest_deeper_than_the_limit_or_contain_themselves() {
        let mut chain = String::from("c0: &c0 x\n");
        for i in 1..=MAX_DEPTH {
            chain.push_str(&format!("c{i}: &c{i} [*c{}]\n", i - 1));
        }
        assert!(
            parse(&chain).problems[0]
                .message
                .starts_with("nesting deeper than 32 levels through this alias")
        );
        assert!(
            parse("a: &s [*s]\n").problems[0]
                .message
                .starts_with("an alias inside the value of its own anchor")
        );
    }

    #[test]
    fn a_yaml_1_1_directive_is_refused() {
        assert!(parse("%YAML 1.2\n---\na: 1\n").problems.is_empty());
        assert!(
            parse("%YAML 1.1\n---\na: 1\n").problems[0]
                .message
                .starts_with("the file declares `%YAML 1.1`")
        );
    }

    #[test]
    fn deep_nesting_and_second_documents_are_refused() {
        let deep = format!("{}1{}", "[".repeat(40), "]".repeat(40));
        assert!(
            parse(&deep).problems[0]
                .message
                .starts_with("nesting deeper than 32")
        );
        assert!(
            parse("a: 1\n---\nb: 2\n").problems[0]
                .message
                .starts_with("a second YAML document")
        );
    }
}
