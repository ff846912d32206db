//! A small ordered YAML tree and its block-style emitter, enough for the
//! Compose file and the Kubernetes manifests `deploy` writes. Keys keep the
//! order they were pushed in. A string is written plain only when no YAML
//! 1.1 or 1.2 reader can take it for anything else (a number, a boolean,
//! `no`, a null, an indicator); otherwise it is double-quoted with JSON-style
//! escapes, which both YAML versions read alike.

use std::fmt::Write as _;

/// One YAML node.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Str(String),
    Int(i64),
    Bool(bool),
    Seq(Vec<Yaml>),
    Map(Vec<(String, Yaml)>),
}

impl Yaml {
    /// A string node.
    pub fn s(text: impl Into<String>) -> Yaml {
        Yaml::Str(text.into())
    }

    /// A sequence of string nodes.
    pub fn strs<S: AsRef<str>>(items: &[S]) -> Yaml {
        Yaml::Seq(items.iter().map(|s| Yaml::s(s.as_ref())).collect())
    }

    /// A mapping from `(key, value)` pairs, in order.
    pub fn map<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Yaml)>) -> Yaml {
        Yaml::Map(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// The value under `key`, if this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Yaml> {
        match self {
            Yaml::Map(pairs) => pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value at a path of keys.
    pub fn at(&self, path: &[&str]) -> Option<&Yaml> {
        path.iter().try_fold(self, |node, key| node.get(key))
    }

    /// The text of a string node.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Yaml::Str(s) => Some(s),
            _ => None,
        }
    }

    /// One YAML document for this node, ending in a newline.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        match self {
            Yaml::Map(p) if !p.is_empty() => map_body(p, 0, &mut out),
            Yaml::Seq(s) if !s.is_empty() => seq_body(s, 0, &mut out),
            other => {
                out.push_str(&inline(other));
                out.push('\n');
            }
        }
        out
    }
}

/// Several documents in one stream, separated by `---`.
pub fn documents(docs: &[Yaml]) -> String {
    let texts: Vec<String> = docs.iter().map(Yaml::to_text).collect();
    texts.join("---\n")
}

