//! `summary.json`: an array with one flat object per VM (the columns of
//! [`columns`](super::columns::columns)), plus, when the run has
//! happens-before figures, a nested `causal` object. Written by serde_json,
//! one object per line, with `": "` and `", "` between keys and values and
//! numbers as [`number`](super::columns::number) writes them (no `.0`, no
//! exponent), so the file reads as it always did.

use std::io;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::ser::Formatter;

use super::columns::{Cell, MATRIX_MAX_VMS, columns, rounded};
use crate::analyze::Analysis;
use crate::analyze::causal::Causal;
use crate::analyze::causal::staleness::Stale;
use crate::analyze::per_vm::VmStats;

/// `summary.json`: `[`, one object per VM per line, `]`.
pub fn summary(a: &Analysis) -> Result<String, serde_json::Error> {
    let mut out = String::from("[\n");
    for (i, s) in a.vms.iter().enumerate() {
        out.push_str("  ");
        out.push_str(&to_string(&Row { a, s })?);
        out.push_str(if i + 1 < a.vms.len() { ",\n" } else { "\n" });
    }
    out.push_str("]\n");
    Ok(out)
}

/// `value` on one line, spaced like the rest of the file.
fn to_string(value: &impl Serialize) -> Result<String, serde_json::Error> {
    let mut bytes = Vec::new();
    value.serialize(&mut serde_json::Serializer::with_formatter(
        &mut bytes, Spaced,
    ))?;
    // serde_json writes UTF-8 only.
    String::from_utf8(bytes).map_err(serde::ser::Error::custom)
}

/// serde_json's compact form with a space after `:` and `,` in objects,
/// and floats in Rust's shortest form without exponent (`2`, `0.333333`).
struct Spaced;

impl Formatter for Spaced {
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        write!(w, "{value}")
    }
}

/// One VM's object: its columns in order, then `causal`.
struct Row<'a> {
    a: &'a Analysis,
    s: &'a VmStats,
}

impl Serialize for Row<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let cols = columns(self.a, self.s);
        let mut map = ser.serialize_map(Some(cols.len() + 1))?;
        for (k, c) in &cols {
            map.serialize_entry(k, c)?;
        }
        if let Some(c) = &self.a.causal {
            map.serialize_entry("causal", &CausalJson::new(c, self.s.vm))?;
        }
        map.end()
    }
}

/// A figure: an integer, a number rounded to six decimals (`null` when
/// missing or not finite), or a string.
impl Serialize for Cell {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        match self {
            Cell::Int(v) => ser.serialize_u64(*v),
            Cell::Num(Some(x)) if x.is_finite() => ser.serialize_f64(rounded(*x)),
            Cell::Num(_) => ser.serialize_none(),
            Cell::Text(t) => ser.serialize_str(t),
        }
    }
}

/// The run's happens-before counts, and (up to [`MATRIX_MAX_VMS`] VMs)
/// this VM's staleness toward each other VM, keyed by its id.
#[derive(Serialize)]
struct CausalJson<'a> {
    events: u64,
    cross_pairs: u64,
    concurrent_pairs: u64,
    concurrent_lamport_ordered_pairs: u64,
    lamport_ordered_pairs: u64,
    clock_condition_broken_pairs: u64,
    wall_order_disagreements: u64,
    receives_matched: u64,
    receives_unmatched: u64,
    receives_no_news: u64,
    receives_in_cycle: u64,
    wall_order_max_gap_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    staleness_of: Option<StalenessOf<'a>>,
}

impl<'a> CausalJson<'a> {
    fn new(c: &'a Causal, vm: u32) -> Self {
        let (p, r) = (&c.pairs, &c.receives);
        CausalJson {
            events: c.events,
            cross_pairs: p.cross,
            concurrent_pairs: p.concurrent,
            concurrent_lamport_ordered_pairs: p.concurrent_lamport_ordered,
            lamport_ordered_pairs: p.lamport_ordered,
            clock_condition_broken_pairs: p.clock_condition_broken,
            wall_order_disagreements: c.wall.disagreements,
            receives_matched: r.matched,
            receives_unmatched: r.unmatched,
            receives_no_news: r.no_news,
            receives_in_cycle: r.in_cycle,
            wall_order_max_gap_ms: rounded(c.wall.max_gap_us as f64 / 1000.0),
            staleness_of: StalenessOf::new(c, vm),
        }
    }
}

/// `{"2": {...}, "3": {...}}`: one VM's staleness toward each other VM it
/// has figures for, in the run's VM order.
struct StalenessOf<'a>(Vec<(u32, &'a Stale)>);

impl<'a> StalenessOf<'a> {
    fn new(c: &'a Causal, vm: u32) -> Option<Self> {
        let s = c
            .staleness
            .as_ref()
            .filter(|_| c.vms.len() <= MATRIX_MAX_VMS)?;
        let i = c.vms.iter().position(|&v| v == vm)?;
        let row = c.vms.iter().zip(s.matrix.get(i)?);
        Some(StalenessOf(
            row.filter_map(|(&j, st)| Some((j, st.as_ref()?))).collect(),
        ))
    }
}

impl Serialize for StalenessOf<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_map(self.0.iter().map(|&(j, st)| (j, StaleJson::from(st))))
    }
}

/// One pair's staleness, numbers rounded to six decimals.
#[derive(Serialize)]
struct StaleJson {
    mean_events: f64,
    max_events: u64,
    mean_age_s: f64,
    max_age_s: f64,
}

impl From<&Stale> for StaleJson {
    fn from(st: &Stale) -> Self {
        StaleJson {
            mean_events: rounded(st.mean_events),
            max_events: st.max_events,
            mean_age_s: rounded(st.mean_age_s),
            max_age_s: rounded(st.max_age_s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{analysis, causal_analysis};

    #[test]
    fn an_array_of_flat_objects_one_per_line() {
        let a = analysis();
        let text = summary(&a).unwrap();
        assert!(text.starts_with("[\n  {\"run\": ") && text.ends_with("}\n]\n"));
        assert_eq!(text.lines().count(), 4);
        assert_eq!(text.matches('{').count(), 2);
        assert_eq!(text.matches("\"vm\": ").count(), 2);
        assert!(text.contains("\"run\": \"ab,c\\\"d\""));
        assert!(text.contains("\"seed\": \"18446744073709551615\""));
        assert!(text.contains("\"wait_mean_ms\": null"));
        assert!(text.contains("\"clock_rate_per_s\": 4.4,"));
        assert!(text.contains("\"jump_p95\": 2, "), "no 2.0: {text}");
        assert!(!text.contains("NaN") && !text.contains("inf"));
        // What a reader sees: an array of objects whose keys are the columns, in order.
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let rows = v.as_array().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["seed"], "18446744073709551615");
        assert_eq!(rows[1]["stop"], "died");
        assert_eq!(rows[0]["jump_mean"], 1.25);
        assert!(rows[1]["wait_mean_ms"].is_null());
        let keys: Vec<&str> = columns(&a, &a.vms[0]).iter().map(|c| c.0).collect();
        let line = text.lines().nth(1).unwrap();
        let mut at = 0;
        for k in keys {
            let found = line[at..].find(&format!("\"{k}\": ")).unwrap();
            at += found;
        }
        assert_eq!(summary(&Analysis::default()).unwrap(), "[\n]\n");
    }

    #[test]
    fn strings_are_escaped() {
        let mut a = analysis();
        a.run = Some("a\"b\\c\n\u{1}".into());
        let text = summary(&a).unwrap();
        assert!(
            text.contains("\"run\": \"a\\\"b\\\\c\\n\\u0001\""),
            "{text}"
        );
    }

    #[test]
    fn the_happens_before_figures_nest_under_causal() {
        let a = causal_analysis(3);
        let json = summary(&a).unwrap();
        assert_eq!(json.matches("\"causal\": {\"events\": 5,").count(), 3);
        assert!(json.contains("\"staleness_of\": {\"2\": {\"mean_events\": "));
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let c = &v[0]["causal"];
        assert_eq!(c["receives_matched"], 1);
        assert!(c["wall_order_max_gap_ms"].is_number());
        let of = c["staleness_of"].as_object().unwrap();
        assert_eq!(of.keys().collect::<Vec<_>>(), ["2", "3"]);
        assert!(of["3"]["max_events"].is_u64());
    }

    #[test]
    fn many_vms_get_no_staleness_of_each_pair() {
        let a = causal_analysis(MATRIX_MAX_VMS as u32 + 1);
        let json = summary(&a).unwrap();
        assert!(json.contains("\"causal\": {") && !json.contains("staleness_of"));
    }

    #[test]
    fn link_figures_are_columns() {
        let mut a = causal_analysis(3);
        a.vms[1].link_down = 2;
        a.vms[1].resent = 41;
        let json = summary(&a).unwrap();
        assert!(json.contains("\"link_down\": 2, \"messages_resent\": 41,"));
    }
}