/// A node that fits on its key's line: a scalar or an empty collection.
fn inline(node: &Yaml) -> String {
    match node {
        Yaml::Str(s) => scalar(s),
        Yaml::Int(i) => i.to_string(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Seq(_) => "[]".into(),
        Yaml::Map(_) => "{}".into(),
    }
}

fn is_block(node: &Yaml) -> bool {
    match node {
        Yaml::Seq(s) => !s.is_empty(),
        Yaml::Map(p) => !p.is_empty(),
        _ => false,
    }
}

fn map_body(pairs: &[(String, Yaml)], indent: usize, out: &mut String) {
    for (key, value) in pairs {
        let _ = write!(out, "{:indent$}{}:", "", scalar(key));
        block_value(value, indent + 2, out);
    }
}

fn seq_body(items: &[Yaml], indent: usize, out: &mut String) {
    for item in items {
        let _ = write!(out, "{:indent$}-", "");
        match item {
            // A mapping's first key goes on the dash's line.
            Yaml::Map(p) if !p.is_empty() => {
                let mut inner = String::new();
                map_body(p, indent + 2, &mut inner);
                out.push(' ');
                out.push_str(&inner[indent + 2..]);
            }
            _ => block_value(item, indent + 2, out),
        }
    }
}

/// After `key:` or `-`: a scalar on the same line, or a block below.
fn block_value(value: &Yaml, indent: usize, out: &mut String) {
    if !is_block(value) {
        let _ = writeln!(out, " {}", inline(value));
        return;
    }
    out.push('\n');
    match value {
        Yaml::Map(p) => map_body(p, indent, out),
        Yaml::Seq(s) => seq_body(s, indent, out),
        _ => {}
    }
}

/// Words that YAML 1.1 (PyYAML, so docker-compose 1.x) reads as booleans or nulls.
const RESERVED: &[&str] = &[
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~",
];

/// `text` plain when that is unambiguous, else double-quoted.
pub fn scalar(text: &str) -> String {
    if is_plain(text) {
        text.into()
    } else {
        quoted(text)
    }
}

fn is_plain(text: &str) -> bool {
    let safe = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-');
    let bytes = text.as_bytes();
    let starts_well = match bytes {
        [first, ..] if first.is_ascii_alphabetic() || *first == b'/' => true,
        // Flags such as `--id`; never a document marker `---` or a number.
        [b'-', b'-', third, ..] => third.is_ascii_alphabetic(),
        _ => false,
    };
    starts_well
        && bytes.iter().all(|&b| safe(b))
        && !RESERVED.contains(&text.to_ascii_lowercase().as_str())
}

/// JSON-style double quotes: `"` and `\` escaped, and every character YAML
/// does not print as itself (C0, DEL, C1 except NEL) as `\uXXXX`.
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || (0x7f..=0x9f).contains(&(c as u32)) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use yaml_rust2::{Yaml as Parsed, YamlLoader};

    fn parse(text: &str) -> Vec<Parsed> {
        YamlLoader::load_from_str(text).unwrap()
    }

    #[test]
    fn words_a_reader_could_misread_are_quoted() {
        for plain in ["vm", "--id", "/logs", "lamport-sim/run", "a.b_c-d"] {
            assert_eq!(scalar(plain), plain);
        }
        for (text, want) in [
            ("no", "\"no\""),
            ("On", "\"On\""),
            ("1", "\"1\""),
            ("-1", "\"-1\""),
            ("---", "\"---\""),
            ("", "\"\""),
            ("vm{id}:7000", "\"vm{id}:7000\""),
            ("0.0.0.0:7000", "\"0.0.0.0:7000\""),
            ("a b", "\"a b\""),
            ("q\"\\\n\u{1}\u{7f}", "\"q\\\"\\\\\\n\\u0001\\u007f\""),
        ] {
            assert_eq!(scalar(text), want, "{text:?}");
        }
    }

    #[test]
    fn every_string_reads_back_as_that_string() {
        let texts = [
            "no",
            "yes",
            "~",
            "null",
            "1",
            "1.5",
            "0x1f",
            "1:30",
            "-",
            "--",
            "---",
            "- x",
            "a: b",
            "a #b",
            "#x",
            "[x]",
            "{x}",
            "&a",
            "*a",
            "!t",
            "|",
            ">",
            "'",
            "\"",
            "%x",
            "@x",
            "`x",
            " lead",
            "trail ",
            "tab\tin",
            "line\nbreak",
            "\u{1}",
            "\u{7f}",
            "\u{85}",
            "é",
            "",
            "vm{id}:7000",
            "/abs/path with space",
            "0.0.0.0:7000",
            "--id",
        ];
        let node = Yaml::map([("k", Yaml::strs(&texts))]);
        let docs = parse(&node.to_text());
        let got: Vec<&str> = docs[0]["k"]
            .as_vec()
            .unwrap()
            .iter()
            .map(|y| y.as_str().unwrap_or("<not a string>"))
            .collect();
        assert_eq!(got, texts);
    }

    #[test]
    fn nesting_reads_back_in_order() {
        let node = Yaml::map([
            ("version", Yaml::s("3.8")),
            (
                "services",
                Yaml::map([(
                    "vm1",
                    Yaml::map([
                        ("command", Yaml::strs(&["vm", "--id", "1"])),
                        (
                            "volumes",
                            Yaml::Seq(vec![Yaml::map([
                                ("type", Yaml::s("bind")),
                                ("target", Yaml::s("/logs")),
                            ])]),
                        ),
                        ("n", Yaml::Int(3)),
                        ("b", Yaml::Bool(true)),
                        ("empty", Yaml::map(Vec::<(String, Yaml)>::new())),
                        ("none", Yaml::Seq(vec![])),
                    ]),
                )]),
            ),
        ]);
        let text = node.to_text();
        let doc = &parse(&text)[0];
        assert_eq!(doc["version"].as_str(), Some("3.8"));
        let vm1 = &doc["services"]["vm1"];
        assert_eq!(vm1["command"][1].as_str(), Some("--id"));
        assert_eq!(vm1["volumes"][0]["target"].as_str(), Some("/logs"));
        assert_eq!(vm1["volumes"][0]["type"].as_str(), Some("bind"));
        assert_eq!(vm1["n"].as_i64(), Some(3));
        assert_eq!(vm1["b"].as_bool(), Some(true));
        assert!(vm1["empty"].as_hash().unwrap().is_empty());
        assert!(vm1["none"].as_vec().unwrap().is_empty());
        let keys: Vec<&str> = vm1
            .as_hash()
            .unwrap()
            .keys()
            .map(|k| k.as_str().unwrap())
            .collect();
        assert_eq!(keys, ["command", "volumes", "n", "b", "empty", "none"]);
        assert_eq!(node.at(&["services", "vm1", "n"]), Some(&Yaml::Int(3)));
    }

    #[test]
    fn documents_are_separated() {
        let docs = documents(&[
            Yaml::map([("a", Yaml::Int(1))]),
            Yaml::map([("b", Yaml::Int(2))]),
        ]);
        let parsed = parse(&docs);
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[1]["b"].as_i64(), Some(2));
    }
}
